"""Where a result came from: a hash of the package's source, the git checkout, package versions.

Caches put :func:`code_hash` into their keys so that a result made by older code is never
served; certification runs record all three next to their figures.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import TypedDict

import workbench
from workbench.hashing import sha256_bytes, sha256_file

_TIMEOUT_S = 10.0
# git's empty tree: what a repository without a commit yet is diffed against
_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class GitState(TypedDict):
    """The commit, whether the tree differs from it, and a hash of the difference."""

    commit: str | None
    dirty: bool | None
    diff_sha256: str | None


@functools.lru_cache(maxsize=None)
def code_hash(*parts: str) -> str:
    """SHA-256 (hex) of the Python source under ``parts`` of the package (none: all of it).

    ``parts`` are paths relative to the ``workbench`` package directory, files or folders
    (``code_hash("feed", "errors.py")``). Each ``.py`` file's relative path and bytes go into
    the hash in sorted order, so an edited, added, removed or renamed file changes it;
    ``__pycache__`` is ignored. Cached per ``parts``: the source does not change while a
    process runs.
    """
    return _source_hash(Path(workbench.__file__).parent, parts)


def _source_hash(root: Path, parts: tuple[str, ...]) -> str:
    files: set[Path] = set()
    for part in parts or ("",):
        target = root / part
        if target.is_file():
            files.add(target)
        elif target.is_dir():
            files.update(p for p in target.rglob("*.py") if "__pycache__" not in p.parts)
        else:
            raise ValueError(f"code_hash: no file or folder {part!r} in {root}")
    parts: list[bytes | str] = []
    for rel, path in sorted((p.relative_to(root).as_posix(), p) for p in files):
        data = path.read_bytes()
        parts += [f"{rel}\0{len(data)}\0", data]
    return sha256_bytes(*parts)


def git_state(path: Path | None = None) -> GitState:
    """The git state of the checkout holding ``path`` (default: the package's directory).

    ``dirty`` is whether ``git status --porcelain`` lists anything (tracked changes or
    untracked files; ignored files do not count). ``diff_sha256`` hashes ``git diff HEAD
    --binary`` plus each untracked file's name and content hash, so two different dirty
    trees differ; it is ``None`` when the tree is clean. Outside a checkout, or without git,
    every value is ``None``. Never raises.
    """
    none: GitState = {"commit": None, "dirty": None, "diff_sha256": None}
    cwd = Path(path) if path is not None else Path(workbench.__file__).parent
    top = _git(cwd, "rev-parse", "--show-toplevel")
    if top is None:
        return none
    root = Path(top.decode().strip())
    head = _git(root, "rev-parse", "--verify", "--quiet", "HEAD")
    commit = head.decode().strip() if head else None
    status = _git(root, "status", "--porcelain")
    if status is None:
        return {**none, "commit": commit}
    if not status.strip():
        return {"commit": commit, "dirty": False, "diff_sha256": None}
    diff = _git(root, "diff", commit or _EMPTY_TREE, "--binary", "--no-color", "--no-ext-diff")
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z")
    if diff is None or untracked is None:
        return {"commit": commit, "dirty": True, "diff_sha256": None}
    parts: list[bytes | str] = [diff]
    for name in sorted(n for n in untracked.split(b"\0") if n):
        parts += [b"\0untracked\0", name, b"\0", _file_sha256(root / name.decode(errors="surrogateescape"))]
    return {"commit": commit, "dirty": True, "diff_sha256": sha256_bytes(*parts)}


def package_versions(names: Iterable[str]) -> dict[str, str | None]:
    """The installed version of each distribution in ``names`` (``None`` if not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git(cwd: Path, *args: str) -> bytes | None:
    """stdout of ``git args`` in ``cwd``, or ``None`` if git is missing, fails or hangs."""
    try:
        # --no-optional-locks: do not refresh the index, which would race another git process.
        done = subprocess.run(["git", "--no-optional-locks", *args], cwd=cwd, capture_output=True,
                              timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _file_sha256(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return "unreadable"
