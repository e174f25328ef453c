"""Parameter sweeps: trials run on an executor, stored by parameter hash, ranked by an
objective.

A trial is one backtest with one set of parameters. It runs on the vectorized fast path
when the strategy and options allow (:mod:`workbench.optimize.fastpath`, identical figures)
and on the event-driven engine otherwise. Its result is keyed by a hash of everything that
determines it (strategy, parameters, options, data, and the package version and source hash),
so a sweep that was interrupted, or re-run with more points, only runs what is missing
(``store=``), and a store written by other code serves nothing. Parameter sets the
strategy refuses (``fast >= slow``) are recorded as invalid, not fatal.

The objective is any statistic of the trial (``sharpe`` by default; all are maximized, so
a drawdown, being negative, prefers the smaller loss); ``min_trades`` makes trials with
fewer round trips infeasible.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import ConfigError
from workbench.sqlite import transaction
from workbench.optimize.executors import Executor, make_executor
from workbench.optimize.trial import OBJECTIVES, TrialSpec, data_hash
from workbench.optimize.space import Dimension, grid, random_points
from workbench.jsonsafe import json_default, python_value

class TrialStore:
    """Finished trials by key, in SQLite (``path=None``: in memory)."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        target = ":memory:" if path is None else str(path)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(target, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS trials (key TEXT PRIMARY KEY, result TEXT NOT NULL)")

    def get(self, keys: list[str]) -> dict[str, dict]:
        found = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            rows = self._db.execute(f"SELECT key, result FROM trials WHERE key IN ({','.join('?' * len(chunk))})",
                                    chunk).fetchall()
            found.update({k: json.loads(r) for k, r in rows})
        return found

    def put(self, results: list[dict]) -> None:
        with transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO trials VALUES (?, ?)",
                                 [(r["key"], json.dumps(r, default=json_default)) for r in results])

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])

    def close(self) -> None:
        self._db.close()


@dataclass
class Sweep:
    """The trials of a sweep, one row each: parameters, objective, statistics, timing."""

    trials: pd.DataFrame
    objective: str
    params: list[str]
    seconds: float
    executor: str
    cached: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    # What the trials ran on, so that a trial can be run again (``optimize.report``).
    strategy: str = ""
    frames: tuple[pd.DataFrame, ...] = field(default=(), repr=False)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> dict[str, Any] | None:
        ok = self.trials[self.trials["status"] == "ok"]
        if ok.empty:
            return None
        row = ok.loc[ok["objective"].idxmax()]
        return {"params": {p: python_value(row[p]) for p in self.params}, "objective": float(row["objective"]),
                **{k: python_value(row[k]) for k in ("sharpe", "cagr", "max_drawdown", "trades") if k in row}}

    @property
    def trials_per_second(self) -> float:
        ran = len(self.trials) - self.cached
        return ran / self.seconds if self.seconds > 0 else float("nan")

    def matrix(self, x: str, y: str) -> pd.DataFrame:
        """The objective as a ``y`` x ``x`` table (a two-parameter grid)."""
        return self.trials.pivot_table(index=y, columns=x, values="objective", aggfunc="max")

    def heatmap(self, x: str, y: str):
        """A HoloViews heat map of the objective over two parameters."""
        import holoviews as hv

        if not hv.Store.renderers:
            hv.extension("bokeh", logo=False)
        data = self.trials[[x, y, "objective"]].dropna()
        return hv.HeatMap(data, kdims=[x, y], vdims=["objective"]).relabel(f"{self.objective} by {x} and {y}")


def sweep(strategy: str, frames: tuple[pd.DataFrame, ...] | list, points: list[dict[str, Any]], *,
          objective: str = "sharpe", min_trades: int = 0, options: dict[str, Any] | None = None,
          executor: Executor | None = None, jobs: int | None = None, dask: str | None = None,
          store: str | os.PathLike | TrialStore | None = None, progress: bool = False,
          fast: bool = True, batch_size: int | None = None) -> Sweep:
    """Run ``points`` (parameter dicts) and return the :class:`Sweep` (module docstring)."""
    from workbench.strategies import strategy_class

    cls = strategy_class(strategy)
    if getattr(cls, "option_chains", False):
        raise ConfigError(f"{strategy} trades options, which the optimizer does not build chains for yet; "
                          "run it with workbench backtest")
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    names = sorted({k for p in points for k in p})
    unknown = [n for n in names if n not in cls.parameters]
    if unknown:
        raise ConfigError(f"{strategy}: unknown parameter(s) {unknown}; known: {', '.join(cls.parameters)}")
    frames = tuple(frames)
    spec = TrialSpec(strategy, tuple(sorted((options or {}).items())), objective, int(min_trades),
                     data_hash(frames), fast)
    trial_store = store if isinstance(store, TrialStore) else TrialStore(store)
    keyed = [(spec.key(p), p) for p in points]
    done = trial_store.get([k for k, _ in keyed])
    todo = [p for k, p in keyed if k not in done]
    own_executor = executor is None
    executor = executor or make_executor(jobs=jobs, dask=dask)
    t0 = time.perf_counter()
    results = list(done.values())
    try:
        if todo:
            size = batch_size or max(1, min(64, len(todo) // (executor.workers * 4) or 1))
            batches = [todo[i:i + size] for i in range(0, len(todo), size)]
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=f"{strategy} trials ({executor.name})", disable=not progress,
                       unit="trial")
            for batch_result in executor.run(spec, frames, batches):
                trial_store.put(batch_result)
                results.extend(batch_result)
                bar.update(len(batch_result))
            bar.close()
    finally:
        if own_executor:
            executor.close()
    seconds = time.perf_counter() - t0
    order = {k: i for i, (k, _) in enumerate(keyed)}
    results.sort(key=lambda r: order.get(r["key"], len(order)))
    rows = [{**r["params"], **{k: v for k, v in r.items() if k != "params"}} for r in results if r["key"] in order]
    frame = pd.DataFrame(rows)
    if store is None or not isinstance(store, TrialStore):
        trial_store.close()
    return Sweep(frame, objective, names, seconds, executor.name, cached=len(done), strategy=strategy,
                 frames=frames, options=dict(options or {}))


def search(strategy: str, frames, space: dict[str, Dimension], *, method: str = "grid", n: int = 50,
           seed: int = 0, **kwargs: Any) -> Sweep:
    """Grid, random (``n`` points) or Bayesian (``n`` optuna TPE trials) search over ``space``."""
    if method == "grid":
        return sweep(strategy, frames, grid(space), **kwargs)
    if method == "random":
        return sweep(strategy, frames, random_points(space, n, seed), **kwargs)
    if method == "bayes":
        return _bayes(strategy, frames, space, n, seed, **kwargs)
    raise ConfigError(f"method must be grid, random or bayes, got {method!r}")


def _bayes(strategy, frames, space, n, seed, **kwargs) -> Sweep:
    import optuna

    from workbench.optimize.space import Float, Int

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    store = TrialStore(kwargs.pop("store", None))
    frames = tuple(frames)
    rows, t0 = [], time.perf_counter()
    for _ in range(n):
        trial = study.ask()
        params = {}
        for name, dim in space.items():
            if isinstance(dim, Int):
                params[name] = trial.suggest_int(name, dim.low, dim.high, step=dim.step)
            elif isinstance(dim, Float):
                params[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
            else:
                params[name] = trial.suggest_categorical(name, list(dim.options))
        result = sweep(strategy, frames, [params], store=store, jobs=0, **kwargs)
        rows.append(result.trials)
        value = result.trials["objective"].iloc[0]
        study.tell(trial, float(value) if value == value else float("-inf"))
    frame = pd.concat(rows, ignore_index=True)
    return Sweep(frame, kwargs.get("objective", "sharpe"), sorted(space), time.perf_counter() - t0, "optuna",
                 strategy=strategy, frames=frames, options=dict(kwargs.get("options") or {}))
