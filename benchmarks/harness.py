"""What every benchmark here shares, so that none of them can flatter.

* :func:`machine` states where and when: CPU model, cores (all and usable), memory, the load
  average just before the run, Python, the commit.
* :func:`interleaved` times two or more programs the fair way: each is warmed the same number
  of times first, then the repeats alternate between them (the order rotating every round, so
  neither always runs on a cooler or warmer machine), in the same process on the same cores.
  It returns the best and the median of each, and each program's last result, for the
  equivalence check the benchmark states (:func:`same`).
* :class:`Targets` collects each figure beside its target, marked met or not, printed at the
  end and written to the JSON the README's table is generated from (``report.py``).

Written here rather than taken from ``pytest-benchmark``/``pyperf``: both time one program at
a time; what the benchmarks need is two programs interleaved in one process.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil


def machine() -> dict[str, Any]:
    """Where and when this run happens (read before it starts: the load average is the
    machine's state before our work)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit, dirty = None, None
    try:
        git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True,  # noqa: E731
                                         cwd=Path(__file__).resolve().parent, timeout=10).stdout.strip()
        commit = git("rev-parse", "--short", "HEAD") or None
        # any change to the repository, tracked or new (a new module shadows a committed one), but
        # the benchmarks' own outputs: figures of code that is not the commit's
        dirty = bool(git("status", "--porcelain", "--untracked-files=normal", "--", ":(top)",
                         ":(top,exclude)benchmarks/results", ":(top,exclude)README.md")) if commit else None
    except (OSError, subprocess.SubprocessError):
        pass
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return {
        # `make bench` gives its benchmarks one run id: the README's table takes one run's figures
        "run": os.environ.get("WORKBENCH_BENCH_RUN") or f"standalone {date}",
        "date": date,
        "cpu": model,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "commit": commit,
        "dirty": dirty,
    }


def describe(m: dict[str, Any]) -> str:
    return (f"{m['cpu']}, {m['usable_cores']} of {m['cores']} cores usable, {m['memory_gb']} GB, "
            f"load average {' / '.join(f'{x:.2f}' for x in m['load_average'])} before the run, "
            f"Python {m['python']}, commit {m['commit'] or '?'}{' with changes not committed' if m['dirty'] else ''}, "
            f"{m['date']}")


class Timing(dict):
    """``best``, ``median`` and every repeat's ``times`` (seconds) of one program."""

    @property
    def best(self) -> float:
        return self["best"]

    @property
    def median(self) -> float:
        return self["median"]


def interleaved(programs: dict[str, Callable[[], Any]], repeats: int = 3, warmup: int = 1,
                progress: bool = True) -> tuple[dict[str, Timing], dict[str, Any]]:
    """Time ``programs`` (name -> callable) interleaved (module docstring): ``warmup`` untimed
    calls of each, then ``repeats`` rounds, each calling every program once, the order
    rotated by one each round. Returns ({name: Timing}, {name: its last result})."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    names = list(programs)
    results: dict[str, Any] = {}
    for _ in range(warmup):
        for name in names:
            results[name] = programs[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            results[name] = None  # the previous result freed before the next is built
            gc.collect()
            t0 = time.perf_counter()
            results[name] = programs[name]()
            times[name].append(time.perf_counter() - t0)
        if progress:
            print(f"  round {r + 1}/{repeats}: " + ", ".join(f"{n} {times[n][-1]:.3f} s" for n in names),
                  file=sys.stderr, flush=True)
    return {n: Timing(best=min(t), median=statistics.median(t), times=t) for n, t in times.items()}, results


class NotEquivalent(AssertionError):
    """Two programs compared for speed did not do the same work."""


def same(what: str, ours: Any, theirs: Any, detail: str = "") -> None:
    """Raise :class:`NotEquivalent` unless ``ours == theirs``: a speed ratio between programs
    that did different work is not reported."""
    if ours != theirs:
        raise NotEquivalent(f"{what} differ{': ' + detail if detail else ''}")


OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b}


def verdict(measure: float | None, op: str | None, bound: float | None) -> bool | None:
    """Whether ``measure op bound`` holds (None: measured without a target). ``report.py``
    recomputes it from the JSON, so a verdict cannot be written in by hand."""
    if op is None:
        return None
    if measure is None or measure != measure:  # not measured, or NaN: not met
        return False
    return bool(OPS[op](measure, bound))


class Targets:
    """Figures beside their targets; printed as a table and written as JSON. Created before
    the benchmark's work, so that the load average it states is the machine's before it."""

    def __init__(self, bench: str, parser=None, args=None) -> None:
        self.bench = bench
        self.machine = machine()
        self.rows: list[dict[str, Any]] = []
        self.figures: dict[str, Any] = {}
        self.args: dict[str, Any] = {}
        self.defaults = True  # run at the sizes the README's table states (make bench)
        if parser is not None and args is not None:
            self.args = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "json"}
            self.defaults = all(getattr(args, k) == parser.get_default(k) for k in self.args)

    def add(self, figure: str, value: str, target: str, measure: float | None = None, op: str | None = None,
            bound: float | None = None) -> None:
        """One row: ``value`` as printed; met when ``measure op bound`` (``op`` None: measured
        without a target)."""
        if op is not None and op not in OPS:
            raise ValueError(f"op must be one of {', '.join(OPS)}, got {op!r}")
        self.rows.append({"figure": figure, "value": value, "target": target, "met": verdict(measure, op, bound),
                          "measure": measure, "op": op, "bound": bound})

    def print(self) -> None:
        print(f"\n{self.bench}: {describe(self.machine)}")
        width = max((len(r["figure"]) for r in self.rows), default=10)
        for r in self.rows:
            mark = {True: "met", False: "NOT MET", None: ""}[r["met"]]
            verdict_text = f"[target {r['target']}: {mark}]" if r["met"] is not None else "[measured]"
            print(f"  {r['figure']:<{width}}  {r['value']}  {verdict_text}")

    def write(self, path: Path | None) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"bench": self.bench, "machine": self.machine, "args": self.args,
                                    "defaults": self.defaults, "targets": self.rows, "figures": self.figures},
                                   indent=2, default=str) + "\n")
