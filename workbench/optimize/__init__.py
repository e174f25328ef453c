"""Optimization: choose strategy parameters without fooling yourself.

Search spaces and grid/random/Bayesian search (:mod:`~workbench.optimize.space`,
:mod:`~workbench.optimize.runner`), a vectorized fast path with the engine's exact fills
(:mod:`~workbench.optimize.fastpath`), executors from one process to Dask
(:mod:`~workbench.optimize.executors`), walk-forward (:mod:`~workbench.optimize.walkforward`)
and overfitting statistics (:mod:`~workbench.optimize.overfit`); :func:`study` runs a whole
study and :func:`report` sums a sweep up (:mod:`~workbench.optimize.studies`,
:mod:`~workbench.optimize.reporting`).
"""

from workbench.optimize.component import Optimizer
from workbench.optimize.overfit import deflated_sharpe, pbo
from workbench.optimize.reporting import report
from workbench.optimize.runner import Sweep, TrialStore, search, sweep
from workbench.optimize.space import Choice, Float, Int, grid, parse_dimension, random_points
from workbench.optimize.studies import Study, study
from workbench.optimize.walkforward import WalkForward, walk_forward

__all__ = ["Choice", "Float", "Int", "Optimizer", "Study", "Sweep", "TrialStore", "WalkForward", "deflated_sharpe",
           "grid", "parse_dimension", "pbo", "random_points", "report", "search", "study", "sweep", "walk_forward"]
