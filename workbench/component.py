"""The standard component API: ``info()``, ``stats()``, ``self_test()``.

Every major component (feed, broker, engine, monitor, analytics, optimizer) offers these
three, so monitoring, dashboards and certification treat them alike (docs/architecture.md).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class CheckResult:
    """One functional check: did it pass, what was measured, how long it took (seconds)."""

    component: str
    name: str
    passed: bool
    detail: str = ""
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Component(Protocol):
    def info(self) -> dict[str, Any]: ...

    def stats(self) -> dict[str, float | int]: ...

    def self_test(self) -> list[CheckResult]: ...


def run_check(component: str, name: str, check: Callable[[], str]) -> CheckResult:
    """Run ``check``; it returns a detail string on success and raises on failure."""
    t0 = time.perf_counter()
    try:
        detail = check()
        passed = True
    except Exception as exc:  # a self-test reports failures, it does not crash
        passed = False
        detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    return CheckResult(component, name, passed, detail, time.perf_counter() - t0)
