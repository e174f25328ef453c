"""What every check gets: the run's parameters, thresholds, a work folder, the outputs it
records for reproducibility, and the scenarios it shares with other checks.

Outputs are the deterministic results of the run (fills, journals, statistics, alert
transitions, validation findings...). Each is hashed from canonical JSON: keys sorted, floats
rounded to 12 significant digits so that a figure which differs only in its last bits on
another CPU (a vectorized sum in another order) still hashes the same, while any change a user
could see does not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.hashing import sha256_bytes, sha256_json

SIGNIFICANT = 12  # digits a float keeps in a hashed output

# The performance workloads are the same size in both profiles: the ratios they give depend
# on the size (a longer replay runs at a lower rate per event), and thresholds.yaml holds one
# bound per ratio. The full profile repeats them more often and checks more of the rest.
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"crash_trials": 10, "repeats": 5, "perf_bars": 50_000, "perf_events": 94_000, "perf_orders": 3_000,
              "memory_rows": 93_600, "sweep_fast": [5, 10, 20], "sweep_slow": [30, 60, 120]},
    "full": {"crash_trials": 50, "repeats": 7, "perf_bars": 50_000, "perf_events": 94_000, "perf_orders": 3_000,
             "memory_rows": 93_600, "sweep_fast": [5, 10, 15, 20, 30], "sweep_slow": [40, 60, 90, 120, 200]},
}


def canonical(x: Any) -> Any:
    """Plain data for hashing: floats to 12 significant digits, times as ISO text, arrays
    and tuples as lists, NaN as the string ``"nan"``."""
    if isinstance(x, (np.generic,)):
        x = x.item()
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return float(f"{x:.{SIGNIFICANT}g}")
    if isinstance(x, (pd.Timestamp,)):
        return x.isoformat()
    if isinstance(x, dict):
        return {str(k): canonical(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [canonical(v) for v in x]
    if isinstance(x, np.ndarray):
        return [canonical(v) for v in x.tolist()]
    if isinstance(x, pd.DataFrame):
        return {"columns": [str(c) for c in x.columns], "index": canonical(list(x.index)),
                "rows": canonical(x.to_numpy().tolist())}
    if isinstance(x, pd.Series):
        return {"index": canonical(list(x.index)), "values": canonical(x.to_numpy().tolist())}
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return x


def digest(x: Any) -> str:
    """SHA-256 of ``canonical(x)`` as compact sorted JSON."""
    return sha256_json(canonical(x))


def results_sha256(outputs: dict[str, dict[str, Any]]) -> str:
    """One hash over every output's name and hash."""
    lines = "\n".join(f"{name} {outputs[name]['sha256']}" for name in sorted(outputs))
    return sha256_bytes(lines)


@dataclass
class Context:
    """The state a certification run shares between its checks (module docstring)."""

    params: dict[str, Any]
    thresholds: dict[str, dict]
    workdir: Path
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)  # input data name -> sha256
    goldens: dict[str, dict[str, Any]] | None = None  # outputs to compare with (None: none shipped)
    golden_source: str = ""
    memo: dict[Any, Any] = field(default_factory=dict)
    recorded_by: dict[str, list[str]] = field(default_factory=dict)  # check name -> outputs it recorded
    producers: dict[str, Callable[[Context], Any]] = field(default_factory=dict)  # check name -> the check

    @property
    def seed(self) -> int:
        return int(self.params["seed"])

    @property
    def profile(self) -> dict[str, Any]:
        return PROFILES[self.params["profile"]]

    def bound(self, key: str) -> dict[str, float]:
        """``{"min": x}`` and/or ``{"max": y}`` of threshold ``key``, and its unit."""
        from workbench.errors import ConfigError

        spec = self.thresholds.get(key)
        if spec is None:
            raise ConfigError(f"no threshold {key!r} (thresholds.yaml)")
        return spec

    def once(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(self, *args)``, computed once per run: scenarios several checks look at."""
        key = (fn.__module__, fn.__qualname__, args)
        if key not in self.memo:
            self.memo[key] = fn(self, *args)
        return self.memo[key]

    def record(self, name: str, data: Any, **figures: Any) -> str:
        """Keep a deterministic output for ``results_sha256`` and the goldens; ``figures``
        are a few numbers shown when it changes. Returns its hash."""
        sha = digest(data)
        self.outputs[name] = {"sha256": sha, "figures": canonical(figures)}
        return sha

    def subdir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

