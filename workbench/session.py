"""One backtest or paper session from plain options: what ``workbench backtest``,
``workbench paper``, notebooks and scripts call.

:func:`run_session` checks every option before any work starts (strategy and parameters,
dates, cash, costs, the run folder, the monitor's port), loads the data, wires a monitor
when one is asked for, runs the engine and writes the results into ``out``. A paper
session's folder holds its journal; ``resume=True`` carries on from it.
"""

from __future__ import annotations

import gc
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from workbench.broker.journal import JOURNAL_NAME
from workbench.engine import Engine, Result
from workbench.errors import ConfigError
from workbench.paths import check_writable
from workbench.units import utc_time

JOURNAL = JOURNAL_NAME  # a run folder's journal
MONITOR_LINK = "monitor.json"  # a run folder's pointer to its monitor store (--monitor), for the dashboard


@dataclass(frozen=True)
class SessionConfig:
    """A session in plain values (units: currency for cash, data seconds per wall second
    for speed, wall seconds for duration)."""

    strategy: str
    data: tuple[str, ...]  # dataset names or files; "a,b" is two
    params: dict[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] | None = None
    mode: Literal["backtest", "paper"] = "backtest"
    cash: float = 1_000_000.0
    commission: str = "none"
    slippage: str = "none"
    account: str = "cash"
    start: str | None = None  # first date used (inclusive)
    end: str | None = None  # last date used (inclusive)
    out: Path | None = None  # the run folder (required for paper)
    speed: float = 60.0
    duration: float | None = None
    resume: bool = False
    monitor: Path | None = None  # a monitor store to sample into
    rules: Path | None = None  # alert rules (the default pack otherwise)
    webhook: str | None = None
    metrics_port: int | None = None  # serve /metrics on 127.0.0.1
    sample_every: float = 1.0  # the monitor's interval (seconds)
    progress: bool = False
    control: bool = True  # a paper session's command channel (workbench.control; loopback, token)
    strict: bool = False  # refuse a run whose data is shorter than the strategy's warm-up
    session: str = "auto"  # when a session ends (DAY orders expire): auto, bar, date, or an exchange calendar (XNYS)
    layout: dict[str, Any] = field(default_factory=dict)  # how to read the files: columns, sep, decimal, wide, tz, on_error
    # Leave what exists when the run starts (modules, data, the engine) out of the garbage
    # collector's passes while it runs (gc.freeze): a full collection then walks only what
    # the session made, not the whole process. Process-wide, so the command line's own
    # process asks for it; a notebook's kernel is left as it is, and so is a process that
    # froze objects itself.
    freeze_gc: bool = False


def run_session(config: SessionConfig) -> Result:
    """Check ``config``, run the session and save its results in ``config.out`` (module
    docstring). Bad options raise :class:`ConfigError` before anything runs."""
    from workbench.broker import commission_from, slippage_from
    from workbench.feed import load_bars
    from workbench.strategies import strategy_class

    c = config
    if c.mode not in ("backtest", "paper"):
        raise ConfigError(f"mode must be 'backtest' or 'paper', got {c.mode!r}")
    strategy = strategy_class(c.strategy)(**c.params)
    start = None if c.start is None else utc_time(c.start, "--start")
    end = None if c.end is None else utc_time(c.end, "--end")
    if start is not None and end is not None and start > end:
        raise ConfigError(f"--start {c.start} is after --end {c.end}")
    commission, slippage = commission_from(c.commission), slippage_from(c.slippage)
    if not (c.cash > 0 and math.isfinite(c.cash)):
        raise ConfigError(f"--cash must be a positive number, got {c.cash}")
    if c.metrics_port is not None and not 1 <= c.metrics_port <= 65535:
        raise ConfigError(f"--metrics-port must be 1-65535, got {c.metrics_port}")
    if not (c.sample_every > 0 and math.isfinite(c.sample_every)):
        raise ConfigError(f"--sample-every must be > 0 seconds, got {c.sample_every}")
    options: dict[str, Any] = {}
    if c.mode == "paper":
        if c.out is None:
            raise ConfigError("a paper session needs --out (its run folder)")
        if not (c.speed > 0 and math.isfinite(c.speed)):
            raise ConfigError(f"--speed must be a finite number > 0 (data seconds per wall second), got {c.speed}")
        options.update(speed=c.speed, duration=c.duration)
    elif c.resume:
        raise ConfigError("--resume is for paper sessions")
    journal = None if c.out is None else Path(c.out) / JOURNAL
    start_as = "fresh" if journal is None else _resume_or_fresh(journal, c)
    dropped: list[str] = []  # (--on-error drop: the bad rows left out of each file)
    frames = load_bars(c.data, c.symbols, progress=c.progress, dropped=dropped, **c.layout)
    from workbench import calendars

    calendars.parse(c.session, "--session")  # a ConfigError naming the item, before any work
    warm = warmup_warnings(strategy, frames, start, end)  # (what no_order_warnings counts as too short)
    short = warm + session_warnings(frames, c.session, start, end)
    if short and c.strict:
        raise ConfigError(f"--strict: {short[0]}")
    instruments = None
    if getattr(strategy, "option_chains", False):  # an option strategy: the underlying's synthetic chains
        from workbench.strategies.options import option_frames

        if len(frames) != 1:
            raise ConfigError(f"{c.strategy} trades the options of one underlying; give one --data set")
        quotes, instruments = option_frames(frames[0], dte=int(strategy.params.get("dte", 0)), start=start, end=end)
        frames = (quotes, *frames)  # the day's quotes before its bar: the strategy decides at the bar
    if c.strict:  # the bars outside the sessions auto gives the run (as those of --session XNYS above)
        rule, note = Engine.session_choice(c.session, frames, start, end)
        if note is not None:
            own = calendars.parse(c.session)[1]
            outside = session_warnings(frames, {"*": rule, **{s: "date" for s in own}}, start, end)
            if outside:
                raise ConfigError(f"--strict: {outside[0]} ({note})")
    if c.out is not None:
        check_writable(Path(c.out))  # the last check: a refused run leaves no folder behind
    if start_as == "afresh":  # every check passed: only now is the half-created journal removed
        from workbench.broker.journal import remove

        remove(journal)
    resume = start_as == "resume"
    monitor = _monitor(c)
    control = None
    if c.mode == "paper" and c.control:
        from workbench.control import ControlChannel

        control = ControlChannel(c.out)
    try:
        engine = Engine(strategy, *frames, instruments=instruments, cash=c.cash, commission=commission,
                        slippage=slippage, session=c.session,
                        account_type=c.account, journal=journal, mode=c.mode, start=start, end=end,
                        progress=c.progress, monitor=monitor, control=control, resume=resume, **options)
        if len(engine.replay) == 0:
            raise ConfigError("no data left between --start and --end")
        if engine.session_note is not None:  # what auto chose, and the bars outside (as --session would say)
            outside = session_warnings(frames, {"*": engine.session, **{s: "date" for s in engine.symbol_sessions}},
                                       start, end)  # (the symbols' own calendars: said above)
            short = short + [engine.session_note] + outside
        if c.out is not None:  # where the dashboard finds the run's metrics (none: a resumed run's old link goes)
            link = Path(c.out) / MONITOR_LINK
            if c.monitor is not None:
                link.write_text(json.dumps({"store": str(Path(c.monitor).resolve())}) + "\n")
            else:
                link.unlink(missing_ok=True)
        if control is not None:
            control.open()
            print(f"commands: {control.url} (token in {control.file}; docs/paper.md)", file=sys.stderr,
                  flush=True)
        # (a host that froze objects of its own manages the collector: gc.unfreeze would thaw them too)
        freeze = c.freeze_gc and gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        try:
            result = engine.run()
        finally:
            if freeze:
                gc.unfreeze()
    finally:
        if control is not None:
            control.close()
        if monitor is not None:
            monitor.close()
    if engine.resume_note is not None:  # the warm-up did not retrace the journal
        short = short + [engine.resume_note]
    if engine.resumed_nothing:
        short = short + ["resume: the journal already held every time slice of the data; nothing was left to run "
                         "(the figures are the finished run's)"]
    result.warnings = dropped + short + sample_warnings(result) + no_order_warnings(result, strategy, warm)
    if c.out is not None:
        from workbench.options.attribution import option_summary

        result.save(c.out, {"options": option_summary(result)})  # (empty without options: left out)
    return result


def warmup_warnings(strategy, frames, start=None, end=None) -> list[str]:
    """One line per symbol with no more bars (between ``start`` and ``end``) than the
    strategy's warm-up: it cannot decide there, or only at the last bar, too late to fill."""
    try:
        need = strategy.warmup()
        if isinstance(need, bool) or not isinstance(need, (int, np.integer)):
            raise ConfigError(f"{strategy.name}: warmup() must return a whole number of bars, got {need!r}")
        need = int(need)
    except ConfigError:
        raise
    except Exception as exc:  # the strategy's own code: said like its other errors
        from workbench.engine import _strategy_error

        raise _strategy_error(exc, strategy, None) or exc from None
    if need <= 0:
        return []
    out = []
    for frame in frames:
        if "symbol" not in frame.columns or "close" not in frame.columns:
            continue
        times = frame.index
        keep = np.ones(len(frame), dtype=bool)
        if start is not None:
            keep &= times >= start
        if end is not None:
            keep &= times <= end
        counts = frame.loc[keep, "symbol"].astype(str).value_counts()
        for symbol, n in sorted(counts.items()):
            if n <= need:
                out.append(f"{symbol} has {n:,} bar(s) in this run; {strategy.name} {strategy.params} decides only "
                           f"once it has seen {need:,}, and an order fills at the bar after: no order of it can fill")
    return out


def session_warnings(frames, session, start=None, end=None) -> list[str]:
    """With exchange calendars (the run's, or symbols' own: ``XNYS,VOD=XLON``): the bars
    between ``start`` and ``end`` (the run's) outside their sessions (a holiday, after
    hours), by calendar."""
    from workbench import calendars

    default, own = calendars.parse(session)
    rules = {**{s: default for f in frames if "close" in f.columns for s in pd.unique(f["symbol"].astype(str))},
             **own}
    out = []
    for name in sorted({r for r in rules.values() if r not in calendars.PLAIN}):
        symbols = [s for s, r in rules.items() if r == name]
        off_count, first = 0, None
        for frame in frames:
            if "close" not in frame.columns or not len(frame):
                continue
            rows = frame[frame["symbol"].astype(str).isin(symbols)] if own else frame
            if start is not None or end is not None:
                t = pd.DatetimeIndex(rows.index)
                t = t.tz_localize("UTC") if t.tz is None else t
                keep = np.ones(len(rows), dtype=bool)
                if start is not None:
                    keep &= np.asarray(t >= start)
                if end is not None:
                    keep &= np.asarray(t <= end)
                rows = rows[keep]
            if not len(rows):
                continue
            off = calendars.outside(pd.DatetimeIndex(rows.index), name)
            if off.any():
                off_count += int(off.sum())
                at = rows.index[int(np.flatnonzero(off)[0])]
                first = at if first is None else min(first, at)
        if off_count:
            whose = f" ({', '.join(symbols)})" if own else ""
            out.append(f"{off_count:,} bar(s) outside {name} sessions{whose} (the first at {first}): they belong "
                       "to the next session (a file's times without an offset are read as UTC unless --tz gives their zone)")
    return out


def sample_warnings(result) -> list[str]:
    """A run shorter than a year: its yearly figures and the buy-and-hold's (CAGR, Sharpe,
    volatility) are annualized from its days, as if a year were 252 of them, which a few
    weeks make loud."""
    equity = result.equity
    if len(equity) < 2:
        return []
    span = equity.index[-1] - equity.index[0]
    if span >= pd.Timedelta(days=350):  # a calendar year's first and last trading days are 360-odd days apart
        return []
    dates = pd.DatetimeIndex(equity.index).normalize()  # UTC dates
    days, calendar = len(dates.unique()), (dates[-1] - dates[0]).days + 1
    return [f"the run has data on {days:,} of {calendar:,} calendar day(s) (UTC dates): its CAGR, Sharpe and "
            "volatility, and the buy-and-hold's, are annualized from those days as if a year were 252 of them"]


def no_order_warnings(result, strategy, short: list[str]) -> list[str]:
    """Why a run that placed no order believes none was placed."""
    if len(result.orders) or result.stopped_early:
        return []
    reasons = result.rejections()
    if reasons:
        return [f"no orders: the broker refused all {sum(reasons.values()):,} the strategy sent ("
                + ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items())) + ")"]
    if short:
        return [f"no orders: the data is shorter than {strategy.name}'s warm-up ({strategy.warmup():,} bars)"]
    return [f"no orders: {strategy.name} {strategy.params} saw {result.bars:,} bar(s) and {result.quotes:,} quote(s) "
            "and its rules never asked for one (try other parameters, or check the data's symbols and dates)"]


def _resume_or_fresh(journal: Path, c: SessionConfig) -> str:
    """How the run starts: ``"fresh"``, ``"resume"`` from ``journal``, or ``"afresh"`` (a
    journal holding no event was left by a run killed while it started: it acknowledged
    nothing, and ``--resume`` starts that run again; a new run is told how to clear it).
    A journal with events needs ``--resume``. Reads only."""
    from workbench.broker.journal import started

    if not journal.exists():
        if c.resume:
            raise ConfigError(f"--resume: no run to resume in {journal.parent} (no {JOURNAL}); start it without "
                              f"--resume")
        return "fresh"
    if started(journal):
        if not c.resume:
            raise ConfigError(f"{journal} exists and holds a run: use another --out"
                              + (" or --resume" if c.mode == "paper" else ""))
        return "resume"
    if not c.resume:
        raise ConfigError(f"{journal} was left by a run killed before its first event: --resume starts it afresh, "
                          f"`workbench journal clear {journal.parent}` removes it")
    return "afresh"


def _monitor(c: SessionConfig):
    if not (c.monitor or c.rules or c.webhook or c.metrics_port):
        return None
    from workbench.monitor import Monitor

    monitor = Monitor(store=c.monitor, rules=c.rules, webhook=c.webhook, interval=c.sample_every)
    if c.metrics_port:
        monitor.serve("127.0.0.1", c.metrics_port)
    return monitor
