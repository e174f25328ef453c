"""The certification report: checks, categories, thresholds and the ``report.json`` schema.

Schema (version 2)::

    {
      "schema": "workbench.certify/2",
      "started": ISO time, "finished": ISO time, "duration_s": float,
      "passed": bool,                       # every check of every category
      "results_sha256": hex,                # every deterministic output (see ``outputs``)
      "outputs": {name: {"sha256": hex, "figures": {...}}},
      "inputs": {"parameters": {...}, "thresholds": {...}, "data": {name: sha256},
                 "packages": {name: version}, "git": {"commit", "dirty", "diff_sha256"},
                 "kernel": {"name", "executable", "prefix", "pid"}, "python": str, "platform": str},
      "categories": [
        {"name": "market_data", "title": str, "passed": bool, "duration_s": float,
         "checks": [{"name", "passed", "measured", "expected", "bounds", "unit", "detail",
                     "figures", "duration_s"}]}
      ],
      "faults": null | {"rate": float, "caught": int, "total": int, "rows": [...]}
    }

``measured`` is the figure measured in this run; ``expected`` what an independent computation
(a textbook formula, a brute-force computation, the documented rule, a shipped golden value)
says it should be; ``bounds`` the interval ``{"min": a, "max": b}`` it must lie in (either
end may be missing; ``null`` for a check that compares structures for equality);
``figures`` the raw figures behind a ratio; ``detail`` says in words what was compared.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError
from workbench.jsonsafe import jsonable

SCHEMA = "workbench.certify/2"
THRESHOLDS_FILE = Path(__file__).with_name("thresholds.yaml")
CATEGORIES = (
    ("market_data", "Market data workflow"),
    ("trading_execution", "Trading execution workflow"),
    ("optimization", "Optimization integration"),
    ("monitoring_analytics", "Monitoring and analytics integration"),
    ("error_handling", "Error handling and recovery"),
    ("performance", "Performance under load"),
    ("reproducibility", "Reproducibility"),
)
TITLES = dict(CATEGORIES)


@dataclass
class Check:
    """The verdict of one check (see the module docstring for the fields)."""

    name: str
    passed: bool
    measured: Any = None
    expected: Any = None
    bounds: dict[str, float] | None = None
    unit: str = ""
    detail: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


@dataclass
class Category:
    name: str
    title: str
    checks: list[Check] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "passed": self.passed, "duration_s": self.duration_s,
                "checks": [c.to_dict() for c in self.checks]}

    def table(self):
        """The checks as a DataFrame (for notebooks)."""
        import pandas as pd

        return pd.DataFrame([{"check": c.name, "passed": c.passed, "measured": c.measured, "expected": c.expected,
                              "bounds": c.bounds, "unit": c.unit, "detail": c.detail} for c in self.checks])


# --- verdicts: the one place a figure is held against its bounds ----------------------------


def within(measured: float | None, *, lo: float | None = None, hi: float | None = None, expected: Any = None,
           unit: str = "", what: str = "", figures: dict[str, Any] | None = None) -> Check:
    """``lo <= measured <= hi`` (either bound may be ``None``); NaN or ``None`` never passes."""
    bounds = {k: float(v) for k, v in (("min", lo), ("max", hi)) if v is not None}
    number = isinstance(measured, (int, float)) and not isinstance(measured, bool) and math.isfinite(measured)
    ok = number and (lo is None or measured >= lo) and (hi is None or measured <= hi)
    text = f"{what}: measured {_fmt(measured)}{_unit(unit)}, expected {_range(lo, hi)}{_unit(unit)}"
    if expected is not None and not isinstance(expected, (int, float)):
        text += f" ({expected})"
    return Check("", bool(ok), measured, expected, bounds, unit, text, dict(figures or {}))


def near(measured: float | None, expected: float, *, rel: float = 1e-9, abs_tol: float = 0.0, unit: str = "",
         what: str = "", figures: dict[str, Any] | None = None) -> Check:
    """Two-sided: ``|measured - expected| <= max(rel * |expected|, abs_tol)``."""
    tol = max(rel * abs(expected), abs_tol)
    check = within(measured, lo=expected - tol, hi=expected + tol, unit=unit, what=what, figures=figures)
    check.expected = expected
    check.detail = (f"{what}: measured {_fmt(measured)}{_unit(unit)}, expected {_fmt(expected)}{_unit(unit)} "
                    f"(independent computation) within {_fmt(tol)}")
    return check


def same(measured: Any, expected: Any, *, what: str = "", unit: str = "", limit: int = 3) -> Check:
    """Equality of two structures (lists compared item by item: the first differences are
    named in the detail)."""
    if isinstance(measured, list) and isinstance(expected, list):
        wrong = [f"#{i}: measured {m!r}, expected {e!r}" for i, (m, e) in enumerate(zip(measured, expected)) if m != e]
        mismatched = len(wrong)
        wrong += [f"unexpected {m!r}" for m in measured[len(expected):]]
        wrong += [f"missing {e!r}" for e in expected[len(measured):]]
        if len(measured) != len(expected):
            wrong.append(f"{len(measured)} items measured, {len(expected)} expected")
        ok = not wrong
        text = f"{what}: " + ("; ".join(wrong[:limit]) + (f"; {len(wrong) - limit} more" if len(wrong) > limit else "")
                              if wrong else f"all {len(expected)} as expected")
        return Check("", ok, min(len(measured), len(expected)) - mismatched, len(expected), None, unit, text)
    ok = measured == expected
    text = f"{what}: measured {measured!r}, expected {expected!r}"
    return Check("", bool(ok), jsonable(measured), jsonable(expected), None, unit, text)


def all_near(items: list[tuple[str, float, float]], *, rel: float = 1e-9, what: str = "", limit: int = 3) -> Check:
    """Each ``(label, measured, expected)`` agrees to ``rel`` (relative; NaN only with NaN)."""
    wrong = []
    for label, m, e in items:
        both_nan = isinstance(m, float) and isinstance(e, float) and math.isnan(m) and math.isnan(e)
        if both_nan:
            continue
        if not (isinstance(m, (int, float)) and math.isfinite(m) and math.isfinite(e)
                and abs(m - e) <= rel * max(abs(e), 1e-300)):
            wrong.append(f"{label}: measured {_exact(m)}, expected {_exact(e)}")
    text = f"{what}: " + ("; ".join(wrong[:limit]) + (f"; {len(wrong) - limit} more" if len(wrong) > limit else "")
                          if wrong else f"all {len(items)} agree within {rel:g} (relative)")
    return Check("", not wrong, len(items) - len(wrong), len(items), None, "figures", text)


def _exact(x: Any) -> str:
    """A number in full (a difference in the 10th digit must show)."""
    return repr(float(x)) if isinstance(x, (int, float)) and not isinstance(x, bool) else repr(x)


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        return f"{x:,.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.4g}"
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    return repr(x)


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"in [{_fmt(float(lo))}, {_fmt(float(hi))}]"
    if lo is not None:
        return f">= {_fmt(float(lo))}"
    if hi is not None:
        return f"<= {_fmt(float(hi))}"
    return "a finite number"


# --- thresholds ------------------------------------------------------------------------------


def load_thresholds(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, dict]:
    """The shipped thresholds (or ``path``), with ``overrides`` ``{name: value}`` replacing
    the bound of each named threshold. Unknown names and non-numbers are errors."""
    source = Path(path) if path is not None else THRESHOLDS_FILE
    try:
        data = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"thresholds {source}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) and ({"min", "max"} & set(v)) for v in data.values()):
        raise ConfigError(f"thresholds {source}: expected a mapping of name -> {{min|max, unit, why}}")
    for name, spec in (overrides or {}).items():
        if name not in data:
            raise ConfigError(f"threshold {name!r} is unknown; known: {', '.join(sorted(data))}")
        try:
            value = float(spec)
        except (TypeError, ValueError):
            raise ConfigError(f"threshold {name}: not a number: {spec!r}") from None
        if not math.isfinite(value):
            raise ConfigError(f"threshold {name}: not a finite number: {spec!r}")
        key = "min" if "min" in data[name] else "max"
        data[name] = {**data[name], key: value}
    return data


# --- the report ------------------------------------------------------------------------------


@dataclass
class Report:
    parameters: dict[str, Any]
    thresholds: dict[str, dict]
    categories: list[Category] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"sha256", "figures"}
    data: dict[str, str] = field(default_factory=dict)
    faults: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        ran = {c.name for c in self.categories}
        ok = ran == set(TITLES) and all(c.passed for c in self.categories)
        return ok and (self.faults is None or self.faults["caught"] == self.faults["total"])

    def results_sha256(self) -> str:
        from workbench.certify.context import results_sha256

        return results_sha256(self.outputs)

    def to_dict(self, kernel: dict[str, Any] | None = None) -> dict[str, Any]:
        from workbench.certify.inputs import environment

        finished = time.time()
        return {
            "schema": SCHEMA,
            "started": _iso(self.started),
            "finished": _iso(finished),
            "duration_s": finished - self.started,
            "passed": self.passed,
            "results_sha256": self.results_sha256(),
            "outputs": self.outputs,
            "inputs": {"parameters": self.parameters, "thresholds": self.thresholds, "data": self.data,
                       **environment(kernel)},
            "categories": [c.to_dict() for c in self.categories],
            "faults": self.faults,
        }

    def save(self, path: str | Path, kernel: dict[str, Any] | None = None) -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(kernel), indent=2, default=str) + "\n")
        return out


def _iso(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat()
