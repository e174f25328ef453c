"""What a resumed run must share with the run it carries on: the same strategy and
parameters, the same data, dates and session rule, the same cash, account and costs.

A paper session's journal records its setup when it starts (the engine's ``engine`` meta,
the broker's ``config`` meta). :func:`check_same_setup` compares a resume request with it
and refuses, naming every difference, before anything is recovered or replayed: a resume
over other data or with other money would give a run that is neither the old one nor a
new one.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from workbench.errors import ConfigError
from workbench.hashing import sha256_frames


def fingerprint(frames: tuple[pd.DataFrame, ...] | list[pd.DataFrame]) -> dict[str, Any]:
    """What identifies the data of a run: its content hash, rows, symbols, first and last time."""
    rows = sum(len(f) for f in frames)
    times = [t for f in frames if len(f) for t in (f.index.min(), f.index.max())]
    symbols = sorted({str(s) for f in frames for s in pd.unique(f["symbol"])})
    return {"sha256": sha256_frames(*frames), "rows": rows, "symbols": symbols,
            "first": str(min(times)) if times else None, "last": str(max(times)) if times else None}


def check_same_setup(journal: str | os.PathLike, setup: dict[str, Any], costs: dict[str, Any]) -> None:
    """Refuse (:class:`ConfigError`) a resume whose ``setup`` (the engine's) or ``costs``
    (cash, account type, commission, slippage, participation) differ from the journal's."""
    from workbench.broker.journal import read_meta

    meta = read_meta(journal)
    recorded, config = meta.get("engine"), meta.get("config")
    if recorded is None or config is None:
        raise ConfigError(f"resume: {journal} was not written by a workbench session")
    now = {**setup, **costs}
    then = {**{k: recorded.get(k) for k in setup}, **{k: config.get(k) for k in costs}}
    for key, empty in _RECORDED_WHEN_SET.items():  # absent on either side: the default, compared both ways
        if key in recorded or key in now:
            now.setdefault(key, empty)
            then[key] = recorded.get(key, empty)
    differ = [f"{_NAMES.get(k, k)} {_show(k, then[k])} in the journal, {_show(k, now[k])} now"
              for k in now if _plain(then[k]) != _plain(now[k])]
    if differ:
        raise ConfigError(f"resume: {journal} was written by {recorded.get('strategy')} {recorded.get('params')} "
                          f"with other settings: " + "; ".join(differ)
                          + " (give the options the run was started with, or start a new run in another --out)")


_RECORDED_WHEN_SET = {"sessions": {}}  # setup keys a journal holds only when not the default
_NAMES = {"sessions": "--session's symbols", "params": "parameters", "data": "data", "cash": "--cash",
          "account_type": "--account", "commission": "--commission", "slippage": "--slippage", "start": "--start",
          "end": "--end", "source": "the strategy file's SHA-256"}


def _show(key: str, value: Any) -> str:
    if key == "data" and isinstance(value, dict):
        return (f"{', '.join(value.get('symbols') or [])} ({value.get('rows', 0):,} rows, {value.get('first')} .. "
                f"{value.get('last')}, sha256 {str(value.get('sha256'))[:12]})")
    if key == "cash" and isinstance(value, (int, float)):
        return f"{value:,.2f}"
    return repr(value)


def _plain(value: Any) -> Any:
    """JSON's view of a value (tuples as lists, ints as floats where JSON mixes them)."""
    import json

    return json.loads(json.dumps(value, sort_keys=True, default=str))
