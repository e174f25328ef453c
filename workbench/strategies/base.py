"""The Strategy base class: hooks the engine calls, and the order API strategies use.

A strategy declares its parameters (name -> :class:`Param`), reacts to events in
``on_start``, ``on_bar``, ``on_quote``, ``on_fill`` and ``on_stop``, and trades only
through ``self.order(...)`` and ``self.target_position(...)``, which go through the engine
to the broker. It sees market data only as the engine hands it over, one event at a time:
the engine never gives a strategy the data frames, so it cannot look ahead.
``self.history(symbol)`` holds the bars seen so far, the current one last.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from workbench.errors import ConfigError
from workbench.model import Bar, Fill, Quote

if TYPE_CHECKING:
    from workbench.broker.account import AccountSnapshot
    from workbench.broker.orders import Reply

FIELDS = ("open", "high", "low", "close", "volume")


class Host(Protocol):
    """What a strategy is attached to (the engine): the route for its orders and its view
    of the market and the account. Strategies depend on this, not on the engine."""

    now: Any  # the time of the event being handled

    def submit(self, symbol: str, side: str, quantity: float, type: str, limit_price: float | None,
               stop_price: float | None, tif: str) -> Reply | None: ...

    def position(self, symbol: str) -> float: ...

    def exposure(self, symbol: str) -> float: ...

    def working(self, symbol: str) -> float: ...

    def history(self, symbol: str, field: str, n: int | None) -> np.ndarray: ...

    def account(self) -> AccountSnapshot: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Param:
    """A strategy parameter: type, default, bounds (inclusive) and what it means."""

    type: type
    default: Any
    help: str = ""
    low: float | None = None
    high: float | None = None

    def parse(self, name: str, value: Any) -> Any:
        """``value`` (a string from the command line, or a Python value) as ``type``,
        within the bounds; a :class:`ConfigError` that names the parameter otherwise."""
        if isinstance(value, str) and self.type is not str:
            text = value.strip()
            try:
                if self.type is bool:
                    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError(text)
                    value = text.lower() in ("true", "1", "yes")
                elif self.type is int:
                    as_float = float(text)
                    if not as_float.is_integer():
                        raise ValueError(text)
                    value = int(as_float)
                else:
                    value = self.type(text)
            except ValueError:
                kind = self.type.__name__
                raise ConfigError(f"parameter {name}: {value!r} is not {'an' if kind[0] in 'aeiou' else 'a'} {kind}") \
                    from None
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.type) or (self.type is not bool and isinstance(value, bool)):
            raise ConfigError(
                f"parameter {name}: expected {self.type.__name__}, got {type(value).__name__} {value!r}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"parameter {name}: must be finite, got {value}")
        if self.low is not None and value < self.low:
            raise ConfigError(f"parameter {name}: {value} is below the minimum {self.low}")
        if self.high is not None and value > self.high:
            raise ConfigError(f"parameter {name}: {value} is above the maximum {self.high}")
        return value


class Rolling:
    """Mean and standard deviation of the last ``n`` values, updated in O(1) per value.

    Hand-written: pandas' rolling windows work on whole arrays, and an event-driven
    strategy sees one value at a time. Sums are recomputed from the window every ``n``
    updates so float error cannot accumulate.
    """

    __slots__ = ("n", "_values", "_sum", "_sumsq", "_updates")

    def __init__(self, n: int) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"window must be an integer >= 1, got {n!r}")
        self.n = n
        self._values: deque[float] = deque(maxlen=n)
        self._sum = 0.0
        self._sumsq = 0.0
        self._updates = 0

    def push(self, x: float) -> None:
        values = self._values
        if len(values) == self.n:
            old = values[0]
            self._sum -= old
            self._sumsq -= old * old
        values.append(x)
        self._sum += x
        self._sumsq += x * x
        self._updates += 1
        if self._updates % self.n == 0:  # refresh: no drift
            self._sum = math.fsum(values)
            self._sumsq = math.fsum(v * v for v in values)

    @property
    def ready(self) -> bool:
        """True once the window is full."""
        return len(self._values) == self.n

    @property
    def mean(self) -> float:
        """Mean of the window; NaN until it is full."""
        return self._sum / self.n if len(self._values) == self.n else math.nan

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof=1) of the window; NaN until it is full."""
        n = self.n
        if len(self._values) < n or n < 2:
            return math.nan
        var = (self._sumsq - self._sum * self._sum / n) / (n - 1)
        return math.sqrt(var) if var > 0 else 0.0


_FIELD_TYPES = {"int": int, "float": float, "bool": bool, "str": str}


class Strategy:
    """Base class of strategies (see the module docstring).

    Parameters are declared either as ``parameters = {"fast": Param(int, 10, low=1)}`` (with
    bounds and help) or as typed class fields with defaults, ``fast: int = 10`` (``int``,
    ``float``, ``bool`` or ``str``); either way ``-p fast=20`` and ``--grid`` are checked
    against them and ``self.fast`` reads the run's value. A class without a ``name`` (nor a
    named base) is named after itself in snake case (``MyStrategy`` -> ``my_strategy``)."""

    name: ClassVar[str] = "strategy"
    parameters: ClassVar[dict[str, Param]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__ and cls.name == "strategy":  # a subclass of a named one keeps its name
            cls.name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).lower()
        fields: dict[str, Param] = {}
        inherited = cls.parameters if "parameters" not in cls.__dict__ else {}
        for attr, hint in cls.__dict__.get("__annotations__", {}).items():
            kind = hint if hint in _FIELD_TYPES.values() else _FIELD_TYPES.get(hint) if isinstance(hint, str) else None
            if kind is None or attr.startswith("_"):
                continue  # ClassVar, other types and private names are not parameters
            if attr not in cls.__dict__:
                raise TypeError(f"{cls.__name__}.{attr}: a parameter needs a default ({attr}: {kind.__name__} = ...)")
            if hasattr(Strategy, attr):
                raise TypeError(f"{cls.__name__}.{attr}: the name of a Strategy attribute (self.{attr}); give the "
                                "parameter another name")
            base = inherited.get(attr)
            param = Param(kind, None) if base is None else replace(base, type=kind)  # a parent's bounds kept
            fields[attr] = replace(param, default=param.parse(attr, cls.__dict__[attr]))
        for attr, base in inherited.items():  # a parent's parameter given a new default (lookback = 100)
            if attr not in fields and attr in cls.__dict__ and not callable(cls.__dict__[attr]):
                fields[attr] = replace(base, default=base.parse(attr, cls.__dict__[attr]))
        if fields:
            if "parameters" in cls.__dict__:
                raise TypeError(f"{cls.__name__}: declare parameters as typed fields or in `parameters`, not both")
            cls.parameters = {**cls.parameters, **fields}
            for attr in fields:  # read from the run's values (__getattr__), not the class default
                delattr(cls, attr)

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.parameters))
        if unknown:
            known = ", ".join(self.parameters) or "none"
            raise ConfigError(f"{self.name}: unknown parameter(s) {unknown}; known: {known}")
        self.params = {
            name: p.parse(name, params[name]) if name in params else p.default
            for name, p in self.parameters.items()
        }
        self.check_params()
        self._host: Host | None = None

    def check_params(self) -> None:
        """Checks across parameters (override); raise :class:`ConfigError`."""

    def warmup(self) -> int:
        """Bars of a symbol this strategy must see before it can decide anything about it
        (override; 0: from the first bar). A run with no more bars than this is warned about,
        and refused under ``--strict``."""
        return 0

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("params")
        if params is not None and name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    # --- hooks (override) ----------------------------------------------------------------

    def on_start(self) -> None:
        """Before the first event."""

    def on_bar(self, bar: Bar) -> None:
        """A bar closed; decide here (orders fill from the next bar on)."""

    def on_quote(self, quote: Quote) -> None:
        """A new quote."""

    def on_fill(self, fill: Fill) -> None:
        """One of this strategy's orders filled (before the bar that filled it is shown)."""

    def on_stop(self) -> None:
        """After the last event (or when the run is stopped)."""

    def on_slice(self, time) -> None:
        """Every event of ``time`` has been shown (each symbol's bar then): decide across
        symbols here, once a time (override; the engine calls it only when overridden)."""

    # --- order API -----------------------------------------------------------------------

    def order(self, symbol: str, side: str, quantity: float, type: str = "market",
              limit_price: float | None = None, stop_price: float | None = None,
              tif: str = "day") -> Reply | None:
        """Send an order through the engine; returns the broker's reply (while a resumed run
        warms up, that of the broker it warms up on: the run's orders are placed again there)."""
        return self._bound().submit(symbol, side, quantity, type, limit_price, stop_price, tif)

    def target_position(self, symbol: str, quantity: float, **order: Any) -> Reply | None:
        """Trade towards holding ``quantity`` units (negative: short), counting working
        orders; nothing is sent when already there."""
        delta = quantity - self._bound().exposure(symbol)
        if abs(delta) < 1e-9:
            return None
        side = "buy" if delta > 0 else "sell"
        return self.order(symbol, side, abs(delta), **order)

    def target_percent(self, symbol: str, weight: float, *, price: float | None = None, fractional: bool = False,
                       **order: Any) -> Reply | None:
        """Trade towards holding ``weight`` of the account's equity in ``symbol``: ``weight x
        equity / price`` units (``price``: the last close by default), whole units rounded
        towards zero (``fractional``: to a millionth, for instruments whose lot size allows
        it). The order fills at the next bar's open, so the weight reached is near, not exact."""
        return self.target_position(symbol, self.units_for(symbol, weight * self.equity, price, fractional), **order)

    def target_weights(self, weights: dict[str, float], **options: Any) -> dict[str, Reply | None]:
        """:meth:`target_percent` for each symbol of ``weights``, sells first (a symbol of the
        universe held but not named goes to 0). All are sent at once: in a cash account a buy
        is checked against the cash free now, before the sales fill, so a rotation's buys may
        be refused; the ``rebalance`` strategy sells first and buys a bar later for that."""
        equity = self.equity
        wanted = {s: 0.0 for s in self.universe if self.position(s)}
        wanted.update({str(s): float(w) for s, w in weights.items()})
        price, fractional = options.pop("price", None), options.pop("fractional", False)
        targets = {s: self.units_for(s, w * equity, price, fractional) for s, w in wanted.items()}
        order = sorted(targets, key=lambda s: (targets[s] >= self.exposure(s), s))  # reductions first
        return {s: self.target_position(s, targets[s], **options) for s in order}

    def units_for(self, symbol: str, value: float, price: float | None = None, fractional: bool = False) -> float:
        """Units of ``symbol`` worth ``value`` at ``price`` (the last close by default), rounded
        towards zero: whole units, or to a millionth when ``fractional``."""
        if price is None:
            closes = self.history(symbol, "close", 1)
            if not len(closes):
                raise ConfigError(f"{self.name}: no price of {symbol} yet to size an order with")
            price = float(closes[-1])
        if not (price > 0 and math.isfinite(price)):
            raise ConfigError(f"{self.name}: cannot size {symbol} at price {price!r}")
        units = value / price
        step = 1e-6 if fractional else 1.0
        return math.copysign(math.floor(abs(units) / step + 1e-9) * step, units)

    def affordable(self, symbol: str, quantity: float, price: float, budget: float, fractional: bool = False) -> float:
        """At most ``quantity`` units of ``symbol`` (whole, or millionths when ``fractional``)
        whose cost at ``price`` with the run's commission stays within ``budget``."""
        step = 1e-6 if fractional else 1.0
        qty = math.floor(quantity / step + 1e-9) * step
        while qty > 0 and qty * price + self.commission_estimate(symbol, "buy", qty, price) > budget + 1e-9:
            fee = self.commission_estimate(symbol, "buy", qty, price)
            fit = math.floor(max(budget - fee, 0.0) / price / step + 1e-9) * step
            qty = fit if fit < qty else qty - step
        return max(qty, 0.0)

    @property
    def universe(self) -> list[str]:
        """The symbols of the run's data (option contracts left out), sorted."""
        return list(self._bound().universe)

    def commission_estimate(self, symbol: str, side: str, quantity: float, price: float) -> float:
        """What the run's commission model charges an order of ``quantity`` at ``price``."""
        return self._bound().commission_estimate(symbol, side, quantity, price)

    def position(self, symbol: str) -> float:
        """Units held (negative: short)."""
        return self._bound().position(symbol)

    def exposure(self, symbol: str) -> float:
        """Units held plus working buys less working sells: where the position is going."""
        host = self._host  # called on every bar by most strategies: one lookup, not three
        if host is None:
            self._bound()
        return host.exposure(symbol)

    def working(self, symbol: str) -> float:
        """Units of this strategy's working orders in ``symbol``, buys less sells."""
        return self._bound().working(symbol)

    @property
    def cash(self) -> float:
        return self._bound().account().cash

    @property
    def equity(self) -> float:
        return self._bound().account().equity

    def request_stop(self) -> None:
        """Ask the engine to end the run after the current time slice (a paper session
        stops cleanly, its journal intact, and can be resumed)."""
        self._bound().stop()

    @property
    def time(self):
        """The time of the event being handled."""
        return self._bound().now

    # --- history -------------------------------------------------------------------------

    def history(self, symbol: str, field: str = "close", n: int | None = None) -> np.ndarray:
        """Values of ``field`` of the bars of ``symbol`` seen so far (the last ``n``), the
        current bar last. Nothing later exists here: the engine hands out only the bars
        it has already shown the strategy."""
        if field not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}, got {field!r}")
        return self._bound().history(symbol, field, n)

    def bind(self, host: Host) -> None:
        """Attach to the engine that runs this strategy (the engine does it when it runs)."""
        self._host = host

    def _bound(self) -> Host:
        if self._host is None:
            raise RuntimeError(f"{self.name}: not attached to an engine (use Engine(...).run())")
        return self._host

    def describe(self) -> str:
        """The strategy's rules (its docstring's first paragraph)."""
        return (type(self).__doc__ or "").strip().split("\n\n")[0]


StrategyFactory = Callable[..., Strategy]
