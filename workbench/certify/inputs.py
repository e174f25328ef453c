"""What a certification ran on: package versions, the git checkout (commit, dirty flag and a
hash of the difference), the interpreter and kernel, the platform."""

from __future__ import annotations

import platform
import sys
from typing import Any

from workbench.provenance import code_hash, git_state, package_versions

PACKAGES = ("workbench", "numpy", "pandas", "pyarrow", "scipy", "statsmodels", "arch", "numba", "holoviews",
            "bokeh", "prometheus_client", "psutil", "dask", "distributed", "optuna", "papermill", "nbconvert",
            "ipykernel", "jupyter_client")


def environment(kernel: dict[str, Any] | None = None) -> dict[str, Any]:
    """Provenance for ``report.json``: ``kernel`` describes the interpreter the checks ran in
    (``certification.kernel_info()``); the runner adds the kernel's name."""
    return {"packages": package_versions(PACKAGES), "git": dict(git_state()), "code_sha256": code_hash(),
            "kernel": kernel or {"executable": sys.executable, "prefix": sys.prefix},
            "python": sys.version.split()[0], "platform": platform.platform()}
