"""Dashboard load: N concurrent browser sessions streaming updates from one server.

Each session's server callback stamps its update with the server's clock (a hidden element,
twice a second); each page watches that element and records when the stamp arrives by
its own clock (same machine), so ``latency = arrival - stamp`` covers the server callback,
the websocket and the browser applying the change. Reported: p50/p95 update latency over all
sessions, updates received per session, and the server's resident memory (psutil) once all
sessions are live. Debian's Chromium, headless, driven by Playwright.

Run: ``make bench`` or ``python benchmarks/bench_dashboard.py [--sessions N] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).parent))
from harness import Targets  # noqa: E402

from workbench.browser import CHROMIUM, ensure_chromium  # noqa: E402

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
         "--disable-backgrounding-occluded-windows"]
WATCH = """() => {
  // Record each update when the page's DOM changes (a MutationObserver on the shadow root
  // that holds the stamp), not by polling: an observer that walks every page's DOM every few
  // milliseconds would itself load the 2 cores it measures.
  window.__lat = []; window.__k = []; window.__last = null;
  const rootOf = (root) => {
    if (root.querySelector('.wb-t')) return root;
    for (const el of root.querySelectorAll('*')) { if (el.shadowRoot) { const r = rootOf(el.shadowRoot); if (r) return r; } }
    return null;
  };
  const record = (root) => {
    const el = root.querySelector('.wb-t'); if (!el) return;
    const t = el.getAttribute('data-t');
    if (t && t !== window.__last) { window.__last = t; window.__lat.push(Date.now() / 1000 - parseFloat(t));
                                    window.__k.push(parseInt(el.getAttribute('data-k'))); }
  };
  let observer = null, root = null;
  const start = () => {  // (again) when the pane holding the stamp was replaced
    root = rootOf(document);
    if (!root) return;
    if (observer) observer.disconnect();
    record(root);
    observer = new MutationObserver(() => record(root));
    observer.observe(root, {childList: true, subtree: true, attributes: true, characterData: true});
  };
  start();
  setInterval(() => { if (!root || (root.host && !root.host.isConnected)) start(); }, 200);
}"""


PAGES = ("sessions", "market?session=fb", "trading?session=fb", "monitoring?session=fb", "analytics", "options", "runs",
         "certification")
TARGETS = {"first_byte_ms": 300.0, "ready_s": 5.0, "latency_p95_ms": 500.0, "received_share_min": 0.9}


def update_counts(ks: list[list[int]], seconds: float, period_ms: float) -> dict:
    """What the pages received of the numbered updates sent every ``period_ms`` over a window
    of ``seconds``: updates lost between two received (gaps), and, since gaps alone cannot see
    a page that stopped receiving (a page stalled after its first update has no gap), each
    page's count against those due in the window."""
    due = seconds * 1000.0 / period_ms
    received = [len(set(k)) for k in ks]
    return {"updates_lost_per_session": [(k[-1] - k[0] + 1) - len(set(k)) if k else 0 for k in ks],
            "updates_due_per_session": due,
            "received_share_min": min(received) / due if received else 0.0,
            "sessions_stalled": sum(n < due / 2 for n in received)}


def first_byte_ms(port: int, path: str, repeats: int = 3) -> float:
    """Milliseconds from sending ``GET /path`` to the response's first byte, best of ``repeats``
    (the first call also builds what the page caches: the best is the page's own cost)."""
    import http.client

    best = float("inf")
    for _ in range(repeats):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        t0 = time.perf_counter()
        conn.request("GET", "/" + path)
        response = conn.getresponse()  # returns once the status line and headers arrived
        best = min(best, (time.perf_counter() - t0) * 1000)
        response.read()
        conn.close()
    return best


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server and by every Chromium process (psutil)."""
    out = {"server": 0.0, "chromium": 0.0}
    for proc in psutil.process_iter(["pid", "name", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is None:
            continue
        used = times.user + times.system
        if proc.info["pid"] == server_pid:
            out["server"] += used
        elif "chrom" in (proc.info["name"] or "").lower():
            out["chromium"] += used
    return out


def measure(sessions: int = 10, seconds: float = 10.0, min_updates: int = 0, patience: float = 120.0,
            page_name: str = "market") -> dict:
    """Stream for ``seconds``; with ``min_updates``, then go on (at most ``patience`` seconds
    more) until every session has received that many updates: a liveness check that does not
    depend on the machine's speed. ``seconds`` in the result is the window actually used."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    runs = Path(tempfile.mkdtemp())
    started = time.monotonic()
    server = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port), "--runs", str(runs)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "healthz", timeout=5).close()  # builds no page
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.05)
        ready_s = time.monotonic() - started
        first_byte = {p: first_byte_ms(port, p) for p in PAGES}
        idle_rss = psutil.Process(server.pid).memory_info().rss
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            pages = []
            for _ in range(sessions):
                page = browser.new_page()
                page.goto(url + f"{page_name}?session=bench")  # every browser on one server session
                page.wait_for_selector(".wb-t", state="attached", timeout=120_000)
                pages.append(page)
            for page in pages:
                page.evaluate(WATCH)
            busy_rss = psutil.Process(server.pid).memory_info().rss
            cpu0 = _cpu_seconds(server.pid)
            start = time.monotonic()
            end, give_up = start + seconds, start + seconds + patience
            while True:  # the measurement window (the browsers stream meanwhile)
                pages[0].wait_for_timeout(250)
                now = time.monotonic()
                if now >= end and (not min_updates or now >= give_up or
                                   min(page.evaluate("window.__lat.length") for page in pages) >= min_updates):
                    break
            seconds = time.monotonic() - start
            cpu1 = _cpu_seconds(server.pid)
            latencies = [page.evaluate("window.__lat") for page in pages]
            ks = [page.evaluate("window.__k") for page in pages]
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    flat = np.array([x for lat in latencies for x in lat[1:]], dtype=float)  # the first may predate the watch
    from workbench.apps.pages import REFRESH_MS
    return {
        "sessions": sessions,
        "seconds": seconds,
        "updates_per_session": [len(lat) for lat in latencies],
        "latency_p50_ms": float(np.percentile(flat, 50) * 1000) if flat.size else float("nan"),
        "latency_p95_ms": float(np.percentile(flat, 95) * 1000) if flat.size else float("nan"),
        **update_counts(ks, seconds, REFRESH_MS),
        "ready_s": ready_s,
        "first_byte_ms": first_byte,
        "server_cpu_cores": (cpu1["server"] - cpu0["server"]) / seconds,  # 1.0 = one core busy all the window
        "chromium_cpu_cores": (cpu1["chromium"] - cpu0["chromium"]) / seconds,
        "cores": psutil.cpu_count(),
        "server_rss_idle_mb": idle_rss / 1e6,
        "server_rss_mb": busy_rss / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--page", default="market", choices=["market", "trading", "monitoring"],
                        help="the live page every browser opens (market)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    # a SIGTERM (make interrupted, a killed run) unwinds, so the server it started is stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        ensure_chromium()  # (a fresh machine: make bench installs it as the browser tests do)
    except RuntimeError as exc:
        print(f"bench_dashboard: {exc}", file=sys.stderr)
        return 1
    out = Targets("bench_dashboard", parser, args)  # the machine's state before the server and browsers
    f = measure(args.sessions, args.seconds, page_name=args.page)
    updates = f["updates_per_session"]
    verdict = lambda ok: "met" if ok else "NOT MET"  # noqa: E731
    print(f"workbench serve answers /healthz {f['ready_s']:.2f} s after it starts "
          f"(target <= {TARGETS['ready_s']:.0f} s: {verdict(f['ready_s'] <= TARGETS['ready_s'])})")
    print("time to first byte, best of 3 (target <= 300 ms):")
    for page, ms in f["first_byte_ms"].items():
        print(f"  /{page:<28} {ms:8.1f} ms  {verdict(ms <= TARGETS['first_byte_ms'])}")
    print(f"{f['sessions']} concurrent browsers on /{args.page} of one server session, streaming for {f['seconds']:.0f} s "
          f"(2 updates a second sent to each):")
    print(f"  updates received per session  min {min(updates)}, max {max(updates)} of "
          f"{f['updates_due_per_session']:.0f} due; lost (gaps in the numbered updates) "
          f"{sum(f['updates_lost_per_session'])}; sessions that stopped updating (under half due) "
          f"{f['sessions_stalled']}")
    print(f"  update latency                p50 {f['latency_p50_ms']:.1f} ms, p95 {f['latency_p95_ms']:.1f} ms "
          f"(target p95 <= 500 ms: {verdict(f['latency_p95_ms'] <= TARGETS['latency_p95_ms'])})")
    print(f"  server memory                 {f['server_rss_idle_mb']:.0f} MB idle, {f['server_rss_mb']:.0f} MB "
          f"with {f['sessions']} sessions")
    print(f"  CPU over the window           server {f['server_cpu_cores']:.0%} of a core, the {f['sessions']} "
          f"Chromium pages {f['chromium_cpu_cores']:.0%} (this machine has {f['cores']} cores: "
          f"{f['cores']:.0%} in all)")
    out.figures.update(f)
    out.add("`workbench serve` ready (answers /healthz)", f"{f['ready_s']:.2f} s", "<= 5 s",
            f["ready_s"], "<=", TARGETS["ready_s"])
    worst = max(f["first_byte_ms"], key=f["first_byte_ms"].get)
    out.add("time to first byte of each page, best of 3",
            ", ".join(f"/{p.split('?')[0]} {ms:.0f} ms" for p, ms in f["first_byte_ms"].items()),
            "<= 300 ms each", f["first_byte_ms"][worst], "<=", TARGETS["first_byte_ms"])
    lost = sum(f["updates_lost_per_session"])
    out.add(f"{f['sessions']} Chromium pages on /{args.page}, 2 updates/s each, on this machine's {f['cores']} cores "
            f"with the server", f"p50 {f['latency_p50_ms']:.0f} ms, p95 {f['latency_p95_ms']:.0f} ms, {lost} lost; "
            f"server {f['server_rss_idle_mb']:.0f} MB idle, {f['server_rss_mb']:.0f} MB with the pages; CPU: server "
            f"{f['server_cpu_cores']:.0%} of a core, Chromium {f['chromium_cpu_cores']:.0%}",
            "p95 <= 500 ms", f["latency_p95_ms"], "<=", TARGETS["latency_p95_ms"])
    out.add("updates lost over the window (numbered updates, gaps counted)", f"{lost}", "none", lost, "==", 0)
    out.add("updates each page received of those due in the window (2/s): the fewest; pages that stopped",
            f"{f['received_share_min']:.0%}; {f['sessions_stalled']} of {f['sessions']} stopped",
            ">= 90 % each", f["received_share_min"], ">=", TARGETS["received_share_min"])
    out.print()
    out.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
