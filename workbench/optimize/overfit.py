"""Overfitting statistics from the matrix of trials.

* :func:`deflated_sharpe` — the Deflated Sharpe Ratio of Bailey and Lopez de Prado (2014):
  the probability that the selected strategy's true Sharpe ratio is above what the best
  of ``N`` unskilled trials would show by luck, allowing for skewness, fat tails and the
  length of the track record.
* :func:`pbo` — the Probability of Backtest Overfitting by combinatorially symmetric cross
  validation (Bailey, Borwein, Lopez de Prado and Zhu, 2017): how often the trial that is
  best in-sample ranks in the bottom half out-of-sample.

Sharpe ratios here are per period (not annualized), as in the papers' formulas. Both are
hand-written: no well-kept library computes them (empyrical and quantstats do not).

References: D. H. Bailey and M. Lopez de Prado, "The Deflated Sharpe Ratio: Correcting for
Selection Bias, Backtest Overfitting, and Non-Normality", Journal of Portfolio Management
40(5), 94-107 (2014); D. H. Bailey and M. Lopez de Prado, "The Sharpe Ratio Efficient
Frontier", Journal of Risk 15(2), 3-44 (2012) (the probabilistic Sharpe ratio);
D. H. Bailey, J. M. Borwein, M. Lopez de Prado and Q. J. Zhu, "The Probability of Backtest
Overfitting", Journal of Computational Finance 20(4), 39-69 (2017).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """SR0: the expected maximum of ``n_trials`` Sharpe ratios drawn with true Sharpe 0 and
    the given variance across trials (per period):
    ``sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))``, g = Euler-Mascheroni;
    0.0 for fewer than two trials (Bailey and Lopez de Prado 2014, eq. 2)."""
    if n_trials < 2:
        return 0.0
    z = stats.norm.ppf
    return math.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * z(1 - 1 / n_trials)
                                         + EULER_GAMMA * z(1 - 1 / (n_trials * math.e)))


def probabilistic_sharpe(sharpe: float, benchmark: float, periods: int, skew: float, kurtosis: float) -> float:
    """PSR: ``Phi((SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2))`` with per-period
    Sharpe ratios, ``skew`` g3 and (non-excess) ``kurtosis`` g4 of the returns; NaN for
    fewer than two periods or a non-positive denominator (Bailey and Lopez de Prado 2012;
    2014, eq. 1)."""
    denom = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe * sharpe
    if periods < 2 or denom <= 0:
        return math.nan
    return float(stats.norm.cdf((sharpe - benchmark) * math.sqrt(periods - 1) / math.sqrt(denom)))


@dataclass(frozen=True)
class DeflatedSharpe:
    """The selected Sharpe ratio, the luck threshold SR0, the deflated ratio (a probability)."""

    sharpe: float
    threshold: float
    dsr: float
    trials: int
    periods: int


def deflated_sharpe(returns: pd.Series | np.ndarray, n_trials: int, sharpe_variance: float) -> DeflatedSharpe:
    """DSR of the selected strategy's per-period ``returns`` after ``n_trials`` trials whose
    per-period Sharpe ratios had variance ``sharpe_variance``: the probabilistic Sharpe ratio
    of the observed SR against SR0, the Sharpe ratio the best of ``N`` unskilled trials
    would show by luck,

        SR  = mean(r) / std(r, ddof=1)                                  (per period)
        SR0 = sqrt(V) * ((1 - g) Z^-1(1 - 1/N) + g Z^-1(1 - 1/(N e)))   (expected_max_sharpe)
        DSR = Phi((SR - SR0) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2))

    with T the number of returns (NaNs dropped), g3 their skewness and g4 their non-excess
    kurtosis (moment estimates, ``bias=True``), V = ``sharpe_variance``, N = ``n_trials``,
    g the Euler-Mascheroni constant, Z^-1 the standard normal quantile and Phi its CDF.
    A ValueError for fewer than three returns; NaN where PSR's denominator is not positive
    or the returns do not vary.

    Reference: D. H. Bailey and M. Lopez de Prado, "The Deflated Sharpe Ratio: Correcting
    for Selection Bias, Backtest Overfitting, and Non-Normality", Journal of Portfolio
    Management 40(5), 94-107 (2014), eqs. 1-2."""
    r = np.asarray(pd.Series(returns, dtype=float).dropna())
    if r.size < 3:
        raise ValueError(f"deflated_sharpe needs at least 3 returns, got {r.size}")
    sd = r.std(ddof=1)
    sr = float(r.mean() / sd) if sd > 0 else math.nan
    threshold = expected_max_sharpe(n_trials, sharpe_variance)
    skew = float(stats.skew(r))
    kurt = float(stats.kurtosis(r, fisher=False))
    return DeflatedSharpe(sr, threshold, probabilistic_sharpe(sr, threshold, r.size, skew, kurt), n_trials, r.size)


@dataclass(frozen=True)
class PBO:
    """The probability of backtest overfitting, and what it came from."""

    pbo: float
    logits: np.ndarray  # one per split: log(w / (1 - w)) of the in-sample winner's OOS rank
    splits: int
    blocks: int


def pbo(performance: pd.DataFrame | np.ndarray, blocks: int = 16) -> PBO:
    """PBO of a T x N matrix of per-period returns (rows: periods, columns: trials) by
    combinatorially symmetric cross-validation (CSCV):

    1. the rows are cut into S = ``blocks`` equal blocks (S even; leftover rows at the end
       are dropped);
    2. for each of the C(S, S/2) ways of choosing half of the blocks as in-sample (the rest
       out-of-sample), the trial with the best in-sample Sharpe ratio ``mean / std(ddof=1)``
       (per period) is ranked among the trials' out-of-sample Sharpe ratios, rank 1 = worst
       .. N = best (ties averaged), ``w = rank / (N + 1)``;
    3. its logit is ``lambda = log(w / (1 - w))``, and
       ``PBO = #{splits with lambda <= 0} / C(S, S/2)``: the share of splits in which the
       in-sample winner does no better than the out-of-sample median.

    Reference: D. H. Bailey, J. M. Borwein, M. Lopez de Prado and Q. J. Zhu, "The
    Probability of Backtest Overfitting", Journal of Computational Finance 20(4), 39-69
    (2017), section 2."""
    m = np.asarray(performance, dtype=float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("pbo needs a periods x trials matrix with at least two trials")
    if blocks < 2 or blocks % 2:
        raise ValueError(f"blocks must be an even number >= 2, got {blocks}")
    t, n = m.shape
    size = t // blocks
    if size < 2:
        raise ValueError(f"{t} periods are too few for {blocks} blocks")
    m = m[: size * blocks]
    # Per block and trial: count, sum and sum of squares, so any union of blocks has a
    # Sharpe ratio without touching the rows again.
    b = m.reshape(blocks, size, n)
    sums, sq = b.sum(axis=1), (b * b).sum(axis=1)
    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        is_mask = np.zeros(blocks, dtype=bool)
        is_mask[list(chosen)] = True
        is_sr = _sharpe(sums[is_mask].sum(0), sq[is_mask].sum(0), size * blocks // 2)
        oos_sr = _sharpe(sums[~is_mask].sum(0), sq[~is_mask].sum(0), size * blocks // 2)
        best = int(np.nanargmax(is_sr))
        rank = float(stats.rankdata(oos_sr)[best])  # 1 = worst
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    arr = np.asarray(logits)
    return PBO(float(np.mean(arr <= 0)), arr, len(arr), blocks)


def _sharpe(s: np.ndarray, sq: np.ndarray, k: int) -> np.ndarray:
    mean = s / k
    var = (sq - k * mean * mean) / (k - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(var > 0, mean / np.sqrt(np.maximum(var, 0)), np.nan)
