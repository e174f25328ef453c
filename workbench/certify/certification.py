"""One certification run, as the notebook drives it: categories one by one, the fault
matrix, the report, and an exception at the end when anything failed (so that papermill
and nbval see a failed certification as a failed notebook)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from workbench.certify import faults as fault_library
from workbench.certify.checks import run_category
from workbench.certify.context import Context
from workbench.certify.report import CATEGORIES, Category, Report, load_thresholds
from workbench.certify.reproducibility import golden_key, load_goldens
from workbench.errors import WorkbenchError


class CertificationFailed(WorkbenchError):
    """The certification ran and at least one check (or fault detection) failed."""


class Certification:
    """A run of the seven categories over validated parameters (see ``runner.validate``)."""

    def __init__(self, params: dict[str, Any], out_dir: str | Path, workdir: str | Path | None = None) -> None:
        self.params = params
        self.out_dir = Path(out_dir)
        self.thresholds = load_thresholds(overrides=params.get("thresholds"))
        self.report = Report(parameters=params, thresholds=self.thresholds)
        # The checks' files (journals, data, stores) go to <out_dir>/work, removed by close():
        # a run that was killed leaves them where its report would be, not hidden in /tmp.
        folder = Path(workdir) if workdir is not None else self.out_dir / "work"
        self._own_workdir = workdir is None
        if self._own_workdir:
            shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        goldens = load_goldens(params)
        self.ctx = Context(params={k: params[k] for k in ("profile", "seed", "crash_trials")},
                           thresholds=self.thresholds, workdir=folder, goldens=goldens,
                           golden_source=f"goldens.json {golden_key(params)}")

    def run(self, category: str) -> Category:
        """Run one category (in the documented order) and add it to the report."""
        result = run_category(category, self.ctx)
        self.report.categories = [c for c in self.report.categories if c.name != category] + [result]
        self.report.outputs = dict(self.ctx.outputs)
        self.report.data = dict(self.ctx.data)
        self.save()  # the report so far: a later cell that fails loses nothing measured
        return result

    def run_faults(self, names: list[str] | None = None, echo: bool = True):
        """The fault matrix (every fault, or ``names``) against this run's healthy outputs;
        its table as a DataFrame."""
        import pandas as pd

        def show(result: fault_library.FaultResult) -> None:
            if echo:
                verdict = "caught" if result.caught else "NOT CAUGHT"
                print(f"  {result.fault.name:<36} {verdict:<11} red: {', '.join(sorted(result.red)) or 'none'} "
                      f"({result.seconds:.1f} s)", flush=True)

        self.report.faults = fault_library.run_faults(self.ctx.params, self.thresholds, dict(self.ctx.outputs),
                                                      names, progress=show)
        self.save()
        return pd.DataFrame(self.report.faults["rows"])[["fault", "expected_red", "categories_red", "caught",
                                                          "checks_red", "seconds"]]

    def save(self) -> Path:
        """``report.json`` (and ``faults.md`` after a fault run) in the output folder."""
        path = self.report.save(self.out_dir / "report.json", kernel=kernel_info())
        if self.report.faults is not None:
            (self.out_dir / "faults.md").write_text("\n".join(fault_library.table_lines(self.report.faults)) + "\n")
        return path

    def raise_if_failed(self) -> None:
        """Raise :class:`CertificationFailed` naming what failed; return quietly otherwise."""
        if self.report.passed:
            return
        problems = [f"{c.title}: {', '.join(c.failed())}" for c in self.report.categories if not c.passed]
        ran = {c.name for c in self.report.categories}
        problems += [f"{title}: did not run" for name, title in CATEGORIES if name not in ran]
        f = self.report.faults
        if f is not None and f["caught"] < f["total"]:
            missed = [r["fault"] for r in f["rows"] if not r["caught"]]
            problems.append(f"faults not caught by their category: {', '.join(missed)}")
        raise CertificationFailed("certification FAILED: " + "; ".join(problems))

    def close(self) -> None:
        """Remove the work folder (when it is this run's own)."""
        if self._own_workdir:
            shutil.rmtree(self.ctx.workdir, ignore_errors=True)


def kernel_info() -> dict[str, Any]:
    """The interpreter this code runs in, and the Jupyter kernel it serves, if any."""
    import os

    info: dict[str, Any] = {"executable": sys.executable, "prefix": sys.prefix, "pid": os.getpid(),
                            "connection_file": None}
    try:
        from ipykernel.kernelapp import IPKernelApp

        if IPKernelApp.initialized():
            info["connection_file"] = IPKernelApp.instance().connection_file
    except ImportError:
        pass
    return info
