"""Dashboard load: N concurrent browser sessions streaming updates from one server.

Each session's server callback stamps its update with the server's clock (a hidden element,
five times a second); each page watches that element and records when the stamp arrives by
its own clock (same machine), so ``latency = arrival - stamp`` covers the server callback,
the websocket and the browser applying the change. Reported: p50/p95 update latency over all
sessions, updates received per session, and the server's resident memory (psutil) once all
sessions are live. Debian's Chromium, headless, driven by Playwright.

Run: ``make bench`` or ``python benchmarks/bench_dashboard.py [--sessions N] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import psutil

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
         "--disable-backgrounding-occluded-windows"]
WATCH = """() => {
  window.__lat = []; window.__last = null;
  const find = (root) => {
    const hit = root.querySelector('.wb-t'); if (hit) return hit;
    for (const el of root.querySelectorAll('*')) { if (el.shadowRoot) { const f = find(el.shadowRoot); if (f) return f; } }
    return null;
  };
  setInterval(() => {
    const el = find(document); if (!el) return;
    const t = el.getAttribute('data-t');
    if (t && t !== window.__last) { window.__last = t; window.__lat.push(Date.now() / 1000 - parseFloat(t)); }
  }, 5);
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(sessions: int = 10, seconds: float = 10.0, min_updates: int = 0, patience: float = 120.0) -> dict:
    """Stream for ``seconds``; with ``min_updates``, then go on (at most ``patience`` seconds
    more) until every session has received that many updates: a liveness check that does not
    depend on the machine's speed. ``seconds`` in the result is the window actually used."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    runs = Path(tempfile.mkdtemp())
    server = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port), "--runs", str(runs)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "liveness", timeout=5).close()  # builds no session
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.2)
        idle_rss = psutil.Process(server.pid).memory_info().rss
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            pages = []
            for _ in range(sessions):
                page = browser.new_page()
                page.goto(url + "market?session=bench")  # every browser on one server session
                page.wait_for_selector(".wb-t", state="attached", timeout=120_000)
                pages.append(page)
            for page in pages:
                page.evaluate(WATCH)
            busy_rss = psutil.Process(server.pid).memory_info().rss
            start = time.monotonic()
            end, give_up = start + seconds, start + seconds + patience
            while True:  # the measurement window (the browsers stream meanwhile)
                pages[0].wait_for_timeout(250)
                now = time.monotonic()
                if now >= end and (not min_updates or now >= give_up or
                                   min(page.evaluate("window.__lat.length") for page in pages) >= min_updates):
                    break
            seconds = time.monotonic() - start
            latencies = [page.evaluate("window.__lat") for page in pages]
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    flat = np.array([x for lat in latencies for x in lat[1:]], dtype=float)  # the first may predate the watch
    return {
        "sessions": sessions,
        "seconds": seconds,
        "updates_per_session": [len(lat) for lat in latencies],
        "latency_p50_ms": float(np.percentile(flat, 50) * 1000) if flat.size else float("nan"),
        "latency_p95_ms": float(np.percentile(flat, 95) * 1000) if flat.size else float("nan"),
        "server_rss_idle_mb": idle_rss / 1e6,
        "server_rss_mb": busy_rss / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    f = measure(args.sessions, args.seconds)
    updates = f["updates_per_session"]
    print(f"{f['sessions']} concurrent dashboard sessions streaming for {f['seconds']:.0f} s:")
    print(f"  updates received per session  min {min(updates)}, max {max(updates)} (5 a second sent)")
    print(f"  update latency                p50 {f['latency_p50_ms']:.1f} ms, p95 {f['latency_p95_ms']:.1f} ms")
    print(f"  server memory                 {f['server_rss_idle_mb']:.0f} MB idle, {f['server_rss_mb']:.0f} MB "
          f"with {f['sessions']} sessions")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(f, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
