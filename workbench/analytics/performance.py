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

Where empyrical (the ``empyrical-reloaded`` package) computes the same figure under these
conventions, the function here is a thin wrapper over it: the returns are cleaned (NaNs
dropped, the index checked) and handed to empyrical as a numpy array, which keeps the
optimizer's inner loop (:func:`equity_statistics`) fast. Each docstring gives the formula and
names the empyrical function. Hand-written are the figures empyrical does not have or
computes under another convention, and, for that inner loop, two of empyrical's own
computations repeated operation by operation (the same bits, tested against empyrical):
:func:`drawdown` (``drawdown_series`` in one compiled pass) and the last step of
:func:`cagr` (so the final wealth is compounded once). Each docstring says which and why.

Functions built from others here (:func:`max_drawdown` from :func:`drawdown`,
:func:`calmar` from :func:`cagr` and :func:`max_drawdown`, :func:`summary` and
:func:`equity_statistics` from all of them) look those up as module attributes when
called, so a replaced one (the certification's faults replace ``sharpe`` and
``drawdown``) reaches everything that depends on it.

Edge cases give defined results, never exceptions or infinities: empty or all-NaN input
gives NaN; NaN returns are dropped; zero variance gives a NaN Sharpe ratio (undefined);
a ratio whose denominator is zero is NaN. A non-monotonic index is an error. (empyrical
gives infinities for some of these; the wrappers turn them into NaN.)

References: W. F. Sharpe, "The Sharpe Ratio", Journal of Portfolio Management 21 (1994);
F. A. Sortino and L. N. Price, "Performance Measurement in a Downside Risk Framework",
Journal of Investing 3 (1994); T. W. Young, "Calmar Ratio: A Smoother Tool", Futures 20
(1991); C. Keating and W. F. Shadwick, "A Universal Performance Measure", Journal of
Performance Measurement 6 (2002); C. Acerbi and D. Tasche, "On the coherence of Expected
Shortfall", Journal of Banking and Finance 26 (2002); empyrical's documentation,
https://github.com/stefan-jansen/empyrical-reloaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import empyrical
import numpy as np
import pandas as pd
from numba import njit

PERIODS_PER_YEAR = 252


def _clean(returns: pd.Series | np.ndarray) -> pd.Series:
    r = returns if isinstance(returns, pd.Series) else pd.Series(np.asarray(returns, dtype=float))
    if not r.index.is_monotonic_increasing:
        raise ValueError("returns: the index must increase (sort it first)")
    return r.astype(float).dropna()


def _values(returns: pd.Series | np.ndarray) -> np.ndarray:
    """The cleaned returns as a float array (what the empyrical wrappers pass on)."""
    if isinstance(returns, np.ndarray) and returns.dtype == np.float64 and returns.ndim == 1:
        nan = np.isnan(returns)
        return returns[~nan] if nan.any() else returns
    return _clean(returns).to_numpy()


def _finite(x: float) -> float:
    """``x`` as a float, NaN if it is infinite (empyrical divides by zero where we say NaN)."""
    x = float(x)
    return x if math.isfinite(x) else math.nan


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
    """Compounded return up to each period, ``prod(1 + r_1..t) - 1``; computed by
    ``empyrical.cum_returns``."""
    r = _clean(returns)
    return pd.Series(empyrical.cum_returns(r.to_numpy()), index=r.index, name=r.name)


def daily_equity(equity: pd.Series) -> pd.Series:
    """The last equity of each UTC calendar day (intraday curves to daily ones)."""
    if equity.empty:
        return equity
    return equity.groupby(equity.index.normalize()).last()


# --- return and risk -------------------------------------------------------------------------


def total_return(returns: pd.Series) -> float:
    """Compounded return over all periods, ``prod(1 + r) - 1``; NaN when empty. Computed by
    ``empyrical.cum_returns_final``."""
    return float(empyrical.cum_returns_final(_values(returns)))


def cagr(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Compound annual growth rate from the number of periods ``n``,
    ``prod(1 + r) ** (periods_per_year / n) - 1`` (module docstring); -1.0 when the wealth
    is lost (``prod(1 + r) <= 0``, where empyrical would give NaN); NaN when empty.
    The final wealth is ``empyrical.cum_returns_final``; the rest is ``empyrical.cagr``'s
    own last line (``annual_return``: ``ending ** (1 / (n / periods_per_year)) - 1``), written
    out here so the wealth that decides the -1.0 case is compounded once, not twice (the
    same bits: a test compares them with ``empyrical.cagr``)."""
    r = _values(returns)
    if not r.size:
        return math.nan
    ending = empyrical.cum_returns_final(r, starting_value=1.0)
    if ending <= 0:
        return -1.0  # lost everything: -100 % a year
    return float(ending ** (1 / (len(r) / periods_per_year)) - 1)


def annual_volatility(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Sample standard deviation (ddof=1) scaled by ``sqrt(periods_per_year)``; NaN for
    fewer than two periods. Computed by ``empyrical.annual_volatility``."""
    return float(empyrical.annual_volatility(_values(returns), annualization=periods_per_year))


def sharpe(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR, risk_free: float = 0.0) -> float:
    """Annualized Sharpe ratio ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``
    with ``rf`` per period; NaN for fewer than two periods or a standard deviation of at
    most 1e-15 (where empyrical gives infinities or noise). Computed by
    ``empyrical.sharpe_ratio``."""
    r = _values(returns)
    if r.size < 2:
        return math.nan
    if not float(np.std(r - risk_free, ddof=1)) > 1e-15:
        return math.nan
    return _finite(empyrical.sharpe_ratio(r, risk_free, annualization=periods_per_year))


def downside_deviation(returns: pd.Series, target: float = 0.0, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualized ``sqrt(mean(min(r - target, 0)^2)) * sqrt(periods_per_year)`` over all
    periods; NaN when empty. Computed by ``empyrical.downside_risk``."""
    return float(empyrical.downside_risk(_values(returns), target, annualization=periods_per_year))


def sortino(returns: pd.Series, periods_per_year: int = PERIODS_PER_YEAR, target: float = 0.0) -> float:
    """Annualized Sortino ratio ``mean(r - target) * periods_per_year / downside_deviation``
    (the downside deviation over all periods, with the same ``target``); NaN when empty or
    there is no downside. Computed by ``empyrical.sortino_ratio``, given the downside
    deviation found for the check above (its ``_downside_risk``: the same figure it would
    compute again), which declines a single period: there the formula is applied as
    written."""
    r = _values(returns)
    dd = downside_deviation(r, target, periods_per_year)
    if not dd > 0:
        return math.nan  # empty, or no downside: undefined
    if r.size == 1:
        return _ratio(float(r[0] - target) * periods_per_year, dd)
    return _finite(empyrical.sortino_ratio(r, target, annualization=periods_per_year, _downside_risk=dd))


def drawdown(returns: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """Drawdown after each period, ``wealth / running peak - 1`` (<= 0), with wealth
    ``prod(1 + r_1..t)`` and the running peak taken from a starting wealth of 1 before the
    first return. ``empyrical.stats.drawdown_series``' arithmetic, operation by operation
    (wealth ``cumprod(1 + r) x 100`` after a start of 100, the running peak by ``fmax``, then
    ``(wealth - peak) / peak``), in one compiled pass (:func:`_drawdown_series`) instead of
    its six passes over the returns: the same bits (a test compares them), ~5x faster, for
    the optimizer's inner loop. A float array in (NaNs left out) gives an array out: that
    loop builds no Series."""
    if isinstance(returns, np.ndarray):
        r = _values(returns)
        return _drawdown_series(r) if r.size else np.empty(0)
    r = _clean(returns)
    dd = _drawdown_series(r.to_numpy(dtype=float)) if len(r) else np.empty(0)
    return pd.Series(dd, index=r.index, name="drawdown")


@njit(cache=True, error_model="numpy")
def _drawdown_series(r: np.ndarray) -> np.ndarray:  # pragma: no cover (compiled)
    """``empyrical.stats.drawdown_series(r)`` for NaN-free returns: ``cum_returns(r, 100)``
    (``cumprod(r + 1)``, then ``x 100``), ``fmax.accumulate`` from 100 (a NaN wealth leaves
    the peak as it was; the peak stays >= 100), ``(wealth - peak) / peak``."""
    out = np.empty(r.size)
    growth = 1.0
    peak = 100.0
    for i in range(r.size):
        if i == 0:
            growth = r[0] + 1.0
        else:
            growth = growth * (r[i] + 1.0)
        wealth = growth * 100.0
        if wealth > peak:
            peak = wealth
        out[i] = (wealth - peak) / peak
    return out


def max_drawdown(returns: pd.Series) -> float:
    """Largest peak-to-trough fall of wealth, ``min(drawdown)``, a negative fraction
    (-0.25 = -25 %), from a starting wealth of 1; 0.0 when wealth never falls; NaN when
    empty. The same figure as ``empyrical.max_drawdown``, taken from this module's
    :func:`drawdown` (itself empyrical's) so that a replaced ``drawdown`` reaches it."""
    dd = drawdown(returns)
    return float(min(dd.min(), 0.0)) if len(dd) else math.nan


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
    A peak before the first return is reported as the first period's label.
    Hand-written: empyrical has no drawdown periods (pyfolio's ``get_top_drawdowns`` does,
    but starts wealth at the first return, not before it)."""
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
    """Calmar ratio ``cagr / |max_drawdown|`` over the whole series (Young 1991 uses three
    years); NaN without a drawdown. The same figure as ``empyrical.calmar_ratio``, composed
    here from :func:`cagr` and :func:`max_drawdown` (both empyrical's) so that a replaced
    ``drawdown`` reaches it."""
    return _calmar(cagr(returns, periods_per_year), max_drawdown(returns))


def _calmar(growth: float, mdd: float) -> float:
    return _ratio(growth, abs(mdd)) if mdd and mdd < 0 else math.nan


def omega(returns: pd.Series, threshold: float = 0.0) -> float:
    """Omega ratio (Keating and Shadwick 2002): ``sum(max(r - threshold, 0)) /
    sum(max(threshold - r, 0))`` with ``threshold`` per period; NaN when empty or without
    losses. Computed by ``empyrical.omega_ratio`` (``annualization=1``: the threshold is
    taken as given), which declines a single period: there the formula is applied as
    written."""
    r = _values(returns)
    if not r.size:
        return math.nan
    if r.size == 1:
        x = float(r[0] - threshold)
        return _ratio(max(x, 0.0), max(-x, 0.0))
    return _finite(empyrical.omega_ratio(r, required_return=threshold, annualization=1))


def tail_ratio(returns: pd.Series) -> float:
    """``|95th percentile| / |5th percentile|`` of the returns (linear interpolation); NaN
    when empty or the 5th percentile is 0. Computed by ``empyrical.tail_ratio``."""
    r = _values(returns)
    if not r.size:
        return math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finite(empyrical.tail_ratio(r))


def value_at_risk(returns: pd.Series, level: float = 0.95) -> float:
    """Historical VaR: the ``1 - level`` quantile of the returns (a negative number for a
    loss; linear interpolation between the closest ranks), per period; NaN when empty.
    Computed by ``empyrical.value_at_risk`` (``cutoff = 1 - level``)."""
    r = _values(returns)
    return float(empyrical.value_at_risk(r, cutoff=1 - level)) if r.size else math.nan


def conditional_value_at_risk(returns: pd.Series, level: float = 0.95) -> float:
    """Historical CVaR (expected shortfall), per period: the mean of the returns at or
    below the VaR, ``mean(r | r <= value_at_risk(r, level))``; NaN when empty.
    Hand-written: ``empyrical.conditional_value_at_risk`` averages the lowest
    ``floor((n - 1) * (1 - level)) + 1`` returns instead, which is the same figure unless
    returns tie at the VaR (many flat periods, say), where it keeps only some of them."""
    r = _values(returns)
    if not r.size:
        return math.nan
    var = np.percentile(r, 100 * (1 - level))
    return float(r[r <= var].mean())


def skew(returns: pd.Series) -> float:
    """Sample skewness, the adjusted Fisher-Pearson coefficient
    ``G1 = sqrt(n (n - 1)) / (n - 2) * m3 / m2 ** 1.5`` (bias-corrected, as pandas and
    ``scipy.stats.skew(bias=False)``); NaN for fewer than three periods. By pandas:
    empyrical has none of its own."""
    r = _clean(returns)
    return float(r.skew()) if len(r) > 2 else math.nan


def kurtosis(returns: pd.Series) -> float:
    """Excess kurtosis, bias-corrected ``G2 = (n - 1) / ((n - 2)(n - 3)) * ((n + 1) m4 / m2^2
    - 3 (n - 1))`` (as pandas and ``scipy.stats.kurtosis(bias=False)``; a normal sample
    gives about 0); NaN for fewer than four periods. By pandas: empyrical has none of its
    own."""
    r = _clean(returns)
    return float(r.kurt()) if len(r) > 3 else math.nan


def win_rate(returns: pd.Series) -> float:
    """Fraction of non-zero periods with a positive return, ``#(r > 0) / #(r != 0)``.
    Hand-written: empyrical has no such figure."""
    r = _clean(returns)
    r = r[r != 0]
    return float((r > 0).mean()) if len(r) else math.nan


def profit_factor(returns: pd.Series) -> float:
    """Sum of gains over the absolute sum of losses, ``sum(r[r > 0]) / -sum(r[r < 0])``;
    NaN without losses. Hand-written: empyrical has no such figure (it is the Omega ratio
    at threshold 0, but kept apart as the trade-level name)."""
    r = _clean(returns)
    return _ratio(float(r[r > 0].sum()), float(-r[r < 0].sum()))


def beta_alpha(returns: pd.Series, benchmark: pd.Series, periods_per_year: int = PERIODS_PER_YEAR,
               risk_free: float = 0.0) -> tuple[float, float]:
    """(beta, annualized alpha) of excess returns ``r - rf`` against excess benchmark
    returns ``b - rf`` (``rf`` per period) on their common dates, the OLS slope and
    intercept (CAPM; Jensen 1968): ``beta = cov(r, b) / var(b)``, computed by
    ``empyrical.beta_aligned`` (NaN for fewer than two common periods or a benchmark
    variance below 1e-30), and ``alpha = (mean(r) - beta * mean(b)) * periods_per_year``.
    The alpha is hand-written: we annualize the per-period intercept arithmetically, while
    ``empyrical.alpha`` compounds it, ``(1 + alpha_per_period) ** periods_per_year - 1``
    (slightly larger for a positive alpha)."""
    both = pd.concat([_clean(returns) - risk_free, _clean(benchmark) - risk_free], axis=1, join="inner").dropna()
    if len(both) < 2:
        return math.nan, math.nan
    r, b = both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()
    beta = float(empyrical.beta_aligned(r, b))
    if not math.isfinite(beta):
        return math.nan, math.nan
    return beta, float((r.mean() - beta * b.mean()) * periods_per_year)


def _rolling(fn, returns: pd.Series, window: int, name: str, **kwargs) -> pd.Series:
    """``fn`` (an empyrical ``roll_*`` function) over each full trailing window of the
    cleaned returns, NaN before the first full window."""
    r = _clean(returns)
    out = np.full(len(r), np.nan)
    if window >= 1 and len(r) >= window:  # empyrical would shrink the window to fit
        with np.errstate(divide="ignore", invalid="ignore"):
            out[window - 1:] = fn(r.to_numpy(), window, **kwargs)
    return pd.Series(out, index=r.index, name=name)


def rolling_sharpe(returns: pd.Series, window: int = 63, periods_per_year: int = PERIODS_PER_YEAR) -> pd.Series:
    """Sharpe ratio (as :func:`sharpe`, no risk-free rate) over each trailing window of
    ``window`` periods; NaN until the window is full and where its standard deviation is at
    most 1e-15. Computed by ``empyrical.roll_sharpe_ratio``."""
    sd = _rolling(empyrical.roll_annual_volatility, returns, window, "sd", annualization=1)
    s = _rolling(empyrical.roll_sharpe_ratio, returns, window, "rolling_sharpe", annualization=periods_per_year)
    return s.where(sd > 1e-15)


def rolling_volatility(returns: pd.Series, window: int = 63, periods_per_year: int = PERIODS_PER_YEAR) -> pd.Series:
    """Annualized volatility (as :func:`annual_volatility`) over each trailing window of
    ``window`` periods; NaN until the window is full. Computed by
    ``empyrical.roll_annual_volatility``."""
    return _rolling(empyrical.roll_annual_volatility, returns, window, "rolling_volatility",
                    annualization=periods_per_year)


def exposure(positions_value: pd.DataFrame | pd.Series, equity: pd.Series) -> pd.Series:
    """Gross exposure per period: ``sum(|position value|) / equity`` (1.0 = fully invested)."""
    gross = positions_value.abs().sum(axis=1) if isinstance(positions_value, pd.DataFrame) else positions_value.abs()
    return (gross / equity.where(equity != 0)).rename("exposure")


def turnover(traded_value: pd.Series, equity: pd.Series, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualized turnover: ``mean(traded value per period / equity) * periods_per_year``
    (a one-way measure: buying and selling the whole book once a year is 2.0)."""
    aligned = (traded_value.reindex(equity.index).fillna(0.0) / equity.where(equity != 0)).dropna()
    return float(aligned.mean() * periods_per_year) if len(aligned) else math.nan


def run_returns(equity: pd.Series, starting_cash: float) -> pd.Series:
    """A run's daily returns, the ones its statistics come from: the last equity of each
    UTC day, the first day's return measured from ``starting_cash`` (so the first day
    counts); indexed by day."""
    daily = daily_equity(equity)
    return pd.Series(_run_return_values(daily, starting_cash), index=daily.index, name="return")


def _run_return_values(daily: pd.Series | np.ndarray, starting_cash: float) -> np.ndarray:
    values = np.concatenate([[float(starting_cash)], np.asarray(daily, dtype=float)])
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero equity: inf or NaN, as pct_change gives
        return _values(values[1:] / values[:-1] - 1.0)  # simple_returns' arithmetic, without a Series


def equity_statistics(equity: pd.Series, starting_cash: float) -> dict[str, float]:
    """Statistics of a run's equity curve: its daily closes (the last value of each UTC day)
    turned into returns from ``starting_cash`` (so the first day counts), then
    ``total_return``, ``cagr``, ``annual_volatility``, ``sharpe``, ``sortino``,
    ``max_drawdown`` and ``calmar``. The one definition the backtest summary, the optimizer's
    fast path and its engine fallback share; it runs in the optimizer's inner loop, so the
    returns go to the statistics as one cleaned numpy array."""
    daily = equity if one_per_day(pd.DatetimeIndex(equity.index)) else daily_equity(equity)
    final = float(equity.iloc[-1]) if len(equity) else float(starting_cash)
    return daily_statistics(daily.to_numpy(dtype=float), final, starting_cash)


def one_per_day(index: pd.DatetimeIndex) -> bool:
    """Whether ``index`` holds at most one time a UTC day, in order (a curve that is its own
    daily closes)."""
    return bool(np.all(np.diff(index.asi8 // 86_400_000_000_000) > 0))


def daily_statistics(daily: np.ndarray, final: float, starting_cash: float) -> dict[str, float]:
    """:func:`equity_statistics` from the daily equity closes as an array (and the last
    equity): the optimizer's inner loop, which knows its bars are daily, starts here."""
    returns = _run_return_values(daily, starting_cash)
    growth, mdd = cagr(returns), max_drawdown(returns)
    return {
        "final_equity": final,
        "total_return": final / float(starting_cash) - 1.0,
        "cagr": growth,
        "annual_volatility": annual_volatility(returns),
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
        "max_drawdown": mdd,
        "calmar": _calmar(growth, mdd),  # calmar(returns), from the two figures already here
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
