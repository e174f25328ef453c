"""Strategies: the base class and the reference strategies, by name."""

from __future__ import annotations

from workbench.errors import ConfigError
from workbench.strategies.base import Param, Rolling, Strategy
from workbench.strategies.buy_and_hold import BuyAndHold
from workbench.strategies.every_bar import EveryBar
from workbench.strategies.manual import Manual
from workbench.strategies.mean_reversion import MeanReversion
from workbench.strategies.options import IronCondor, PutWrite, Wheel
from workbench.strategies.quote_taker import QuoteTaker
from workbench.strategies.sma_cross import SmaCross

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (SmaCross, BuyAndHold, MeanReversion, EveryBar, Manual, PutWrite, Wheel,
                              IronCondor)
}


def strategy_class(name: str) -> type[Strategy]:
    """The strategy class registered as ``name``."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ConfigError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}") from None


def register(cls: type[Strategy]) -> type[Strategy]:
    """Make a strategy class known by its ``name`` (usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise TypeError("register() takes a Strategy subclass")
    STRATEGIES[cls.name] = cls
    return cls


__all__ = ["STRATEGIES", "BuyAndHold", "EveryBar", "IronCondor", "Manual", "MeanReversion", "Param", "PutWrite", "QuoteTaker", "Rolling", "SmaCross", "Strategy",
           "Wheel", "register", "strategy_class"]
