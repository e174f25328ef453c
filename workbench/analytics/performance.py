"""Performance statistics: small pure functions over a pandas Series of returns.

Conventions (empyrical's style; where the well-known libraries differ it is said below):

* returns are simple returns per period, ``r_t = V_t / V_{t-1} - 1``;
* ``periods_per_year`` is 252 unless given;
* standard deviations are sample standard deviations (``ddof=1``), as in empyrical and
  quantstats;
* ``risk_free`` is a rate *per period*, subtracted from each return;
* drawdowns are measured from a starting wealth of 1 before the first return, so a loss
  in the first period is a drawdown (empyrical does the same; pyfolio's underwater plot
  starts at the first return);
* CAGR compounds over the number of periods, ``(prod(1 + r)) ** (periods_per_year / n) - 1``
  (quantstats uses calendar days between the first and last date instead).

Edge cases give defined results: empty or all-NaN input gives NaN; NaN returns are
dropped; a zero-variance series has a NaN Sharpe ratio (undefined, not infinite); a
non-monotonic index is an error.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = 252


def _clean(returns: pd.Series | np.ndarray) -> pd.Series:
    r = returns if isinstance(returns, pd.Series) else pd.Series(np.asarray(returns, dtype=float))
    if not r.index.is_monotonic_increasing:
        raise ValueError("returns: the index must increase (sort it first)")
    return r.astype(float).dropna()


def simple_returns(values: pd.Series) -> pd.Series:
    """Period simple returns of a value series (equity, prices): ``V_t / V_{t-1} - 1``;
    the first period has no return and is left out."""
    if not values.index.is_monotonic_increasing:
        raise ValueError("values: the index must increase (sort it first)")
    return values.astype(float).pct_change().iloc[1:]


def daily_equity(equity: pd.Series) -> pd.Series:
    """The last equity of each UTC calendar day (intraday curves to daily ones)."""
    if equity.empty:
        return equity
    return equity.groupby(equity.index.normalize()).last()


def total_return(returns: pd.Series) -> float:
    """Compounded return over all periods, ``prod(1 + r) - 1``; NaN when empty."""
    r = _clean(returns)
    return float(np.prod(1.0 + r.to_numpy()) - 1.0) if len(r) else math.nan


def cagr(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Compound annual growth rate from the number of periods (see the module docstring)."""
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
    """Annualized Sharpe ratio: ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``;
    NaN for fewer than two periods or zero variance."""
    r = _clean(returns) - risk_free
    if len(r) < 2:
        return math.nan
    sd = float(r.std(ddof=1))
    if not sd > 1e-15:
        return math.nan
    return float(r.mean() / sd * math.sqrt(periods_per_year))


def max_drawdown(returns: pd.Series) -> float:
    """Largest peak-to-trough fall of wealth, as a negative fraction (-0.25 = -25 %),
    from a starting wealth of 1; 0.0 when wealth never falls; NaN when empty."""
    r = _clean(returns)
    if not len(r):
        return math.nan
    wealth = np.concatenate([[1.0], np.cumprod(1.0 + r.to_numpy())])
    peaks = np.maximum.accumulate(wealth)
    return float(np.min(wealth / peaks - 1.0))
