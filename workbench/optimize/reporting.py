"""What a sweep means, in one dict: its best trial, the deflated Sharpe ratio, the
probability of backtest overfitting and the walk-forward summary.

:func:`report` is the one place these are assembled, so ``workbench optimize``, the
optimization notebook and the certification give the same figures for the same sweep.
The overfitting statistics need every valid trial's daily returns: :func:`trial_returns`
runs each trial again (on the fast path where it can, the engine otherwise) and keeps its
daily simple returns; a sweep of more than :data:`MAX_RETURN_TRIALS` valid trials gets the
deflated Sharpe ratio of its best trial only, not a PBO.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.jsonsafe import jsonable, python_value
from workbench.optimize import overfit
from workbench.optimize.runner import Sweep
from workbench.optimize.walkforward import WalkForward

PBO_BLOCKS = 16  # CSCV blocks (S in Bailey et al.): C(16, 8) = 12,870 splits
MAX_RETURN_TRIALS = 400  # valid trials re-run for the PBO at the most
PERIODS_PER_YEAR = 252  # the sweep's Sharpe ratios are annualized with it


def valid_trials(sweep: Sweep) -> pd.DataFrame:
    """The trials that ran and were feasible."""
    return sweep.trials[sweep.trials["status"] == "ok"]


def sharpe_variance(annual_sharpes: np.ndarray | pd.Series) -> float:
    """Variance across trials (ddof=1) of their per-period Sharpe ratios: the annualized
    ones divided by ``sqrt(252)``; the deflated Sharpe ratio's ``V``."""
    per_period = np.asarray(annual_sharpes, dtype=float) / math.sqrt(PERIODS_PER_YEAR)
    return float(np.var(per_period, ddof=1))


def trial_returns(sweep: Sweep, trials: pd.DataFrame | None = None) -> pd.DataFrame:
    """Daily returns of each trial in ``trials`` (default: the valid ones; the returns its
    Sharpe ratio comes from, :func:`~workbench.analytics.performance.run_returns`), days x
    trials, the columns named by the parameter values in ``sweep.params`` order; days on
    which any trial has no return are left out (CSCV needs a full matrix)."""
    from workbench.analytics.performance import run_returns
    from workbench.engine import backtest
    from workbench.optimize import fastpath
    from workbench.strategies import strategy_class

    if not sweep.frames:
        raise ValueError("trial_returns: the sweep does not carry its data (made by sweep() or search())")
    trials = valid_trials(sweep) if trials is None else trials
    cls = strategy_class(sweep.strategy)
    columns = {}
    for row in trials.itertuples(index=False):
        params = {p: python_value(getattr(row, p)) for p in sweep.params}
        strategy = cls(**params)
        run = None
        if fastpath.supports(strategy, sweep.frames, sweep.options):
            run = fastpath.run(strategy, sweep.frames[0], **sweep.options)
        if run is None:
            run = backtest(strategy, *sweep.frames, **sweep.options)
        columns[tuple(params[p] for p in sweep.params)] = run_returns(run.equity, run.starting_cash)
    return pd.DataFrame(columns).dropna()


def report(sweep: Sweep, walk_forward: WalkForward | None = None, *,
           returns: pd.DataFrame | None = None) -> dict[str, Any]:
    """The sweep's summary (module docstring). ``returns``: :func:`trial_returns` of the
    valid trials when already computed. Keys: strategy, objective, trials, valid, cached,
    seconds, trials_per_second, executor, best; with two or more valid trials also
    ``deflated_sharpe`` and, up to :data:`MAX_RETURN_TRIALS` of them, ``pbo``; with a
    walk-forward run, ``walk_forward``."""
    ok = valid_trials(sweep)
    best = sweep.best
    out: dict[str, Any] = {"strategy": sweep.strategy, "objective": sweep.objective, "trials": len(sweep.trials),
                           "valid": len(ok), "cached": sweep.cached, "seconds": sweep.seconds,
                           "trials_per_second": sweep.trials_per_second, "executor": sweep.executor, "best": best}
    if best is not None and len(ok) >= 2 and sweep.frames:
        if returns is None:
            chosen = ok if len(ok) <= MAX_RETURN_TRIALS else ok.loc[[ok["objective"].idxmax()]]
            returns = trial_returns(sweep, chosen)
        best_returns = returns[tuple(best["params"][p] for p in sweep.params)]
        d = overfit.deflated_sharpe(best_returns, len(ok), sharpe_variance(ok["sharpe"]))
        out["deflated_sharpe"] = {"sharpe_per_day": d.sharpe, "threshold": d.threshold, "dsr": d.dsr,
                                  "trials": d.trials}
        if returns.shape[1] >= 2:
            p = overfit.pbo(returns.to_numpy(), blocks=PBO_BLOCKS)
            out["pbo"] = {"pbo": p.pbo, "splits": p.splits, "blocks": p.blocks}
    if walk_forward is not None:
        out["walk_forward"] = {**walk_forward.summary(), "folds_detail": walk_forward.folds.to_dict(orient="records")}
    return jsonable(out)


def save(out: str | os.PathLike, sweep: Sweep, summary: dict[str, Any], walk_forward: WalkForward | None = None) -> Path:
    """``trials.csv``, ``summary.json``, ``walkforward.csv`` (with walk-forward) and
    ``heatmap.html`` (two parameters) in the folder ``out``."""
    from workbench.analytics.tearsheet import save_tearsheet

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    sweep.trials.to_csv(folder / "trials.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if walk_forward is not None:
        walk_forward.folds.to_csv(folder / "walkforward.csv", index=False)
    if len(sweep.params) == 2:
        save_tearsheet(sweep.heatmap(*sweep.params), folder / "heatmap.html")
    return folder
