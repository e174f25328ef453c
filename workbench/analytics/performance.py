"""Performance and risk statistics: small pure functions over a pandas Series of returns.

Conventions (empyrical's style; where the well-known libraries differ it is said):

* returns are **simple** returns per period, ``r_t = V_t / V_{t-1} - 1``;
* ``periods_per_year`` is 252 unless given;
* standard deviations are **sample** standard deviations (``ddof=1``), as in empyrical and
  quantstats;
* ``risk_free`` is a rate **per period**, subtracted from each return (empyrical's
  convention; quantstats takes an annual rate and divides it);
* Sortino's downside deviation is taken over **all** periods,
  ``sqrt(mean(min(r - target, 0)^2))`` (empyrical; some texts average over the losing
  periods only, which gives a larger figure);
* drawdowns are measured from a starting wealth of 1 **before** the first return, so a
  loss in the first period is a drawdown (empyrical does the same; pyfolio's underwater
  plot starts at the first return);
* CAGR compounds over the **number of periods**, ``prod(1 + r) ** (periods_per_year / n) - 1``
  (quantstats uses the calendar days between the first and last dates instead);
* kurtosis is **excess** kurtosis (a normal distribution has 0), bias-corrected as in
  pandas and scipy with ``bias=False``.

Edge cases give defined results, never exceptions or infinities: empty or all-NaN input
gives NaN; NaN returns are dropped; zero variance gives a NaN Sharpe ratio (undefined);
a ratio whose denominator is zero is NaN. A non-monotonic index is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = 252


def _clean(returns: pd.Series | np.ndarray) -> pd.Series:
    r = returns if isinstance(returns, pd.Series) else pd.Series(np.asarray(returns, dtype=float))
    if not r.index.is_monotonic_increasing:
        raise ValueError("returns: the index must increase (sort it first)")
    return r.astype(float).dropna()


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den != 0 and math.isfinite(den) and math.isfinite(num) else math.nan


# --- returns ---------------------------------------------------------------------------------


def simple_returns(values: pd.Series) -> pd.Series:
    """Period simple returns of a value series (equity, prices): ``V_t / V_{t-1} - 1``;
    the first period has no return and is left out."""
    if not values.index.is_monotonic_increasing:
        raise ValueError("values: the index must increase (sort it first)")
    return values.astype(float).pct_change().iloc[1:]


def log_returns(values: pd.Series) -> pd.Series:
    """Period log returns, ``log(V_t / V_{t-1})``; the first period is left out."""
    if not values.index.is_monotonic_increasing:
        raise ValueError("values: the index must increase (sort it first)")
    v = values.astype(float)
    return np.log(v / v.shift(1)).iloc[1:]


def cumulative_returns(returns: pd.Series) -> pd.Series:
    """Compounded return up to each period, ``prod(1 + r_1..t) - 1``."""
    r = _clean(returns)
    return (1.0 + r).cumprod() - 1.0


def daily_equity(equity: pd.Series) -> pd.Series:
    """The last equity of each UTC calendar day (intraday curves to daily ones)."""
    if equity.empty:
        return equity
    return equity.groupby(equity.index.normalize()).last()


# --- return and risk -------------------------------------------------------------------------


def total_return(returns: pd.Series) -> float:
    """Compounded return over all periods, ``prod(1 + r) - 1``; NaN when empty."""
    r = _clean(returns)
    return float(np.prod(1.0 + r.to_numpy()) - 1.0) if len(r) else math.nan


def cagr(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Compound annual growth rate from the number of periods (module docstring)."""
    r = _clean(returns)
    if not len(r):
        return math.nan
    growth = float(np.prod(1.0 + r.to_numpy()))
    if growth <= 0:
        return -1.0  # lost everything: -100 % a year
    return growth ** (periods_per_year / len(r)) - 1.0


def annual_volatility(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Sample standard deviation (ddof=1) scaled by ``sqrt(periods_per_year)``."""
    r = _clean(returns)
    return float(r.std(ddof=1) * math.sqrt(periods_per_year)) if len(r) > 1 else math.nan


def sharpe(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR, risk_free: float = 0.0) -> float:
    """Annualized Sharpe ratio ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``;
    NaN for fewer than two periods or zero variance."""
    r = _clean(returns) - risk_free
    if len(r) < 2:
        return math.nan
    sd = float(r.std(ddof=1))
    if not sd > 1e-15:
        return math.nan
    return float(r.mean() / sd * math.sqrt(periods_per_year))


def downside_deviation(returns: pd.Series, target: float = 0.0, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualized ``sqrt(mean(min(r - target, 0)^2)) * sqrt(periods_per_year)`` over all periods."""
    r = _clean(returns)
    if not len(r):
        return math.nan
    down = np.minimum(r.to_numpy() - target, 0.0)
    return float(math.sqrt(np.mean(down * down)) * math.sqrt(periods_per_year))


def sortino(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR, target: float = 0.0) -> float:
    """Annualized Sortino ratio ``mean(r - target) * periods_per_year / downside_deviation``;
    NaN when there is no downside."""
    r = _clean(returns)
    if not len(r):
        return math.nan
    dd = downside_deviation(r, target, periods_per_year)
    return _ratio(float((r - target).mean()) * periods_per_year, dd) if dd > 0 else math.nan


def drawdown(returns: pd.Series) -> pd.Series:
    """Drawdown after each period, ``wealth / running peak - 1`` (<= 0), from wealth 1."""
    r = _clean(returns)
    wealth = np.concatenate([[1.0], np.cumprod(1.0 + r.to_numpy())])
    peaks = np.maximum.accumulate(wealth)
    return pd.Series(wealth[1:] / peaks[1:] - 1.0, index=r.index, name="drawdown")


def max_drawdown(returns: pd.Series) -> float:
    """Largest peak-to-trough fall of wealth, a negative fraction (-0.25 = -25 %), from a
    starting wealth of 1; 0.0 when wealth never falls; NaN when empty."""
    r = _clean(returns)
    if not len(r):
        return math.nan
    return float(min(drawdown(r).min(), 0.0))


@dataclass(frozen=True)
class Drawdown:
    """The largest drawdown: depth (negative fraction), the peak before it, its trough, the
    recovery (first time wealth is back at the peak; ``None`` if never), and its duration in
    periods from peak to recovery (to the last period if not recovered)."""

    depth: float
    peak: object
    trough: object
    recovery: object | None
    duration: int


def max_drawdown_details(returns: pd.Series) -> Drawdown | None:
    """Where and how long the largest drawdown was; ``None`` when empty or never down.
    A peak before the first return is reported as the first period's label."""
    r = _clean(returns)
    if not len(r):
        return None
    wealth = np.concatenate([[1.0], np.cumprod(1.0 + r.to_numpy())])
    peaks = np.maximum.accumulate(wealth)
    dd = wealth / peaks - 1.0
    trough = int(np.argmin(dd))
    if dd[trough] >= 0:
        return None
    peak = int(np.flatnonzero(wealth[: trough + 1] == peaks[trough])[-1])
    after = np.flatnonzero(wealth[trough:] >= peaks[trough])
    recovery = trough + int(after[0]) if after.size else None
    labels = r.index
    label = lambda i: labels[max(i - 1, 0)]  # noqa: E731 (wealth has one more point)
    end = recovery if recovery is not None else len(wealth) - 1
    return Drawdown(float(dd[trough]), label(peak), label(trough),
                    None if recovery is None else label(recovery), end - peak)


def calmar(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """CAGR divided by the absolute maximum drawdown; NaN without a drawdown."""
    mdd = max_drawdown(returns)
    return _ratio(cagr(returns, periods_per_year), abs(mdd)) if mdd and mdd < 0 else math.nan


def omega(returns: pd.Series, threshold: float = 0.0) -> float:
    """Omega ratio: ``sum(max(r - threshold, 0)) / sum(max(threshold - r, 0))`` per period;
    NaN without losses."""
    r = _clean(returns).to_numpy() - threshold
    if not r.size:
        return math.nan
    return _ratio(float(r[r > 0].sum()), float(-r[r < 0].sum()))


def tail_ratio(returns: pd.Series) -> float:
    """``|95th percentile| / |5th percentile|`` of the returns (linear interpolation)."""
    r = _clean(returns).to_numpy()
    if not r.size:
        return math.nan
    return _ratio(abs(float(np.percentile(r, 95))), abs(float(np.percentile(r, 5))))


def value_at_risk(returns: pd.Series, level: float = 0.95) -> float:
    """Historical VaR: the ``1 - level`` quantile of the returns (a negative number for a
    loss; linear interpolation), per period."""
    r = _clean(returns).to_numpy()
    return float(np.percentile(r, 100 * (1 - level))) if r.size else math.nan


def conditional_value_at_risk(returns: pd.Series, level: float = 0.95) -> float:
    """Historical CVaR (expected shortfall): the mean of the returns at or below the VaR."""
    r = _clean(returns).to_numpy()
    if not r.size:
        return math.nan
    var = np.percentile(r, 100 * (1 - level))
    return float(r[r <= var].mean())


def skew(returns: pd.Series) -> float:
    """Sample skewness (bias-corrected, as pandas); NaN for fewer than three periods."""
    r = _clean(returns)
    return float(r.skew()) if len(r) > 2 else math.nan


def kurtosis(returns: pd.Series) -> float:
    """Excess kurtosis (bias-corrected, as pandas); NaN for fewer than four periods."""
    r = _clean(returns)
    return float(r.kurt()) if len(r) > 3 else math.nan


def win_rate(returns: pd.Series) -> float:
    """Fraction of non-zero periods with a positive return."""
    r = _clean(returns)
    r = r[r != 0]
    return float((r > 0).mean()) if len(r) else math.nan


def profit_factor(returns: pd.Series) -> float:
    """Sum of gains over the absolute sum of losses; NaN without losses."""
    r = _clean(returns)
    return _ratio(float(r[r > 0].sum()), float(-r[r < 0].sum()))


def beta_alpha(returns: pd.Series, benchmark: pd.Series, periods_per_year: int = PERIODS_PER_YEAR,
               risk_free: float = 0.0) -> tuple[float, float]:
    """(beta, annualized alpha) of excess returns against excess benchmark returns on
    their common dates: ``beta = cov / var(benchmark)`` (ddof=1), ``alpha = (mean(r) -
    beta * mean(b)) * periods_per_year``, the regression intercept annualized arithmetically
    (empyrical compounds it instead, ``(1 + daily alpha) ** 252 - 1``, slightly larger)."""
    both = pd.concat([_clean(returns) - risk_free, _clean(benchmark) - risk_free], axis=1, join="inner").dropna()
    if len(both) < 2:
        return math.nan, math.nan
    r, b = both.iloc[:, 0], both.iloc[:, 1]
    var = float(b.var(ddof=1))
    if not var > 0:
        return math.nan, math.nan
    beta = float(r.cov(b) / var)
    return beta, float((r.mean() - beta * b.mean()) * periods_per_year)


def rolling_sharpe(returns: pd.Series, window: int = 63, periods_per_year: int = PERIODS_PER_YEAR) -> pd.Series:
    """Sharpe ratio over a trailing window of ``window`` periods (NaN until it is full)."""
    r = _clean(returns)
    mean = r.rolling(window).mean()
    sd = r.rolling(window).std(ddof=1)
    return (mean / sd.where(sd > 1e-15) * math.sqrt(periods_per_year)).rename("rolling_sharpe")


def rolling_volatility(returns: pd.Series, window: int = 63, periods_per_year: int = PERIODS_PER_YEAR) -> pd.Series:
    """Annualized volatility over a trailing window (NaN until it is full)."""
    r = _clean(returns)
    return (r.rolling(window).std(ddof=1) * math.sqrt(periods_per_year)).rename("rolling_volatility")


def exposure(positions_value: pd.DataFrame | pd.Series, equity: pd.Series) -> pd.Series:
    """Gross exposure per period: ``sum(|position value|) / equity`` (1.0 = fully invested)."""
    gross = positions_value.abs().sum(axis=1) if isinstance(positions_value, pd.DataFrame) else positions_value.abs()
    return (gross / equity.where(equity != 0)).rename("exposure")


def turnover(traded_value: pd.Series, equity: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualized turnover: ``mean(traded value per period / equity) * periods_per_year``
    (a one-way measure: buying and selling the whole book once a year is 2.0)."""
    aligned = (traded_value.reindex(equity.index).fillna(0.0) / equity.where(equity != 0)).dropna()
    return float(aligned.mean() * periods_per_year) if len(aligned) else math.nan


def equity_statistics(equity: pd.Series, starting_cash: float) -> dict[str, float]:
    """Statistics of a run's equity curve: its daily closes (the last value of each UTC day)
    turned into returns from ``starting_cash`` (so the first day counts), then
    ``total_return``, ``cagr``, ``annual_volatility``, ``sharpe``, ``sortino``,
    ``max_drawdown`` and ``calmar``. The one definition the backtest summary, the optimizer's
    fast path and its engine fallback share."""
    index = pd.DatetimeIndex(equity.index)
    days = index.asi8 // 86_400_000_000_000
    daily = equity if bool(np.all(np.diff(days) > 0)) else daily_equity(equity)  # one per day already
    returns = simple_returns(pd.concat([pd.Series([float(starting_cash)]), daily.reset_index(drop=True)]))
    final = float(equity.iloc[-1]) if len(equity) else float(starting_cash)
    return {
        "final_equity": final,
        "total_return": final / float(starting_cash) - 1.0,
        "cagr": cagr(returns),
        "annual_volatility": annual_volatility(returns),
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
        "max_drawdown": max_drawdown(returns),
        "calmar": calmar(returns),
    }


SUMMARY_KEYS = (
    "periods", "total_return", "cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown", "calmar",
    "omega", "tail_ratio", "var_95", "cvar_95", "skew", "kurtosis", "win_rate", "profit_factor",
)


def summary(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR, risk_free: float = 0.0) -> dict[str, float]:
    """The main statistics of a return series in one dict (see each function)."""
    r = _clean(returns)
    return {
        "periods": int(len(r)),
        "total_return": total_return(r),
        "cagr": cagr(r, periods_per_year),
        "annual_volatility": annual_volatility(r, periods_per_year),
        "sharpe": sharpe(r, periods_per_year, risk_free),
        "sortino": sortino(r, periods_per_year, risk_free),
        "max_drawdown": max_drawdown(r),
        "calmar": calmar(r, periods_per_year),
        "omega": omega(r, risk_free),
        "tail_ratio": tail_ratio(r),
        "var_95": value_at_risk(r, 0.95),
        "cvar_95": conditional_value_at_risk(r, 0.95),
        "skew": skew(r),
        "kurtosis": kurtosis(r),
        "win_rate": win_rate(r),
        "profit_factor": profit_factor(r),
    }
