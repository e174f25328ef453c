"""Analytics as a component: info, measured stats and self-test, like the others."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

import workbench
from workbench.component import CheckResult, run_check


class Analytics:
    """Runs analyses and counts them; the functions themselves are pure (module docs)."""

    name = "analytics"

    def __init__(self) -> None:
        self._runs: dict[str, int] = {}
        self._seconds: dict[str, float] = {}

    def run(self, analysis: str, fn, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` and count it as ``analysis`` in :meth:`stats`."""
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self._runs[analysis] = self._runs.get(analysis, 0) + 1
            self._seconds[analysis] = self._seconds.get(analysis, 0.0) + time.perf_counter() - t0

    def info(self) -> dict[str, Any]:
        from workbench.analytics import forecast

        return {
            "name": self.name,
            "version": workbench.__version__,
            "capabilities": ["performance", "round_trips", "drift_test", "stl", "anomalies",
                             "forecast:" + ",".join(forecast.MODELS), "garch", "tearsheet:html,png"],
            "config": {"periods_per_year": 252, "theta_window": forecast.THETA_WINDOW},
        }

    def stats(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {"analyses": sum(self._runs.values())}
        for name, n in sorted(self._runs.items()):
            out[f"{name}_runs"] = n
            out[f"{name}_mean_seconds"] = self._seconds[name] / n
        return out

    def self_test(self) -> list[CheckResult]:
        return [
            run_check(self.name, "sharpe_by_hand", _check_sharpe),
            run_check(self.name, "drawdown_by_hand", _check_drawdown),
            run_check(self.name, "anomaly_found", _check_anomaly),
        ]


def _check_sharpe() -> str:
    from workbench.analytics.performance import sharpe

    r = pd.Series([0.01, -0.02, 0.03, 0.0, 0.015])
    mean = sum(r) / 5
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / 4)
    want = mean / sd * math.sqrt(252)
    got = sharpe(r)
    if not math.isclose(got, want, rel_tol=1e-12):
        raise AssertionError(f"sharpe {got}, by hand {want}")
    return f"sharpe {got:.6f} equals the hand computation"


def _check_drawdown() -> str:
    from workbench.analytics.performance import max_drawdown

    got = max_drawdown(pd.Series([0.10, -0.50, 0.20]))  # 1 -> 1.1 -> 0.55 -> 0.66
    if not math.isclose(got, -0.5, rel_tol=1e-12):
        raise AssertionError(f"max drawdown {got}, by hand -0.5")
    return "max drawdown -50% as computed by hand"


def _check_anomaly() -> str:
    from workbench.analytics.timeseries import anomalies

    x = pd.Series(np.random.default_rng(0).normal(0, 1, 500))
    x.iloc[321] = 12.0
    found = anomalies(x, threshold=6.0)
    if list(found.index) != [321]:
        raise AssertionError(f"expected the spike at 321, found {list(found.index)}")
    return "an injected 12-sigma spike is the only anomaly found"
