"""A real server on 127.0.0.1 and Debian's Chromium driven by Playwright (no browser download)."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from workbench.browser import CHROMIUM, ensure_chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "runs" / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _ensure_chromium() -> None:
    try:
        ensure_chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp_path, *extra) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # its output goes to a file: a pipe nobody reads would stop the server once 64 KB of log filled it
    log = open(tmp_path / f"serve-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port), "--runs",
                             str(tmp_path / "runs"), *extra], stdout=log, stderr=subprocess.STDOUT, text=True)
    log.close()
    proc.log = tmp_path / f"serve-{port}.log"
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:  # poll until it answers: readiness, not a fixed wait (/liveness builds no session)
        try:
            with urllib.request.urlopen(url + "liveness", timeout=5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"server did not start: {server_log(proc)}")
            time.sleep(0.2)
    return proc, url


def server_log(proc, tail: int = 4000) -> str:
    """The end of a server's output (for a failure's message)."""
    try:
        return proc.log.read_text(errors="replace")[-tail:]
    except OSError as exc:
        return f"(no log: {exc})"


class ServerURL(str):
    """A served app's address, with its process (for its log in a failure's message)."""

    def __new__(cls, url: str, proc):
        self = super().__new__(cls, url)
        self.proc = proc
        return self


@pytest.fixture(scope="module")  # closed before other modules: Playwright's sync API holds an event loop
def browser():
    _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def server(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "index.jsonl").write_text(json.dumps({"started": "2026-01-01T00:00:00+00:00", "profile": "quick",
                                                  "passed": True, "results_sha256": "ab" * 32,
                                                  "dir": str(runs / "none")}) + "\n")
    proc, url = start_server(tmp_path)
    yield ServerURL(url, proc)
    proc.terminate()
    proc.wait(timeout=20)
