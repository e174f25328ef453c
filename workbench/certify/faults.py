"""The fault library: documented, realistic breakages of real components, and the seam they
are injected through.

The seam is one mechanism: a fault names one attribute of the package (a function, a
method, a property, a constant: ``"workbench.broker.fills:_limit_on_bar"``) that the
components look up when they run, and :func:`inject` replaces it, for the duration of a
``with`` block, by a broken version made from the original. Nothing is edited on disk and
nothing else changes; every target is listed here, so the set of places a fault can reach
is explicit and tested.

``workbench certify --faults`` runs the healthy certification, then, for each fault, a
forked copy of the certifying process with the fault injected runs the categories the
fault needs (its own, after any that produce what it breaks) and reports which went red.
A fault is *caught* when its own category is red. The detection rate is caught / total;
the certification passes only when every fault is caught.

What this shows, and what it cannot: each fault proves that one realistic way of breaking
one component turns the certification red, and which checks notice. It does not prove
that every possible bug is caught: a breakage unlike any here (say, a wrong fill on an
order type no scenario places) can still pass; the library grows when a bug slips through.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import math
import multiprocessing
import os
import tempfile
import time
import traceback
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.certify.report import TITLES
from workbench.hashing import sha256_bytes


@dataclass(frozen=True)
class Fault:
    """One breakage: ``target`` (``module:attribute`` or ``module:Class.attribute``) is
    replaced by ``make(original)`` while the fault is injected."""

    name: str
    category: str  # the category that must go red
    what: str  # the breakage, in the trade's words
    target: str
    make: Callable[[Any], Any]
    before: tuple[str, ...] = ()  # categories to run first (they record what the fault breaks)
    only: tuple[str, ...] | None = None  # just these checks of its category (None: all)

    def categories(self) -> tuple[str, ...]:
        return (*self.before, self.category)


# --- locating and replacing a target ---------------------------------------------------------


def _resolve(target: str) -> tuple[Any, str]:
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, attr = path.split(".")
    for p in parents:
        owner = getattr(owner, p)
    if attr not in vars(owner):
        raise AttributeError(f"fault target {target}: {owner!r} has no attribute {attr!r} of its own")
    return owner, attr


@contextlib.contextmanager
def inject(fault: Fault) -> Iterator[Fault]:
    """Replace the fault's target for the duration of the block, then restore it."""
    owner, attr = _resolve(fault.target)
    original = vars(owner)[attr]  # the raw attribute: a property or staticmethod stays one
    setattr(owner, attr, fault.make(original))
    try:
        yield fault
    finally:
        setattr(owner, attr, original)


# --- the broken versions ---------------------------------------------------------------------
# Each maker takes the original attribute and returns the broken one.


DROPPED_RULES = frozenset({"high_ge_open_close", "low_le_open_close", "volume_nonneg", "bid_le_ask"})


def _drop_rules(original):
    def add(self, rule, column, mask):
        if rule in DROPPED_RULES:
            return None
        return original(self, rule, column, mask)
    return add


def _seed_ignored(original):
    def streams(self):
        return original(dataclasses.replace(self, seed=0))
    return streams


def _unstable_sort(original):
    def merge_order(times, source_ids):
        return np.argsort(times, kind="quicksort")
    return merge_order


def _ties_reversed(original):
    def merge_order(times, source_ids):
        return np.lexsort((-np.asarray(source_ids, dtype=np.int64), times))
    return merge_order


def _key_by_path(original):
    def cache_key(p, **options):
        st = Path(p).stat()
        return sha256_bytes(f"{p}:{st.st_size}:{st.st_mtime_ns}:{sorted(options.items())}")[:32]
    return cache_key


def _cache_never_read(original):
    def cache_get(directory, key, source):
        return None
    return cache_get


def _last_row_dropped(original):
    def read_source(ds):
        return original(ds).iloc[:-1]
    return read_source


def _limit_at_limit(original):
    from workbench.model import Side

    def limit_on_bar(side, limit, bar):
        touched = bar.low <= limit if side is Side.BUY else bar.high >= limit
        return limit if touched else None
    return limit_on_bar


def _stop_on_close(original):
    from workbench.model import OrderType, Side

    def bar_fill(side, type, limit, stop, triggered, bar):
        if type in (OrderType.STOP, OrderType.STOP_LIMIT) and not triggered:
            reached = bar.close >= stop if side is Side.BUY else bar.close <= stop
            if not reached:
                return None, False, False
        return original(side, type, limit, stop, triggered, bar)
    return bar_fill


def _tenth_rate(original):
    def commission(self, order, quantity, price):
        return original(dataclasses.replace(self, rate=self.rate / 10), order, quantity, price)
    return commission


def _slippage_flipped(original):
    def price(self, side, price, quantity, market):
        return price * (1.0 - side.sign * self.bps / 1e4)
    return price


def _quote_sides_swapped(original):
    from workbench.model import Quote

    def quote_fill(side, type, limit, stop, triggered, quote):
        swapped = Quote(quote.time, quote.symbol, quote.ask, quote.bid, quote.ask_size, quote.bid_size) \
            if quote.ask > quote.bid else quote
        return original(side, type, limit, stop, triggered, swapped)
    return quote_fill


def _prices_to_cents(original):
    def encode(payload):
        return original({k: round(v, 2) if isinstance(v, float) else v for k, v in payload.items()})
    return encode


def _stall_watchdog_stops(original):
    def slice_(self, events, per_bar, on_bar, on_quote):
        before = self.now
        original(self, events, per_bar, on_bar, on_quote)
        if before is not None and (events[0].time - before).total_seconds() > 60:
            self.stop()
    return slice_


def _in_sample_with_oos(original):
    def in_sample(bars, fold):
        return bars.iloc[fold.is_start:fold.oos_end]
    return in_sample


def _constant_pbo(original):
    def pbo(performance, blocks=16):
        real = original(performance, blocks)
        return dataclasses.replace(real, pbo=0.5, logits=np.zeros_like(real.logits))
    return pbo


def _constant_dsr(original):
    def deflated_sharpe(returns, n_trials, sharpe_variance):
        return dataclasses.replace(original(returns, n_trials, sharpe_variance), dsr=0.95)
    return deflated_sharpe


def _fast_path_at_close(original):
    def simulate(strategy, bars, cash, commission, slippage, account_type):
        sim = original(strategy, bars, cash, commission, slippage, account_type)
        if sim is None:
            return None
        c = sim.close
        moved = [f._replace(price=float(c[f.bar - 1]), rule_price=float(c[f.bar - 1])) for f in sim.fills]
        return sim._replace(fills=moved)
    return simulate


def _rule_changed(**changes):
    def make(original):
        def step(self, a, holds, value, now):
            rule = a.rule
            a.rule = dataclasses.replace(rule, **{k: getattr(rule, v) if isinstance(v, str) else v
                                                  for k, v in changes.items()})
            try:
                return original(self, a, holds, value, now)
            finally:
                a.rule = rule
        return step
    return make


def _every_other_write_lost(original):
    def write(self, rows):
        self._certify_writes = getattr(self, "_certify_writes", 0) + 1
        if self._certify_writes % 2 == 0:
            return 0
        return original(self, rows)
    return write


def _sharpe_365(original):
    def sharpe(returns, periods_per_year=252, risk_free=0.0):
        return original(returns, 365, risk_free)
    return sharpe


def _drawdown_summed(original):
    def drawdown(returns):
        r = pd.Series(returns, dtype=float).dropna()
        wealth = np.concatenate([[1.0], 1.0 + np.cumsum(r.to_numpy())])
        peaks = np.maximum.accumulate(wealth)
        return pd.Series(wealth[1:] / peaks[1:] - 1.0, index=r.index, name="drawdown")
    return drawdown


def _ack_before_write(original):
    def append(self, event):
        if self.durability != "sync" or self._step is not None:
            return original(self, event)
        self._step = len(self._buffer)  # held back, as inside a step: not written yet
        try:
            original(self, event)
        finally:
            self._step = None
        if len(self._buffer) >= 64:
            self.flush()
    return append


def _commit_every_event(original):
    def append(self, event):
        original(self, event)
        self.flush()
    return append


def _last_event_skipped(original):
    def rows(self):
        return iter(list(original(self))[:-1])
    return rows


def _replace_before_check(original):
    def replace_order(self, order_id, *, quantity=None, limit_price=None, stop_price=None):
        order = self._orders.get(order_id)
        if order is not None and not order.status.is_terminal and limit_price is not None:
            order.limit = float(limit_price)
        return original(self, order_id, quantity=quantity, limit_price=limit_price, stop_price=stop_price)
    return replace_order


def _skip_ragged(original):
    def read_csv(p, source, *args, **kwargs):
        from workbench.errors import DataError

        try:
            return original(p, source, *args, **kwargs)
        except DataError as exc:
            if exc.rule != "format" or exc.line is None:
                raise
            return pd.read_csv(p, index_col=False, keep_default_na=False, na_values=[""], on_bad_lines="skip",
                               dtype={"time": str, "symbol": str})
    return read_csv


def _checked_events(original):
    def build(s, rows):
        from workbench.model import Bar, Quote

        make = Bar if s.kind == "bars" else Quote
        index = pd.DatetimeIndex(s.times[rows], tz="UTC")
        return [make(t, sym, *values) for t, sym, *values in
                zip(list(index), s.symbols[rows].tolist(), *(c[rows].tolist() for c in s.columns))]
    return build


def _twice_as_slow(original):
    def run(self):
        t0 = time.process_time()
        result = original(self)
        end = time.process_time() + (time.process_time() - t0)
        while time.process_time() < end:
            pass
        return result
    return run


class _CoarseClock(types.SimpleNamespace):
    """``time`` as the broker's latency timer sees it: a 1 ms clock."""

    @staticmethod
    def perf_counter() -> float:
        return math.floor(time.perf_counter() * 1e3) / 1e3


def _coarse_timer(original):
    return _CoarseClock()


def _all_at_once(original):
    return 1 << 40


def _no_fast_path(original):
    def supports(strategy, frames, options):
        return False
    return supports


def _wall_clock_stamps(original):
    return property(lambda self: time.time_ns())


def _unseeded_spreads(original):
    def draw(rng, shape, method, **kw):
        if method == "standard_normal":
            rng = np.random.default_rng()
        return original(rng, shape, method, **kw)
    return draw


def _clock_ignored(original):
    def init(self, *args, **kwargs):
        kwargs["clock"] = time.time
        original(self, *args, **kwargs)
    return init


def _high_against_close_only(original):
    def check_values(frame, kind, findings, skip, bounds=None, clean=frozenset()):
        original(frame, kind, findings, skip, bounds, clean)
        if kind == "bars":
            close_only = (frame["high"] < frame["close"]).to_numpy()
            findings.masks = [(r, c, close_only if r == "high_ge_open_close" else m) for r, c, m in findings.masks]
    return check_values


def _expiries_ignored(original):
    def settle(self, next_time=None):
        return None
    return settle


def _options_uncovered(original):
    def check_cover(self, symbol, qty, limit, replacing):
        return None
    return check_cover


def _chain_row_by_row(original):
    def price_chain(chain):
        import pandas as pd

        from workbench.options.pricing import price_option

        rows = [price_option(r.spot, r.strike, r.days, r.rate, r.dividend, r.vol, r.right) for r in chain.itertuples()]
        return pd.DataFrame([(g.price, g.delta, g.gamma, g.vega, g.theta, g.rho) for g in rows], index=chain.index,
                            columns=["price", "delta", "gamma", "vega", "theta", "rho"])
    return price_chain


def _day_orders_kept(original):
    def end_session(self, time=None, next_time=None, symbols=None, exclude=()):
        if time is not None:
            self.advance_time(time)
        return 0
    return end_session


def _volume_cap_per_order(original):
    def match_bar(self, order, bar, capacity):
        full = capacity if self.participation is None else self.participation * bar.volume
        return original(self, order, bar, full)
    return match_bar


def _sell_stop_limit_buy_test(original):
    from workbench.model import OrderType, Side

    def bar_fill(side, type, limit, stop, triggered, bar):
        if type is OrderType.STOP_LIMIT and side is Side.SELL and not triggered:
            if bar.low > stop:
                return None, False, False
            trigger_price = min(bar.open, stop)
            return (trigger_price if trigger_price <= limit else None), True, False  # the buy's test
        return original(side, type, limit, stop, triggered, bar)
    return bar_fill


def _short_pnl_flipped(original):
    def apply_fill(self, symbol, side, quantity, price, commission):
        book = self._books.get(symbol)
        old, before = (book.quantity, book.realized) if book is not None else (0.0, 0.0)
        original(self, symbol, side, quantity, price, commission)
        if old < 0 and side.sign > 0:
            book = self._books[symbol]
            book.realized = before - (book.realized - before)
    return apply_fill


def _equity_a_bar_late(original):
    def equity_curve(marks, fills, starting_cash, multipliers=None):
        equity, positions = original(marks, fills, starting_cash, multipliers)
        return equity.shift(1).fillna(float(starting_cash)), positions
    return equity_curve


def _anchored_rolls(original):
    def folds_of(n, folds, mode="rolling"):
        return original(n, folds, "rolling")
    return folds_of


def _sortino_is_sharpe(original):
    def objective(returns, objective):
        return original(returns, "sharpe" if objective == "sortino" else objective)
    return objective


def _rate_per_minute(original):
    def aggregate(aggregation, samples):
        value = original(aggregation, samples)
        return value * 60 if aggregation == "rate" else value
    return aggregate


def _drawdown_from_first_equity(original):
    def sample_broker(self, now, values):
        original(self, now, values)
        first = self.__dict__.setdefault("_certify_first_equity", values["workbench_session_equity"])
        values["workbench_session_drawdown"] = values["workbench_session_equity"] / first - 1
    return sample_broker


FAULTS: tuple[Fault, ...] = (
    # 1. market data
    Fault("validation_rules_dropped", "market_data",
          "four validation rules (high/low against open and close, negative volume, crossed quotes) are never "
          "applied", "workbench.feed.validate:Findings.add", _drop_rules,
          only=("every_rule_found_at_its_line",)),
    Fault("synthetic_seed_ignored", "market_data",
          "the synthetic generator draws from seed 0 whatever seed it is given",
          "workbench.feed.synthetic:SyntheticMarket._streams", _seed_ignored,
          only=("seeds_give_their_own_data",)),
    Fault("replay_unstable_merge", "market_data",
          "replay merges sources with an unstable sort: events at the same time come in any order",
          "workbench.feed.replay:_merge_order", _unstable_sort,
          only=("replay_merges_in_documented_order",)),
    Fault("cache_keyed_by_path", "market_data",
          "the CSV cache is keyed by path, size and modification time, not content: an edited file is served stale",
          "workbench.feed.files:_cache_key", _key_by_path,
          only=("cache_serves_current_content",)),
    Fault("cache_never_read", "market_data", "the CSV cache is written but never read back",
          "workbench.feed.files:_cache_get", _cache_never_read,
          only=("cache_serves_current_content", "cache_speedup",)),
    Fault("high_checked_against_close_only", "market_data",
          "the high of a bar is checked against its close only: a high below the open passes",
          "workbench.feed.files:check_values", _high_against_close_only,
          only=("every_rule_found_at_its_line",)),
    Fault("dataset_last_row_dropped", "market_data",
          "the bundled datasets lose their last bar (a reader that treats the last line as a footer)",
          "workbench.feed.datasets:_read_source", _last_row_dropped),
    # 2. trading execution
    Fault("limit_fills_at_limit", "trading_execution",
          "a limit order that the bar opens through fills at its limit, not at the better open",
          "workbench.broker.fills:_limit_on_bar", _limit_at_limit),
    Fault("stop_triggers_on_close", "trading_execution",
          "stop orders trigger on the bar's close instead of its high or low", "workbench.broker.fills:bar_fill",
          _stop_on_close),
    Fault("ibkr_commission_tenth", "trading_execution",
          "IBKR fixed commissions charged at a tenth of the per-share rate",
          "workbench.broker.costs:PerShare.commission",
          _tenth_rate),
    Fault("slippage_favours_the_trader", "trading_execution",
          "fixed-bps slippage applied with the wrong sign: buys fill below the open",
          "workbench.broker.costs:FixedBps.price", _slippage_flipped),
    Fault("sell_stop_limit_tested_as_a_buy", "trading_execution",
          "a sell stop-limit on its trigger bar is held to the buy's limit test", "workbench.broker.fills:bar_fill",
          _sell_stop_limit_buy_test),
    Fault("option_expiries_ignored", "trading_execution",
          "options are never settled at their expiry (no assignment, exercise or worthless expiry)",
          "workbench.broker.broker:SimulatedBroker._settle_expiries", _expiries_ignored,
          only=("options_round_trip_assignment_and_expiry",)),
    Fault("short_options_uncovered", "trading_execution",
          "a short option is accepted without its cover (shares, cash or margin)",
          "workbench.broker.broker:SimulatedBroker._check_cover", _options_uncovered,
          only=("options_round_trip_assignment_and_expiry",)),
    Fault("day_orders_never_expire", "trading_execution", "DAY orders survive the session close",
          "workbench.broker.broker:SimulatedBroker.end_session", _day_orders_kept),
    Fault("volume_cap_per_order", "trading_execution",
          "the volume-participation cap applies to each order alone, not to all orders of the bar together",
          "workbench.broker.broker:SimulatedBroker._match_bar", _volume_cap_per_order),
    Fault("short_pnl_sign_flipped", "trading_execution", "covering a short books its profit as a loss",
          "workbench.broker.account:Account.apply_fill", _short_pnl_flipped),
    Fault("equity_a_bar_late", "trading_execution", "the equity curve is one bar behind the fills",
          "workbench.engine:equity_curve", _equity_a_bar_late),
    Fault("quote_sides_swapped", "trading_execution",
          "quote fills take the bid for buys and the ask for sells (the sides mixed up)",
          "workbench.broker.fills:quote_fill", _quote_sides_swapped),
    Fault("journal_prices_in_cents", "trading_execution",
          "the journal writes prices and amounts rounded to cents: a recovered account differs from the live one",
          "workbench.broker.journal:encode", _prices_to_cents),
    # 3. optimization
    Fault("walk_forward_lookahead", "optimization",
          "walk-forward chooses each fold's parameters with the out-of-sample bars in view",
          "workbench.optimize.walkforward:in_sample", _in_sample_with_oos,
          only=("walk_forward_chooses_in_sample",)),
    Fault("anchored_walk_forward_rolls", "optimization",
          "anchored walk-forward rolls: each fold's in-sample block drops the earlier ones",
          "workbench.optimize.walkforward:folds_of", _anchored_rolls, only=("walk_forward_chooses_in_sample",)),
    Fault("sortino_objective_is_sharpe", "optimization", "walk-forward folds asked for Sortino rank by Sharpe",
          "workbench.optimize.walkforward:objective_value", _sortino_is_sharpe,
          only=("objectives_mean_what_they_say",)),
    Fault("pbo_constant", "optimization", "the probability of backtest overfitting is a constant 0.5",
          "workbench.optimize.overfit:pbo", _constant_pbo,
          only=("pbo_matches_brute_force",)),
    Fault("dsr_constant", "optimization", "the deflated Sharpe ratio is a constant 0.95",
          "workbench.optimize.overfit:deflated_sharpe", _constant_dsr,
          only=("deflated_sharpe_matches_the_formula",)),
    Fault("fast_path_fills_at_close", "optimization",
          "the optimizer's fast path fills at the deciding bar's close instead of the next open",
          "workbench.optimize.fastpath:_simulate", _fast_path_at_close,
          only=("fast_path_equals_the_engine", "sweep_objectives_match_the_engine",)),
    # 4. monitoring and analytics
    Fault("alert_ignores_for", "monitoring_analytics", "alert rules fire as soon as their condition holds, "
          "ignoring `for:`", "workbench.monitor.alerts:AlertManager._step", _rule_changed(for_=0.0)),
    Fault("keep_firing_read_from_for", "monitoring_analytics",
          "a firing alert keeps firing for its rule's `for:` instead of `keep_firing_for:`",
          "workbench.monitor.alerts:AlertManager._step", _rule_changed(keep_firing_for="for_")),
    Fault("store_loses_every_other_write", "monitoring_analytics",
          "the metric store silently drops every other batch of samples", "workbench.monitor.store:MetricStore.write",
          _every_other_write_lost),
    Fault("rate_per_minute", "monitoring_analytics",
          "alert rules on a counter's rate see it per minute, not per second (60 x too high)",
          "workbench.monitor.rules:aggregate", _rate_per_minute),
    Fault("drawdown_gauge_from_the_start", "monitoring_analytics",
          "the session drawdown gauge measures from the first equity, not from the running peak",
          "workbench.monitor.monitor:Monitor._sample_broker", _drawdown_from_first_equity),
    Fault("sharpe_calendar_days", "monitoring_analytics",
          "the Sharpe ratio annualized with 365 periods whatever the data (20 % too high on daily bars)",
          "workbench.analytics.performance:sharpe", _sharpe_365),
    Fault("drawdown_not_compounded", "monitoring_analytics",
          "drawdowns measured on summed instead of compounded returns",
          "workbench.analytics.performance:drawdown", _drawdown_summed),
    # 5. error handling and recovery
    Fault("journal_acks_before_writing", "error_handling",
          "the 'sync' journal acknowledges events before they are written (buffers 64 at a time)",
          "workbench.broker.journal:Journal.append", _ack_before_write),
    Fault("replace_changes_before_checking", "error_handling",
          "replace_order changes the order's limit before checking the new one: a rejected replace still moves it",
          "workbench.broker.broker:SimulatedBroker.replace_order", _replace_before_check),
    Fault("ragged_lines_skipped", "error_handling",
          "CSV lines with too many fields are skipped silently instead of rejecting the file",
          "workbench.feed.files:_read_csv", _skip_ragged),
    Fault("stall_watchdog_stops_the_session", "error_handling",
          "a paper session stops at the first gap in the data longer than a minute instead of waiting it out",
          "workbench.engine:Engine._slice", _stall_watchdog_stops),
    Fault("recovery_skips_last_event", "error_handling", "recovery replays every journaled event but the last",
          "workbench.broker.journal:Journal.rows", _last_event_skipped),
    # 6. performance
    Fault("journal_commits_every_event", "performance",
          "the batched journal commits a transaction for every event", "workbench.broker.journal:Journal.append",
          _commit_every_event, only=("order_latency",)),
    Fault("replay_checks_every_event", "performance",
          "replay builds every event through the validating constructors (the frame was validated already)",
          "workbench.feed.replay:_build", _checked_events, only=("replay_throughput",)),
    Fault("engine_twice_as_slow", "performance",
          "the engine takes twice as long over the same bars (a slowed hot path, exactly 2x)",
          "workbench.engine:Engine.run", _twice_as_slow, only=("backtest_throughput",)),
    Fault("chain_priced_contract_by_contract", "performance",
          "an option chain priced one contract at a time through QuantLib, not vectorized",
          "workbench.options.pricing:price_chain", _chain_row_by_row, only=("chain_pricing",)),
    Fault("sweep_without_fast_path", "performance",
          "the optimizer never takes its fast path (a capability check that refuses every run)",
          "workbench.optimize.fastpath:supports", _no_fast_path, only=("sweep_throughput",)),
    Fault("latency_timed_with_coarse_clock", "performance",
          "the broker times place_order with a 1 ms clock: its latencies (and the monitor's) are mostly 0",
          "workbench.broker.broker:_time", _coarse_timer, only=("latency_is_measured_truthfully",)),
    Fault("replay_builds_every_event_at_once", "performance",
          "replay builds all its event objects up front instead of chunk by chunk (a memory regression)",
          "workbench.feed.replay:CHUNK", _all_at_once, only=("peak_memory",)),
    # 7. reproducibility
    Fault("journal_stamps_wall_clock", "reproducibility",
          "the broker stamps journal events with the wall clock instead of market time",
          "workbench.broker.broker:SimulatedBroker._time_ns", _wall_clock_stamps, before=("trading_execution",)),
    Fault("unseeded_spread_noise", "reproducibility",
          "the synthetic generator draws its spread noise from an unseeded generator",
          "workbench.feed.synthetic:_draw", _unseeded_spreads, before=("market_data",)),
    Fault("replay_ties_reversed", "reproducibility",
          "a behaviour change: replay orders same-time events by reversed source order",
          "workbench.feed.replay:_merge_order", _ties_reversed, before=("market_data",)),
    Fault("monitor_ignores_its_clock", "reproducibility",
          "the monitor reads the wall clock instead of the clock it is given",
          "workbench.monitor.monitor:Monitor.__init__", _clock_ignored, before=("monitoring_analytics",)),
)


def fault_named(name: str) -> Fault:
    for f in FAULTS:
        if f.name == name:
            return f
    raise KeyError(f"no fault {name!r}; known: {', '.join(f.name for f in FAULTS)}")


# --- running the fault matrix ----------------------------------------------------------------


@dataclass
class FaultResult:
    fault: Fault
    red: dict[str, list[str]]  # category -> its failed checks (only categories that went red)
    ran: tuple[str, ...]
    seconds: float
    error: str = ""

    @property
    def caught(self) -> bool:
        return not self.error and self.fault.category in self.red

    def row(self) -> dict[str, Any]:
        return {"fault": self.fault.name, "expected_red": self.fault.category, "categories_red": sorted(self.red),
                "checks_red": sorted(c for checks in self.red.values() for c in checks), "caught": self.caught,
                "what": self.fault.what, "target": self.fault.target, "seconds": round(self.seconds, 2),
                "error": self.error}


def run_fault(fault: Fault, params: dict[str, Any], thresholds: dict[str, dict],
              goldens: dict[str, dict[str, Any]] | None, timeout: float = 300.0) -> FaultResult:
    """Certify with ``fault`` injected, in a forked copy of this process (so nothing of the
    fault, nor of what the broken code cached, outlives it)."""
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_fault_child, args=(fault.name, params, thresholds, goldens, writer))
    # not a daemon: the certification it runs starts processes of its own (crash trials)
    proc.start()
    writer.close()
    red: dict[str, list[str]] = {}
    error = ""
    try:
        if reader.poll(timeout):
            message = reader.recv()
            red, error = message.get("red", {}), message.get("error", "")
        else:
            error = f"no verdict within {timeout:.0f} s"
    except EOFError:
        error = "the certifying process died"
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join()
    return FaultResult(fault, red, fault.categories(), time.perf_counter() - t0, error)


def _fault_child(name, params, thresholds, goldens, writer) -> None:  # pragma: no cover (runs in a child)
    from workbench.certify.checks import run_category
    from workbench.certify.context import Context

    try:
        fault = fault_named(name)
        with tempfile.TemporaryDirectory(prefix=f"fault-{name}-") as folder, inject(fault):
            ctx = Context(params=params, thresholds=thresholds, workdir=Path(folder), goldens=goldens,
                          golden_source="the healthy run")
            red = {}
            for category in fault.categories():
                result = run_category(category, ctx, fault.only if category == fault.category else None)
                if not result.passed:
                    red[category] = result.failed()
            writer.send({"red": red})
    except BaseException:
        writer.send({"error": traceback.format_exc(limit=3)})
    finally:
        writer.close()
        os._exit(0)


def run_faults(params: dict[str, Any], thresholds: dict[str, dict], goldens: dict[str, dict[str, Any]] | None,
               names: list[str] | None = None, progress: Callable[[FaultResult], None] | None = None
               ) -> dict[str, Any]:
    """Every fault (or those ``names``), one after the other; the table and detection rate."""
    chosen = [fault_named(n) for n in names] if names else list(FAULTS)
    results = []
    for fault in chosen:
        result = run_fault(fault, params, thresholds, goldens)
        results.append(result)
        if progress is not None:
            progress(result)
    caught = sum(r.caught for r in results)
    return {"rate": caught / len(results) if results else math.nan, "caught": caught, "total": len(results),
            "rows": [r.row() for r in results]}


TABLE_HEADER = ("fault", "category expected red", "categories red", "caught?")


def table_cells(faults: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The detection table's rows as plain cells (the Markdown and the HTML tables' source)."""
    cells = []
    for row in faults["rows"]:
        red = ", ".join(TITLES[c] for c in row["categories_red"]) or "none"
        if row["error"]:
            red += f" (error: {row['error'].splitlines()[-1][:80]})"
        cells.append((row["fault"], TITLES[row["expected_red"]], red, "yes" if row["caught"] else "NO"))
    return cells


def table_summary(faults: dict[str, Any]) -> str:
    return (f"{faults['caught']} of {faults['total']} faults caught by their own category "
            f"(detection rate {faults['rate']:.0%}).")


def table_lines(faults: dict[str, Any]) -> list[str]:
    """The detection table as Markdown lines."""
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "| --- | --- | --- | --- |"]
    for fault, expected, red, caught in table_cells(faults):
        lines.append(f"| `{fault}` | {expected} | {red} | {caught if caught == 'yes' else '**NO**'} |")
    lines.append("\n" + table_summary(faults))
    return lines
