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

import hashlib
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench import __version__
from workbench.errors import ConfigError
from workbench.analytics.performance import equity_statistics
from workbench.sqlite import transaction
from workbench.optimize import fastpath
from workbench.optimize.executors import Executor, make_executor
from workbench.optimize.space import Dimension, grid, random_points
from workbench.provenance import code_hash

OBJECTIVES = ("sharpe", "sortino", "cagr", "total_return", "calmar", "max_drawdown", "final_equity")


def _code_version() -> str:
    """The package version and the hash of all of its source.

    All of it, not just optimize/: a trial runs strategies, the engine, the broker's cost and
    fill models and the analytics, so almost any module can change its figures, and a stale
    trial is worse than a re-run.
    """
    return f"{__version__}+{code_hash()}"


@dataclass(frozen=True)
class TrialSpec:
    """Everything but the parameters that a trial's result depends on."""

    strategy: str
    options: tuple[tuple[str, Any], ...] = ()
    objective: str = "sharpe"
    min_trades: int = 0
    data_hash: str = ""
    fast: bool = True
    # Set where the spec is made (once per sweep) and shipped with it, so workers key trials
    # by the code of the process that started the sweep.
    code: str = field(default_factory=_code_version)

    @cached_property
    def _fixed(self) -> str:
        """The JSON of everything in the key but the parameters (the same for every trial)."""
        return json.dumps({"strategy": self.strategy, "options": dict(self.options), "objective": self.objective,
                           "min_trades": self.min_trades, "data": self.data_hash, "code": self.code},
                          sort_keys=True, default=str)

    def key(self, params: dict[str, Any]) -> str:
        """The store key of the trial with ``params``."""
        text = self._fixed + json.dumps(params, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def data_hash(frames: Iterable[pd.DataFrame]) -> str:
    """A fingerprint of the data frames (values, index and columns)."""
    h = hashlib.sha256()
    for f in frames:
        h.update(pd.util.hash_pandas_object(f, index=True).to_numpy().tobytes())
        h.update(",".join(map(str, f.columns)).encode())
    return h.hexdigest()[:24]


def run_trial(spec: TrialSpec, frames: tuple[pd.DataFrame, ...], params: dict[str, Any]) -> dict[str, Any]:
    """One trial: its statistics, objective (NaN if infeasible or invalid) and timing."""
    from workbench.engine import backtest
    from workbench.strategies import strategy_class

    t0 = time.perf_counter()
    out: dict[str, Any] = {"params": params, "key": spec.key(params)}
    try:
        strategy = strategy_class(spec.strategy)(**params)
    except ConfigError as exc:
        out.update(status="invalid", error=str(exc), objective=math.nan, duration_s=time.perf_counter() - t0)
        return out
    options = dict(spec.options)
    stats = None
    if spec.fast and fastpath.supports(strategy, frames, options):
        stats = fastpath.score(strategy, frames[0], **options)
        out["path"] = "fast"
    if stats is None:
        result = backtest(strategy, *frames, **options)
        stats = {**equity_statistics(result.equity, result.starting_cash), "orders": int(len(result.orders)),
                 "fills": int(len(result.fills)), "trades": int(len(result.trades))}
        out["path"] = "engine"
    stats = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in stats.items()}
    value = stats.get(spec.objective)
    feasible = stats["trades"] >= spec.min_trades and value is not None
    out.update(status="ok" if feasible else "infeasible", objective=float(value) if feasible else math.nan,
               duration_s=time.perf_counter() - t0, **stats)
    return out


def run_batch(spec: TrialSpec, frames, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trials of one batch (the unit an executor ships)."""
    if frames is None:
        from workbench.optimize.executors import worker_frames

        frames = worker_frames()
    return [run_trial(spec, frames, p) for p in batch]


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
                                 [(r["key"], json.dumps(r, default=_json_default)) for r in results])

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def _json_default(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    return str(x)


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

    @property
    def best(self) -> dict[str, Any] | None:
        ok = self.trials[self.trials["status"] == "ok"]
        if ok.empty:
            return None
        row = ok.loc[ok["objective"].idxmax()]
        return {"params": {p: _py(row[p]) for p in self.params}, "objective": float(row["objective"]),
                **{k: _py(row[k]) for k in ("sharpe", "cagr", "max_drawdown", "trades") if k in row}}

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


def _py(v):
    return v.item() if hasattr(v, "item") else v


def sweep(strategy: str, frames: tuple[pd.DataFrame, ...] | list, points: list[dict[str, Any]], *,
          objective: str = "sharpe", min_trades: int = 0, options: dict[str, Any] | None = None,
          executor: Executor | None = None, jobs: int | None = None, dask: str | None = None,
          store: str | os.PathLike | TrialStore | None = None, progress: bool = False,
          fast: bool = True, batch_size: int | None = None) -> Sweep:
    """Run ``points`` (parameter dicts) and return the :class:`Sweep` (module docstring)."""
    from workbench.strategies import strategy_class

    cls = strategy_class(strategy)
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
    return Sweep(frame, objective, names, seconds, executor.name, cached=len(done))


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
    return Sweep(frame, kwargs.get("objective", "sharpe"), sorted(space), time.perf_counter() - t0, "optuna")
