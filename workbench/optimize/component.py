"""The optimizer as a component: runs sweeps and counts them."""

from __future__ import annotations

from typing import Any

import workbench
from workbench.component import CheckResult, run_check


class Optimizer:
    """Runs :func:`~workbench.optimize.runner.sweep` and keeps the figures for ``stats()``."""

    name = "optimizer"

    def __init__(self) -> None:
        self._trials = 0
        self._cached = 0
        self._seconds = 0.0
        self._sweeps = 0

    def sweep(self, *args: Any, **kwargs: Any):
        from workbench.optimize.runner import sweep

        result = sweep(*args, **kwargs)
        self._sweeps += 1
        self._trials += len(result.trials)
        self._cached += result.cached
        self._seconds += result.seconds
        return result

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "version": workbench.__version__,
                "capabilities": ["grid", "random", "bayes:optuna", "walk-forward", "dsr", "pbo",
                                 "executors:in-process,processes,dask", "fast-path:sma_cross,buy_and_hold"],
                "config": {}}

    def stats(self) -> dict[str, float | int]:
        ran = self._trials - self._cached
        return {"sweeps": self._sweeps, "trials": self._trials, "cache_hits": self._cached,
                "trials_per_second": ran / self._seconds if self._seconds else 0.0}

    def self_test(self) -> list[CheckResult]:
        return [run_check(self.name, "fast_path_equals_engine", _check_fast_path),
                run_check(self.name, "dsr_worked_example", _check_dsr)]


def _check_fast_path() -> str:
    from workbench.engine import backtest
    from workbench.feed import synthetic_bars
    from workbench.optimize import fastpath
    from workbench.strategies import SmaCross

    bars = synthetic_bars(1, days=400, seed=9)
    s = SmaCross(fast=5, slow=20)
    a, b = backtest(s, bars).summary(), fastpath.run(s, bars).summary()
    if a != b:
        raise AssertionError(f"fast path {b} differs from engine {a}")
    return f"{a['fills']} fills, every figure identical (fills sha256 {a['fills_sha256'][:12]})"


def _check_dsr() -> str:
    import math

    from workbench.optimize.overfit import expected_max_sharpe, probabilistic_sharpe

    # Bailey and Lopez de Prado (2014): SR 2.5 a year, 5 years of days, skew -3, kurtosis 10,
    # 100 trials with Sharpe variance 0.5 a year -> SR0 0.1132, DSR 0.9004.
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    dsr = probabilistic_sharpe(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0)
    if abs(sr0 - 0.1132) > 5e-4 or abs(dsr - 0.9004) > 5e-4:
        raise AssertionError(f"SR0 {sr0:.4f}, DSR {dsr:.4f}; the paper has 0.1132 and 0.9004")
    return f"SR0 {sr0:.4f}, DSR {dsr:.4f} as in the paper"
