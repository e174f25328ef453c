"""What a certification ran on: package versions, git commit, interpreter, platform."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("workbench", "numpy", "pandas", "pyarrow", "scipy", "statsmodels", "arch", "numba", "holoviews",
            "bokeh", "prometheus_client", "psutil", "dask", "distributed", "optuna", "papermill", "nbconvert")


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the source tree (``None`` outside a git checkout)."""
    where = path or Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def environment(kernel: str = "workbench") -> dict[str, Any]:
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {"packages": packages, "git_commit": git_commit(), "kernel": kernel,
            "python": sys.version.split()[0], "platform": platform.platform()}
