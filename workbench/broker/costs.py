"""Cost models: commissions and slippage, small classes with one method each (zipline's shape).

Write your own in a notebook by subclassing :class:`CommissionModel` or
:class:`SlippageModel` and passing an instance to the broker.

Commission: ``commission(order, quantity, price) -> currency`` for one fill of ``quantity``
units at ``price``; ``order`` is the order *before* this fill (its ``filled_quantity``,
``avg_fill_price`` and ``commission`` so far), so per-order minimums and maximums work
across partial fills.

Slippage: ``price(side, price, quantity, market) -> fill price``, applied to market and
stop fills (a limit or stop-limit fill is never worse than its limit, so it gets none).
``market`` is the :class:`~workbench.model.Bar` or :class:`~workbench.model.Quote` that
filled the order.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, is_dataclass
from collections.abc import Callable
from typing import Any

from workbench.errors import ConfigError
from workbench.model import OCC_SYMBOL, Bar, Order, Quote, Side


class CommissionModel(ABC):
    """Returns the commission of one fill, in currency."""

    @abstractmethod
    def commission(self, order: Order, quantity: float, price: float) -> float: ...

    def to_dict(self) -> dict[str, Any]:
        return {"model": _name_of(type(self), COMMISSIONS), **_params(self)}


class SlippageModel(ABC):
    """Returns the fill price after slippage for a rule price."""

    @abstractmethod
    def price(self, side: Side, price: float, quantity: float, market: Bar | Quote) -> float: ...

    def to_dict(self) -> dict[str, Any]:
        return {"model": _name_of(type(self), SLIPPAGES), **_params(self)}


# --- commissions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NoCommission(CommissionModel):
    """Free trading."""

    def commission(self, order: Order, quantity: float, price: float) -> float:
        return 0.0


@dataclass(frozen=True)
class PerShare(CommissionModel):
    """Per unit, with a per-order minimum and a per-order cap as a fraction of trade value.

    Defaults are Interactive Brokers' fixed US equity pricing: 0.005 USD a share, at least
    1.00 USD an order, at most 1 % of the trade value. The order's total after this fill is
    ``min(max(rate * shares, minimum), max_fraction * value)``; the fill pays the
    difference from what the order already paid, so partial fills add up to that total.
    """

    rate: float = 0.005
    minimum: float = 1.0
    max_fraction: float = 0.01

    def __post_init__(self) -> None:
        _non_negative(self, "rate", "minimum", "max_fraction")

    def commission(self, order: Order, quantity: float, price: float) -> float:
        shares = order.filled_quantity + quantity
        value = order.filled_quantity * order.avg_fill_price + quantity * price
        total = min(max(self.rate * shares, self.minimum), self.max_fraction * value)
        return max(total - order.commission, 0.0)


@dataclass(frozen=True)
class PerContract(CommissionModel):
    """Options per contract, shares per share: Interactive Brokers' US schedules. An order
    in an option (an OCC symbol, ``SPY   261218P00450000``) pays ``rate`` a contract, at least
    ``minimum`` an order (0.65 and 1.00 USD: the option schedule's top tier); any other order
    pays by :class:`PerShare` (``share_rate`` a share, at least ``share_minimum``, at most
    ``share_max_fraction`` of the value: 0.005, 1.00, 1 %), so the shares an option strategy
    trades are not charged 0.65 each. The order's total after each fill is the schedule's;
    the fill pays the difference from what the order already paid, so partial fills add up to
    it. Exercise and assignment are not orders and pay nothing here."""

    rate: float = 0.65
    minimum: float = 1.0
    share_rate: float = 0.005
    share_minimum: float = 1.0
    share_max_fraction: float = 0.01

    def __post_init__(self) -> None:
        _non_negative(self, "rate", "minimum", "share_rate", "share_minimum", "share_max_fraction")

    def commission(self, order: Order, quantity: float, price: float) -> float:
        if OCC_SYMBOL.match(order.symbol) is None:
            return PerShare(self.share_rate, self.share_minimum, self.share_max_fraction).commission(
                order, quantity, price)
        total = max(self.rate * (order.filled_quantity + quantity), self.minimum)
        return max(total - order.commission, 0.0)



@dataclass(frozen=True)
class Percentage(CommissionModel):
    """A fraction of the fill's value: ``bps / 10,000 x quantity x price``."""

    bps: float = 1.0

    def __post_init__(self) -> None:
        _non_negative(self, "bps")

    def commission(self, order: Order, quantity: float, price: float) -> float:
        return self.bps / 1e4 * quantity * price


# --- slippage ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoSlippage(SlippageModel):
    """Fill at the rule price."""

    def price(self, side: Side, price: float, quantity: float, market: Bar | Quote) -> float:
        return price


@dataclass(frozen=True)
class FixedBps(SlippageModel):
    """A fixed cost in basis points: buys pay ``price x (1 + bps/1e4)``, sells receive
    ``price x (1 - bps/1e4)``."""

    bps: float = 5.0

    def __post_init__(self) -> None:
        _non_negative(self, "bps")

    def price(self, side: Side, price: float, quantity: float, market: Bar | Quote) -> float:
        return price * (1.0 + side.sign * self.bps / 1e4)


@dataclass(frozen=True)
class SpreadFraction(SlippageModel):
    """A fraction of the quoted spread against the trader. Quotes carry their spread;
    bars do not, so for bars ``bar_spread_bps`` of the price stands in (0: no slippage)."""

    fraction: float = 0.5
    bar_spread_bps: float = 0.0

    def __post_init__(self) -> None:
        _non_negative(self, "fraction", "bar_spread_bps")

    def price(self, side: Side, price: float, quantity: float, market: Bar | Quote) -> float:
        if isinstance(market, Quote):
            spread = market.ask - market.bid
        else:
            spread = price * self.bar_spread_bps / 1e4
        return price + side.sign * self.fraction * spread


@dataclass(frozen=True)
class SquareRootImpact(SlippageModel):
    """Square-root market impact: ``price x (1 + sign x k x sigma x sqrt(q / V))``.

    ``sigma`` is the daily volatility (fraction), ``V`` the bar's volume (or, for a quote,
    the displayed size on the side taken), ``k`` the impact coefficient (about 0.1 to 1 in
    the literature; Grinold and Kahn, Almgren et al.). With no volume, no impact.
    """

    k: float = 0.5
    sigma: float = 0.02

    def __post_init__(self) -> None:
        _non_negative(self, "k", "sigma")

    def price(self, side: Side, price: float, quantity: float, market: Bar | Quote) -> float:
        if isinstance(market, Quote):
            volume = market.ask_size if side is Side.BUY else market.bid_size
        else:
            volume = market.volume
        if volume <= 0:
            return price
        return price * (1.0 + side.sign * self.k * self.sigma * math.sqrt(quantity / volume))


COMMISSIONS: dict[str, type[CommissionModel]] = {
    "none": NoCommission,
    "per_share": PerShare,
    "percentage": Percentage,
    "per_contract": PerContract,
}
SLIPPAGES: dict[str, type[SlippageModel]] = {
    "none": NoSlippage,
    "fixed_bps": FixedBps,
    "spread_fraction": SpreadFraction,
    "sqrt_impact": SquareRootImpact,
}


# The short forms the command line takes: form -> (what it is, the model it makes). A form
# ending in ":N" takes a number. ``--commission``/``--slippage`` help and errors are built
# from these, and a JSON object ``{"model": name, ...}`` names any registered model.
COMMISSION_FORMS: dict[str, tuple[str, Callable[..., CommissionModel]]] = {
    "none": ("free", NoCommission),
    "ibkr-fixed": ("IBKR's fixed US schedule (per share, min, max)", PerShare),
    "bps:N": ("N basis points of the trade value", Percentage),
    "ibkr-options": ("IBKR's US option schedule (0.65 a contract, min 1.00 an order)", PerContract),
}
SLIPPAGE_FORMS: dict[str, tuple[str, Callable[..., SlippageModel]]] = {
    "none": ("fills at the rule price", NoSlippage),
    "bps:N": ("N basis points against the trader", FixedBps),
    "spread:F": ("a fraction F of the quoted spread against the trader", SpreadFraction),
}


def forms_help(forms: dict[str, tuple[str, Callable[..., Any]]]) -> str:
    """``none | ibkr-fixed | bps:N | {"model": ...}``: the forms a flag takes."""
    return " | ".join([*forms, '{"model": NAME, ...}'])


def commission_from(spec: str | dict | CommissionModel | None) -> CommissionModel:
    """A commission model from a model, a dict ``{"model": name, ...}``, its JSON text, or a
    short form of :data:`COMMISSION_FORMS` (``none``, ``ibkr-fixed``, ``bps:N``)."""
    return _from(spec, COMMISSIONS, CommissionModel, "commission", COMMISSION_FORMS)


def slippage_from(spec: str | dict | SlippageModel | None) -> SlippageModel:
    """A slippage model from a model, a dict ``{"model": name, ...}``, its JSON text, or a
    short form of :data:`SLIPPAGE_FORMS` (``none``, ``bps:N``, ``spread:F``)."""
    return _from(spec, SLIPPAGES, SlippageModel, "slippage", SLIPPAGE_FORMS)


def _short_form(text: str, forms: dict[str, tuple[str, Callable[..., Any]]], what: str) -> Any:
    text = "ibkr-fixed" if text == "ibkr" else text
    if text in forms:
        return forms[text][1]()
    prefix, sep, number = text.partition(":")
    form = next((f for f in forms if sep and f.startswith(prefix + ":")), None)
    if form is None:
        raise ConfigError(f"{what}: unknown model {text!r}; use {forms_help(forms)}")
    return forms[form][1](_number(number, what))


def _from(spec, registry, base, what, forms):
    if spec is None:
        return registry["none"]()
    if isinstance(spec, base):
        return spec
    if isinstance(spec, str) and spec.strip().startswith("{"):
        try:
            spec = json.loads(spec)
        except ValueError as exc:
            raise ConfigError(f"{what}: not a JSON object: {exc}") from None
    if isinstance(spec, str):
        return _short_form(spec.strip().lower(), forms, what)
    if isinstance(spec, dict):
        spec = dict(spec)
        name = spec.pop("model", None)
        if name not in registry:
            raise ConfigError(f"{what}: unknown model {name!r}; known: {', '.join(registry)}")
        try:
            return registry[name](**spec)
        except TypeError as exc:
            raise ConfigError(f"{what}: {exc}") from None
    raise ConfigError(f"{what}: expected a model, a dict or a string, got {type(spec).__name__}")


def _params(model: object) -> dict[str, Any]:
    """A model's parameters as plain data (a user's class need not be a dataclass)."""
    values = asdict(model) if is_dataclass(model) else dict(vars(model))
    return {k: v for k, v in values.items()
            if not k.startswith("_") and isinstance(v, (int, float, str, bool, type(None)))}


def _name_of(cls: type, registry: dict[str, type]) -> str:
    for name, known in registry.items():
        if known is cls:
            return name
    return f"{cls.__module__}.{cls.__qualname__}"  # a user's model: recover needs it passed in


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{what}: not a number: {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{what}: must be finite and >= 0, got {value}")
    return value


def _non_negative(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"{type(obj).__name__}.{name} must be a finite number >= 0, got {value!r}")
