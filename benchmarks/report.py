"""The README's performance table, generated from one ``make bench`` run.

Every benchmark writes ``benchmarks/results/<bench>.json`` (``harness.Targets``): the
machine it ran on, and each figure beside its target with the measure that decides it. This
script refuses results that are not one complete ``make bench`` run at the default sizes on
committed code (every benchmark, one run id, one commit, no uncommitted changes) and
recomputes each verdict from its measure; then it writes the table between the README's ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` markers, with
the date, machine and commit; ``--check`` only says whether the README holds that table
(the test suite runs it, so a hand-edited figure fails there).

Run: ``python benchmarks/report.py [--results DIR] [--readme FILE] [--check]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from harness import OPS, verdict  # noqa: E402
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
ORDER = ("bench_backtest", "bench_optimize", "bench_broker", "bench_feed", "bench_monitor", "bench_analytics",
         "bench_options", "bench_reliability", "bench_dashboard")  # every benchmark, in the table's order (and make bench's)


class ReportError(Exception):
    """Results that cannot make one table (named file and reason)."""


def _row_problem(r: Any) -> str | None:
    """Why a row of a result cannot go into the table (None: it can)."""
    if not isinstance(r, dict):
        return "a row is not an object"
    for key in ("figure", "value", "target"):
        text = r.get(key)
        if not isinstance(text, str) or not text.strip():
            return f"a row's {key!r} is not text"
        if any(bad in text for bad in ("\n", "\r", "<!--", "-->")):
            return f"{key} {text[:40]!r} holds a line break or a comment marker"
    op, measure, bound, met = r.get("op"), r.get("measure"), r.get("bound"), r.get("met")
    if op is None:
        if met is not None or r["target"] != "measured":
            return f"{r['figure']!r}: no op, yet a target {r['target']!r} or a verdict {met!r}"
        return None
    if op not in OPS:
        return f"{r['figure']!r}: op {op!r} is not one of {', '.join(OPS)}"
    for name, x in (("measure", measure), ("bound", bound)):
        if x is not None and (isinstance(x, bool) or not isinstance(x, (int, float))):
            return f"{r['figure']!r}: {name} {x!r} is not a number"
    if bound is None or not math.isfinite(bound):
        return f"{r['figure']!r}: bound {bound!r} is not a finite number"
    if met is not verdict(measure, op, bound):
        return f"{r['figure']!r} says met={met}, its measure gives {verdict(measure, op, bound)}"
    return None


def _load_one(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=lambda c: None if c != "NaN" else math.nan)
    except (OSError, ValueError, RecursionError) as exc:
        raise ReportError(f"{path}: not a benchmark result ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("machine"), dict):
        raise ReportError(f"{path}: not a benchmark result (no machine)")
    if data.get("bench") != path.stem or path.stem not in ORDER:
        raise ReportError(f"{path}: its bench {str(data.get('bench'))[:40]!r} is not its file's name, one of "
                          f"{', '.join(ORDER)}")
    m = data["machine"]
    kinds = {"run": str, "commit": str, "date": str, "cpu": str, "cores": int, "usable_cores": int,
             "memory_gb": (int, float), "load_average": list}
    for key, kind in kinds.items():
        if not isinstance(m.get(key), kind):
            raise ReportError(f"{path}: machine {key} {str(m.get(key))[:40]!r} is missing or malformed")
    if len(m["load_average"]) != 3 or not all(isinstance(x, (int, float)) for x in m["load_average"]):
        raise ReportError(f"{path}: machine load_average {m['load_average']!r} is not three numbers")
    rows = data.get("targets")
    if not isinstance(rows, list) or not rows:
        raise ReportError(f"{path}: no figures")
    for r in rows:
        problem = _row_problem(r)
        if problem:
            raise ReportError(f"{path}: {problem}")
    if data.get("defaults") is not True:
        raise ReportError(f"{path}: run with {str(data.get('args'))[:200]}, not the default sizes the table states")
    if m.get("dirty") is not False:
        raise ReportError(f"{path}: measured on code with changes not committed (or outside git)")
    return {"bench": path.stem, "machine": m, "rows": rows}


def load(results: Path) -> list[dict]:
    """The results of one complete ``make bench`` run, in table order; a :class:`ReportError`
    naming the file and the reason otherwise (a benchmark missing or unknown, a malformed
    file, results of two runs, machines or commits, of a standalone run, sizes other than the
    defaults, code not committed, a verdict that its own measure does not give)."""
    if not results.is_dir():
        raise ReportError(f"no benchmark results folder {results} (make bench writes it)")
    files = sorted(results.glob("bench_*.json"))
    if not files:
        raise ReportError(f"no benchmark results in {results} (make bench writes them)")
    out = [_load_one(path) for path in files]
    for what, key in (("runs", "run"), ("commits", "commit"), ("machines", "cpu")):
        seen: dict[str, list[str]] = {}
        for b in out:
            seen.setdefault(str(b["machine"][key]), []).append(b["bench"])
        if len(seen) > 1:
            detail = "; ".join(f"{k}: {', '.join(names)}" for k, names in sorted(seen.items()))
            raise ReportError(f"{results}: the results come from {len(seen)} {what}, not one ({detail}); "
                              f"run make bench again")
    run = out[0]["machine"]["run"]
    if run.startswith("standalone"):
        raise ReportError(f"{results}: results of standalone runs ({run}), not of one make bench run")
    missing = sorted(set(ORDER) - {b["bench"] for b in out})
    if missing:
        raise ReportError(f"{results}: no results of {', '.join(missing)}: run make bench (all of them)")
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(out, key=lambda r: rank[r["bench"]])


def render(benches: list[dict]) -> str:
    m = benches[0]["machine"]
    dates = sorted(b["machine"]["date"] for b in benches)
    lines = [BEGIN,
             f"Generated by `benchmarks/report.py` from one `make bench` run (run {m.get('run')}, "
             f"{dates[0]} to {dates[-1]}, commit {m.get('commit')}) on {m['cpu']}, "
             f"{m['usable_cores']} of {m['cores']} cores, {m['memory_gb']} GB; the times are when the first and "
             f"the last benchmark started. (load): the 1-minute load average just before the benchmark, out of "
             f"{m['usable_cores']} cores. us: microseconds. Do not edit: run `make bench`.",
             "",
             _tally(benches),
             "",
             "| benchmark (load) | figure | measured | target | met |",
             "| --- | --- | --- | --- | --- |"]
    for b in benches:
        load = b["machine"]["load_average"][0]
        for r in b["rows"]:
            met = {True: "yes", False: "**no**", None: "(measured)"}[r["met"]]
            cells = [f"`{b['bench']}.py` ({load:.2f})", r["figure"], r["value"], r["target"], met]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    lines.append(END)
    return "\n".join(lines)


def _tally(benches: list[dict]) -> str:
    """How many of the run's targets were met, and which benchmarks missed some."""
    rows = [(b["bench"], r) for b in benches for r in b["rows"] if r["met"] is not None]
    missed = [bench for bench, r in rows if not r["met"]]
    met = len(rows) - len(missed)
    if not missed:
        return f"**{met} of {len(rows)} targets met in this run.**"
    where = ", ".join(f"`{b}.py` ({missed.count(b)})" for b in dict.fromkeys(missed))
    return (f"**{met} of {len(rows)} targets met in this run**; the {len(missed)} not met (marked **no**) are in "
            f"{where}.")


def splice(readme: str, table: str) -> str:
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise ReportError(f"the README needs one {BEGIN} ... {END} pair, in that order")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    for part in (head, tail):  # figures only in the generated table
        if "| `bench_" in part:
            raise ReportError("the README has a benchmark row outside the generated table: figures come only "
                              "from benchmarks/results")
    return head + table + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--readme", type=Path, default=HERE.parent / "README.md")
    parser.add_argument("--check", action="store_true", help="only check that the README holds the table")
    args = parser.parse_args(argv)
    try:
        table = render(load(args.results))
        readme = args.readme.read_text(encoding="utf-8")
        new = splice(readme, table)
    except (ReportError, OSError, UnicodeDecodeError) as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != readme:
            print(f"report: {args.readme}'s performance table is not the one {args.results} gives "
                  f"(edited by hand, or results changed without regenerating it): run benchmarks/report.py",
                  file=sys.stderr)
            return 1
        print(f"{args.readme}: the performance table matches {args.results}")
        return 0
    args.readme.write_text(new)
    print(f"{args.readme}: performance table written from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
