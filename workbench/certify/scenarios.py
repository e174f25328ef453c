"""Deterministic runs that several checks look at, each computed once per certification run
(``ctx.once(scenario)``): a backtest with a journal, a paper session with a feed stall, a
small parameter sweep. The fault scenarios (:func:`feed_stall`) are plain functions that
the test suite runs too: one definition of each injected fault."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.certify.context import Context

STALL_START_S = 180  # the feed stalls three minutes into the session
STALL_LENGTH_S = 180  # for three minutes
SESSION_QUOTES = 600  # one quote a second before the stall is cut out


@dataclass
class StalledSession:
    """A paper session over one symbol's quotes with a gap, on the data clock: a
    :class:`~workbench.clock.ManualClock` that starts at the first quote's time, at speed 1,
    so every clock reading the monitor takes is a data time."""

    monitor: Any
    result: Any
    quotes: pd.DataFrame
    t0: float  # data time of the first quote (unix seconds)
    last_before: float  # data time of the last quote before the gap
    resume: float  # data time of the first quote after it
    rule: Any  # the FeedStalled rule in force
    interval: float  # the monitor's evaluation interval (s)

    def transitions(self) -> list[tuple[str, float]]:
        """(state, data seconds since the first quote) of every alert notification."""
        return [(a["state"], round(a["updated"] - self.t0, 6)) for a in self.monitor.notifications.items]


def stalled_session(ctx: Context) -> StalledSession:
    """:func:`feed_stall` with the run's seed, sampled into a store in the work folder."""
    return feed_stall(ctx.seed, store=ctx.subdir("monitor") / "monitor.sqlite")


def feed_stall(seed: int, store: Any = None, *, start_s: int = STALL_START_S,
               length_s: int = STALL_LENGTH_S) -> StalledSession:
    """The injected fault "the feed stalls": a paper session over one symbol's quotes, one a
    second, with the quotes from ``start_s`` to ``start_s + length_s`` seconds cut out
    (three minutes, three minutes in), watched by the default FeedStalled rule."""
    from workbench.clock import ManualClock
    from workbench.engine import Engine
    from workbench.feed import synthetic_quotes
    from workbench.monitor import Monitor, load_rules
    from workbench.strategies import QuoteTaker

    quotes = synthetic_quotes(1, days=1, freq="1s", seed=seed).iloc[:SESSION_QUOTES]
    first = quotes.index[0]
    gap = (first + pd.Timedelta(seconds=start_s), first + pd.Timedelta(seconds=start_s + length_s))
    stalled = quotes[(quotes.index < gap[0]) | (quotes.index >= gap[1])]
    t0 = first.timestamp()
    clock = ManualClock(start=t0)
    (rule,) = [r for r in load_rules() if r.name == "FeedStalled"]
    monitor = Monitor(store=store, rules=[rule], clock=clock, log=False)
    engine = Engine(QuoteTaker(), stalled, mode="paper", speed=1.0, clock=clock, sleep=clock.sleep, monitor=monitor,
                    account_type="margin")
    result = engine.run()
    before = stalled.index[stalled.index < gap[0]][-1].timestamp()
    after = stalled.index[stalled.index >= gap[1]][0].timestamp()
    return StalledSession(monitor, result, stalled, t0, before, after, rule, monitor.interval)


class TickingClock:
    """A clock that moves ``step`` seconds each time it is read: a monitor on it samples a
    backtest at every time slice, the same way on every run."""

    def __init__(self, start: float = 1_700_000_000.0, step: float = 1.0) -> None:
        self.now, self.step = start, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def monitored_backtest(ctx: Context):
    """sma_cross over the S&P 500 watched by a monitor that samples every tenth bar into a store
    (its equity rises and falls: a drawdown gauge has a peak to measure from)."""
    from workbench.engine import backtest
    from workbench.feed import load_dataset_bars
    from workbench.monitor import Monitor
    from workbench.strategies import SmaCross

    monitor = Monitor(store=ctx.subdir("monitored") / "monitor.sqlite", rules=[], clock=TickingClock(), interval=10.0,
                      log=False)  # a sample every ten bars
    result = backtest(SmaCross(), load_dataset_bars("sp500"), monitor=monitor)
    return monitor, result


@dataclass
class JournaledRun:
    """sma_cross over the bundled S&P 500 with a journal file and IBKR fixed commissions."""

    result: Any
    journal: Any
    state: dict
    seq: int
    bars: pd.DataFrame


def sp500_run(ctx: Context) -> JournaledRun:
    from workbench.engine import backtest
    from workbench.feed import load_dataset_bars
    from workbench.strategies import SmaCross

    bars = load_dataset_bars("sp500")
    path = ctx.subdir("journal") / "sp500.sqlite"
    result = backtest(SmaCross(), bars, journal=path, commission="ibkr-fixed")
    state, seq = result.broker.state(), result.broker.last_seq
    result.broker.close()
    return JournaledRun(result, path, state, seq, bars)


@dataclass
class SmallSweep:
    """A grid of sma_cross parameters over the S&P 500 (the profile's points), with each
    trial's daily returns for the overfitting statistics."""

    sweep: Any
    points: list[dict[str, int]]
    returns: pd.DataFrame  # days x trials (columns are (fast, slow))
    bars: pd.DataFrame


def small_sweep(ctx: Context) -> SmallSweep:
    from workbench.feed import load_dataset_bars
    from workbench.optimize import sweep
    from workbench.optimize.reporting import trial_returns

    bars = load_dataset_bars("sp500")
    points = [{"fast": f, "slow": s} for f in ctx.profile["sweep_fast"] for s in ctx.profile["sweep_slow"]]
    result = sweep("sma_cross", [bars], points, jobs=1, store=ctx.subdir("sweep") / "trials.sqlite")
    return SmallSweep(result, points, trial_returns(result), bars)


def sweep_report(ctx: Context) -> dict[str, Any]:
    """The small sweep's report as ``workbench optimize`` prints it (deflated Sharpe, PBO)."""
    from workbench.optimize import report

    sw = ctx.once(small_sweep)
    return report(sw.sweep, returns=sw.returns)
