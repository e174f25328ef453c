"""Value objects of the domain: instruments, bars, quotes, orders, fills, positions.

Frozen dataclasses, validated on construction, with no I/O (NautilusTrader's habit).
Times are timezone-aware ``datetime`` values in UTC: ``pandas.Timestamp`` (a ``datetime``)
where nanoseconds matter, plain ``datetime`` where events are built in bulk from whole
microseconds (replay, the engine), which is several times cheaper. Prices are in the
instrument's currency per unit; sizes and volumes in units (shares, contracts, coins).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

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
        return 1 if self is Side.BUY else -1


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


@dataclass(frozen=True, slots=True)
class Bar:
    """OHLCV bar for the interval that ends at ``time``; volume in units."""

    time: pd.Timestamp
    symbol: str
    open: float
    high: float
    low: float
    close: float
    volume: float

    def __post_init__(self) -> None:
        _check_time("Bar", self.time)
        _check_symbol("Bar", self.symbol)
        for name in ("open", "high", "low", "close"):
            _check_number("Bar", name, getattr(self, name), positive=True)
        _check_number("Bar", "volume", self.volume, positive=False)
        if self.high < max(self.open, self.close):
            raise ValueError(f"Bar.high {self.high} is below max(open, close) at {self.time}")
        if self.low > min(self.open, self.close):
            raise ValueError(f"Bar.low {self.low} is above min(open, close) at {self.time}")


@dataclass(frozen=True, slots=True)
class Quote:
    """Top-of-book quote at ``time``; sizes in units."""

    time: pd.Timestamp
    symbol: str
    bid: float
    ask: float
    bid_size: float
    ask_size: float

    def __post_init__(self) -> None:
        _check_time("Quote", self.time)
        _check_symbol("Quote", self.symbol)
        _check_number("Quote", "bid", self.bid, positive=True)
        _check_number("Quote", "ask", self.ask, positive=True)
        _check_number("Quote", "bid_size", self.bid_size, positive=False)
        _check_number("Quote", "ask_size", self.ask_size, positive=False)
        if self.bid > self.ask:
            raise ValueError(f"Quote.bid {self.bid} is above ask {self.ask} at {self.time}")

    @property
    def mid(self) -> float:
        """Mid price, (bid + ask) / 2."""
        return (self.bid + self.ask) / 2.0

    @property
    def spread(self) -> float:
        """Ask minus bid, in price units."""
        return self.ask - self.bid


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

    @property
    def value(self) -> float:
        """quantity x price (times the instrument's multiplier for currency)."""
        return self.quantity * self.price


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


def _unchecked_constructor(cls: type) -> Callable[..., Any]:
    """A constructor for ``cls`` that skips ``__post_init__`` validation.

    For data that was already validated as a whole (canonical feed frames): building
    millions of bars for replay and backtests is then about twice as fast. Hand-written
    because dataclasses offer no switch for it; the generated code sets the same slots
    the dataclass ``__init__`` would.
    """
    names = [f.name for f in dataclasses.fields(cls)]
    body = "\n".join(f"    _set(obj, {n!r}, {n})" for n in names)
    source = f"def make({', '.join(names)}):\n    obj = _new(_cls)\n{body}\n    return obj\n"
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_set": object.__setattr__}
    exec(source, scope)  # noqa: S102 (generated from field names only)
    return scope["make"]


unchecked_bar = _unchecked_constructor(Bar)
unchecked_quote = _unchecked_constructor(Quote)
