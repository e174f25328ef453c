"""The analysis of one price or equity series in one dict: what ``workbench analyze``
prints and a notebook can show.

:func:`analyze` gathers the performance summary, the worst drawdown, a drift test with HAC
errors, robust anomalies, round-trip statistics (when fills are given), a forecast with its
accuracy measured against the naive forecast, and the tear sheet; :func:`series_of` and
:func:`run_series` find the series to analyze in a dataset, a file or a backtest's folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import ConfigError

ANOMALY_WINDOW = 250  # returns in the trailing window of the anomaly test


def series_of(source: str, symbol: str | None = None, column: str = "close") -> tuple[pd.Series, str]:
    """The ``column`` of one symbol of a dataset or file, and a label for it; a file with
    several symbols needs ``symbol``."""
    from workbench.feed import load

    frame = load(source, "--data ").frame
    symbols = sorted({str(x) for x in pd.unique(frame["symbol"])})
    symbol = symbol or (symbols[0] if len(symbols) == 1 else None)
    if symbol is None:
        raise ConfigError(f"--symbol: the data has {len(symbols)} symbols, pick one of {symbols}")
    if symbol not in symbols:
        raise ConfigError(f"--symbol: {symbol!r} not in the data; available: {symbols}")
    one = frame[frame["symbol"].astype(str) == symbol]
    if column not in one.columns:
        raise ConfigError(f"--column: no column {column!r}; columns are {list(one.columns[1:])}")
    return one[column], f"{source} {symbol} {column}"


def run_series(run: str | os.PathLike) -> tuple[pd.Series, pd.DataFrame | None, str]:
    """A backtest folder's daily equity, its fills (``None`` without ``fills.csv``) and a label."""
    from workbench.analytics.performance import daily_equity

    folder = Path(run)
    eq_file = folder / "equity.csv"
    if not eq_file.is_file():
        raise ConfigError(f"--run: no equity.csv in {folder} (is it a backtest --out directory?)")
    eq = pd.read_csv(eq_file)
    equity = pd.Series(eq["equity"].to_numpy(), index=pd.DatetimeIndex(pd.to_datetime(eq["time"], utc=True)))
    fills = pd.read_csv(folder / "fills.csv") if (folder / "fills.csv").is_file() else None
    return daily_equity(equity), fills, f"run {folder}"


def analyze(prices: pd.Series, *, source: str = "series", fills: pd.DataFrame | None = None,
            forecast_days: int | None = None, model: str = "arima",
            tearsheet: str | os.PathLike | None = None, analytics: Any = None) -> dict[str, Any]:
    """Every analysis of ``prices`` (module docstring) as plain data; ``analytics``: an
    :class:`~workbench.analytics.Analytics` component that counts them (one is made)."""
    from workbench.analytics import Analytics, forecast, performance, timeseries, trades
    from workbench.analytics.tearsheet import save_tearsheet, tearsheet as make_tearsheet

    analytics = analytics or Analytics()
    returns = performance.simple_returns(prices).dropna()
    if len(returns) < 3:
        raise ConfigError(f"{source}: {len(returns)} return(s) to analyze; the analysis needs at least 3 "
                          f"(a longer series, or a run over more days)")
    report: dict[str, Any] = {"source": source, "periods": int(len(returns))}
    report["summary"] = analytics.run("summary", performance.summary, returns)
    dd = performance.max_drawdown_details(returns)
    if dd is not None:
        report["max_drawdown_period"] = {"depth": dd.depth, "peak": str(dd.peak), "trough": str(dd.trough),
                                         "recovery": None if dd.recovery is None else str(dd.recovery),
                                         "duration_periods": dd.duration}
    drift = analytics.run("drift_test", timeseries.drift_test, returns)
    report["drift_test"] = {"mean": drift.mean, "annualized": drift.annualized, "t": drift.t,
                            "p_value": drift.p_value, "hac_lags": drift.lags, "significant_5pct": drift.significant}
    report["anomalies"] = int(len(analytics.run("anomalies", timeseries.anomalies, returns, window=ANOMALY_WINDOW)))
    if fills is not None and len(fills):
        report["trades"] = trades.trade_stats(trades.round_trips(fills))
    if forecast_days:
        f = analytics.run("forecast", forecast.forecast, prices, forecast_days, model)
        accuracy = analytics.run("evaluate", forecast.evaluate, prices, model, horizon=forecast_days)
        report["forecast"] = {"model": model, "level": f.level,
                              "steps": [{"time": t.isoformat(), **{k: float(v) for k, v in row.items()}}
                                        for t, row in f.frame.iterrows()],
                              "accuracy": accuracy}
    if tearsheet is not None:
        save_tearsheet(make_tearsheet(returns, title=source), tearsheet)
        report["tearsheet"] = str(tearsheet)
    return report
