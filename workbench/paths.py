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
