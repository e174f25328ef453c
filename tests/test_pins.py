"""environment.yml mirrors constraints.txt: every conda pin equals the pip pin."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"arch-py": "arch"}


def test_conda_pins_match_constraints():
    pins = dict(
        line.strip().lower().split("==")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    conda = re.findall(r"^\s+- ([a-z0-9_.-]+)=([0-9][^\s]*)$", (ROOT / "environment.yml").read_text(), re.M)
    assert len(conda) >= 8
    for name, version in conda:
        if name == "python":
            continue
        pip_name = CONDA_NAMES.get(name, name)
        assert pins.get(pip_name) == version, f"{name}: environment.yml {version}, constraints {pins.get(pip_name)}"
    for required in ("numpy", "pandas", "pyarrow", "arch"):
        assert required in pins, f"{required} is not pinned"
