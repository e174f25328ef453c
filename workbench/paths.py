"""Where a run writes, checked before its work starts: a folder that cannot be made or
written is refused at once, not after a sweep or a session has run."""

from __future__ import annotations

import os
from pathlib import Path

from workbench.errors import ConfigError


def check_writable(folder: str | os.PathLike, flag: str = "--out") -> Path:
    """Create ``folder`` if needed and prove a file can be written in it; a
    :class:`ConfigError` naming ``flag`` and the reason otherwise."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: cannot write there ({exc.strerror or exc})") from None
    return path


def write_private(file: str | os.PathLike, text: str) -> None:
    """``text`` to ``file``, mode 0600, whole or not at all (a temporary file, then renamed):
    users files, the cookie secret, a session's command-channel token."""
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, file)
