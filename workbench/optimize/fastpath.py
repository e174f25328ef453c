"""The vectorized fast path: a backtest of a signal-based strategy without the event loop,
with exactly the event-driven engine's fills.

A strategy qualifies when its class offers ``vectorized_targets(close, params)``: the
position it wants after each bar's close, computed with the same arithmetic as its
``on_bar`` (for ``sma_cross`` a numba kernel that repeats the running sums operation by
operation, so even float ties break the same way). Under the bar fill rules a target
decided at the close of bar t is a market order that fills at the open of bar t+1, plus
the slippage model's price (clamped to the bar), with the commission model's charge.

The fast path covers one symbol of bars with no volume-participation cap and no risk
limits, in per-bar sessions (every bar at midnight UTC: daily bars). With intraday bars the
engine's DAY orders expire at the UTC date change, so an order decided on a day's last bar
never fills; the fast path does not model that, and gives way to the engine. Every order passes the broker's own money check
(:func:`workbench.broker.risk.check_funds`); if the engine would have rejected one, the
fast path gives up (``None``) and the caller runs the engine. A differential test runs
both on random parameters and data and compares every figure.

:func:`_simulate` returns a :class:`Simulation` with :class:`FastFill` rows; :func:`run`
builds the engine's :class:`~workbench.engine.Result` from it, :func:`score` only the
statistics (the optimizer's inner loop).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numba import njit

from workbench.analytics import round_trips
from workbench.analytics.performance import daily_statistics, equity_statistics, one_per_day
from workbench.broker.account import INITIAL_MARGIN, margin_buying_power
from workbench.broker.costs import NoCommission, NoSlippage, commission_from, slippage_from
from workbench.broker.risk import check_funds, check_ticks_and_lots
from workbench.engine import Result, equity_curve
from workbench.model import Instrument, Order, OrderStatus, OrderType, Side, TimeInForce, unchecked_bar
from workbench.strategies.base import Strategy

EPS = 1e-9


def supports(strategy: Strategy, frames: tuple[pd.DataFrame, ...], options: dict[str, Any]) -> bool:
    """Whether :func:`run` can stand in for the engine for this run."""
    if not hasattr(type(strategy), "vectorized_targets") or len(frames) != 1:
        return False
    if not getattr(type(strategy), "vectorizable", lambda params: True)(strategy.params):
        return False
    frame = frames[0]
    if not (_shared.depth and _shared.frame is frame):  # (the batch's frame had them all: it was converted)
        if not {"symbol", "open", "high", "low", "close", "volume"} <= set(frame.columns) or not len(frame):
            return False
    if _shared.depth:  # in a batch: the frame's conversion, made once for all its trials, answers
        arrays = _arrays(frame)
        one_symbol, per_bar = arrays[-3], arrays[-1]
    else:
        one_symbol, per_bar = frame["symbol"].nunique() == 1, _per_bar(frame.index)
    if not (one_symbol and per_bar):
        return False
    allowed = {"cash", "commission", "slippage", "account_type"}
    return set(options) <= allowed


class FastFill(NamedTuple):
    """One fill of the fast path: the market order decided at the close of bar
    ``bar - 1``, filled at the open of ``bar``."""

    bar: int  # position of the bar it fills on
    side: Side
    sign: int  # +1 for a buy, -1 for a sell
    quantity: float  # units
    price: float  # per unit, after slippage (clamped to the bar)
    commission: float  # currency
    closes: bool  # the fill ends a round trip (flattens or flips the position)
    rule_price: float  # per unit, what the fill rule gives before slippage (the open)


class Simulation(NamedTuple):
    """What :func:`_simulate` found: the bars' times and closes, and the fills."""

    index: pd.DatetimeIndex  # bar times, UTC, ns
    symbol: str
    close: np.ndarray  # per bar
    fills: list[FastFill]
    orders: int  # orders placed, filled or not (one a target change)
    one_a_day: bool = False  # at most one bar a UTC day (the equity curve is its own daily closes)


class _Shared(threading.local):
    """Per thread (a Dask worker runs batches in threads): the frame of the open
    :func:`shared_frames` blocks (``depth`` of them) and its arrays."""

    def __init__(self) -> None:
        self.frame: pd.DataFrame | None = None
        self.arrays: tuple | None = None
        self.depth = 0


_shared = _Shared()


@contextmanager
def shared_frames():
    """Inside, the trials on one frame share its conversion to arrays (:func:`_arrays`), made
    once: a batch of a sweep, whose frames nobody changes while it runs. Outside, every call
    converts afresh (a frame changed in place between two calls is seen as changed)."""
    _shared.depth += 1
    try:
        yield
    finally:
        _shared.depth -= 1
        if not _shared.depth:
            _shared.frame = _shared.arrays = None


def _per_bar(index) -> bool:
    """Whether the engine runs ``index``'s bars in per-bar sessions (``Engine._session_kind``:
    every time at midnight UTC), the only sessions the fast path models."""
    idx = pd.DatetimeIndex(index).tz_convert("UTC")
    return bool((idx.normalize() == idx).all())


def _arrays(bars: pd.DataFrame) -> tuple:
    """``(symbol, UTC index, open, high, low, close, volume, one symbol, one bar a day, per-bar
    sessions)`` of ``bars`` (converted once per frame inside :func:`shared_frames`)."""
    if _shared.depth and _shared.frame is bars:
        return _shared.arrays
    index = pd.DatetimeIndex(bars.index).tz_convert("UTC").as_unit("ns")
    arrays = tuple(bars[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close", "volume"))
    for a in arrays:
        a.setflags(write=False)  # shared by the trials: none may change it
    converted = (str(bars["symbol"].iloc[0]), index, *arrays, bars["symbol"].nunique() == 1, one_per_day(index),
                 _per_bar(index))
    if _shared.depth:
        _shared.frame, _shared.arrays = bars, converted
    return converted


def _simulate(strategy, bars, cash, commission, slippage, account_type) -> Simulation | None:
    """The fills the engine would give, or ``None`` if it would have rejected an order."""
    commission, slippage = commission_from(commission), slippage_from(slippage)
    symbol, index, o, h, lo, c, v, _, one_a_day, _ = _arrays(bars)
    target = np.asarray(type(strategy).vectorized_targets(c, strategy.params), dtype=float)
    delta = np.diff(np.concatenate([[0.0], target]))
    decisions = np.flatnonzero(np.abs(delta) > EPS)
    # The broker's lot check (risk.check_ticks_and_lots; a market order has no price to check)
    # with the engine's instrument of a symbol of the data (there is no instruments option):
    # an order it refuses (OFF_LOT) is the engine's case.
    instrument = Instrument(symbol)
    if any(check_ticks_and_lots(q, None, None, instrument) for q in set(np.abs(delta[decisions]).tolist())):
        return None
    if type(slippage) is NoSlippage and type(commission) is NoCommission:
        fills = _free_fills(symbol, o, c, delta, decisions, float(cash), account_type, commission)
        return None if fills is None else Simulation(index, symbol, c, fills, len(decisions), one_a_day)
    cash_now, held, last = float(cash), 0.0, 0.0

    # The broker's money check (risk.check_funds) for a market order at the last close, in
    # an account with one symbol and no other orders working. These read the loop's current
    # cash_now, held and last when the check calls them.
    def free_cash() -> float:
        return cash_now

    def free_margin() -> float:
        value = held * last
        return INITIAL_MARGIN * margin_buying_power(cash_now + value, abs(value))

    fills = []
    bars_n = len(c)
    # the loop's inputs as Python floats, read once (numpy scalars cost more a read)
    deltas, lasts = delta[decisions].tolist(), c[decisions].tolist()
    rules = o[np.minimum(decisions + 1, bars_n - 1)].tolist() if bars_n else []
    plain_slippage, plain_commission = type(slippage) is NoSlippage, type(commission) is NoCommission
    for n, (t, d, last, rule) in enumerate(zip(decisions.tolist(), deltas, lasts, rules)):
        qty = abs(d)
        side, sign = (Side.BUY, 1) if d > 0 else (Side.SELL, -1)
        if check_funds(symbol, side, qty, last, held, 0.0, account_type, commission, free_cash,
                       free_margin) is not None:
            return None
        if t + 1 >= bars_n:
            continue  # decided on the last bar: never fills
        if plain_slippage:
            price = rule
        else:
            bar = unchecked_bar(index[t + 1], symbol, rule, float(h[t + 1]), float(lo[t + 1]), float(c[t + 1]),
                                float(v[t + 1]))
            price = min(max(slippage.price(side, rule, qty, bar), bar.low), bar.high)
        if plain_commission:
            fee = 0.0
        else:
            probe = Order(f"O{n + 1}", symbol, side, OrderType.MARKET, qty, None, None, TimeInForce.DAY,
                          OrderStatus.ACCEPTED)
            fee = commission.commission(probe, qty, price)
        if account_type == "cash" and side is Side.BUY and qty * price + fee > cash_now + EPS:
            return None  # the broker fills such a buy only as far as the cash goes: the engine's case
        cash_now -= sign * qty * price + fee
        before = held
        held += sign * qty
        closes = before != 0 and (abs(held) < EPS or (held > 0) != (before > 0))
        fills.append(FastFill(t + 1, side, sign, qty, price, fee, closes, rule))
    return Simulation(index, symbol, c, fills, len(decisions), one_a_day)


def _free_fills(symbol, o, c, delta, decisions, cash, account_type, commission) -> list[FastFill] | None:
    """:func:`_simulate`'s loop without costs (no slippage, no commission), its running cash
    and position taken as numpy running sums (the same subtractions and additions in the
    same order): the fills, or ``None`` where the engine would have rejected an order. A
    fill's price is the next bar's open; only the broker's money check
    (:func:`~workbench.broker.risk.check_funds`) is called order by order."""
    bars_n = len(c)
    d = delta[decisions]
    buy = d > 0
    qty = np.abs(d)
    filled = int(np.count_nonzero(decisions + 1 < bars_n))  # all but one decided on the last bar
    price = o[decisions[:filled] + 1]
    moved = np.where(buy[:filled], 1.0, -1.0) * qty[:filled]  # sign x quantity
    spent = moved * price + 0.0  # sign x quantity x price + commission
    cash_before = np.subtract.accumulate(np.concatenate([[cash], spent]))  # cash_now -= ... fill by fill
    held_before = np.add.accumulate(np.concatenate([[0.0], moved]))  # held += ... fill by fill
    cash_now = held = last = 0.0

    def free_cash() -> float:  # the check's reads of the account: the state before this order
        return cash_now

    def free_margin() -> float:
        value = held * last
        return INITIAL_MARGIN * margin_buying_power(cash_now + value, abs(value))

    buy_side, sell_side = Side.BUY, Side.SELL  # (an enum member read costs ~0.1 us)
    sides = [buy_side if b else sell_side for b in buy.tolist()]
    quantities = qty.tolist()
    for q, side, last, held, cash_now in zip(quantities, sides, c[decisions].tolist(), held_before.tolist(),
                                             cash_before.tolist()):
        if check_funds(symbol, side, q, last, held, 0.0, account_type, commission, free_cash, free_margin) is not None:
            return None
    if account_type == "cash" and np.any(buy[:filled] & (qty[:filled] * price + 0.0 > cash_before[:filled] + EPS)):
        return None  # the broker fills such a buy only as far as the cash goes: the engine's case
    before, after = held_before[:filled], held_before[1:]
    closes = (before != 0) & ((np.abs(after) < EPS) | ((after > 0) != (before > 0)))
    new = tuple.__new__
    return [new(FastFill, (t, side, 1 if side is buy_side else -1, q, p, 0.0, x, p))
            for t, side, q, p, x in zip((decisions[:filled] + 1).tolist(), sides, quantities, price.tolist(),
                                        closes.tolist())]


def run(strategy: Strategy, bars: pd.DataFrame, *, cash: float = 1_000_000.0, commission: Any = None,
        slippage: Any = None, account_type: str = "cash") -> Result | None:
    """The :class:`~workbench.engine.Result` the engine would give, or ``None`` when an order
    would have been rejected (then run the engine)."""
    t0 = time.perf_counter()
    sim = _simulate(strategy, bars, cash, commission, slippage, account_type)
    if sim is None:
        return None
    index, symbol, c = sim.index, sim.symbol, sim.close
    fills_df = pd.DataFrame(
        [{"time": index[f.bar], "symbol": symbol, "side": f.side.value, "quantity": f.quantity, "price": f.price,
          "commission": f.commission, "slippage": (f.price - f.rule_price) * f.quantity * f.sign, "order_id": "",
          "seq": -1}
         for f in sim.fills],
        columns=["time", "symbol", "side", "quantity", "price", "commission", "slippage", "order_id", "seq"])
    orders_df = pd.DataFrame({"id": [f"O{k + 1}" for k in range(sim.orders)]})
    marks = pd.DataFrame({symbol: c}, index=pd.DatetimeIndex(index, name="time"))
    marks.columns.name = "symbol"
    equity, positions = equity_curve(marks, fills_df, float(cash))
    return Result(strategy=strategy.name, params=dict(strategy.params), symbols=[symbol], mode="backtest",
                  bars=len(c), quotes=0, orders=orders_df, fills=fills_df, equity=equity, positions=positions,
                  trades=round_trips(fills_df), starting_cash=float(cash), journal=None,
                  seconds=time.perf_counter() - t0, frames=(bars,))


def score(strategy: Strategy, bars: pd.DataFrame, *, cash: float = 1_000_000.0, commission: Any = None,
          slippage: Any = None, account_type: str = "cash") -> dict[str, Any] | None:
    """The statistics of :meth:`Result.summary` (and round trips), without building the
    result frames: the optimizer's inner loop. ``None`` when the engine must run instead."""
    sim = _simulate(strategy, bars, cash, commission, slippage, account_type)
    if sim is None:
        return None
    c, fills = sim.close, sim.fills
    values = _equity_values(c, fills, float(cash))
    n = len(c)
    if sim.one_a_day:  # daily bars: the curve is its own daily closes (what equity_statistics finds)
        stats = daily_statistics(values, float(values[-1]) if n else float(cash), float(cash))
    else:
        stats = equity_statistics(pd.Series(values, index=sim.index), float(cash))
    return {**stats, "orders": sim.orders, "fills": len(fills),
            "trades": int(sum(1 for f in fills if f.closes))}


def _equity_values(close: np.ndarray, fills: list[FastFill], cash: float) -> np.ndarray:
    """Equity at each bar's close, ``cash + cumsum(flows) + cumsum(moves) x close``: a fill's
    flow ``-(sign x quantity x price) - commission`` and move ``sign x quantity`` added to its
    bar's, in the fills' order (:func:`_equity_kernel`, compiled: the same additions in the
    same order as numpy's running sums, without their cost of ~20 us each)."""
    if fills:
        bar, _, sign, quantity, price, commission, _, _ = zip(*fills)
        sign, quantity = np.array(sign, dtype=float), np.array(quantity, dtype=float)
        flow = -(sign * quantity * np.array(price, dtype=float)) - np.array(commission, dtype=float)
        bar, move = np.array(bar, dtype=np.int64), sign * quantity
    else:
        bar, flow, move = np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
    return _equity_kernel(np.asarray(close, dtype=float), bar, flow, move, float(cash))


@njit(cache=True)
def _equity_kernel(close, bar, flow, move, cash):  # pragma: no cover (compiled)
    """:func:`_equity_values`' loop: per-bar flows and moves, then their running sums."""
    n = close.size
    flows = np.zeros(n)
    moves = np.zeros(n)
    for k in range(bar.size):
        b = bar[k]
        if b < 0:
            b += n  # as numpy indexes
        if b < 0 or b >= n:
            raise IndexError("a fill's bar is outside the bars")
        flows[b] += flow[k]
        moves[b] += move[k]
    out = np.empty(n)
    cum_flow = 0.0
    cum_move = 0.0
    for t in range(n):
        if t == 0:  # np.cumsum starts from the first element itself
            cum_flow = flows[0]
            cum_move = moves[0]
        else:
            cum_flow = cum_flow + flows[t]
            cum_move = cum_move + moves[t]
        out[t] = (cash + cum_flow) + cum_move * close[t]
    return out
