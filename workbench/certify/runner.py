"""``workbench certify``: the certification notebook executed by papermill, reported.

Parameters are validated here, before any kernel starts (papermill itself only warns on
names the notebook does not declare). The notebook runs on the registered ``workbench``
kernel (registered into this environment on first use), writes ``report.json``; the
runner renders HTML, appends the run to ``runs/index.jsonl`` and returns 0 only when every
check passed.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from workbench.certify.checks import PROFILES
from workbench.certify.report import CATEGORIES, load_thresholds
from workbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "10_certification.ipynb"
KERNEL = "workbench"
PARAMETERS = {  # name: (type, check, help)
    "profile": (str, lambda v: v in PROFILES, "quick or full"),
    "seed": (int, lambda v: 0 <= v < 2**32, "an integer >= 0"),
    "crash_trials": (int, lambda v: 1 <= v <= 1000, "an integer from 1 to 1000"),
}


def validate(params: dict[str, Any], profile: str = "quick") -> dict[str, Any]:
    """Known names, right types, in range; thresholds checked against the shipped file.
    Returns the full parameter set the notebook gets."""
    if profile not in PROFILES:
        raise ConfigError(f"--profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    out: dict[str, Any] = {"profile": profile, "seed": 7, "crash_trials": PROFILES[profile]["crash_trials"],
                           "thresholds": {}}
    for name, value in params.items():
        if name.startswith("threshold."):
            out["thresholds"][name.split(".", 1)[1]] = value
            continue
        if name == "thresholds":
            if not isinstance(value, dict):
                raise ConfigError("thresholds: expected a mapping of threshold name -> value")
            out["thresholds"].update(value)
            continue
        if name not in PARAMETERS:
            raise ConfigError(f"unknown parameter {name!r}; known: {', '.join(PARAMETERS)}, threshold.NAME")
        kind, ok, help_text = PARAMETERS[name]
        try:
            typed = kind(value) if not isinstance(value, bool) else None
            if kind is int and isinstance(value, str) and not value.strip().lstrip("-").isdigit():
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigError(f"parameter {name}: {value!r} is not {help_text}") from None
        if typed is None or not ok(typed):
            raise ConfigError(f"parameter {name}: {value!r} is not {help_text}")
        out[name] = typed
    load_thresholds(overrides=out["thresholds"])  # unknown names and non-numbers fail here
    out["thresholds"] = {k: float(v) for k, v in out["thresholds"].items()}
    return out


def read_params_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"-f {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"-f {path}: expected a mapping of parameter -> value")
    return data


def ensure_kernel(name: str = KERNEL) -> str:
    """Register this environment's Python as the ``workbench`` kernel if it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager

    if name not in KernelSpecManager().find_kernel_specs():
        from ipykernel.kernelspec import install

        install(kernel_name=name, display_name="Python (workbench)", prefix=sys.prefix)
    return name


def certify(profile: str = "quick", params: dict[str, Any] | None = None, out: Path | None = None,
            runs: Path = Path("runs"), notebook: Path = NOTEBOOK, progress: bool = False) -> tuple[dict, Path]:
    """Validate, execute, render, index. Returns (report dict, run directory)."""
    import papermill

    full = validate(params or {}, profile)
    if not notebook.is_file():
        raise ConfigError(f"no certification notebook at {notebook}")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = Path(out) if out is not None else runs / f"certify-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    kernel = ensure_kernel()
    executed = out / "certification.ipynb"
    t0 = time.time()
    error = None
    try:
        papermill.execute_notebook(str(notebook), str(executed), parameters={**full, "out_dir": str(out.resolve())},
                                   kernel_name=kernel, progress_bar=progress, cwd=str(ROOT))
    except papermill.PapermillExecutionError as exc:
        error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    _html(executed, out / "certification.html")
    report_file = out / "report.json"
    if report_file.is_file() and error is None:
        report = json.loads(report_file.read_text())
    else:
        report = {"schema": "workbench.certify/1", "passed": False, "error": error or "no report.json written",
                  "categories": [], "results_sha256": None}
        report_file.write_text(json.dumps(report, indent=2) + "\n")
    runs.mkdir(parents=True, exist_ok=True)
    with open(runs / "index.jsonl", "a") as index:
        index.write(json.dumps({"started": dt.datetime.fromtimestamp(t0, dt.timezone.utc).isoformat(),
                                "dir": str(out), "profile": profile, "passed": report["passed"],
                                "results_sha256": report.get("results_sha256"), "duration_s": time.time() - t0,
                                "categories": {c["name"]: c["passed"] for c in report.get("categories", [])}}) + "\n")
    return report, out


def _html(notebook: Path, target: Path) -> None:
    if not notebook.is_file():
        return
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(str(notebook), as_version=4))
    target.write_text(body)


def summary_lines(report: dict) -> list[str]:
    """The terminal summary: one line per category and per failed check."""
    lines = []
    for c in report.get("categories", []):
        n = len(c["checks"])
        ok = sum(ch["passed"] for ch in c["checks"])
        lines.append(f"{'PASS' if c['passed'] else 'FAIL'}  {c['title']:<40} {ok}/{n} checks  {c['duration_s']:6.1f} s")
        for ch in c["checks"]:
            if not ch["passed"]:
                lines.append(f"      x {ch['name']}: {ch['detail']}")
    done = [c["name"] for c in report.get("categories", [])]
    for name, title in CATEGORIES:
        if name not in done:
            lines.append(f"FAIL  {title:<40} did not run")
    if report.get("error"):
        lines.append(f"notebook error: {report['error']}")
    passed = sum(c["passed"] for c in report.get("categories", []))
    lines.append(f"{passed} of {len(CATEGORIES)} categories passed"
                 + (f"; results sha256 {report['results_sha256'][:16]}..." if report.get("results_sha256") else ""))
    return lines
