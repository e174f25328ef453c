"""``workbench certify``: the certification notebook executed by papermill, reported.

Parameters are validated here, before any kernel starts (papermill itself only warns on
names the notebook does not declare), and again by the notebook's first cell. The notebook
runs on the registered ``workbench`` kernel (registered into this environment on first
use), writes ``report.json`` and raises when the certification failed; the runner records
which kernel ran it, renders HTML, appends the run to ``runs/index.jsonl`` and returns the
report. With ``update_goldens`` it records the run's outputs as the goldens of its profile
and seed, provided every category but Reproducibility passed.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from workbench.certify.context import PROFILES
from workbench.certify.html import report_html
from workbench.certify.report import CATEGORIES, SCHEMA, load_thresholds
from workbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "10_certification.ipynb"
KERNEL = "workbench"


def _fault_names(value: Any) -> str:
    from workbench.certify.faults import FAULTS

    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    text = "" if value is None else str(value).strip()
    if text in ("", "none", "all"):
        return "" if text == "none" else text
    known = {f.name for f in FAULTS}
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise ConfigError(f"parameter faults: an empty fault name in {text!r}")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"parameter faults: unknown fault(s) {', '.join(unknown)}; "
                          f"known: all, none, {', '.join(sorted(known))}")
    return ",".join(names)


# The rule each scalar parameter of the notebook is held to (its name, type and default
# are the notebook's own, read from its parameters cell).
RULES = {  # name: (check, help)
    "profile": (lambda v: v in PROFILES, f"one of {', '.join(PROFILES)}"),
    "seed": (lambda v: 0 <= v < 2**32, "an integer from 0 to 2**32 - 1"),
    "crash_trials": (lambda v: 1 <= v <= 1000, "an integer from 1 to 1000 (0: the profile's)"),
}
RUNNER_ONLY = ("out_dir",)  # set by the runner, not by a user


@functools.lru_cache(maxsize=4)
def notebook_parameters(notebook: Path = NOTEBOOK) -> dict[str, tuple[type, Any]]:
    """``{name: (type, default)}`` of the notebook's ``parameters`` cell, read by
    ``papermill.inspect_notebook``: the notebook is the one place they are declared."""
    import papermill

    found = papermill.inspect_notebook(str(notebook))
    types = {"int": int, "str": str, "dict": dict, "float": float, "bool": bool}
    return {name: (types[p["inferred_type_name"]], ast.literal_eval(p["default"]))
            for name, p in found.items() if name not in RUNNER_ONLY}


def validate(params: dict[str, Any], profile: str = "quick") -> dict[str, Any]:
    """Known names, right types, in range; thresholds checked against the shipped file.
    Returns the full parameter set the notebook gets (``crash_trials`` 0: the profile's)."""
    declared = notebook_parameters()
    params = dict(params)
    profile = params.pop("profile", profile)
    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    out: dict[str, Any] = {name: default for name, (_, default) in declared.items()}
    out.update(profile=profile, crash_trials=PROFILES[profile]["crash_trials"], thresholds={})
    for name, value in params.items():
        if name.startswith("threshold."):
            out["thresholds"][name.split(".", 1)[1]] = value
        elif name == "thresholds":
            if not isinstance(value, dict):
                raise ConfigError("parameter thresholds: expected a mapping of threshold name -> bound")
            out["thresholds"].update(value)
        elif name == "faults":
            out["faults"] = _fault_names(value)
        elif name not in declared:
            raise ConfigError(f"unknown parameter {name!r}; known: {', '.join(declared)}, threshold.NAME")
        elif name == "crash_trials" and value in (None, 0, "0"):
            continue  # the profile's
        else:
            out[name] = _typed(name, value, declared[name][0])
    load_thresholds(overrides=out["thresholds"])  # unknown names and non-numbers fail here
    out["thresholds"] = {k: float(v) for k, v in out["thresholds"].items()}
    for name, value in out["thresholds"].items():
        if not value > 0:  # every bound is a positive ratio, speed-up, fraction or share
            raise ConfigError(f"threshold {name}: must be > 0, got {value:g}")
    return out


def _typed(name: str, value: Any, kind: type) -> Any:
    ok, help_text = RULES[name]
    typed: Any = None
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            typed = value
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            typed = int(value)
    elif isinstance(value, str):
        typed = value
    if typed is None or not ok(typed):
        raise ConfigError(f"parameter {name}: {value!r} is not {help_text}")
    return typed


def read_params_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"-f {path}: not a readable YAML file: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"-f {path}: expected a mapping of parameter -> value")
    return data


class LocalKernelManager(AsyncKernelManager):
    """A kernel that talks to papermill over Unix sockets in the temporary folder instead of
    TCP: nothing listens on the network, and the kernel has nothing to warn about."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:  # the sockets are <ip>-<port>, removed when the kernel stops
        return os.path.join(tempfile.gettempdir(), f"workbench-kernel-{uuid.uuid4().hex[:12]}")


def ensure_kernel(name: str = KERNEL) -> str:
    """Register this environment's Python as the ``workbench`` kernel if it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager

    if name not in KernelSpecManager().find_kernel_specs():
        from ipykernel.kernelspec import install

        install(kernel_name=name, display_name="Python (workbench)", prefix=sys.prefix)
    return name


def certify(profile: str = "quick", params: dict[str, Any] | None = None, out: Path | None = None,
            runs: Path = Path("runs"), notebook: Path = NOTEBOOK, progress: bool = False,
            update_goldens: bool = False) -> tuple[dict, Path]:
    """Validate, execute, render, index (and record goldens). Returns (report, run folder).
    A run is listed in the ``index.jsonl`` of the folder it is in (``runs`` by default)."""
    import papermill

    full = validate(params or {}, profile)
    if not notebook.is_file():
        raise ConfigError(f"no certification notebook at {notebook}")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = Path(out) if out is not None else runs / f"certify-{stamp}-{uuid.uuid4().hex[:6]}"
    runs = out.parent
    with run_folder(out):
        kernel = ensure_kernel()
        executed = out / "certification.ipynb"
        report_file = out / "report.json"
        t0 = time.time()
        error = None
        try:
            papermill.execute_notebook(str(notebook), str(executed),
                                       parameters={**full, "out_dir": str(out.resolve())}, kernel_name=kernel,
                                       progress_bar=progress, cwd=str(ROOT), kernel_manager_class=LocalKernelManager,
                                       execution_timeout=CELL_TIMEOUT_S)
        except papermill.PapermillExecutionError as exc:
            if exc.ename != "CertificationFailed":  # a failed certification raises on purpose
                error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        except Exception as exc:  # a kernel that died or a cell past its time: reported, not raised
            error = f"{type(exc).__name__}: {exc}"
        if report_file.is_file():
            report = json.loads(report_file.read_text())
            if error is not None:
                report["passed"], report["error"] = False, error
        else:
            report = {"schema": SCHEMA, "passed": False, "error": error or "no report.json written",
                      "categories": [], "results_sha256": None, "faults": None}
        _record_kernel(report, executed, kernel)
        report_file.write_text(json.dumps(report, indent=2) + "\n")
        if update_goldens:
            report["goldens_updated"] = _update_goldens(report, full)
            report_file.write_text(json.dumps(report, indent=2) + "\n")
        (out / "certification.html").write_text(report_html(report))
    with open(runs / "index.jsonl", "a") as index:
        index.write(json.dumps({"started": dt.datetime.fromtimestamp(t0, dt.timezone.utc).isoformat(),
                                "dir": str(out), "profile": full["profile"], "passed": report["passed"],
                                "results_sha256": report.get("results_sha256"), "duration_s": time.time() - t0,
                                "categories": {c["name"]: c["passed"] for c in report.get("categories", [])},
                                "faults": None if not report.get("faults") else
                                f"{report['faults']['caught']}/{report['faults']['total']}"}) + "\n")
    return report, out


CELL_TIMEOUT_S = 1800  # a cell that runs longer (a hung or dead kernel) ends the run with an error
OUTPUTS = ("report.json", "certification.ipynb", "certification.html", "faults.md")
LOCK = ".certifying"


@contextlib.contextmanager
def run_folder(out: Path):
    """The run's folder, writable and held by this run alone for its duration: made if
    missing, refused when another certification is writing to it, cleared of an earlier
    run's outputs (so nothing stale is read as this run's)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        if _holder(out / LOCK) is None:  # left by a run that was killed
            (out / LOCK).unlink(missing_ok=True)
        fd = os.open(out / LOCK, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        raise ConfigError(f"--out {out}: another certification (pid {_holder(out / LOCK)}) is writing there; "
                          f"wait for it or choose another folder") from None
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write there: {exc.strerror or exc}") from None
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        for name in OUTPUTS:
            (out / name).unlink(missing_ok=True)
        yield out
    finally:
        (out / LOCK).unlink(missing_ok=True)


def _holder(lock: Path) -> int | None:
    """The pid of the live process that holds ``lock``; ``None`` when none does."""
    try:
        pid = int(lock.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):  # no lock, no such process, or not a pid
        return None
    return pid


def _record_kernel(report: dict, executed: Path, kernel: str) -> None:
    """The kernel that actually ran the notebook, from the executed notebook's metadata."""
    inputs = report.setdefault("inputs", {})
    info = inputs.setdefault("kernel", {})
    if executed.is_file():
        meta = json.loads(executed.read_text()).get("metadata", {})
        info["name"] = meta.get("kernelspec", {}).get("name")
        info["display_name"] = meta.get("kernelspec", {}).get("display_name")
    else:
        info["name"] = None
    info["requested"] = kernel
    if "prefix" in info:
        info["same_environment"] = Path(info["prefix"]).resolve() == Path(sys.prefix).resolve()


def _update_goldens(report: dict, params: dict[str, Any]) -> str:
    from workbench.certify.reproducibility import golden_key, save_goldens

    others = [c for c in report.get("categories", []) if c["name"] != "reproducibility"]
    failed = [c["title"] for c in others if not c["passed"]]
    if len(others) != len(CATEGORIES) - 1 or failed:
        raise ConfigError("goldens not updated: every category but Reproducibility must pass first"
                          + (f" ({', '.join(failed)} failed)" if failed else ""))
    git = report.get("inputs", {}).get("git", {})
    save_goldens(report["outputs"], params,
                 {"date": report.get("finished"), "commit": git.get("commit"), "dirty": git.get("dirty")})
    return golden_key(params)


def summary_lines(report: dict) -> list[str]:
    """The terminal summary: one line per category and per failed check, then the faults."""
    lines = []
    overridden = report.get("inputs", {}).get("parameters", {}).get("thresholds") or {}
    if overridden:
        lines.append("bounds overridden: " + ", ".join(f"{k}={v:g}" for k, v in sorted(overridden.items()))
                     + " (thresholds.yaml not in force for these)")
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
    if report.get("faults"):
        from workbench.certify.faults import table_lines

        lines += ["", "Fault detection:", *table_lines(report["faults"])]
    passed = sum(c["passed"] for c in report.get("categories", []))
    lines.append(f"{passed} of {len(CATEGORIES)} categories passed"
                 + (f"; results sha256 {report['results_sha256'][:16]}..." if report.get("results_sha256") else ""))
    return lines
