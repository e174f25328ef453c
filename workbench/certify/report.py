"""The certification report: checks, categories, thresholds and the ``report.json`` schema.

Schema (version 1)::

    {
      "schema": "workbench.certify/1",
      "started": ISO time, "finished": ISO time, "duration_s": float,
      "passed": bool,                       # every check of every category
      "results_sha256": hex,                # the trading outputs (deterministic)
      "inputs": {"parameters": {...}, "thresholds": {...}, "data": {name: sha256},
                 "packages": {name: version}, "git_commit": str | null, "kernel": str,
                 "python": str, "platform": str},
      "categories": [
        {"name": "market_data", "title": str, "passed": bool, "duration_s": float,
         "checks": [{"name", "passed", "measured", "threshold", "unit", "duration_s", "detail"}]}
      ]
    }

``measured`` is the figure measured in this run; ``threshold`` is ``{"min": x}``,
``{"max": x}`` or ``{"equals": x}`` (``null`` for a check that is pass/fail by nature);
``detail`` says in words what was measured against what.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError

SCHEMA = "workbench.certify/1"
THRESHOLDS_FILE = Path(__file__).with_name("thresholds.yaml")
CATEGORIES = (
    ("market_data", "Market data workflow"),
    ("trading_execution", "Trading execution workflow"),
    ("optimization", "Optimization integration"),
    ("monitoring_analytics", "Monitoring and analytics integration"),
    ("error_handling", "Error handling and recovery"),
    ("performance", "Performance under load"),
)


@dataclass
class Check:
    name: str
    passed: bool
    measured: Any = None
    threshold: dict[str, float] | None = None
    unit: str = ""
    duration_s: float = 0.0
    detail: str = ""


@dataclass
class Category:
    name: str
    title: str
    checks: list[Check] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "passed": self.passed, "duration_s": self.duration_s,
                "checks": [asdict(c) for c in self.checks]}

    def table(self):
        """The checks as a DataFrame (for notebooks)."""
        import pandas as pd

        return pd.DataFrame([{"check": c.name, "passed": c.passed, "measured": c.measured, "unit": c.unit,
                              "threshold": c.threshold, "detail": c.detail} for c in self.checks])


class Recorder:
    """Runs the checks of one category, timing each; a check that raises fails with its
    error as the detail (never crashes the run)."""

    def __init__(self, name: str, thresholds: dict[str, dict]) -> None:
        title = dict(CATEGORIES)[name]
        self.category = Category(name, title)
        self.thresholds = thresholds
        self._t0 = time.perf_counter()

    def check(self, name: str, fn: Callable[[], tuple[bool, Any, str]], *, unit: str = "") -> Check:
        """``fn`` returns (passed, measured, detail)."""
        t0 = time.perf_counter()
        try:
            passed, measured, detail = fn()
        except Exception as exc:  # a failing check, reported as such
            passed, measured = False, None
            detail = f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=2).splitlines()[-1]}"
        c = Check(name, bool(passed), _plain(measured), None, unit, time.perf_counter() - t0, detail)
        self.category.checks.append(c)
        return c

    def measure(self, name: str, key: str, fn: Callable[[], tuple[float, str]]) -> Check:
        """A figure against threshold ``key`` from the thresholds file; ``fn`` returns
        (measured, what was measured)."""
        spec = self.thresholds.get(key)
        if spec is None:
            raise ConfigError(f"no threshold {key!r} (thresholds.yaml)")
        bound = {k: v for k, v in spec.items() if k in ("min", "max")}
        unit = spec.get("unit", "")

        def run() -> tuple[bool, Any, str]:
            value, what = fn()
            ok = not (isinstance(value, float) and math.isnan(value))
            if "min" in bound:
                ok = ok and value >= bound["min"]
            if "max" in bound:
                ok = ok and value <= bound["max"]
            rel = f">= {bound['min']:,}" if "min" in bound else f"<= {bound['max']:,}"
            return ok, value, f"{what}: measured {value:,.4g} {unit}, expected {rel} {unit}"

        c = self.check(name, run, unit=unit)
        c.threshold = bound
        return c

    def done(self) -> Category:
        self.category.duration_s = time.perf_counter() - self._t0
        return self.category


def _plain(x: Any) -> Any:
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def load_thresholds(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, dict]:
    """The shipped thresholds (or ``path``), with ``overrides`` ``{name: value}`` replacing
    the bound of each named threshold. Unknown names are errors."""
    source = Path(path) if path is not None else THRESHOLDS_FILE
    try:
        data = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"thresholds {source}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"thresholds {source}: expected a mapping of name -> {{min|max, unit}}")
    for name, spec in (overrides or {}).items():
        if name not in data:
            raise ConfigError(f"threshold {name!r} is unknown; known: {', '.join(sorted(data))}")
        try:
            value = float(spec)
        except (TypeError, ValueError):
            raise ConfigError(f"threshold {name}: not a number: {spec!r}") from None
        key = "min" if "min" in data[name] else "max"
        data[name] = {**data[name], key: value}
    return data


@dataclass
class Report:
    parameters: dict[str, Any]
    thresholds: dict[str, dict]
    categories: list[Category] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    outputs: list[str] = field(default_factory=list)  # lines hashed into results_sha256
    data: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return len(self.categories) == len(CATEGORIES) and all(c.passed for c in self.categories)

    def results_sha256(self) -> str:
        import hashlib

        return hashlib.sha256("\n".join(self.outputs).encode()).hexdigest()

    def to_dict(self, kernel: str = "workbench") -> dict[str, Any]:
        from workbench.certify.inputs import environment

        finished = time.time()
        return {
            "schema": SCHEMA,
            "started": _iso(self.started),
            "finished": _iso(finished),
            "duration_s": finished - self.started,
            "passed": self.passed,
            "results_sha256": self.results_sha256(),
            "inputs": {"parameters": self.parameters, "thresholds": self.thresholds, "data": self.data,
                       **environment(kernel)},
            "categories": [c.to_dict() for c in self.categories],
        }

    def save(self, path: str | Path, kernel: str = "workbench") -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(kernel), indent=2, default=str) + "\n")
        return out


def _iso(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat()
