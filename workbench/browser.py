"""Debian's Chromium, which the browser tests and the dashboard benchmark drive with
Playwright (never a downloaded browser): where it is, and installing it where it is not."""

from __future__ import annotations

import os
import shutil
import subprocess

CHROMIUM = "/usr/bin/chromium"


def ensure_chromium() -> None:
    """Install Debian's ``chromium`` package with apt-get when it is missing and this
    process may (root, apt-get present); a :class:`RuntimeError` saying so when it is still
    missing."""
    if os.path.exists(CHROMIUM):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, capture_output=True)
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"Debian's chromium is not installed at {CHROMIUM} and could not be installed with "
                           "apt-get (as root: apt-get install chromium)")
