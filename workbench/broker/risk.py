"""Pre-trade checks: the limits' configuration and the checks an order passes before it works.

Each check is a small pure function that returns ``None`` when the order passes it, else a
:class:`Rejection` (reason code, message). :func:`first_problem` runs them in this order
and returns the first rejection; the broker calls it for every new order and every
replacement (:meth:`SimulatedBroker.place_order`, :meth:`~SimulatedBroker.replace_order`).

========================= ============================ ========================================
check                     reason code                  rejects an order when
========================= ============================ ========================================
check_kill_switch         KILL_SWITCH                  the kill switch is on
check_quantity            INVALID_QUANTITY             its quantity is NaN, infinite, 0, < 0
                                                       or above :data:`MAX_QUANTITY`
check_prices              INVALID_PRICE                a limit or stop price is NaN, infinite,
                                                       0, < 0 or above :data:`MAX_PRICE`
check_order_type          MISSING_PRICE,               its type lacks a price it needs (limit,
                          UNEXPECTED_PRICE             stop) or has one it takes none of
check_symbol              UNKNOWN_SYMBOL               the broker has no such instrument
check_allowed_symbol      SYMBOL_NOT_ALLOWED           limit ``allowed_symbols``: its symbol is
                                                       not in the list
check_ticks_and_lots      OFF_TICK, OFF_LOT            a price is off the tick grid or below one
                                                       tick, or the quantity off the lot grid or
                                                       below one lot
check_market_data         NO_MARKET_DATA               there is no reference price yet (see
                                                       :func:`reference_price`)
check_open_orders         MAX_OPEN_ORDERS              limit ``max_open_orders``: the account
                                                       already has this many working orders
check_order_quantity      MAX_ORDER_QUANTITY           limit ``max_order_quantity``: its quantity
                                                       (units) is above it
check_notional            MAX_ORDER_NOTIONAL           limit ``max_order_notional``: quantity x
                                                       reference price (currency) is above it
check_position            MAX_POSITION                 limit ``max_position``: the position could
                                                       pass +/- this many units if every working
                                                       order on the same side filled too
check_collar              NO_MARKET_DATA,              limit ``price_collar``: its limit price is
                          PRICE_COLLAR                 more than this fraction from the last price
                                                       (0.05 = 5 %), or there is no last price
check_funds               SHORT_NEEDS_MARGIN,          the account cannot pay for it: a cash
                          INSUFFICIENT_BUYING_POWER    account sells more than it holds less its
                                                       working sells (:func:`check_cash_sell`) or
                                                       buys for more than its free cash
                                                       (:func:`check_cash_buy`); a margin account
                                                       lacks the initial margin for the part that
                                                       grows its position (:func:`check_margin`)
========================= ============================ ========================================

Options: after these, the broker runs :func:`check_option_cover` on a sell that opens short
contracts (``UNCOVERED_OPTION``, or ``NO_MARKET_DATA`` without the prices a margin needs):
shares (a covered call) or cash (a cash-secured put) in a cash account, the Reg-T margin
(:func:`reg_t_requirement`) in a margin account (covered calls need none). An option sell
skips :func:`check_cash_sell` and :func:`check_margin` for that check.

The limits (:class:`RiskLimits`) are configuration, never constants in code; each is off
when ``None``. The money checks are shared with the optimizer's fast path
(:mod:`workbench.optimize.fastpath`), so the two cannot disagree about what is affordable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any, NamedTuple

from workbench.broker.account import INITIAL_MARGIN, AccountType
from workbench.broker.book import stop_reference
from workbench.broker.costs import CommissionModel, NoCommission
from workbench.broker.orders import RejectReason
from workbench.errors import ConfigError
from workbench.model import AssetClass, Instrument, Order, OrderStatus, OrderType, Side, TimeInForce

EPS = 1e-9  # float tolerance of the position and money checks (units, currency)
MAX_PRICE = 1e12  # the largest limit or stop price accepted (per unit): beyond it nothing is a price
MAX_QUANTITY = 1e12  # the largest order quantity accepted (units)
R = RejectReason

# Enum members read on every order as module constants (a member read through its class is a
# metaclass look-up, ~0.1 us; a module global is a cached read)
_SELL = Side.SELL
_STOP = OrderType.STOP
_WITH_LIMIT = (OrderType.LIMIT, OrderType.STOP_LIMIT)
_WITH_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)
_OPTION = AssetClass.OPTION
_CASH = AccountType.CASH


class Rejection(NamedTuple):
    """Why an order is refused: a reason code and a message a user can act on. A non-empty
    tuple, so it is true and checks chain with ``or``."""

    reason: RejectReason
    message: str


class OrderTicket(NamedTuple):
    """The terms of an order (or of a replacement) as the checks see them: quantity in
    units, prices per unit (``None``: none given)."""

    symbol: str
    side: Side
    type: OrderType
    quantity: float
    limit_price: float | None
    stop_price: float | None


@dataclass(frozen=True)
class RiskLimits:
    """Pre-trade limits (units, currency, fractions); ``None`` switches one off."""

    max_order_quantity: float | None = None
    max_order_notional: float | None = None
    max_position: float | None = None
    price_collar: float | None = None
    allowed_symbols: tuple[str, ...] | None = None
    max_open_orders: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "allowed_symbols":
                if isinstance(value, str) or not all(isinstance(s, str) and s for s in value):
                    raise ConfigError("risk.allowed_symbols must be a list of symbol strings")
                object.__setattr__(self, f.name, tuple(value))
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"risk.{f.name} must be a finite number > 0 or null, got {value!r}")
        # Whether any limit is on (not a field: the limits are frozen, so it stays true to them);
        # with none, first_problem skips the checks that would each pass.
        object.__setattr__(self, "_limited", any(getattr(self, f.name) is not None for f in fields(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RiskLimits:
        """From configuration; an unknown key is an error that names it."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"risk: unknown limit(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["allowed_symbols"] is not None:
            d["allowed_symbols"] = list(d["allowed_symbols"])
        return d


# --- the checks, in the order first_problem runs them --------------------------------------


def first_problem(
    ticket: OrderTicket,
    *,
    limits: RiskLimits,
    instruments: Mapping[str, Instrument],
    killed: bool,
    last: float | None,
    open_orders: int,
    position: float,
    pending: float,
    account_type: AccountType | str,
    commission: CommissionModel,
    free_cash: Callable[[], float],
    free_margin: Callable[[], float],
) -> Rejection | None:
    """The first check ``ticket`` fails (module docstring, in that order), else ``None``.

    ``last``: the symbol's last price; ``open_orders``: working orders in the account;
    ``position``: units held (signed); ``pending``: units of working orders on the ticket's
    side (all three less the order being replaced); ``free_cash``, ``free_margin``: called
    only when the money check needs them, the cash (cash account) or initial margin (margin
    account) free after open orders, in currency.
    """
    symbol, side, kind, qty, limit, stop = ticket
    limited = limits._limited  # (with no limit on, the limits' checks all pass: not called)
    problem = (
        check_kill_switch(killed)
        or check_quantity(qty)
        or check_prices(limit, stop)
        or check_order_type(kind, limit, stop)
        or check_symbol(symbol, instruments)
        or (limited and check_allowed_symbol(symbol, limits.allowed_symbols))
        or check_ticks_and_lots(qty, limit, stop, instruments[symbol])
    )
    if problem:
        return problem
    ref = reference_price(kind, side, limit, stop, last)
    inst = instruments[symbol]
    m = inst.multiplier
    contract = ref if m == 1.0 or ref is None else ref * m  # the money checks value a contract
    if inst.asset_class is _OPTION:
        if side is _SELL:
            # an option sold: the broker's cover check (check_option_cover) decides, with the
            # account's shares, cash and margin (a covered call needs no margin)
            account_type = "cover"
        elif account_type != _CASH and contract is not None:
            contract = contract / INITIAL_MARGIN  # Reg-T: an option bought is paid in full (no loan value)
    return (
        check_market_data(symbol, kind, ref)
        or (limited and (
            check_open_orders(open_orders, limits.max_open_orders)
            or check_order_quantity(qty, limits.max_order_quantity)
            or check_notional(qty, contract, limits.max_order_notional)
            or check_position(symbol, side, qty, position, pending, limits.max_position)
            or check_collar(symbol, limit, last, limits.price_collar)))
        or check_funds(symbol, side, qty, contract, position, pending, account_type, commission, free_cash,
                       free_margin)
    )


def check_kill_switch(killed: bool) -> Rejection | None:
    """``KILL_SWITCH`` while the kill switch is on."""
    if killed:
        return Rejection(R.KILL_SWITCH, "the kill switch is on; reset it to trade")
    return None


def check_quantity(quantity: float) -> Rejection | None:
    """``INVALID_QUANTITY`` unless the quantity (units) is finite, > 0 and at most
    :data:`MAX_QUANTITY`."""
    if 0 < quantity <= MAX_QUANTITY:  # the common case, in one comparison (NaN and infinities fail it)
        return None
    if not (math.isfinite(quantity) and quantity > 0):
        return Rejection(R.INVALID_QUANTITY, f"quantity must be finite and > 0, got {quantity}")
    if quantity > MAX_QUANTITY:
        return Rejection(R.INVALID_QUANTITY, f"quantity {quantity:g} is above the largest accepted, {MAX_QUANTITY:g}")
    return None


def check_prices(limit: float | None, stop: float | None) -> Rejection | None:
    """``INVALID_PRICE`` unless each price given is finite and > 0 (the limit first)."""
    if limit is None and stop is None:  # a market order: nothing to check
        return None
    for name, price in (("limit_price", limit), ("stop_price", stop)):
        if price is not None and not (math.isfinite(price) and price > 0):
            return Rejection(R.INVALID_PRICE, f"{name} must be finite and > 0, got {price}")
        if price is not None and price > MAX_PRICE:
            return Rejection(R.INVALID_PRICE, f"{name} {price:g} is above the largest accepted, {MAX_PRICE:g}")
    return None


def check_order_type(kind: OrderType, limit: float | None, stop: float | None) -> Rejection | None:
    """``MISSING_PRICE`` when a limit or stop-limit lacks its limit price, or a stop or
    stop-limit its stop price; ``UNEXPECTED_PRICE`` when an order has a price its type
    takes none of."""
    needs_limit = kind in _WITH_LIMIT
    needs_stop = kind in _WITH_STOP
    if needs_limit and limit is None:
        return Rejection(R.MISSING_PRICE, f"a {kind.value} order needs a limit_price")
    if needs_stop and stop is None:
        return Rejection(R.MISSING_PRICE, f"a {kind.value} order needs a stop_price")
    if not needs_limit and limit is not None:
        return Rejection(R.UNEXPECTED_PRICE, f"a {kind.value} order takes no limit_price")
    if not needs_stop and stop is not None:
        return Rejection(R.UNEXPECTED_PRICE, f"a {kind.value} order takes no stop_price")
    return None


def check_symbol(symbol: str, instruments: Mapping[str, Instrument]) -> Rejection | None:
    """``UNKNOWN_SYMBOL`` when the broker has no instrument ``symbol``."""
    if symbol not in instruments:
        return Rejection(R.UNKNOWN_SYMBOL,
                         f"unknown symbol {symbol!r}; known: {', '.join(sorted(instruments)) or 'none'}")
    return None


def check_allowed_symbol(symbol: str, allowed: tuple[str, ...] | None) -> Rejection | None:
    """``SYMBOL_NOT_ALLOWED`` when ``symbol`` is not in the allowed list (``None``: all are)."""
    if allowed is not None and symbol not in allowed:
        return Rejection(R.SYMBOL_NOT_ALLOWED, f"{symbol} is not in the allowed symbols")
    return None


def check_ticks_and_lots(quantity: float, limit: float | None, stop: float | None,
                         instrument: Instrument) -> Rejection | None:
    """``OFF_TICK`` when a price is not a multiple of the instrument's tick size (the limit
    first); ``OFF_LOT`` when the quantity is not a multiple of its lot size."""
    if limit is not None or stop is not None:
        for name, price in (("limit_price", limit), ("stop_price", stop)):
            if price is not None and not on_grid(price, instrument.tick_size):
                return Rejection(R.OFF_TICK,
                                 f"{name} {price} is not a multiple of the tick size {instrument.tick_size}")
    if not on_grid(quantity, instrument.lot_size):
        return Rejection(R.OFF_LOT, f"quantity {quantity} is not a multiple of the lot size {instrument.lot_size}")
    return None


def check_market_data(symbol: str, kind: OrderType, reference: float | None) -> Rejection | None:
    """``NO_MARKET_DATA`` when there is no reference price (:func:`reference_price`) yet."""
    if reference is None:
        return Rejection(R.NO_MARKET_DATA, f"no price for {symbol} yet to check a {kind.value} order against")
    return None


def check_open_orders(open_orders: int, max_open_orders: int | None) -> Rejection | None:
    """``MAX_OPEN_ORDERS`` when ``open_orders`` working orders already reach the limit."""
    if max_open_orders is not None and open_orders >= max_open_orders:
        return Rejection(R.MAX_OPEN_ORDERS,
                         f"{open_orders} orders are working; the limit is {max_open_orders:g}")
    return None


def check_order_quantity(quantity: float, max_order_quantity: float | None) -> Rejection | None:
    """``MAX_ORDER_QUANTITY`` when the quantity (units) is above the limit."""
    if max_order_quantity is not None and quantity > max_order_quantity:
        return Rejection(R.MAX_ORDER_QUANTITY, f"quantity {quantity:g} is above the limit {max_order_quantity:g}")
    return None


def check_notional(quantity: float, reference: float, max_order_notional: float | None) -> Rejection | None:
    """``MAX_ORDER_NOTIONAL`` when quantity x reference price (currency) is above the limit."""
    notional = quantity * reference
    if max_order_notional is not None and notional > max_order_notional:
        return Rejection(R.MAX_ORDER_NOTIONAL,
                         f"notional {notional:,.2f} is above the limit {max_order_notional:,.2f}")
    return None


def check_position(symbol: str, side: Side, quantity: float, position: float, pending: float,
                   max_position: float | None) -> Rejection | None:
    """``MAX_POSITION`` when the position (units, signed) could pass +/- the limit if this
    order and the ``pending`` units working on its side all filled."""
    if max_position is not None:
        worst = position + side.sign * (pending + quantity)
        if abs(worst) > max_position + EPS:
            return Rejection(R.MAX_POSITION, f"position could reach {worst:g} {symbol}; the limit is {max_position:g}")
    return None


def check_collar(symbol: str, limit: float | None, last: float | None,
                 price_collar: float | None) -> Rejection | None:
    """For an order with a limit price: ``NO_MARKET_DATA`` without a last price,
    ``PRICE_COLLAR`` when the limit is more than ``price_collar`` (a fraction) from it."""
    if price_collar is not None and limit is not None:
        if last is None:
            return Rejection(R.NO_MARKET_DATA, f"no last price for {symbol} to check the price collar")
        away = abs(limit - last) / last
        if away > price_collar + EPS:
            return Rejection(R.PRICE_COLLAR, (f"limit {limit} is {away:.2%} from the last price {last}; "
                                              f"the collar is {price_collar:.2%}"))
    return None


def check_funds(symbol: str, side: Side, quantity: float, price: float, position: float, pending: float,
                account_type: AccountType | str, commission: CommissionModel,
                free_cash: Callable[[], float], free_margin: Callable[[], float]) -> Rejection | None:
    """The money check of a cash account (:func:`check_cash_sell`, :func:`check_cash_buy`)
    or a margin account (:func:`check_margin`) at reference ``price``. ``free_cash()`` and
    ``free_margin()`` (currency free after open orders) are called only when needed."""
    if account_type == _CASH:
        if side is _SELL:
            return check_cash_sell(symbol, quantity, position, pending)
        return check_cash_buy(symbol, quantity, price, free_cash(), commission)
    if account_type == "cover":  # an option sold in a cash account: check_option_cover decides
        return None
    return check_margin(symbol, side, quantity, price, position, pending, free_margin())


def reg_t_requirement(right: str, strike: float, underlying: float, premium: float, multiplier: float) -> float:
    """The initial margin of one naked short option contract, the Reg-T/CBOE rule for equity
    options: the premium plus 20 % of the underlying's price less the amount the option is
    out of the money, at least the premium plus 10 % of the underlying's price (calls) or of
    the strike (puts); times the multiplier. In currency."""
    if right == "call":
        out = max(strike - underlying, 0.0)
        floor = 0.10 * underlying
    else:
        out = max(underlying - strike, 0.0)
        floor = 0.10 * strike
    return (premium + max(0.20 * underlying - out, floor)) * multiplier


def check_option_cover(symbol: str, right: str, strike: float, multiplier: float, opening: float,
                       account_type: AccountType | str, *, underlying: str, shares_free: float,
                       cash_free: float, underlying_price: float | None, premium: float | None,
                       margin_free: float) -> Rejection | None:
    """``UNCOVERED_OPTION`` when ``opening`` short contracts (those sold beyond the long ones
    held, less working sells) lack cover. A cash account: a call needs ``multiplier`` shares of
    the underlying a contract, free of other short calls and working sells (``shares_free``,
    a covered call); a put needs ``strike x multiplier`` a contract of cash free of open buys
    and other short puts (``cash_free``, a cash-secured put). A margin account: calls its free
    shares cover need nothing; the Reg-T requirement (:func:`reg_t_requirement`) of the other
    contracts must be free in margin (``margin_free``, less what its other short options
    need); ``NO_MARKET_DATA`` without the underlying's price or the option's."""
    if opening <= EPS:
        return None
    if account_type == _CASH:
        if right == "call":
            need = opening * multiplier
            if need > shares_free + EPS:
                return Rejection(R.UNCOVERED_OPTION, (
                    f"selling {opening:g} {symbol} calls needs {need:g} shares of {underlying} to cover them; "
                    f"{max(shares_free, 0.0):g} are free (naked calls need a margin account)"))
            return None
        need = opening * strike * multiplier
        if need > cash_free + EPS:
            return Rejection(R.UNCOVERED_OPTION, (
                f"selling {opening:g} {symbol} puts needs {need:,.2f} cash to secure them (strike x "
                f"{multiplier:g} a contract); {max(cash_free, 0.0):,.2f} is free (naked puts need a margin account)"))
        return None
    if right == "call" and shares_free > 0:  # the calls its free shares cover need no margin
        opening = max(opening - shares_free / multiplier, 0.0)
        if opening <= EPS:
            return None
    if underlying_price is None or premium is None:
        return Rejection(R.NO_MARKET_DATA, f"no price of {underlying if underlying_price is None else symbol} "
                                           f"to work out the margin of a short {symbol}")
    need = opening * reg_t_requirement(right, strike, underlying_price, premium, multiplier)
    if need > margin_free + EPS:
        return Rejection(R.UNCOVERED_OPTION, (
            f"selling {opening:g} {symbol} naked needs {need:,.2f} margin (Reg-T: premium + 20 % of the underlying "
            f"less the out-of-the-money amount, at least premium + 10 %); {max(margin_free, 0.0):,.2f} is free"))
    return None


def check_cash_sell(symbol: str, quantity: float, position: float, pending: float) -> Rejection | None:
    """``SHORT_NEEDS_MARGIN`` when a cash account sells more units than it holds less its
    ``pending`` working sells."""
    available = position - pending
    if quantity > available + EPS:
        return Rejection(R.SHORT_NEEDS_MARGIN, (f"selling {quantity:g} {symbol} with {available:g} "
                                                f"available; shorting needs a margin account"))
    return None


def check_cash_buy(symbol: str, quantity: float, price: float, free_cash: float,
                   commission: CommissionModel) -> Rejection | None:
    """``INSUFFICIENT_BUYING_POWER`` when a cash account's buy would cost (quantity x
    price plus the commission model's charge for it) more than ``free_cash``."""
    fee = 0.0 if type(commission) is NoCommission else commission.commission(_buy_probe(symbol, quantity), quantity,
                                                                              price)  # (what free trading charges)
    cost = quantity * price + fee
    if cost > free_cash + EPS:
        return Rejection(R.INSUFFICIENT_BUYING_POWER, (f"needs {cost:,.2f}; {free_cash:,.2f} cash is "
                                                       f"free after open orders"))
    return None


@lru_cache(maxsize=1_024, typed=True)
def _buy_probe(symbol: str, quantity: float) -> Order:
    """The market buy :func:`check_cash_buy` asks the commission model to price. An
    :class:`Order` is immutable, so one serves every check of a symbol and quantity (the
    optimizer's fast path checks thousands of such buys; building each took 2.6 us)."""
    return Order("?", symbol, Side.BUY, OrderType.MARKET, quantity, None, None, TimeInForce.DAY, OrderStatus.NEW)


def check_margin(symbol: str, side: Side, quantity: float, price: float, position: float, pending: float,
                 free_margin: float) -> Rejection | None:
    """``INSUFFICIENT_BUYING_POWER`` when a margin account lacks the initial margin
    (:data:`~workbench.broker.account.INITIAL_MARGIN` x units x price) for the part of the
    order that grows its absolute position beyond position + ``pending`` (signed by side)."""
    sign = side.sign
    after_pending = position + sign * pending
    increase = max(abs(after_pending + sign * quantity) - abs(after_pending), 0.0)
    need = INITIAL_MARGIN * increase * price
    if need > free_margin + EPS:
        return Rejection(R.INSUFFICIENT_BUYING_POWER, (f"needs {need:,.2f} initial margin; {max(free_margin, 0):,.2f} "
                                                       f"is free after open orders"))
    return None


# --- helpers ---------------------------------------------------------------------------------


def reference_price(kind: OrderType, side: Side, limit: float | None, stop: float | None,
                    last: float | None) -> float | None:
    """The price an order is checked at: its limit, its stop (or the last price beyond
    it), else the last price."""
    if kind in _WITH_LIMIT:
        return limit
    if kind is _STOP:
        return stop_reference(side, stop, last)
    return last


def on_grid(value: float, step: float) -> bool:
    """True when ``value`` is a whole multiple of ``step``, at least one step (to float
    precision: within a millionth of a step)."""
    ratio = value / step
    if not math.isfinite(ratio):
        return False
    if ratio.__class__ is float:  # the same answer without round(), a slow builtin on every order's path:
        if ratio < 0.5:  # the nearest whole number is below 1
            return False
        frac = ratio % 1.0  # ratio - floor(ratio), exactly; the distance to the nearest whole number is
        return frac <= 1e-6 or 1.0 - frac <= 1e-6  # frac or 1 - frac, both exact (what ratio - whole gives)
    whole = round(ratio)
    return whole >= 1 and abs(ratio - whole) <= 1e-6
