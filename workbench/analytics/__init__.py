"""Analytics: pure functions over pandas, with every convention stated.

So far: performance statistics (:mod:`workbench.analytics.performance`) and round-trip
trades from fills (:mod:`workbench.analytics.trades`).
"""

from workbench.analytics.performance import (
    annual_volatility,
    cagr,
    daily_equity,
    max_drawdown,
    sharpe,
    simple_returns,
    total_return,
)
from workbench.analytics.trades import round_trips

__all__ = [
    "annual_volatility",
    "cagr",
    "daily_equity",
    "max_drawdown",
    "round_trips",
    "sharpe",
    "simple_returns",
    "total_return",
]
