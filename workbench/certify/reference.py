"""Independent computations the checks compare the components with.

Each is written from the definition (a textbook formula, the documented rule, a brute-force
enumeration), in plain numpy or Python, sharing no code with the component it checks: a
fault in ``workbench.analytics`` or ``workbench.optimize`` cannot move both sides.
"""

from __future__ import annotations

import csv
import gzip
import importlib
import itertools
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

EULER_GAMMA = 0.5772156649015329


# --- data ------------------------------------------------------------------------------------


def dataset_rows(module: str, name: str) -> list[dict[str, Any]]:
    """The rows of a bundled dataset read straight from the ``arch`` package's CSV with the
    csv module: ``{"date", "open", "high", "low", "close", "adj_close", "volume"}``."""
    path = Path(importlib.import_module(module).__file__).parent / f"{name}.csv.gz"
    with gzip.open(path, "rt", newline="") as f:
        return [{"date": datetime.strptime(r["Date"], "%m/%d/%Y").date().isoformat(),
                 "open": float(r["Open"]), "high": float(r["High"]), "low": float(r["Low"]),
                 "close": float(r["Close"]), "adj_close": float(r["Adj Close"]), "volume": float(r["Volume"])}
                for r in csv.DictReader(f)]


def merged_order(sources: list[list[tuple]]) -> list[tuple]:
    """Events of several sources, each a list of ``(time_ns, ...)`` rows, in the documented
    replay order: by time, ties by source position, then row: Python's stable sort."""
    tagged = [(row[0], i, j, row) for i, rows in enumerate(sources) for j, row in enumerate(rows)]
    return [row for _, _, _, row in sorted(tagged, key=lambda x: (x[0], x[1], x[2]))]


# --- statistics (per period returns, sample standard deviations) ------------------------------


def textbook_statistics(returns: np.ndarray, periods_per_year: float) -> dict[str, float]:
    """Sharpe, annual volatility, total return, CAGR, Sortino and max drawdown of simple
    per-period ``returns``, from their definitions:

    * Sharpe = mean / sd(ddof=1) * sqrt(P);  volatility = sd(ddof=1) * sqrt(P)
    * total return = prod(1 + r) - 1;  CAGR = prod(1 + r) ** (P / n) - 1
    * Sortino = mean / sqrt(mean(min(r, 0)^2)) * sqrt(P)
    * max drawdown = min over t of W_t / max(W_0..W_t) - 1, with W_0 = 1 before the first return
    * calmar = CAGR / |max drawdown|
    """
    r = np.asarray(returns, dtype=float)
    r = r[~np.isnan(r)]
    n = r.size
    mean = math.fsum(r) / n
    var = math.fsum((x - mean) ** 2 for x in r) / (n - 1)
    sd = math.sqrt(var)
    downside = math.sqrt(math.fsum(min(x, 0.0) ** 2 for x in r) / n)
    wealth, peak, worst, growth = 1.0, 1.0, 0.0, 1.0
    for x in r:
        wealth *= 1.0 + x
        peak = max(peak, wealth)
        worst = min(worst, wealth / peak - 1.0)
    growth = wealth
    cagr = growth ** (periods_per_year / n) - 1.0 if growth > 0 else -1.0
    return {
        "sharpe": mean / sd * math.sqrt(periods_per_year) if sd > 0 else math.nan,
        "annual_volatility": sd * math.sqrt(periods_per_year),
        "total_return": growth - 1.0,
        "cagr": cagr,
        "sortino": mean / downside * math.sqrt(periods_per_year) if downside > 0 else math.nan,
        "max_drawdown": worst,
        "calmar": cagr / abs(worst) if worst < 0 else math.nan,
    }


# --- overfitting ----------------------------------------------------------------------------


def cscv_pbo(matrix: np.ndarray, blocks: int) -> tuple[float, list[float]]:
    """PBO by combinatorially symmetric cross-validation (Bailey et al. 2015), by brute force:
    for every choice of half the row blocks as in-sample, the trial with the best in-sample
    Sharpe ratio (mean / sd, ddof=1, over the rows themselves) is ranked out-of-sample
    (1 = worst, ties averaged), ``w = rank / (N + 1)``; PBO is the share of splits with
    ``log(w / (1 - w)) <= 0``. Returns (PBO, the logits in split order)."""
    m = np.asarray(matrix, dtype=float)
    t, n = m.shape
    size = t // blocks
    parts = [m[b * size:(b + 1) * size] for b in range(blocks)]
    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        inside = np.concatenate([parts[b] for b in chosen])
        outside = np.concatenate([parts[b] for b in range(blocks) if b not in chosen])
        is_sr, oos_sr = _sharpes(inside), _sharpes(outside)
        best = max(range(n), key=lambda j: (is_sr[j] if not math.isnan(is_sr[j]) else -math.inf, -j))
        below = sum(1 for x in oos_sr if x < oos_sr[best])
        ties = sum(1 for x in oos_sr if x == oos_sr[best])
        rank = below + (ties + 1) / 2
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    return sum(1 for x in logits if x <= 0) / len(logits), logits


def _sharpes(rows: np.ndarray) -> list[float]:
    """mean / sd (ddof=1) of each column, over its rows; NaN where the sd is 0."""
    sd = rows.std(axis=0, ddof=1)
    mean = rows.mean(axis=0)
    return [float(m / s) if s > 0 else math.nan for m, s in zip(mean, sd)]


def deflated_sharpe(returns: np.ndarray, trials: int, sharpe_variance: float) -> dict[str, float]:
    """The Deflated Sharpe Ratio (Bailey and Lopez de Prado 2014, eq. 2 with SR0 from the
    expected maximum of ``trials`` unskilled Sharpe ratios): per-period Sharpe SR, skewness
    g3 and (non-excess) kurtosis g4 from the central moments, then
    ``SR0 = sqrt(V)((1-g)Z^-1(1-1/N) + g Z^-1(1-1/(N e)))`` and
    ``DSR = Phi((SR - SR0) sqrt(T-1) / sqrt(1 - g3 SR + (g4-1)/4 SR^2))``."""
    from scipy import stats

    r = np.asarray(returns, dtype=float)
    t = r.size
    mean = r.mean()
    dev = r - mean
    m2, m3, m4 = (dev ** 2).mean(), (dev ** 3).mean(), (dev ** 4).mean()
    sr = mean / math.sqrt((dev ** 2).sum() / (t - 1))
    g3, g4 = m3 / m2 ** 1.5, m4 / m2 ** 2
    z = stats.norm.ppf
    sr0 = math.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * z(1 - 1 / trials)
                                        + EULER_GAMMA * z(1 - 1 / (trials * math.e)))
    dsr = stats.norm.cdf((sr - sr0) * math.sqrt(t - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr * sr))
    return {"sharpe": sr, "threshold": sr0, "dsr": float(dsr)}


# --- costs ----------------------------------------------------------------------------------


def ibkr_fixed(shares: float, value: float) -> float:
    """Interactive Brokers' fixed US equity commission of a whole order: USD 0.005 a share,
    at least USD 1.00, at most 1 % of the trade value."""
    return min(max(0.005 * shares, 1.00), 0.01 * value)


# --- the bare loop: sma_cross without an engine ----------------------------------------------


def sma_cross_loop(symbols: list[str], opens: list[float], closes: list[float], fast: int, slow: int,
                   quantity: float) -> list[tuple[int, str, float, float]]:
    """sma_cross's rules with nothing around them: per symbol, the plain means of the last
    ``fast`` and ``slow`` closes (running sums, resummed every ``slow`` bars); long
    ``quantity`` while the fast mean is above the slow one, flat otherwise; a change of
    target is a market order filled at the symbol's next open. Rows are bars in time order.
    Returns the fills ``(row, symbol, signed quantity, price)``; the calibration workload of
    the engine's throughput check, and an independent statement of its fills."""
    state: dict[str, list] = {}
    pending: dict[str, float] = {}
    held: dict[str, float] = {}
    fills = []
    for row, (s, o, c) in enumerate(zip(symbols, opens, closes)):
        q = pending.pop(s, None)
        if q is not None:
            fills.append((row, s, q, o))
            held[s] = held.get(s, 0.0) + q
        st = state.get(s)
        if st is None:
            st = state[s] = [[0.0] * slow, 0, 0.0, 0.0]
        ring, n, fs, ss = st
        if n >= slow:
            ss -= ring[n % slow]
        if n >= fast:
            fs -= ring[(n - fast) % slow]
        ring[n % slow] = c
        n += 1
        if n % slow == 0:
            ss = 0.0
            for x in ring:
                ss += x
            fs = 0.0
            for i in range(fast):
                fs += ring[(n - fast + i) % slow]
        else:
            ss += c
            fs += c
        st[1], st[2], st[3] = n, fs, ss
        if n >= slow:
            want = quantity if fs / fast > ss / slow else 0.0
            have = held.get(s, 0.0)
            if want != have:
                pending[s] = want - have
    return fills
