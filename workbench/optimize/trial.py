"""One trial of a sweep: the pure function every executor runs, and what keys its result.

A trial is one backtest with one set of parameters: on the vectorized fast path when the
strategy and options allow (:mod:`workbench.optimize.fastpath`, identical figures), on the
event-driven engine otherwise. :class:`TrialSpec` holds everything but the parameters that
its result depends on, including the package version and source hash, so a stored trial
made by other code is never served.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from workbench import __version__
from workbench.analytics.performance import equity_statistics
from workbench.errors import ConfigError
from workbench.hashing import canonical_json, sha256_bytes, sha256_frames
from workbench.jsonsafe import jsonable
from workbench.optimize import fastpath
from workbench.provenance import code_hash

OBJECTIVES = ("sharpe", "sortino", "cagr", "total_return", "calmar", "max_drawdown", "final_equity")

_FRAMES = None  # a worker process's copy of the data


def set_worker_frames(frames) -> None:
    """The data of this worker process (a process pool's initializer)."""
    global _FRAMES
    _FRAMES = frames


def worker_frames():
    if _FRAMES is None:
        raise RuntimeError("no data in this worker")
    return _FRAMES


def _code_version() -> str:
    """The package version and the hash of all of its source.

    All of it, not just optimize/: a trial runs strategies, the engine, the broker's cost and
    fill models and the analytics, so almost any module can change its figures, and a stale
    trial is worse than a re-run.
    """
    return f"{__version__}+{code_hash()}"


@dataclass(frozen=True)
class TrialSpec:
    """Everything but the parameters that a trial's result depends on."""

    strategy: str
    options: tuple[tuple[str, Any], ...] = ()
    objective: str = "sharpe"
    min_trades: int = 0
    data_hash: str = ""
    fast: bool = True
    # Set where the spec is made (once per sweep) and shipped with it, so workers key trials
    # by the code of the process that started the sweep.
    code: str = field(default_factory=_code_version)

    @cached_property
    def _fixed(self) -> str:
        """The JSON of everything in the key but the parameters (the same for every trial)."""
        return canonical_json({"strategy": self.strategy, "options": dict(self.options), "objective": self.objective,
                               "min_trades": self.min_trades, "data": self.data_hash, "code": self.code})

    def key(self, params: dict[str, Any]) -> str:
        """The store key of the trial with ``params``."""
        text = self._fixed + canonical_json(params)
        return sha256_bytes(text)[:24]


def data_hash(frames: Iterable[pd.DataFrame]) -> str:
    """A fingerprint of the data frames (values, index and columns)."""
    return sha256_frames(*frames)[:24]


def run_trial(spec: TrialSpec, frames: tuple[pd.DataFrame, ...], params: dict[str, Any]) -> dict[str, Any]:
    """One trial: its statistics, objective (NaN if infeasible or invalid) and timing."""
    from workbench.engine import backtest
    from workbench.strategies import strategy_class

    t0 = time.perf_counter()
    out: dict[str, Any] = {"params": params, "key": spec.key(params)}
    try:
        strategy = strategy_class(spec.strategy)(**params)
    except ConfigError as exc:
        out.update(status="invalid", error=str(exc), objective=math.nan, duration_s=time.perf_counter() - t0)
        return out
    options = dict(spec.options)
    stats = None
    if spec.fast and fastpath.supports(strategy, frames, options):
        stats = fastpath.score(strategy, frames[0], **options)
        out["path"] = "fast"
    if stats is None:
        result = backtest(strategy, *frames, **options)
        stats = {**equity_statistics(result.equity, result.starting_cash), "orders": int(len(result.orders)),
                 "fills": int(len(result.fills)), "trades": int(len(result.trades))}
        out["path"] = "engine"
    stats = jsonable(stats)  # an undefined statistic (NaN) is None
    value = stats.get(spec.objective)
    feasible = stats["trades"] >= spec.min_trades and value is not None
    out.update(status="ok" if feasible else "infeasible", objective=float(value) if feasible else math.nan,
               duration_s=time.perf_counter() - t0, **stats)
    return out


def run_batch(spec: TrialSpec, frames, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trials of one batch (the unit an executor ships)."""
    if frames is None:
        frames = worker_frames()
    with fastpath.shared_frames():  # the batch's trials convert the frame to arrays once
        return [run_trial(spec, frames, p) for p in batch]
