"""Analytics: pure functions over pandas, every convention stated, every model scored.

* :mod:`~workbench.analytics.performance`: return and risk statistics (``summary``);
* :mod:`~workbench.analytics.trades`: round-trip trades from fills and their statistics;
* :mod:`~workbench.analytics.timeseries`: drift test (HAC), STL decomposition, anomalies;
* :mod:`~workbench.analytics.forecast`: ARIMA/ETS/Theta/naive forecasts with intervals,
  rolling-origin accuracy against the naive forecast, GARCH volatility;
* :mod:`~workbench.analytics.tearsheet`: the tear-sheet figures (HoloViews);
* :class:`Analytics`: the component (info, stats, self-test).
"""

from workbench.analytics.component import Analytics
from workbench.analytics.performance import (
    annual_volatility,
    beta_alpha,
    cagr,
    calmar,
    conditional_value_at_risk,
    cumulative_returns,
    daily_equity,
    drawdown,
    kurtosis,
    log_returns,
    max_drawdown,
    max_drawdown_details,
    omega,
    profit_factor,
    rolling_sharpe,
    rolling_volatility,
    sharpe,
    simple_returns,
    skew,
    sortino,
    summary,
    tail_ratio,
    total_return,
    value_at_risk,
    win_rate,
)
from workbench.analytics.trades import round_trips, trade_stats

__all__ = [
    "Analytics", "annual_volatility", "beta_alpha", "cagr", "calmar", "conditional_value_at_risk",
    "cumulative_returns", "daily_equity", "drawdown", "kurtosis", "log_returns", "max_drawdown",
    "max_drawdown_details", "omega", "profit_factor", "rolling_sharpe", "rolling_volatility",
    "round_trips", "sharpe", "simple_returns", "skew", "sortino", "summary", "tail_ratio",
    "total_return", "trade_stats", "value_at_risk", "win_rate",
]
