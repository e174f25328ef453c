"""Alert rules: a YAML file of conditions over metric windows, with Prometheus semantics.

A rule file::

    rules:
      - name: OrderLatencyP99High
        metric: workbench_broker_place_order_latency_seconds
        aggregation: p99          # avg, min, max, last, rate, p50, p90, p95, p99
        window: 60s               # the samples the aggregation looks at
        op: ">"                   # >, >=, <, <=, ==, !=
        threshold: 0.01
        for: 30s                  # how long the condition must hold before firing
        keep_firing_for: 0s       # how long a firing alert stays up after it clears
        severity: warning         # info, warning, critical
        labels: {team: trading}
        annotations:
          summary: "place_order p99 is {value:.4f} s (threshold {threshold})"

Each label set of the metric is its own alert instance. At every evaluation: an inactive
instance whose condition holds becomes *pending* (``active since`` now); a pending one
becomes *firing* once the condition has held at every evaluation for ``for``, and goes
back to inactive if it misses one; a firing one stays firing while the condition holds and
for ``keep_firing_for`` after it clears, then becomes *resolved* (kept, with its resolve
time, in the store). Annotations are Python format strings with ``value``, ``threshold``,
``rule`` and ``labels``. Durations take ``ms``, ``s``, ``m``, ``h`` or ``d``.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from workbench.errors import ConfigError
from workbench.units import seconds

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
       "==": operator.eq, "!=": operator.ne}
AGGREGATIONS = ("avg", "min", "max", "last", "rate", "p50", "p90", "p95", "p99")
SEVERITIES = ("info", "warning", "critical")
DEFAULT_RULES = Path(__file__).with_name("default_rules.yaml")


@dataclass(frozen=True)
class Rule:
    """One alert rule (module docstring); times in seconds."""

    name: str
    metric: str
    aggregation: str
    window: float
    op: str
    threshold: float
    for_: float = 0.0
    keep_firing_for: float = 0.0
    severity: str = "warning"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    def holds(self, value: float) -> bool:
        """Whether the condition holds for an aggregated value (NaN never holds)."""
        return not math.isnan(value) and OPS[self.op](value, self.threshold)

    def annotate(self, value: float, labels: dict[str, str]) -> dict[str, str]:
        """The annotations with ``value``, ``threshold``, ``rule`` and ``labels`` filled in
        (a label the instance lacks reads as empty)."""
        context = {"value": value, "threshold": self.threshold, "rule": self.name, "labels": _Labels(labels)}
        return {k: v.format(**context) for k, v in self.annotations.items()}


class _Labels(dict):
    def __missing__(self, key: str) -> str:
        return ""


def aggregate(aggregation: str, samples: list[tuple[float, float]]) -> float:
    """Aggregate ``(time, value)`` samples of one window; NaN when there are none (or, for
    ``rate``, fewer than two)."""
    if not samples:
        return math.nan
    if aggregation == "last":
        return samples[-1][1]
    if aggregation == "rate":  # per second, for counters (a reset counts from zero)
        if len(samples) < 2:
            return math.nan
        (t0, v0), (t1, v1) = samples[0], samples[-1]
        if t1 <= t0:
            return math.nan
        return (v1 - v0 if v1 >= v0 else v1) / (t1 - t0)
    return aggregate_values(aggregation, np.fromiter((v for _, v in samples), dtype=float, count=len(samples)))


def aggregate_values(aggregation: str, values: np.ndarray) -> float:
    """``avg``, ``min``, ``max`` or ``pNN`` of a window's values (NaN when there are none)."""
    if aggregation in ("last", "rate"):
        raise ValueError(f"{aggregation!r} needs the samples' times: use aggregate()")
    if values.size == 0:
        return math.nan
    if aggregation == "avg":
        return float(values.mean())
    if aggregation == "min":
        return float(values.min())
    if aggregation == "max":
        return float(values.max())
    return float(np.percentile(values, float(aggregation[1:])))


def load_rules(source: str | Path | dict | list | None = None) -> list[Rule]:
    """Rules from a YAML file, YAML text, or parsed data; the default pack when ``None``.
    A bad rule is a :class:`ConfigError` that names the rule and the field."""
    if source is None:
        source = DEFAULT_RULES
    where = "rules"
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml"))):
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"no rule file {path}")
        where = str(path)
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    elif isinstance(source, str):
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            raise ConfigError(f"rules: not valid YAML: {exc}") from None
    else:
        data = source
    items = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ConfigError(f"{where}: expected a list under 'rules'")
    rules, names = [], set()
    for i, item in enumerate(items):
        rule = _rule(item, f"{where}: rule {i + 1}")
        if rule.name in names:
            raise ConfigError(f"{where}: rule {rule.name!r}: the name is used twice")
        names.add(rule.name)
        rules.append(rule)
    return rules


_FIELDS = {"name", "metric", "aggregation", "window", "op", "threshold", "for", "keep_firing_for",
           "severity", "labels", "annotations"}


def _rule(item: Any, where: str) -> Rule:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(item).__name__}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: field 'name' is required (a non-empty string)")
    where = f"{where.rsplit(':', 1)[0]}: rule {name!r}"
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}; fields are {sorted(_FIELDS)}")
    for required in ("metric", "aggregation", "window", "op", "threshold"):
        if required not in item:
            raise ConfigError(f"{where}: field {required!r} is required")
    if not isinstance(item["metric"], str) or not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", item["metric"]):
        raise ConfigError(f"{where}: field 'metric' must be a metric name, got {item['metric']!r}")
    if item["aggregation"] not in AGGREGATIONS:
        raise ConfigError(f"{where}: field 'aggregation' must be one of {', '.join(AGGREGATIONS)}, "
                          f"got {item['aggregation']!r}")
    if item["op"] not in OPS:
        raise ConfigError(f"{where}: field 'op' must be one of {' '.join(OPS)}, got {item['op']!r}")
    threshold = item["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise ConfigError(f"{where}: field 'threshold' must be a finite number, got {threshold!r}")
    severity = item.get("severity", "warning")
    if severity not in SEVERITIES:
        raise ConfigError(f"{where}: field 'severity' must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    for key in ("labels", "annotations"):
        value = item.get(key, {}) or {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ConfigError(f"{where}: field {key!r} must map strings to strings")
    window = seconds(item["window"], f"{where}: field 'window'")
    if window <= 0:
        raise ConfigError(f"{where}: field 'window' must be > 0")
    rule = Rule(
        name=name, metric=item["metric"], aggregation=item["aggregation"], window=window, op=item["op"],
        threshold=float(threshold), for_=seconds(item.get("for", 0), f"{where}: field 'for'"),
        keep_firing_for=seconds(item.get("keep_firing_for", 0), f"{where}: field 'keep_firing_for'"),
        severity=severity, labels=dict(item.get("labels") or {}), annotations=dict(item.get("annotations") or {}),
    )
    try:
        rule.annotate(1.0, {})
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{where}: field 'annotations': bad template ({exc}); use {{value}}, "
                          f"{{threshold}}, {{rule}}, {{labels}}") from None
    return rule
