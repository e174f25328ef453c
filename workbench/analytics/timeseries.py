"""Trend and anomaly analytics with statsmodels (nothing hand-rolled that it already does).

* :func:`drift_test` asks whether returns have a non-zero mean (a drift), with
  heteroskedasticity- and autocorrelation-consistent (Newey-West) standard errors. It tests
  *returns*: regressing the *level* of a random walk on time finds a "significant trend"
  almost always (a spurious regression), so we don't.
* :func:`decompose` splits a slower series (weekly or monthly levels, a monitoring series
  with a daily cycle) into trend, seasonal and remainder with STL.
* :func:`anomalies` flags robust z-scores: ``(x - median) / (1.4826 * MAD)`` over a trailing
  window (or the whole series), which a burst of outliers cannot inflate the way it would a
  standard deviation. The default threshold 4.0 flags about 6 in 100,000 points of a
  normal series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tsa.seasonal import STL

MAD_SCALE = 1.4826  # makes the MAD a consistent estimator of a normal standard deviation


@dataclass(frozen=True)
class DriftTest:
    """Mean return per period, its HAC standard error, t statistic, two-sided p-value, the
    Newey-West lag used and the number of periods; ``significant`` at ``alpha``."""

    mean: float
    stderr: float
    t: float
    p_value: float
    lags: int
    periods: int
    alpha: float

    @property
    def significant(self) -> bool:
        return bool(self.p_value < self.alpha)

    @property
    def annualized(self) -> float:
        """The mean return per period times 252."""
        return self.mean * 252


def drift_test(returns: pd.Series, lags: int | None = None, alpha: float = 0.05) -> DriftTest:
    """OLS of returns on a constant with Newey-West (HAC) standard errors.

    ``lags`` defaults to the usual rule ``floor(4 * (n / 100) ** (2/9))``."""
    r = pd.Series(returns, dtype=float).dropna()
    n = len(r)
    if n < 3:
        raise ValueError(f"drift_test needs at least 3 returns, got {n}")
    if lags is None:
        lags = int(math.floor(4 * (n / 100) ** (2 / 9)))
    fit = sm.OLS(r.to_numpy(), np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    return DriftTest(float(fit.params[0]), float(fit.bse[0]), float(fit.tvalues[0]),
                     float(fit.pvalues[0]), lags, n, alpha)


def decompose(series: pd.Series, period: int, robust: bool = True) -> pd.DataFrame:
    """STL decomposition (``trend``, ``seasonal``, ``resid`` columns) of a series with a
    known cycle of ``period`` observations (52 for weekly data over years, 12 monthly, 24
    hourly monitoring...)."""
    s = pd.Series(series, dtype=float).dropna()
    if period < 2 or len(s) < 2 * period:
        raise ValueError(f"decompose needs period >= 2 and at least two periods of data "
                         f"(period={period}, points={len(s)})")
    res = STL(s.to_numpy(), period=period, robust=robust).fit()
    return pd.DataFrame({"observed": s.to_numpy(), "trend": res.trend, "seasonal": res.seasonal,
                         "resid": res.resid}, index=s.index)


def robust_zscores(series: pd.Series, window: int | None = None) -> pd.Series:
    """``(x - median) / (1.4826 * MAD)``: over the whole series, or over the trailing
    ``window`` points before each one (NaN until there are ``window`` of them; the point
    itself is not in its own window, so a spike cannot hide itself)."""
    s = pd.Series(series, dtype=float)
    if window is None:
        med = s.median()
        mad = (s - med).abs().median()
        return ((s - med) / (MAD_SCALE * mad) if mad > 0 else s * np.nan).rename("z")
    med = s.rolling(window).median().shift(1)
    mad = (s - med).abs().rolling(window).median().shift(1)
    scale = (MAD_SCALE * mad).where(mad > 0)
    return ((s - med) / scale).rename("z")


def anomalies(series: pd.Series, threshold: float = 4.0, window: int | None = None) -> pd.DataFrame:
    """Points whose robust z-score exceeds ``threshold`` in absolute value: a frame with the
    timestamp index, ``value``, ``z`` and ``direction`` ('high'/'low'), largest first."""
    z = robust_zscores(series, window)
    hit = z.abs() > threshold
    out = pd.DataFrame({"value": pd.Series(series, dtype=float)[hit], "z": z[hit]})
    out["direction"] = np.where(out["z"] > 0, "high", "low")
    return out.reindex(out["z"].abs().sort_values(ascending=False).index)
