"""The seven categories and their checks, and how one category runs.

A check is a plain function ``check(ctx) -> Check`` of one of the category modules; its
name is the function's name. Running a category times each check and turns an exception
into a failed check whose detail is the error (a check that raises never crashes the run).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable

from workbench.certify import (
    market_data,
    monitoring,
    optimization,
    performance,
    recovery,
    reproducibility,
    trading,
)
from workbench.certify.context import Context
from workbench.certify.report import TITLES, Category, Check

CheckFunction = Callable[[Context], Check]

CHECKS: dict[str, list[CheckFunction]] = {
    "market_data": market_data.CHECKS,
    "trading_execution": trading.CHECKS,
    "optimization": optimization.CHECKS,
    "monitoring_analytics": monitoring.CHECKS,
    "error_handling": recovery.CHECKS,
    "performance": performance.CHECKS,
    "reproducibility": reproducibility.CHECKS,
}


def run_check(fn: CheckFunction, ctx: Context) -> Check:
    """One check, timed; an exception is a failed check that says what was raised where."""
    before = set(ctx.outputs)
    t0 = time.perf_counter()
    try:
        check = fn(ctx)
    except Exception as exc:  # a failing check, reported as such
        where = traceback.extract_tb(exc.__traceback__)[-1]
        check = Check("", False, detail=f"raised {type(exc).__name__}: {exc} "
                                        f"({_short_path(where.filename)}:{where.lineno})")
    check.name = fn.__name__
    check.duration_s = time.perf_counter() - t0
    new = sorted(set(ctx.outputs) - before)
    if new:
        ctx.recorded_by[fn.__name__] = new
        ctx.producers[fn.__name__] = fn
    return check


def run_category(name: str, ctx: Context, only: tuple[str, ...] | None = None) -> Category:
    """Run the checks of one category (``only``: just these) and return its verdicts."""
    category = Category(name, TITLES[name])
    t0 = time.perf_counter()
    for fn in CHECKS[name]:
        if only is None or fn.__name__ in only:
            category.checks.append(run_check(fn, ctx))
    category.duration_s = time.perf_counter() - t0
    return category


def _short_path(filename: str) -> str:
    parts = filename.replace("\\", "/").split("/")
    return "/".join(parts[-2:])
