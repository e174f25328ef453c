"""The engine: one event loop for backtests and paper trading.

``feed -> engine -> strategy -> broker -> journal/account``. The engine owns time and event
order: it replays the data frames merged by (time, sequence) and handles them one time
slice (all events with the same timestamp) at a time:

1. the broker sees every event of the slice (fills working orders, marks positions);
2. the strategy hears of those fills (``on_fill``);
3. with per-bar sessions (daily bars), the session closes: DAY orders expire;
4. the strategy sees each event (``on_bar`` / ``on_quote``) and may place orders, which
   are eligible from the next bar (or match the current quote at once);
5. with intraday data, the session closes when the next slice is in another session: by
   default (``session="auto"``) the New York Stock Exchange's when every date of the data
   is one of its session days (its close, half days included), else the UTC date; symbols
   of other exchanges keep their own (``session="XNYS,VOD=XLON"``).

Backtest mode replays as fast as the data allows (journal batched by default); paper mode
paces the same loop by the wall clock at ``speed`` data seconds per second (journal fully
synced by default) and stops cleanly on :meth:`Engine.stop`, Ctrl-C or ``duration``, with
the journal intact. A paper run resumes from its journal (``resume=True``): the broker is
recovered, the strategy is warmed up on the slices the journal holds, trading on a broker of
the same configuration in memory (so it lives through them as the run did: its orders, fills
and account), the warm-up is checked against the journal (``Engine.resume_note`` says how it
differs), and the run carries on after the last journaled slice with the journal's broker.

The strategy never gets the data frames; it sees only the events handed to it, so it
cannot look ahead.

**The sparse route.** A backtest in memory of one symbol's daily bars, by a strategy whose
class gives ``vectorized_targets`` (the same arithmetic as its ``on_bar``: ``sma_cross``,
``buy_and_hold``), does not visit every bar: the targets say where the strategy trades, and
the same broker is shown only those bars and the next ones, taking the same orders
(:meth:`Engine._run_sparse`). The result is the loop's, figure for figure and journal event
for journal event (a differential test compares them); where an order would be rejected, the
loop runs instead. ``Engine(..., fast_path=False)`` always runs the loop; ``Engine.routed``
says which ran.
"""

from __future__ import annotations

import io
import json
import math
import os
import signal
import sys
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import workbench
from workbench import analytics
from workbench.analytics.performance import equity_statistics
from workbench.broker import JournalError, SimulatedBroker, commission_from, slippage_from
from workbench.component import CheckResult, run_check
from workbench.errors import ConfigError, StrategyError, WorkbenchError
from workbench.feed.replay import Replay
from workbench.hashing import sha256_bytes
from workbench.jsonsafe import jsonable
from workbench.feed.schema import kind_of
from workbench.model import OCC_SYMBOL, Bar, time_of
from workbench.resume import check_same_setup, fingerprint
from workbench.strategies.base import Strategy
from workbench.units import utc_time

Mode = Literal["backtest", "paper"]
Session = str  # "auto", "bar", "date", or an exchange calendar's name ("XNYS": workbench.calendars)
PROGRESS_EVERY = 10_000  # events between progress-bar updates
_DAY_NS = 86_400 * 1_000_000_000
FIELD_CLOSE = 3  # position of the close in a bar source's columns (open, high, low, close, volume)


@dataclass
class Result:
    """What a run produced. Times are UTC; money in the account currency."""

    strategy: str
    params: dict[str, Any]
    symbols: list[str]
    mode: str
    bars: int
    quotes: int
    orders: pd.DataFrame
    fills: pd.DataFrame
    equity: pd.Series
    positions: pd.DataFrame
    trades: pd.DataFrame
    starting_cash: float
    journal: Path | None
    seconds: float
    stopped_early: bool = False
    broker: SimulatedBroker | None = field(default=None, repr=False)
    frames: tuple[pd.DataFrame, ...] = field(default=(), repr=False)  # the data the run was given
    warnings: list[str] = field(default_factory=list)  # what the session noticed (short data, no orders)

    def plot(self, path: str | os.PathLike | None = None, symbol: str | None = None):
        """Price with buy/sell markers, position, equity and drawdown on one time axis
        (:mod:`workbench.analytics.runplot`): a Panel pane to show in a notebook, or, with
        ``path`` (``.html`` or ``.png``), the file written."""
        from workbench.analytics import runplot

        if path is not None:
            return runplot.save_run_plot(self, path, symbol)
        import panel as pn

        return pn.pane.Bokeh(runplot.run_figure(self, symbol))

    @property
    def events(self) -> int:
        return self.bars + self.quotes

    def fills_csv(self) -> bytes:
        """``fills.csv`` as bytes: ``time,symbol,side,quantity,price,commission``."""
        cols = ["time", "symbol", "side", "quantity", "price", "commission"]
        out = self.fills[cols].copy()
        out["time"] = out["time"].map(lambda t: t.isoformat())
        buf = io.StringIO()
        out.to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue().encode()

    def summary(self) -> dict[str, Any]:
        """The figures of ``workbench backtest --json``, measured from this run."""
        stats = equity_statistics(self.equity, self.starting_cash)
        from workbench.model import OCC_SYMBOL

        contracts = [s for s in self.symbols if OCC_SYMBOL.match(s)]  # a chain's: counted, not listed
        extra = {"option_contracts": len(contracts)} if contracts else {}
        return {
            "strategy": self.strategy,
            "params": self.params,
            "symbols": [s for s in self.symbols if not OCC_SYMBOL.match(s)] if contracts else self.symbols,
            **extra,
            "bars": self.bars,
            "orders": int(len(self.orders)),
            "fills": int(len(self.fills)),
            "final_equity": stats["final_equity"],
            "total_return": stats["total_return"],
            "cagr": jsonable(stats["cagr"]),
            "sharpe": jsonable(stats["sharpe"]),
            "max_drawdown": jsonable(stats["max_drawdown"]),
            "fills_sha256": sha256_bytes(self.fills_csv()),
        }

    def benchmark(self) -> dict[str, Any] | None:
        """The run beside the buy-and-hold of its own universe: the symbols with bars (option
        contracts left out), equal weight, each bought at its first close and held (a symbol
        that starts later is cash until then), from the same starting cash. Its
        ``total_return``, ``cagr``, ``sharpe`` and ``max_drawdown`` (the run's definitions), and
        the run's ``beta`` and annualized ``alpha`` against it
        (:func:`workbench.analytics.performance.beta_alpha`) and ``information_ratio``: the mean
        of the daily return differences over their sample deviation, times sqrt(252). None
        without bars or equity."""
        from workbench.analytics import performance
        from workbench.model import OCC_SYMBOL

        pieces = [f[["symbol", "close"]] for f in self.frames if "close" in f.columns and len(f)]
        if not pieces or self.equity.empty:
            return None
        bars = pd.concat(pieces)
        bars = bars[~bars["symbol"].astype(str).str.match(OCC_SYMBOL.pattern)]
        if bars.empty:
            return None
        closes = marks_at(self.frames, sorted(pd.unique(bars["symbol"].astype(str))), self.equity.index)
        firsts = closes.apply(lambda c: c.dropna().iloc[0] if c.notna().any() else np.nan)
        growth = (closes / firsts).fillna(1.0)  # cash until a symbol's first close
        bench = self.starting_cash * growth.mean(axis=1)
        stats = equity_statistics(bench, self.starting_cash)
        r = performance.simple_returns(performance.daily_equity(self.equity))
        b = performance.simple_returns(performance.daily_equity(bench))
        beta, alpha = performance.beta_alpha(r, b)
        both = pd.concat([r, b], axis=1, join="inner").dropna()
        active = both.iloc[:, 0] - both.iloc[:, 1]
        sd = float(active.std(ddof=1)) if len(active) > 1 else math.nan
        ir = float(active.mean() / sd * math.sqrt(performance.PERIODS_PER_YEAR)) if sd and sd > 1e-15 else math.nan
        return {"symbols": sorted(closes.columns), "total_return": stats["total_return"],
                "cagr": jsonable(stats["cagr"]), "sharpe": jsonable(stats["sharpe"]),
                "max_drawdown": jsonable(stats["max_drawdown"]), "beta": jsonable(beta), "alpha": jsonable(alpha),
                "information_ratio": jsonable(ir)}

    def rejections(self) -> dict[str, int]:
        """The broker's refusals by reason (none: empty)."""
        stats = self.broker.stats(latency=False) if self.broker is not None else {}
        if not stats.get("orders_rejected"):
            return {}
        return {k.removeprefix("rejected_"): v for k, v in stats.items() if k.startswith("rejected_") and v}

    def portfolio(self) -> dict[str, Any] | None:
        """What holding cost and left idle: ``turnover`` (annualized, one-way: the value traded
        a day over the equity, times 252; buying and selling the whole book once a year is 2)
        and ``cash_share``, the cash's average share of the equity over the run (the cash
        drag's size). None without equity."""
        from workbench.analytics import performance

        if self.equity.empty:
            return None
        f = self.fills
        m = self.broker.multipliers if self.broker is not None else {}
        value = (f["quantity"] * f["price"] * f["symbol"].astype(str).map(lambda s: m.get(s, 1.0))) if len(f) else None
        traded = (pd.Series(value.to_numpy()).groupby(pd.DatetimeIndex(f["time"]).normalize()).sum()
                  if value is not None else pd.Series(dtype=float))  # the value traded each day
        daily = performance.daily_equity(self.equity)
        symbols = [str(c) for c in self.positions.columns]
        marks = marks_at(self.frames, symbols, self.equity.index) * pd.Series({s: m.get(s, 1.0) for s in symbols})
        positions = self.positions.reindex(self.equity.index).ffill().fillna(0.0)
        held = (positions.set_axis(symbols, axis=1) * marks).sum(axis=1)
        cash = (self.equity - held) / self.equity.where(self.equity != 0)
        return {"turnover": jsonable(performance.turnover(traded, daily)), "cash_share": jsonable(float(cash.mean()))}

    def save(self, directory: str | os.PathLike, extra: dict[str, Any] | None = None) -> Path:
        """Write ``orders.csv``, ``fills.csv``, ``equity.csv`` and ``summary.json`` (the
        journal is already there when the run was given ``journal=directory/...``).
        ``summary.json``: :meth:`summary`, with the run's ``rejections``, ``benchmark`` and
        ``portfolio`` and its ``warnings`` where there are any, and ``stopped_early: true``
        for a run stopped before the end of its data (as ``--json`` prints them), and the
        blocks of ``extra`` (a session's ``options``) that are not empty."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        orders = self.orders.copy()
        if len(orders):
            orders["created"] = orders["created"].map(lambda t: t.isoformat())
        orders.to_csv(out / "orders.csv", index=False, lineterminator="\n")
        (out / "fills.csv").write_bytes(self.fills_csv())
        eq = pd.DataFrame({"time": [t.isoformat() for t in self.equity.index], "equity": self.equity.to_numpy()})
        eq.to_csv(out / "equity.csv", index=False, lineterminator="\n")
        document = self.summary()
        for key, value in (("rejections", self.rejections()), ("benchmark", self.benchmark()),
                           ("portfolio", self.portfolio()), ("warnings", list(self.warnings)),
                           ("stopped_early", self.stopped_early), *(extra or {}).items()):
            if value:
                document[key] = value
        (out / "summary.json").write_text(json.dumps(jsonable(document), indent=2) + "\n")
        return out


def marks_at(frames, symbols: list[str], times: pd.DatetimeIndex) -> pd.DataFrame:
    """The mark of each symbol at each time: a bar's close or a quote's mid, carried forward."""
    wanted = set(symbols)
    pieces = []
    for f in frames:
        rows = f[f["symbol"].astype(str).isin(wanted)]
        if not len(rows):
            continue
        value = rows["close"] if "close" in rows.columns else (rows["bid"] + rows["ask"]) / 2
        pieces.append(pd.DataFrame({"symbol": rows["symbol"].astype(str).to_numpy(), "mark": value.to_numpy()},
                                   index=rows.index))
    if not pieces:
        return pd.DataFrame(math.nan, index=times, columns=symbols)
    long = pd.concat(pieces)
    wide = long.groupby([pd.Grouper(level=0), "symbol"])["mark"].last().unstack("symbol")
    return wide.reindex(times.union(wide.index)).ffill().reindex(times).reindex(columns=symbols)


def _user_source(strategy: Strategy) -> str | None:
    """The SHA-256 of the strategy file a class was loaded from (``--strategy-file``,
    :func:`workbench.strategies.load_strategy`): a resume with the file changed is refused
    (other rules, other fills). None for any other class."""
    import inspect

    if not type(strategy).__module__.startswith("workbench_user_"):  # load_strategy's modules
        return None
    try:
        path = Path(inspect.getsourcefile(type(strategy)) or "")
    except TypeError:
        return None
    return sha256_bytes(path.read_bytes()) if path.is_file() else None


def event_times(frames, lo: int | None = None, hi: int | None = None, exclude=()) -> np.ndarray:
    """The event times (int64 ns UTC, in order) of ``frames`` from ``lo`` to ``hi`` (both
    included; ``None``: open), those of the ``exclude``d symbols left out."""
    kept = []
    for f in frames:
        t = pd.DatetimeIndex(f.index).as_unit("ns").asi8
        kept.append(t[~f["symbol"].astype(str).isin(exclude).to_numpy()] if exclude else t)
    out = np.sort(np.concatenate(kept)) if kept else np.zeros(0, dtype=np.int64)
    if lo is not None:
        out = out[out >= lo]
    if hi is not None:
        out = out[out <= hi]
    return out


def _daily(frames) -> bool:
    """Whether the data are daily bars: bars only, and at most one bar per symbol per UTC date
    (stamped at midnight, at a close, or in a local zone): each bar is then its own session."""
    for f in frames:
        if kind_of(f) == "quotes":
            return False
        if not len(f):
            continue
        days = pd.DatetimeIndex(f.index).as_unit("ns").asi8 // _DAY_NS  # UTC dates
        symbols = f["symbol"]
        codes = (symbols.cat.codes.to_numpy() if isinstance(symbols.dtype, pd.CategoricalDtype)
                 else pd.factorize(symbols)[0]).astype(np.int64)
        keys = codes * (int(days.max() - days.min()) + 1) + (days - days.min())
        if not pd.Index(keys).is_unique:
            return False
    return True


def _strategy_error(exc: BaseException, strategy: Strategy, now) -> StrategyError | None:
    """A :class:`StrategyError` for an exception raised in the strategy's own file (the last
    frame of its traceback there), or ``None`` when it came from elsewhere."""
    import inspect
    import traceback

    try:
        source = inspect.getfile(type(strategy))
    except (TypeError, OSError):
        return None
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == source]
    if not frames:
        return None
    f = frames[-1]
    at = f" at {now}" if now is not None else ""
    error = StrategyError(f"strategy {strategy.name} raised {type(exc).__name__}: {exc} in {f.name} "
                          f"({Path(source).name} line {f.lineno}){at}")
    error.__cause__ = exc
    return error


class _Stopped(Exception):
    """A paced wait ended by a stop or the run's duration: the run ends before the next slice."""


class Engine:
    """Runs one strategy over data frames against a simulated broker (module docstring)."""

    name = "engine"

    def __init__(
        self,
        strategy: Strategy,
        *frames: pd.DataFrame,
        broker: SimulatedBroker | None = None,
        instruments: Any = None,
        cash: float = 1_000_000.0,
        commission: Any = None,
        slippage: Any = None,
        account_type: str = "cash",
        participation: float | None = None,
        risk: Any = None,
        journal: str | os.PathLike | None = None,
        durability: str | None = None,
        mode: Mode = "backtest",
        speed: float | None = None,
        start: Any = None,
        end: Any = None,
        session: Session = "auto",
        duration: float | None = None,
        resume: bool = False,
        monitor: Any = None,
        control: Any = None,
        progress: bool = False,
        fast_path: bool = True,
        clock: Callable[[], float] = _time.monotonic,
        sleep: Callable[[float], None] = _time.sleep,
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise TypeError(f"strategy must be a Strategy instance, got {type(strategy).__name__}")
        if mode not in ("backtest", "paper"):
            raise ConfigError(f"mode must be 'backtest' or 'paper', got {mode!r}")
        from workbench import calendars

        session, own = calendars.parse(session)  # a rule and symbols' own, or a ConfigError naming the item
        if mode == "paper" and (speed is None or not speed > 0):
            raise ConfigError(f"paper mode needs a speed > 0 (data seconds per second), got {speed!r}")
        if duration is not None and not duration > 0:
            raise ConfigError(f"duration must be > 0 seconds, got {duration!r}")
        if not frames:
            raise ConfigError("no data: give at least one bar or quote frame")
        self.strategy = strategy
        self.mode = mode
        self.duration = duration
        self.progress = progress
        self.fast_path = fast_path
        self.routed = False  # whether run() took the sparse route (:meth:`_run_sparse`)
        self.clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()  # ends a paced wait early: a stop, a command
        self._deadline: float | None = None
        self._sleep = sleep
        self.monitor = monitor
        self.control = control  # a command channel (workbench.control), drained between slices
        if control is not None:
            control.on_queue = self._wake.set  # a command ends a paced wait: it runs at once
        sleep = self._paced
        if monitor is not None:
            sleep = monitor.sleeper(sleep)  # long paced waits keep the monitor sampling
        self.replay = Replay(*frames, speed=speed if mode == "paper" else None,
                             start=start, end=end, clock=clock, sleep=sleep)
        self._frames = frames
        symbols: set[str] = set()
        for f in frames:
            symbols.update(str(s) for s in pd.unique(f["symbol"]))
        self.symbols = sorted(symbols)
        unknown = sorted(set(own) - symbols)
        if unknown:
            raise ConfigError(f"session: {', '.join(unknown)} is not a symbol of the data "
                              f"({', '.join(self.symbols[:10])}{'...' if len(self.symbols) > 10 else ''})")
        if own and session == "bar":
            raise ConfigError("session: with bar (each bar its own session) no symbol has sessions of its own")
        self.session, self.session_note = self._session_kind(session, frames, self._times_of(frames, exclude=own))
        if resume and session == "auto" and journal is not None and Path(journal).is_file():
            # what auto chose when the run started (before auto knew the exchanges: the UTC date) stays
            from workbench.broker.journal import read_meta

            started = (read_meta(journal).get("engine") or {}).get("session")
            if isinstance(started, str) and started != self.session and (
                    started in ("bar", "date") or started in calendars.names()):
                self.session, self.session_note = started, (
                    f"sessions: {started}, the rule the run started with (its journal), kept by --session auto")
        self.symbol_sessions = {} if self.session == "bar" else dict(sorted(own.items()))  # daily bars: each bar
        self._resume_after_ns: int | None = None
        self._scratch: SimulatedBroker | None = None  # a resumed run's warm-up broker (see run)
        self._recovered: SimulatedBroker | None = None  # and the journal's, which takes over after it
        self._journaled_commands: list[tuple[int, list]] = []  # (time of the slice before, events) of each
        self.resume_note: str | None = None  # a resumed run whose warm-up did not retrace its journal
        self.resumed_nothing = False  # a resumed run whose journal already held every slice of its data
        # What the journal records of the run (and a resume must match): only a journal file
        # needs it, so a backtest in memory does not hash its data.
        setup = None if journal is None else {
            "strategy": strategy.name, "params": strategy.params, "symbols": self.symbols, "mode": mode,
            "data": fingerprint(frames), "start": None if start is None else str(start),
            "end": None if end is None else str(end), "session": self.session,
            "source": _user_source(strategy), **({"sessions": self.symbol_sessions} if self.symbol_sessions else {})}
        self._broker_options: dict[str, Any] | None = None  # set when the engine makes its broker
        if resume:
            if journal is None:
                raise ConfigError("resume needs the journal of the run to resume")
            costs = {"cash": float(cash), "account_type": str(getattr(account_type, "value", account_type)),
                     "commission": commission_from(commission).to_dict(),
                     "slippage": slippage_from(slippage).to_dict(), "participation": participation}
            check_same_setup(journal, setup, costs)
            broker = self._recovered = SimulatedBroker.recover(journal)
            # Carry on after the last slice the journal holds complete: nothing of a slice
            # that was cut short is in it (slices are atomic steps).
            self._resume_after_ns = broker.last_slice_ns
            # the warm-up runs the strategy again over those slices on a broker of the same
            # configuration in memory, so that it lives through the run as it was (its
            # orders, fills and account); the journal's broker takes over after them
            self._scratch = SimulatedBroker.like(journal)
            self._journaled_commands = _command_steps(broker.events())  # given again where the run had them
            self.replay.pace_after_ns = broker.last_slice_ns  # catch up at full speed, then paced
        elif broker is None:
            self._broker_options = dict(
                cash=cash, instruments=_instruments(self.symbols, instruments), account_type=account_type,
                commission=commission,
                slippage=slippage, participation=participation, risk=risk, journal=journal,
                durability=durability or ("sync" if mode == "paper" else "batched"),
            )
            broker = SimulatedBroker(**self._broker_options)
            if setup is not None:
                broker.journal.write_meta({"engine": setup})
        self._sparse_ok = (self._broker_options is not None and journal is None and participation is None and risk is None and monitor is None
                           and control is None and duration is None and mode == "backtest")
        self.broker = broker
        if getattr(strategy, "option_chains", False) and not broker.option_contracts:
            raise ConfigError(f"{strategy.name} trades options: give the underlying's chain as quotes and "
                              "instruments=option_instruments(...) (workbench.strategies.options.option_frames "
                              "makes both from bars)")
        if getattr(strategy, "needs_margin", False) and broker.account().type.value != "margin":
            raise ConfigError(f"{strategy.name} sells calls and puts that its bought wings do not cover here (each "
                              "short leg needs its own cover): run it in a margin account (--account margin)")
        if control is not None:
            control.broker = broker
        self._now_ns: int | None = None  # the time of the slice being handled (``now``)
        self.events = 0  # market events handled so far (the monitor reads it)
        self._bars = 0
        self._quotes = 0
        self._loop_seconds = 0.0
        self._warming = False
        self._ran = False
        self._seen: dict[str, int] = {}  # bars shown to the strategy, per symbol
        self.busy_seconds = 0.0  # time inside the loop's slices (measured when monitored)
        if monitor is not None:
            monitor.attach(engine=self)
        self._bar_arrays: dict[str, dict[str, np.ndarray]] | None = None
        # the strategy's once-a-time hook, called only when a strategy overrides it
        self._on_slice = strategy.on_slice if type(strategy).on_slice is not Strategy.on_slice else None
        self._lean_ok = True  # the loop may take :meth:`_lean` (tests compare it with the full loop)
        self._lean_by_event = False  # whether :meth:`_lean` went event by event (one event a time)
        self._took_lean = False

    # --- strategy-facing -----------------------------------------------------------------

    @property
    def now(self):
        """The time of the slice being handled (UTC; None before the first), built when asked."""
        return None if self._now_ns is None else time_of(self._now_ns)

    def submit(self, symbol, side, quantity, type, limit_price, stop_price, tif):
        """An order from the strategy (while a resumed run warms up, to the warm-up's broker)."""
        return self.broker.place_order(symbol, side, quantity, type, limit_price, stop_price, tif)

    def position(self, symbol: str) -> float:
        return self.broker.position(symbol)

    @property
    def universe(self) -> list[str]:
        """The symbols of the data, option contracts left out."""
        return [s for s in self.symbols if not OCC_SYMBOL.match(s)]

    def commission_estimate(self, symbol: str, side: str, quantity: float, price: float) -> float:
        """The broker's commission on a new order of ``quantity`` at ``price``, filled at once."""
        return self.broker.commission_estimate(symbol, side, quantity, price)

    def exposure(self, symbol: str) -> float:
        """Position plus working buys less working sells (one lookup each)."""
        return self.broker.exposure(symbol)

    def account(self):
        """The broker's account: cash, equity, positions (a snapshot)."""
        return self.broker.account()

    def working(self, symbol: str) -> float:
        """Signed units of working orders (buys positive)."""
        return self.broker.working(symbol)

    def history(self, symbol: str, field: str, n: int | None) -> np.ndarray:
        """The ``field`` values of the bars of ``symbol`` shown so far (a read-only view)."""
        arrays = self._bar_arrays
        if arrays is None:
            arrays = self._bar_arrays = self._build_bar_arrays()
        column = arrays.get(symbol, {}).get(field)
        if column is None:
            return np.empty(0)
        seen = self._seen.get(symbol, 0)
        view = column[max(seen - n, 0) if n else 0:seen]
        view.flags.writeable = False
        return view

    def _build_bar_arrays(self) -> dict[str, dict[str, np.ndarray]]:
        frame = self.replay.frame()
        bars = frame[frame["kind"] == "bars"]
        return {
            str(sym): {f: g[f].to_numpy(dtype=float) for f in ("open", "high", "low", "close", "volume")}
            for sym, g in bars.groupby("symbol", sort=False)
        }

    def _commands(self) -> bool:
        """Run the command channel's queued commands now, between two slices, as one atomic
        journal step; False while they cannot run yet (before the first slice, or while a
        resumed run catches up: they wait for the live slices)."""
        broker = self.broker
        if self._warming or broker.time is None:
            return False
        self.control.execute(step=broker.journal.path is not None)
        return True

    def stop(self) -> None:
        """Ask the run to stop after the current time slice (thread-safe); a paced wait for
        the next slice ends at once."""
        self._stop.set()
        self._wake.set()

    def _paced(self, seconds: float) -> None:
        """The paced replay's wait for the next slice's time. It ends early, without that
        slice, when the run is stopped or its ``duration`` is up (:class:`_Stopped`), and
        runs commands that arrive meanwhile between the two slices."""
        end = self.clock() + seconds
        cut = self._deadline is not None and self._deadline < end
        if cut:
            end = self._deadline
        real = self._sleep is _time.sleep
        while True:
            left = end - self.clock()
            if left <= 0:
                break
            if real:
                self._wake.wait(left)
                self._wake.clear()
            else:
                self._sleep(left)
            if self._stop.is_set():
                raise _Stopped
            if self.control is not None and self.control.pending:
                self._commands()
        if cut:
            raise _Stopped

    # --- the loop ------------------------------------------------------------------------

    def run(self) -> Result:
        """Run to the end of the data (or until stopped) and return the :class:`Result`."""
        if self._ran:
            raise RuntimeError("an Engine runs once; make a new one")
        self._ran = True
        if self.fast_path and self._sparse_eligible():
            result = self._run_sparse()
            if result is not None:
                return result
            # an order the vectorized targets did not foresee (a rejection, an order that did
            # not fill at the next open): the whole run again, event by event, on a new broker
            self.broker = SimulatedBroker(**self._broker_options)
            self._now_ns, self.events, self._bars, self._seen = None, 0, 0, {}
        strategy, broker = self.strategy, self.broker
        # A journal file makes each slice one atomic step (its events and a marker), so a
        # run killed anywhere resumes exactly where the last complete slice ended.
        atomic = broker.journal.path is not None
        if self._resume_after_ns is not None:  # a resumed run warms up on its scratch broker
            broker = self.broker = self._scratch
        self.exposure = broker.exposure  # what strategies read on every bar: the broker's, without a hop
        strategy.bind(self)
        per_bar = self.session == "bar"
        by_date = self.session not in ("bar",)  # sessions by UTC date, or by an exchange's closes
        closes = None
        if self.session != "date" and by_date and len(self.replay):
            span = self.replay._times  # merged event times (int64 ns), in order
            if _daily(self._frames):
                # daily bars (at midnight UTC): each bar is its exchange session, and an order
                # placed at its close works in the next one, as with per-bar sessions
                per_bar, by_date = True, False
            else:
                from workbench import calendars

                closes = calendars.closes(self.session, pd.DatetimeIndex([span[0], span[-1]], tz="UTC"))
        # symbols with sessions of their own (session="XNYS,VOD=XLON"): [closes (None: the UTC
        # date), their symbols, the session the last slice was in], one a rule
        groups, own = [], frozenset(self.symbol_sessions) if by_date else frozenset()
        if own:
            from workbench import calendars

            span = pd.DatetimeIndex([self.replay._times[0], self.replay._times[-1]], tz="UTC")
        for rule in sorted(set(self.symbol_sessions.values()) if own else ()):
            groups.append([None if rule == "date" else calendars.closes(rule, span),
                           frozenset(s for s, r in self.symbol_sessions.items() if r == rule), None])
        resume_ns = self._resume_after_ns
        wall0 = _time.perf_counter()
        deadline = self._deadline = None if self.duration is None else self.clock() + self.duration
        bar = None
        if self.progress:
            bar = tqdm(total=len(self.replay), unit="ev", unit_scale=True, desc=f"{self.mode} {strategy.name}")
        stopped = False
        on_bar, on_quote = strategy.on_bar, strategy.on_quote
        restore_sigint = self._stop_on_sigint()
        try:
            if resume_ns is not None:  # (before on_start: an error there hands the journal's broker back too)
                self._warming = True
            strategy.on_start()
            previous = previous_mine = None  # the last slice's first event (its time closes a session), and the
            # last of a slice of the run's own symbols (not only of those with sessions of their own)
            day = None
            monitor = self.monitor
            perf = _time.perf_counter
            if monitor is not None:
                monitor.session_started()
            control = self.control
            lean = (self._lean_ok and self.mode == "backtest" and control is None and not atomic and not own
                    and deadline is None and bar is None and resume_ns is None and self._on_slice is None
                    and not broker._own_hooks and not broker._own_session_end)
            slices = self.replay.slices()
            self._took_lean = lean
            if lean:  # a backtest in memory: the same steps, without what is not there
                previous, stopped = self._lean(slices, per_bar, by_date, closes, on_bar, on_quote)
                slices = ()
            for t_ns, events in slices:
                if self._warming:
                    if t_ns > resume_ns:
                        broker = self._take_over(check=True)
                    elif self._journaled_commands and self._journaled_commands[0][0] < t_ns:
                        self._give_commands(t_ns)
                if control is not None and control.pending:
                    self._commands()
                step = atomic and not self._warming
                if step:
                    broker.begin_slice()
                try:
                    # the session: the UTC date, or the first exchange close at or after t; with
                    # symbols of other exchanges, told by the slices of the run's own symbols (the
                    # next session's first time settles options over a holiday)
                    mine = not own or not own.issuperset([e[1] for e in events])  # a slice of the run's symbols
                    if by_date and mine:
                        today = t_ns // _DAY_NS if closes is None else int(np.searchsorted(closes, t_ns, "left"))
                        if day is not None and today != day:
                            broker.end_session(previous_mine.time, next_time=events[0].time, exclude=own)
                        day = today
                    for group in groups:  # (none, as a rule)
                        g_closes, g_symbols, g_day = group
                        today = t_ns // _DAY_NS if g_closes is None else int(np.searchsorted(g_closes, t_ns, "left"))
                        if g_day is not None and today != g_day:
                            broker.end_session(previous.time, symbols=g_symbols)
                        group[2] = today
                    if monitor is None:
                        self._slice(events, per_bar, on_bar, on_quote)
                    else:
                        t0 = perf()
                        self._slice(events, per_bar, on_bar, on_quote)
                        self.busy_seconds += perf() - t0
                        monitor.tick()
                    if step:
                        broker.end_slice()
                except BaseException:
                    if step:
                        broker.abort_slice()
                    raise
                previous = events[0]
                if mine:
                    previous_mine = events[0]
                if bar is not None and self.events % PROGRESS_EVERY < len(events):
                    bar.n = self.events
                    bar.refresh()
                if self._stop.is_set() or (deadline is not None and self.clock() >= deadline):
                    stopped = True
                    break
            if self._warming and not stopped:  # the journal held every slice of the data
                self._give_commands(None)
                scratch = broker
                if by_date and previous is not None:
                    scratch.end_session(previous.time)  # (the warm-up's, to compare like with like)
                broker = self._take_over(check=False)
                seq = broker.last_seq
                if by_date and previous is not None:  # nothing to do when the run closed its last session; a
                    broker.end_session(previous.time)  # run stopped on its last slice (or killed then) had not
                self.resumed_nothing = broker.last_seq == seq
                self.resume_note = _warmup_difference(scratch, broker)  # (both past that close)
            elif by_date and previous is not None and not stopped:
                broker.end_session(previous.time)
        except (KeyboardInterrupt, _Stopped):
            stopped = True
        except WorkbenchError:
            raise
        except (Exception, SystemExit) as exc:  # sys.exit() in a strategy is its error, not the program's end
            raise _strategy_error(exc, strategy, self.now) or exc
        finally:
            restore_sigint()
            if self._warming:  # stopped during the warm-up: the journal's broker, as it stands
                broker = self._take_over(check=False)
            try:
                try:
                    strategy.on_stop()
                except WorkbenchError:
                    raise
                except (Exception, SystemExit) as exc:
                    earlier = exc.__context__  # an error already on its way (on_start's, on_bar's) wins
                    if earlier is not None and not isinstance(earlier, (KeyboardInterrupt, _Stopped)):
                        raise earlier from None
                    raise _strategy_error(exc, strategy, self.now) or exc
            finally:
                try:
                    broker.journal.release()  # written, and free for the next writer
                except JournalError:
                    if not stopped and sys.exc_info()[0] is None:
                        raise  # a failure of its own; otherwise the error already on its way wins
                if self.monitor is not None:
                    self.monitor.session_ended()
                if bar is not None:
                    bar.n = self.events
                    bar.close()
        self._loop_seconds = _time.perf_counter() - wall0
        return self._result(stopped)

    def _lean(self, slices, per_bar: bool, by_date: bool, closes, on_bar, on_quote) -> tuple:
        """The loop of :meth:`run` and :meth:`_slice` for a backtest with no journal file,
        command channel, duration, progress bar, resume, ``on_slice`` hook or symbols with
        sessions of their own, and a broker without hooks of its own: the same steps in the
        same order, without the checks for what is not there. A bar of a symbol with no
        working order and no quote held is marked here (as ``SimulatedBroker.on_events``
        does); any other slice goes through the broker's ``on_events``. A monitor is told of
        each slice as in the full loop (its time counted in ``busy_seconds``). Bars with no two at
        one time (one symbol's), unmonitored and in per-bar sessions, are taken event by event
        rather than slice by slice (``_lean_by_event``). Returns the last slice's first event
        and whether the run was stopped."""
        broker, strategy = self.broker, self.strategy
        on_fill = strategy.on_fill
        books, quotes, held = broker._open._books, broker._quotes, broker._account._books
        contracts = broker._contracts
        on_events, end_session, mark = broker.on_events, broker.end_session, broker._account.mark
        seen, stop = self._seen, self._stop
        seen_get = seen.get
        bars_only = all(source.kind == "bars" for source in self.replay._sources)
        previous = None
        day = None
        bars = quotes_seen = 0
        monitor, perf = self.monitor, _time.perf_counter
        replay = self.replay
        if (bars_only and not by_date and monitor is None and replay.speed is None and replay.pace_after_ns is None
                and replay.one_event_per_time):
            # one bar a time (one symbol's bars): the same steps over the events themselves, without
            # a list a slice (the common backtest: a third of the loop's own time)
            self._lean_by_event = True
            try:
                for e in replay:
                    t_ns = e[0]
                    self._now_ns = t_ns
                    self.events += 1
                    symbol = e[1]
                    if books:
                        for f in on_events((e,)):
                            on_fill(f)
                    else:
                        if broker._now_ns is None or t_ns > broker._now_ns:
                            broker._now_ns = t_ns
                        book = held.get(symbol)
                        if book is None:
                            mark(symbol, e[5])
                        else:
                            book.last = e[5]
                    if per_bar and (books or contracts):
                        end_session()  # (the broker's time is the bar's: no Timestamp to build)
                    bars += 1
                    seen[symbol] = seen_get(symbol, 0) + 1
                    on_bar(e)
                    previous = e
                    if stop.is_set():
                        return previous, True
                return previous, False
            finally:
                self._bars += bars
        try:
            for t_ns, events in slices:
                if monitor is not None:
                    t0 = perf()
                self._now_ns = t_ns
                self.events += len(events)
                if by_date:
                    today = t_ns // _DAY_NS if closes is None else int(np.searchsorted(closes, t_ns, "left"))
                    if day is not None and today != day:
                        broker.end_session(previous.time, next_time=events[0].time, exclude=frozenset())
                    day = today
                if books or quotes or not bars_only:
                    for f in on_events(events):
                        on_fill(f)
                else:
                    if broker._now_ns is None or t_ns > broker._now_ns:
                        broker._now_ns = t_ns
                    for e in events:
                        book = held.get(e[1])
                        if book is None:
                            mark(e[1], e[5])
                        else:
                            book.last = e[5]
                if per_bar and (books or contracts):
                    end_session()  # (the broker's time is this slice's already)
                for e in events:
                    if type(e) is Bar:
                        bars += 1
                        symbol = e[1]
                        seen[symbol] = seen_get(symbol, 0) + 1
                        on_bar(e)
                    else:
                        quotes_seen += 1
                        n = broker.fill_count
                        on_quote(e)
                        for f in broker.fills_since(n):
                            on_fill(f)
                previous = events[0]
                if monitor is not None:
                    self.busy_seconds += perf() - t0
                    monitor.tick()
                if stop.is_set():
                    return previous, True
            return previous, False
        finally:
            self._bars += bars
            self._quotes += quotes_seen

    def _take_over(self, check: bool) -> SimulatedBroker:
        """The end of a resumed run's warm-up: the journal's broker takes over from the
        scratch one, shown the market as the warm-up left it (last prices, quotes, the last
        settled expiry date: what the journal does not hold). With ``check``, the warm-up's
        orders and fills are compared with the journal's; a difference (an operator's
        command, a strategy that does not decide the same way twice) is kept in
        ``resume_note``: the run carries on from the journal's account all the same."""
        scratch, real = self.broker, self._recovered
        if check:
            self._give_commands(None)
        real.carry_market(scratch)
        if check:
            self.resume_note = _warmup_difference(scratch, real)
        self.broker, self.exposure, self._warming = real, real.exposure, False
        return real

    def _give_commands(self, before_ns: int | None) -> None:
        """A resumed run's warm-up: the operator's commands, and a stopped run's ``on_stop``
        orders, that the journal holds before ``before_ns`` (``None``: all), given to the
        scratch broker as the command channel (``workbench.control``) or the strategy gave them
        to the run, so that the warm-up's account (and its order ids) is the run's. What they
        did in turn (fills at a held quote, the kill switch's cancels) the broker does again."""
        b, steps = self.broker, self._journaled_commands
        while steps and (before_ns is None or steps[0][0] < before_ns):
            for e, _ in steps.pop(0)[1]:
                p = e.payload
                if e.kind == "accepted" or (e.kind == "rejected" and p.get("action") == "place"):
                    r = p if e.kind == "accepted" else p.get("request", {})
                    try:
                        b.place_order(r.get("symbol"), r.get("side"), r.get("quantity"), r.get("type") or "market",
                                      r.get("limit_price"), r.get("stop_price"), r.get("tif") or "day",
                                      client_id=r.get("client_id"))
                    except (TypeError, ValueError, OverflowError):
                        pass  # (refused as it was: the comparison with the journal says if not)
                elif e.kind == "cancelled":
                    b.cancel_order(e.order_id, by=p.get("by"))
                elif e.kind == "rejected" and p.get("action") == "cancel":
                    b.cancel_order(e.order_id, by=p.get("request", {}).get("by"))
                elif e.kind == "kill_switch":
                    reason = str(p.get("reason", ""))
                    if p.get("on"):
                        b.kill_switch(reason)
                    else:
                        b.reset_kill_switch(reason[len("reset by "):] if reason.startswith("reset by ") else None)

    def _stop_on_sigint(self) -> Callable[[], None]:
        """In the main thread, Ctrl-C asks the run to stop after the current slice (a second
        one interrupts at once); returns what restores the previous handler."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum, frame):
            if self._stop.is_set():
                raise KeyboardInterrupt
            self.stop()

        try:
            previous = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main interpreter
            return lambda: None
        return lambda: signal.signal(signal.SIGINT, previous)

    def _slice(self, events: list, per_bar: bool, on_bar, on_quote) -> None:
        """One time slice: broker, fills, session close, strategy (module docstring)."""
        broker, strategy = self.broker, self.strategy
        seen = self._seen
        self._now_ns = events[0][0]
        self.events += len(events)
        for f in broker.on_events(events):
            strategy.on_fill(f)
        if per_bar and broker.session_work():
            broker.end_session(self.now)
        for e in events:
            if type(e) is Bar:
                self._bars += 1
                seen[e[1]] = seen.get(e[1], 0) + 1
                on_bar(e)
            else:
                self._quotes += 1
                n = broker.fill_count
                on_quote(e)
                for f in broker.fills_since(n):  # matched at once against the current quote
                    strategy.on_fill(f)
        if self._on_slice is not None:
            n = broker.fill_count
            self._on_slice(self.now)
            for f in broker.fills_since(n):
                strategy.on_fill(f)

    # --- the sparse route ------------------------------------------------------------------

    def _sparse_eligible(self) -> bool:
        """Whether :meth:`_run_sparse` gives this run's result: a backtest in memory (no journal
        file, monitor, command channel or duration) of one symbol's bars in per-bar sessions,
        with no participation cap or risk limits and every instrument of multiplier 1, by a
        strategy whose class gives ``vectorized_targets`` and whose event hooks are those of
        that class (a subclass that changes ``on_bar`` or ``on_fill`` is run event by event)."""
        if not self._sparse_ok or self.session != "bar" or self.broker.multipliers:
            return False
        sources = self.replay._sources
        if len(sources) != 1 or sources[0].kind != "bars" or not len(self.replay):
            return False
        cls = type(self.strategy)
        owner = next((k for k in cls.__mro__ if "vectorized_targets" in vars(k)), None)
        if owner is None or not getattr(cls, "vectorizable", lambda params: True)(self.strategy.params):
            return False
        hooks = ("on_start", "on_bar", "on_quote", "on_fill", "on_stop", "on_slice", "bind", "target_position",
                 "order")
        if any(getattr(cls, h) is not getattr(owner, h) for h in hooks):
            return False
        if any(h in getattr(self.strategy, "__dict__", {}) for h in hooks):  # a hook set on the instance
            return False
        symbols = sources[0].symbols
        return bool((symbols == symbols[0]).all())

    def _run_sparse(self) -> Result | None:
        """The run without visiting every bar: the strategy's ``vectorized_targets`` (the same
        arithmetic as its ``on_bar``, the optimizer's fast path) say where its target changes;
        the same broker is then shown only the bars where something happens (a decision, the
        next bar's open that fills it, the last bar) and takes the same orders through
        ``place_order``, with its own money checks, fills, costs and journal. On bars where
        nothing changes the event loop would only mark the position, which the equity curve
        (built from the data, as the loop's is) already does. Returns ``None``, having changed
        only this engine's broker, when an order is rejected or does not fill at the next bar:
        the caller then runs the loop on a fresh broker. ``Engine.routed`` says which ran."""
        from workbench.feed.replay import _build

        t0 = _time.perf_counter()
        strategy, broker, replay = self.strategy, self.broker, self.replay
        source = replay._sources[0]
        rows = replay._rows
        n = rows.size
        close = source.columns[FIELD_CLOSE][rows]
        target = np.asarray(type(strategy).vectorized_targets(close, strategy.params), dtype=float)
        if target.shape != (n,) or not np.isfinite(target).all():
            return None
        changes = np.flatnonzero(np.abs(np.diff(np.concatenate([[0.0], target]))) > 1e-9)
        visit = np.union1d(np.union1d(changes, np.minimum(changes + 1, n - 1)), [n - 1])
        decide = set(changes.tolist())
        symbol = str(source.symbols[0])
        strategy.bind(self)
        strategy.on_start()
        held = np.concatenate([[0.0], target[:-1]])  # the position the loop holds at bar i: target[i - 1]
        for i, bar in zip(visit.tolist(), _build(source, rows[visit])):
            self._now_ns = bar[0]
            broker.on_bar(bar)
            broker.end_session()  # (at the bar's time: on_bar moved the broker's clock there)
            if broker.working(symbol) or abs(broker.position(symbol) - held[i]) > 1e-9:
                return None  # an order not filled (or filled in part) at this open: the loop would re-decide
            if i in decide:
                delta = float(target[i]) - broker.exposure(symbol)
                if abs(delta) >= 1e-9 and not broker.place_order(symbol, "buy" if delta > 0 else "sell", abs(delta)):
                    return None
        strategy.on_stop()
        self.events = self._bars = n
        self._seen = {symbol: n}
        self.routed = True
        if self.progress:
            with tqdm(total=n, unit="ev", unit_scale=True, desc=f"{self.mode} {strategy.name} (sparse)") as bar:
                bar.update(n)
        self._loop_seconds = _time.perf_counter() - t0
        return self._result(False)

    # --- results -------------------------------------------------------------------------

    def _result(self, stopped: bool) -> Result:
        broker = self.broker
        fs = broker.fills()
        fills = pd.DataFrame(
            {"time": [f.time for f in fs], "symbol": [f.symbol for f in fs], "side": [f.side.value for f in fs],
             "quantity": [f.quantity for f in fs], "price": [f.price for f in fs],
             "commission": [f.commission for f in fs], "slippage": [f.slippage for f in fs],
             "order_id": [f.order_id for f in fs], "seq": [f.seq for f in fs]} if fs else None,
            columns=["time", "symbol", "side", "quantity", "price", "commission", "slippage", "order_id", "seq"],
        )
        orders = broker.order_frame()
        equity, positions = self._equity(fills, stopped)
        return Result(
            strategy=self.strategy.name,
            params=dict(self.strategy.params),
            symbols=self.symbols,
            mode=self.mode,
            bars=self._bars,
            quotes=self._quotes,
            orders=orders,
            fills=fills,
            equity=equity,
            positions=positions,
            trades=analytics.round_trips(fills, self.broker.multipliers),
            starting_cash=broker.account().starting_cash,
            journal=broker.journal.path,
            seconds=self._loop_seconds,
            stopped_early=stopped,
            broker=broker,
            frames=tuple(self._frames),
        )

    def _equity(self, fills: pd.DataFrame, stopped: bool) -> tuple[pd.Series, pd.DataFrame]:
        options = self.broker.option_contracts
        untraded: set[str] = set()
        if options:  # a chain's contracts never traded are worth nothing to the account: not marked
            untraded = set(options) - (set(fills["symbol"].astype(str)) if len(fills) else set())
        marks = self.replay.marks(until_ns=self._now_ns, exclude=untraded)
        return equity_curve(marks, fills, self.broker.account().starting_cash, self.broker.multipliers)

    def _times_of(self, frames, exclude) -> np.ndarray:
        """The replay's event times (int64 ns, in order), those of the ``exclude``d symbols left
        out (they have sessions of their own)."""
        if not exclude:
            return self.replay._times
        times = self.replay._times
        return event_times(frames, *((times[0], times[-1]) if len(times) else (0, -1)), exclude)

    @staticmethod
    def session_choice(session: Session, frames, start=None, end=None) -> tuple[str, str | None]:
        """The session rule a run of ``frames`` between ``start`` and ``end`` gets, and what
        ``auto`` chose and why: what :class:`Engine` decides, for checks made before one is
        built (it writes its journal)."""
        from workbench import calendars

        rule, own = calendars.parse(session)
        lo = None if start is None else utc_time(start, "start").as_unit("ns").value
        hi = None if end is None else utc_time(end, "end").as_unit("ns").value
        return Engine._session_kind(rule, frames, event_times(frames, lo, hi, own))

    @staticmethod
    def _session_kind(session: Session, frames, times_ns: np.ndarray) -> tuple[str, str | None]:
        """The session rule a run follows, and what ``auto`` chose for intraday data and why
        (``None`` otherwise). ``auto``: each bar for daily bars; for intraday data, the New
        York Stock Exchange's sessions (:data:`workbench.calendars.DEFAULT`) when every date
        of the data is one of its session days (:func:`workbench.calendars.off_days`) and
        every bar lies near one (:func:`workbench.calendars.far_from_sessions`), else the UTC
        date (a 24-hour market, or bars on its holidays); daily bars with quotes at their
        times (option chains) keep the UTC date, and so does a run whose every symbol has
        sessions of its own."""
        from workbench import calendars

        if session not in ("auto", "bar", "date"):
            return calendars.check(session), None
        if session != "auto":
            return session, None
        if _daily(frames):
            return "bar", None
        bars = [f for f in frames if kind_of(f) == "bars"]
        if bars and len(bars) < len(frames) and _daily(bars):  # daily bars and quotes at their times (chains)
            return "date", None  # (as before auto knew the exchanges)
        if not len(times_ns):  # every symbol has sessions of its own: the run's rule serves none
            return "date", None
        name = calendars.DEFAULT
        off = calendars.off_days(name, times_ns)
        far = calendars.far_from_sessions(name, times_ns) if off == [] else None
        if off == [] and far is None:
            return name, (f"sessions follow {name} (--session auto: every date of the intraday data is one of its "
                          f"session days, every bar within {calendars.NEAR_HOURS} hours of a session): DAY orders "
                          f"expire at its close; --session date ends them at the UTC date instead")
        if far is not None:
            why = (f"bars in hours more than {calendars.NEAR_HOURS} hours from any {name} session, the first in "
                   f"the hour from {far}: a 24-hour market")
        elif off:
            why = (f"{len(off):,} date(s) of the data (New York time) are not {name} session days, the first "
                   f"{off[0]}: a 24-hour market, or bars on its holidays")
        else:
            why = f"the data's dates are outside the {name} calendar"
        return "date", (f"sessions end at the UTC date (--session auto: {why}); --session {name} follows its "
                        f"sessions anyway, the bars outside them counted, and so does another exchange's calendar "
                        f"(--session XLON, XTKS...; per symbol: --session date,SYM=XLON)")

    # --- component API -------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": workbench.__version__,
            "capabilities": ["modes:backtest,paper", "sessions:bar,date", "resume", "multi-symbol"],
            "config": {"mode": self.mode, "strategy": self.strategy.name, "params": self.strategy.params,
                       "symbols": self.symbols, "session": self.session, "speed": self.replay.speed},
        }

    def stats(self) -> dict[str, float | int]:
        s = self._loop_seconds
        return {
            "events": self.events,
            "bars": self._bars,
            "quotes": self._quotes,
            "loop_seconds": s,
            "events_per_second": self.events / s if s else 0.0,
        }

    def self_test(self) -> list[CheckResult]:
        """Quick checks of the loop: no look-ahead, next-open fills, equity = broker's."""
        return [
            run_check(self.name, "no_lookahead", _check_no_lookahead),
            run_check(self.name, "fills_at_next_open", _check_next_open),
        ]


class _Peek(Strategy):
    """Records what it can see at each bar (self-test)."""

    name = "_peek"

    def on_start(self) -> None:
        self.seen: list[tuple[int, float, float]] = []

    def on_bar(self, bar: Bar) -> None:
        closes = self.history(bar.symbol)
        self.seen.append((len(closes), closes[-1], bar.close))
        self.target_position(bar.symbol, 10.0 if len(closes) % 2 else 0.0)


def _check_no_lookahead() -> str:
    from workbench.feed import synthetic_bars

    bars = synthetic_bars(1, days=50, seed=5)
    peek = _Peek()
    backtest(peek, bars)
    for i, (n, last, close) in enumerate(peek.seen):
        if n != i + 1 or last != close:
            raise AssertionError(f"bar {i}: saw {n} closes ending {last}, current close {close}")
    return f"{len(peek.seen)} bars: history always ends at the current bar"


def _check_next_open() -> str:
    from workbench.feed import synthetic_bars

    bars = synthetic_bars(1, days=50, seed=6)
    result = backtest(_Peek(), bars)
    opens = bars["open"].to_numpy()
    times = bars.index
    for f in result.fills.itertuples():
        i = times.get_loc(f.time)
        if f.price != opens[i] or i == 0:
            raise AssertionError(f"fill at {f.time} at {f.price}, bar open {opens[i]}")
    final = result.broker.account().equity
    if not math.isclose(result.equity.iloc[-1], final, rel_tol=1e-12):
        raise AssertionError(f"equity curve ends at {result.equity.iloc[-1]}, broker at {final}")
    return f"{len(result.fills)} fills, each at the next bar's open; equity matches the broker"


def _instruments(symbols: list[str], given: Any) -> list:
    """The broker's instruments: ``given`` (Instrument objects, a dict by symbol, or None) for
    the symbols they name, plain ones (tick 0.01, lot 1, multiplier 1) for the rest; an
    instrument for a symbol not in the data is refused."""
    from workbench.model import Instrument

    if given is None:
        return list(symbols)
    items = list(given.values()) if isinstance(given, dict) else list(given)
    for i in items:
        if not isinstance(i, Instrument):
            raise ConfigError(f"instruments: expected Instrument objects, got {type(i).__name__}")
    by_symbol = {i.symbol: i for i in items}
    unknown = sorted(set(by_symbol) - set(symbols))
    if unknown:
        shown = list(symbols)[:10]
        more = f" and {len(symbols) - 10:,} more" if len(symbols) > 10 else ""
        raise ConfigError(f"instruments for symbols not in the data: {', '.join(unknown[:10])}"
                          + (f" and {len(unknown) - 10:,} more" if len(unknown) > 10 else "")
                          + f" (the data has {', '.join(shown)}{more})")
    from workbench.model import OCC_SYMBOL, AssetClass

    present = set(symbols)
    missing = sorted({OCC_SYMBOL.match(i.symbol).group(1).strip() for i in items
                      if i.asset_class is AssetClass.OPTION and OCC_SYMBOL.match(i.symbol)} - present)
    if missing:
        raise ConfigError(f"options on {', '.join(missing)} need {'its' if len(missing) == 1 else 'their'} bars or "
                          "quotes in the data: exercise, assignment and the greeks need the underlying's price")
    return [by_symbol.get(s, s) for s in symbols]


def equity_curve(marks: pd.DataFrame, fills: pd.DataFrame, starting_cash: float,
                 multipliers: dict[str, float] | None = None) -> tuple[pd.Series, pd.DataFrame]:
    """Equity at each time of ``marks``: cash + sum(position x mark x multiplier), with cash
    and positions folded from ``fills`` (``time, symbol, side, quantity, price, commission``);
    ``multipliers``: contract sizes by symbol where not 1. Vectorized; shared by the engine
    and the optimizer's fast path, so both agree exactly."""
    multipliers = multipliers or {}
    times = marks.index
    if not len(times):
        empty = pd.Series(dtype=float, name="equity", index=times)
        return empty, pd.DataFrame(index=times)
    if len(fills):
        sign = np.where(fills["side"] == "buy", 1.0, -1.0)
        ft = pd.DatetimeIndex(pd.to_datetime(fills["time"], utc=True))
        signed = pd.DataFrame({"symbol": fills["symbol"].to_numpy(), "q": sign * fills["quantity"].to_numpy()},
                              index=ft)
        pos = signed.groupby([pd.Grouper(level=0), "symbol"])["q"].sum().unstack("symbol")
        trade = sign * fills["quantity"].to_numpy() * fills["price"].to_numpy()
        if multipliers:
            trade = trade * fills["symbol"].astype(str).map(multipliers).fillna(1.0).to_numpy()
        flows = pd.Series(-trade - fills["commission"].to_numpy(), index=ft)
        per_time = flows.groupby(level=0).sum()
        # Running sums over the fills' times, each mark time taking the last at or before it
        # (0 before the first fill): what summing over the union of both time axes gives,
        # without building that union (whose frequency inference cost more than the rest).
        at = np.searchsorted(per_time.index.as_unit("ns").asi8, times.as_unit("ns").asi8, side="right") - 1
        before = at < 0
        held = np.vstack([np.zeros((1, pos.shape[1])), pos.fillna(0.0).cumsum().to_numpy()])[at + 1]
        pos = pd.DataFrame(held, index=times, columns=pos.columns)
        cash = pd.Series(np.where(before, 0.0, per_time.cumsum().to_numpy()[at]), index=times)
        cash = starting_cash + cash
    else:
        pos = pd.DataFrame(0.0, index=times, columns=marks.columns)
        cash = pd.Series(starting_cash, index=times)
    pos = pos.reindex(columns=marks.columns, fill_value=0.0)
    values = marks.fillna(0.0)
    if multipliers:
        values = values * pd.Series([multipliers.get(str(c), 1.0) for c in values.columns], index=values.columns)
    equity = cash + (pos * values).sum(axis=1)
    equity.name = "equity"
    equity.index.name = "time"
    pos.index.name = "time"
    return equity, pos


def _command_steps(events) -> list[tuple[int, list]]:
    """What a resumed run's warm-up gives its broker between slices, from the journal:
    ``(time of the slice before, events)`` of each group of events up to a ``slice`` marker
    that holds an operator's events (an order with a ``client_id``, a cancel ``by`` someone,
    the kill switch; the engine's own orders carry neither) or a stopped run's ``on_stop``
    orders. Those were written outside any step, so they open the group that follows: before
    its first operator event when it is a command step, or stamped before its marker's time
    when it is a market slice (whose own orders carry the slice's time), or they follow the
    journal's last marker; they are tagged ``on_stop`` (as ``(event, True)``; the
    operator's ``(event, False)``)."""
    steps, current = [], []
    for e in events:
        if e.kind != "slice":
            current.append(e)
            continue
        operator = [_by_operator(x) for x in current]
        first = operator.index(True) if any(operator) else None
        given = []
        for i, x in enumerate(current):
            if operator[i]:
                given.append((x, False))
            elif _an_order_action(x) and (x.time_ns < e.time_ns if first is None else i < first):
                given.append((x, True))
        if given:  # given before the first slice after them (a market slice's own time is its marker's)
            steps.append((e.time_ns if first is not None else given[0][0].time_ns, given))
        current = []
    trailing = [(x, True) for x in current if _an_order_action(x)]  # after the last marker: the last run's on_stop
    if trailing:
        steps.append((trailing[0][0].time_ns, trailing))
    return steps


def _an_order_action(e) -> bool:
    """An order placed (accepted or refused) or cancelled on request: what a strategy does."""
    p = e.payload
    return (e.kind == "accepted" or (e.kind == "rejected" and p.get("action") in ("place", "cancel"))
            or (e.kind == "cancelled" and p.get("reason") == "requested"))


def _by_operator(e) -> bool:
    p = e.payload
    if e.kind == "accepted":
        return p.get("client_id") is not None
    if e.kind == "rejected":
        request = p.get("request") or {}
        return request.get("client_id") is not None or "by" in request
    return (e.kind == "cancelled" and "by" in p) or e.kind == "kill_switch"


def _warmup_difference(scratch: SimulatedBroker, real: SimulatedBroker) -> str | None:
    """How a resumed run's warm-up differs from its journal (the first order or fill that
    is not the same), or ``None`` when it retraced it."""
    def orders(b):  # with the time each was placed: the first that differs is the first placed otherwise
        return [(o.id, time_of(o.created_ns), o.symbol, o.side.value, o.type.value, o.quantity, o.limit, o.stop)
                for o in b._orders.values()]

    def fills(b):  # (an expiry's fills are named by its event's sequence number, which the slice markers shift)
        return [("E" if f.order_id.startswith("E") else f.order_id, f.time, f.symbol, f.side.value, f.quantity,
                 f.price, f.commission) for f in b.fills()]

    for what, ours, theirs in (("order", orders(scratch), orders(real)), ("fill", fills(scratch), fills(real))):
        if ours != theirs:
            i = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
            seen = "none" if i >= len(ours) else _shown(ours[i])
            held = "none" if i >= len(theirs) else _shown(theirs[i])
            return (f"resume: the warm-up did not retrace the journal: its {what} {i + 1} is {seen}; the journal's "
                    f"is {held} (a strategy that does not decide the same way twice, or a command the warm-up could "
                    "not give again); the run carries on from the journal's account, and the strategy's own state "
                    "may differ from a run that never stopped")
    return None


def _shown(row: tuple) -> str:
    """An order or fill of :func:`_warmup_difference` in words: its fields, ``None`` left out."""
    return " ".join(str(v) for v in row if v is not None)


def backtest(strategy: Strategy, *frames: pd.DataFrame, **options: Any) -> Result:
    """Run ``strategy`` over ``frames`` in backtest mode (options as :class:`Engine`)."""
    return Engine(strategy, *frames, mode="backtest", **options).run()
