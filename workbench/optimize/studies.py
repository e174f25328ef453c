"""A parameter study from plain options: what ``workbench optimize`` and a notebook call.

:func:`study` checks every option before any trial runs (the strategy knows each
parameter, every grid value is valid for it, the objective exists, the grid is not larger
than ``max_trials``), runs the search (grid, random or Bayesian), walk-forward if asked,
and returns the sweep with its :func:`~workbench.optimize.reporting.report`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.errors import ConfigError
from workbench.optimize import reporting
from workbench.optimize.runner import Sweep, search, sweep
from workbench.optimize.space import Dimension, grid, grid_size, parse_dimension, random_points
from workbench.optimize.trial import OBJECTIVES
from workbench.optimize.walkforward import WalkForward, walk_forward

MAX_TRIALS = 100_000  # the default cap on a study's size


@dataclass
class Study:
    """A finished study: the sweep, its walk-forward run (or ``None``) and its report."""

    sweep: Sweep
    walk_forward: WalkForward | None
    report: dict[str, Any]


def parse_space(specs: list[str], strategy: str) -> dict[str, Dimension]:
    """``["fast=5:50:5", "slow=100,200"]`` as a search space for ``strategy``: each name a
    parameter of it, named once, its ends (or each choice) values it accepts."""
    from workbench.strategies import strategy_class

    cls = strategy_class(strategy)
    if not specs:
        raise ConfigError("give at least one --grid NAME=SPEC")
    space: dict[str, Dimension] = {}
    for spec in specs:
        given = cls.parameters.get(spec.partition("=")[0].strip())
        name, dim = parse_dimension(spec, given.type if given is not None else None)
        if name in space:
            raise ConfigError(f"--grid {name}: given twice")
        if name not in cls.parameters:
            raise ConfigError(f"--grid {name}: {strategy} has no such parameter; known: {', '.join(cls.parameters)}")
        for value in dim.ends():
            cls.parameters[name].parse(name, value)
        space[name] = dim
    return space


def _check_size(size: int, max_trials: int) -> None:
    if max_trials < 1:
        raise ConfigError(f"--max-trials must be >= 1, got {max_trials}")
    if size > max_trials:
        raise ConfigError(f"the search has {size:,} trials, more than --max-trials {max_trials:,}: narrow the --grid "
                          f"or raise --max-trials")


def study(strategy: str, frames: list[pd.DataFrame], space: dict[str, Dimension], *, random: int | None = None,
          bayes: int | None = None, seed: int = 0, objective: str = "sharpe", min_trades: int = 0,
          folds: int | None = None, anchored: bool = False, options: dict[str, Any] | None = None,
          jobs: int | None = None, dask: str | None = None, store: str | os.PathLike | None = None,
          max_trials: int = MAX_TRIALS, progress: bool = False) -> Study:
    """Search ``space`` for ``strategy`` over ``frames`` (module docstring). ``random`` or
    ``bayes``: that many points instead of the grid; ``folds``: walk-forward folds too."""
    from workbench.broker import commission_from, slippage_from

    options = dict(options or {})
    if objective not in OBJECTIVES:
        raise ConfigError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if min_trades < 0:
        raise ConfigError(f"--min-trades must be >= 0, got {min_trades}")
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    commission_from(options.get("commission")), slippage_from(options.get("slippage"))
    _check_size(random or bayes or grid_size(space), max_trials)
    if folds is not None and (len(frames) != 1 or frames[0]["symbol"].nunique() != 1):
        raise ConfigError("--walk-forward works on one symbol: add --symbols")
    points = None if bayes else (random_points(space, random, seed) if random else grid(space))
    common = dict(objective=objective, min_trades=min_trades, options=options, store=store)
    if bayes:
        result = search(strategy, frames, space, method="bayes", n=bayes, seed=seed, **common)
    else:
        result = sweep(strategy, frames, points, jobs=jobs, dask=dask, progress=progress, **common)
    wf = None
    if folds is not None:
        wf = walk_forward(strategy, frames[0], points or grid(space), folds=folds,
                          mode="anchored" if anchored else "rolling", objective=objective, options=options,
                          jobs=jobs, dask=dask)
    return Study(result, wf, reporting.report(result, wf))
