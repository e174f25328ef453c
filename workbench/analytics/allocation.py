"""Portfolio weights from price history: equal weight, inverse volatility, minimum variance.

Long-only weights that sum to 1, from the daily simple returns of the closes given (one
column per symbol, the rows the bars seen so far: no later data). Minimum variance is
``scipy.optimize.minimize`` (SLSQP) over the sample covariance: PyPortfolioOpt and
riskfolio-lib do this and much more, but are not in the pinned environment and pull in
cvxpy and its solvers for one quadratic program of a handful of assets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.errors import ConfigError

ALLOCATORS = ("equal", "inverse_vol", "min_variance")


def allocate(closes: pd.DataFrame, method: str = "equal") -> dict[str, float]:
    """Weights of ``closes``' columns by ``method`` (module docstring). Fewer than 3 rows of
    returns, or a column without variance, gives equal weights (said nowhere: the data are
    too short to say more)."""
    if method not in ALLOCATORS:
        raise ConfigError(f"allocator: {method!r}; use one of {', '.join(ALLOCATORS)}")
    symbols = [str(c) for c in closes.columns]
    if not symbols:
        return {}
    equal = {s: 1.0 / len(symbols) for s in symbols}
    if method == "equal":
        return equal
    returns = closes.pct_change().iloc[1:].dropna()
    if len(returns) < 3:
        return equal
    vol = returns.std(ddof=1).to_numpy()
    if not np.all(np.isfinite(vol)) or np.any(vol <= 0):
        return equal
    if method == "inverse_vol":
        inv = 1.0 / vol
        return dict(zip(symbols, (inv / inv.sum()).tolist()))
    from scipy.optimize import minimize

    cov = returns.cov(ddof=1).to_numpy()
    n = len(symbols)
    start = np.full(n, 1.0 / n)
    found = minimize(lambda w: float(w @ cov @ w), start, jac=lambda w: 2 * cov @ w, method="SLSQP",
                     bounds=[(0.0, 1.0)] * n, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
                     options={"ftol": 1e-12, "maxiter": 200})
    w = np.clip(found.x, 0.0, None) if found.success else start
    w = w / w.sum()
    return dict(zip(symbols, w.tolist()))
