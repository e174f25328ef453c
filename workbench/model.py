"""Value objects of the domain: instruments, bars, quotes, orders, fills, positions.

Immutable values, validated on construction, with no I/O (NautilusTrader's habit): frozen
dataclasses, and for the market events (:class:`Bar`, :class:`Quote`), of which a replay
builds millions, tuples built in C that keep their time as nanoseconds since the epoch
(``ns``) and build its ``pandas.Timestamp`` only when asked (``time``, always UTC: a time
given in another zone is kept as the same instant in UTC). As tuples they are not
dataclasses: ``_replace`` makes a checked copy, and a frame of them has an ``ns`` column.
Prices are in the instrument's currency per unit; sizes and volumes in units (shares,
contracts, coins).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from itertools import repeat
from enum import Enum
from typing import NamedTuple

import pandas as pd

__all__ = [
    "AssetClass",
    "Side",
    "OrderType",
    "TimeInForce",
    "OrderStatus",
    "Instrument",
    "Bar",
    "Quote",
    "Order",
    "Fill",
    "Position",
]


# An OCC option symbol: the root padded to 6, YYMMDD, C or P, the strike x 1000 in 8 digits
# (``SPY   261218P00450000``; workbench.options.contracts reads and writes them).
OCC_SYMBOL = re.compile(r"^(?P<root>[A-Z0-9.]{1,6}) *(?P<date>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")


class AssetClass(str, Enum):
    EQUITY = "equity"
    INDEX = "index"
    FX = "fx"
    FUTURE = "future"
    CRYPTO = "crypto"
    OPTION = "option"  # its symbol is an OCC symbol (workbench.options.parse_occ): the contract's terms


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is _BUY else -1


_BUY = Side.BUY  # (read as a global by Side.sign, not through the enum)


class OrderType(str, Enum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(str, Enum):
    DAY = "day"  # expires at the session close
    GTC = "gtc"  # good till cancelled
    IOC = "ioc"  # immediate or cancel: the unfilled rest is cancelled at once
    FOK = "fok"  # fill or kill: fills completely at once or not at all


class OrderStatus(str, Enum):
    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        """True once the order can change no more."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)


def _check_time(cls: str, value: object) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{cls}.time must be a datetime (or pandas.Timestamp), got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError(f"{cls}.time must be timezone-aware (UTC), got naive {value}")


def _check_symbol(cls: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{cls}.symbol must be a non-empty string, got {value!r}")


def _check_number(cls: str, name: str, value: object, *, positive: bool) -> None:
    # bool is an int subclass; a True price is a bug, not a price.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{cls}.{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{cls}.{name} must be finite, got {value}")
    if positive and not value > 0:
        raise ValueError(f"{cls}.{name} must be > 0, got {value}")
    if not positive and value < 0:
        raise ValueError(f"{cls}.{name} must be >= 0, got {value}")


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable instrument: tick size in price units, lot size in units. ``multiplier``:
    units of the underlying one unit stands for (a contract's size: 100 for a US equity
    option, 50 for an E-mini S&P future); cash moves by quantity x price x multiplier."""

    symbol: str
    asset_class: AssetClass = AssetClass.EQUITY
    currency: str = "USD"
    tick_size: float = 0.01
    lot_size: float = 1.0
    multiplier: float = 1.0

    def __post_init__(self) -> None:
        _check_symbol("Instrument", self.symbol)
        if not isinstance(self.asset_class, AssetClass):
            object.__setattr__(self, "asset_class", AssetClass(self.asset_class))
        if not (isinstance(self.currency, str) and len(self.currency) == 3):
            raise ValueError(f"Instrument.currency must be a 3-letter code, got {self.currency!r}")
        _check_number("Instrument", "tick_size", self.tick_size, positive=True)
        _check_number("Instrument", "lot_size", self.lot_size, positive=True)
        _check_number("Instrument", "multiplier", self.multiplier, positive=True)


class _Event:
    """What :class:`Bar` and :class:`Quote` share: the first field is ``ns``, the time in
    nanoseconds since the epoch (UTC), and ``time`` its ``pandas.Timestamp``, built when asked."""

    __slots__ = ()

    @property
    def time(self) -> pd.Timestamp:
        """When the event happened (UTC): the end of a bar's interval, a quote's start."""
        return time_of(self[0])

    @classmethod
    def _make(cls, iterable):
        """A checked event from its fields, ``ns`` first."""
        ns, *rest = iterable
        return cls(time_of(ns), *rest)

    def _replace(self, **changes):
        """A checked copy with ``changes`` (``time`` or ``ns``, and any other field)."""
        values = dict(zip(self._fields, self))
        if "ns" in changes and "time" in changes:
            raise TypeError("give time or ns, not both")
        values["time"] = changes.pop("time") if "time" in changes else time_of(changes.pop("ns", values["ns"]))
        del values["ns"]
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {sorted(unknown)}")
        values.update(changes)
        return type(self)(**values)

    def __reduce__(self):
        return _tuple_new, (type(self), tuple(self))


class _BarFields(NamedTuple):
    ns: int
    symbol: str
    open: float
    high: float
    low: float
    close: float
    volume: float


class Bar(_Event, _BarFields):
    """OHLCV bar for the interval that ends at ``time``; volume in units.

    An immutable value (a tuple): the time is kept as ``ns``, nanoseconds since the epoch
    (UTC), and ``time`` builds its ``pandas.Timestamp`` when asked. A replay builds millions
    of these, and most are never asked their time: building it per bar cost more than the bar.
    """

    __slots__ = ()

    def __new__(cls, time: datetime, symbol: str, open: float, high: float, low: float, close: float,
                volume: float) -> Bar:
        _check_time("Bar", time)
        _check_symbol("Bar", symbol)
        for name, value in (("open", open), ("high", high), ("low", low), ("close", close)):
            _check_number("Bar", name, value, positive=True)
        _check_number("Bar", "volume", volume, positive=False)
        if high < max(open, close):
            raise ValueError(f"Bar.high {high} is below max(open, close) at {time}")
        if low > min(open, close):
            raise ValueError(f"Bar.low {low} is above min(open, close) at {time}")
        return _tuple_new(cls, (time_ns(time), symbol, open, high, low, close, volume))

    def __repr__(self) -> str:
        return (f"Bar(time={self.time!r}, symbol={self[1]!r}, open={self[2]!r}, high={self[3]!r}, "
                f"low={self[4]!r}, close={self[5]!r}, volume={self[6]!r})")


class _QuoteFields(NamedTuple):
    ns: int
    symbol: str
    bid: float
    ask: float
    bid_size: float
    ask_size: float


class Quote(_Event, _QuoteFields):
    """Top-of-book quote at ``time``; sizes in units. An immutable value kept as
    :class:`Bar` is: ``ns`` stored, ``time`` built when asked."""

    __slots__ = ()

    def __new__(cls, time: datetime, symbol: str, bid: float, ask: float, bid_size: float,
                ask_size: float) -> Quote:
        _check_time("Quote", time)
        _check_symbol("Quote", symbol)
        _check_number("Quote", "bid", bid, positive=True)
        _check_number("Quote", "ask", ask, positive=True)
        _check_number("Quote", "bid_size", bid_size, positive=False)
        _check_number("Quote", "ask_size", ask_size, positive=False)
        if bid > ask:
            raise ValueError(f"Quote.bid {bid} is above ask {ask} at {time}")
        return _tuple_new(cls, (time_ns(time), symbol, bid, ask, bid_size, ask_size))

    @property
    def mid(self) -> float:
        """Mid price, (bid + ask) / 2."""
        return (self[2] + self[3]) / 2.0

    @property
    def spread(self) -> float:
        """Ask minus bid, in price units."""
        return self[3] - self[2]

    def __repr__(self) -> str:
        return (f"Quote(time={self.time!r}, symbol={self[1]!r}, bid={self[2]!r}, ask={self[3]!r}, "
                f"bid_size={self[4]!r}, ask_size={self[5]!r})")



@dataclass(frozen=True, slots=True)
class Order:
    """A snapshot of an order as the broker holds it; quantities in units, prices per unit.

    ``filled_quantity`` and ``avg_fill_price`` sum the fills so far; ``commission`` is
    what the order has been charged so far (currency). ``triggered`` tells whether a stop
    or stop-limit order's stop has been reached.
    """

    id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: float
    limit_price: float | None
    stop_price: float | None
    tif: TimeInForce
    status: OrderStatus
    created: pd.Timestamp | None = None
    filled_quantity: float = 0.0
    avg_fill_price: float = 0.0
    commission: float = 0.0
    triggered: bool = False
    client_id: str | None = None

    @property
    def remaining(self) -> float:
        """Quantity still to fill (units)."""
        return self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        """True while the order can still fill."""
        return self.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution: ``quantity`` units at ``price``; ``commission`` and ``slippage``
    in currency (slippage = what the fill price cost against the rule price)."""

    seq: int
    order_id: str
    time: pd.Timestamp
    symbol: str
    side: Side
    quantity: float
    price: float
    commission: float = 0.0
    slippage: float = 0.0

    def __init__(self, seq: int, order_id: str, time: pd.Timestamp, symbol: str, side: Side, quantity: float,
                 price: float, commission: float = 0.0, slippage: float = 0.0) -> None:
        # What the generated (frozen) __init__ does, through the slots' own setters rather than
        # object.__setattr__ by name: 0.6 us, not 1.4, and the broker builds one every fill.
        _fill_seq(self, seq)
        _fill_order_id(self, order_id)
        _fill_time(self, time)
        _fill_symbol(self, symbol)
        _fill_side(self, side)
        _fill_quantity(self, quantity)
        _fill_price(self, price)
        _fill_commission(self, commission)
        _fill_slippage(self, slippage)

    @property
    def value(self) -> float:
        """quantity x price (times the instrument's multiplier for currency)."""
        return self.quantity * self.price


(_fill_seq, _fill_order_id, _fill_time, _fill_symbol, _fill_side, _fill_quantity, _fill_price, _fill_commission,
 _fill_slippage) = (Fill.__dict__[f].__set__ for f in Fill.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Position:
    """Signed quantity (negative = short), average cost per unit, realized P&L (gross of
    costs, average-cost method, currency) and the last price it was marked at; values are
    times the instrument's ``multiplier``."""

    symbol: str
    quantity: float
    avg_cost: float
    realized_pnl: float = 0.0
    last_price: float | None = None
    multiplier: float = 1.0

    @property
    def market_value(self) -> float:
        """quantity x last price x multiplier (0 when no price is known)."""
        return 0.0 if self.last_price is None else self.quantity * self.last_price * self.multiplier

    @property
    def unrealized_pnl(self) -> float:
        """quantity x (last price - average cost) x multiplier."""
        return 0.0 if self.last_price is None else \
            self.quantity * (self.last_price - self.avg_cost) * self.multiplier


_tuple_new = tuple.__new__
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_NS_RANGE = (pd.Timestamp.min.value, pd.Timestamp.max.value)


def time_ns(time: datetime) -> int:
    """Nanoseconds since the epoch of an aware ``datetime`` or ``pandas.Timestamp``; a
    ``ValueError`` outside what 64-bit nanoseconds hold (1677-09-21 to 2262-04-11)."""
    if isinstance(time, pd.Timestamp):
        try:
            return int(time.as_unit("ns").value)
        except (OverflowError, ValueError):  # pandas' OutOfBoundsDatetime is a ValueError
            ns = None
    else:
        d = time - _EPOCH
        ns = (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1_000
    if ns is None or not _NS_RANGE[0] <= ns <= _NS_RANGE[1]:
        raise ValueError(f"time {time} is outside the nanosecond range (1677-09-21 to 2262-04-11)")
    return ns


# How pandas itself rebuilds a UTC nanosecond Timestamp from its value (what pickle calls,
# as the Timestamp's __reduce__ names it): 1 us, where the constructor's parsing takes 2.3 (a
# cache miss on every fill of a backtest). Only if it gives the constructor's Timestamp.
_rebuild, _REBUILD_ARGS = pd.Timestamp(0, tz="UTC").__reduce__()
_REBUILD_ARGS = _REBUILD_ARGS[1:]  # (after the value: what pandas passes with it, zone and unit among them)
try:
    _same = repr(_rebuild(-1_234_567_890_123, *_REBUILD_ARGS)) == repr(pd.Timestamp(-1_234_567_890_123, tz="UTC"))
except Exception:  # pragma: no cover
    _same = False
if not _same:  # pragma: no cover (another pandas: the constructor it is)
    _rebuild = None
del _same


@lru_cache(maxsize=4_096)
def time_of(ns: int) -> pd.Timestamp:
    """The ``pandas.Timestamp`` (UTC) of ``ns`` nanoseconds since the epoch. Cached: the
    events of one time (a bar and the option chain quoted with it) ask for the same one."""
    if ns.__class__ is int and _rebuild is not None and _NS_RANGE[0] <= ns <= _NS_RANGE[1]:
        return _rebuild(ns, *_REBUILD_ARGS)
    return pd.Timestamp(ns, tz="UTC")  # (another type, or out of range: its own value or error)


def unchecked_bar(time: datetime, symbol: str, open: float, high: float, low: float, close: float,
                  volume: float) -> Bar:
    """A :class:`Bar` without the checks, for data already validated as a whole (canonical
    feed frames); never for user input."""
    return _tuple_new(Bar, (time_ns(time), symbol, open, high, low, close, volume))


def unchecked_quote(time: datetime, symbol: str, bid: float, ask: float, bid_size: float,
                    ask_size: float) -> Quote:
    """A :class:`Quote` without the checks (see :func:`unchecked_bar`)."""
    return _tuple_new(Quote, (time_ns(time), symbol, bid, ask, bid_size, ask_size))


def bars_from_ns(rows) -> map:
    """Bars from ``(ns, symbol, open, high, low, close, volume)`` tuples of validated data,
    lazily and in C (``tuple.__new__`` over an iterable: no Python call per bar)."""
    return map(_tuple_new, repeat(Bar), rows)


def quotes_from_ns(rows) -> map:
    """Quotes from ``(ns, symbol, bid, ask, bid_size, ask_size)`` tuples (see :func:`bars_from_ns`)."""
    return map(_tuple_new, repeat(Quote), rows)
