"""Monitoring: its overhead on a backtest, and /metrics under a crowd of scrapers.

* overhead: the same backtest bare and monitored, in the same run, interleaved; the
  monitored run samples every second into an SQLite store and evaluates the default rule
  pack. Both warmed once, then ``--repeats`` rounds in rotating order (``harness``), best
  of each compared, the fills checked identical. Target (issue 17): at most 3 %.
* /metrics: 200 clients released at once, 3 scrapes each, against workbench's server
  (``monitor.export.serve_registry``) and, as the peer, prometheus-client's own
  ``start_http_server`` (listen backlog 5), in the same run: requests answered, and p50 /
  p99 of each request's wall time. Goal: all answered, p99 < 100 ms.

Run: ``make bench`` or ``python benchmarks/bench_monitor.py [--bars N] [--repeats N] [--scrapers N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import Targets, interleaved, same  # noqa: E402

from workbench.engine import backtest
from workbench.feed import synthetic_bars  # noqa: E402
from workbench.monitor import Monitor  # noqa: E402
from workbench.strategies import SmaCross  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=400_000, help="bars in all (400,000 over 10 symbols)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each, best taken (5: the overhead is a few per cent, within one run's noise)")
    parser.add_argument("--scrapers", type=int, default=200, help="concurrent /metrics clients (200)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    bars = synthetic_bars(10, periods=max(args.bars // 10, 40), freq="1D", seed=2, start="1900-01-01")
    n = len(bars)
    out = Targets("bench_monitor", parser, args)
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        def monitored():
            monitor = Monitor(store=Path(tmp) / f"m{len(samples)}.sqlite", interval=1.0, log=False)
            try:
                result = backtest(SmaCross(), bars, monitor=monitor)
            finally:
                monitor.close()
            samples.append(monitor.samples_taken)
            return result.summary()["fills_sha256"]

        print(f"sma_cross over {n:,} bars, bare and monitored, interleaved:", flush=True)
        times, results = interleaved({"bare": lambda: backtest(SmaCross(), bars, fast_path=False).summary()["fills_sha256"],
                                      "monitored": monitored}, repeats=args.repeats)
    same("fills, bare and monitored", results["bare"], results["monitored"])
    b, m = times["bare"].best, times["monitored"].best
    overhead = m / b - 1
    out.figures.update(bars=n, bare=dict(times["bare"]), monitored=dict(times["monitored"]), overhead=overhead,
                       samples_per_run=samples[-1])
    print(f"  bare       best {b:7.2f} s  median {times['bare'].median:7.2f} s  {n / b:>10,.0f} bars/s")
    print(f"  monitored  best {m:7.2f} s  median {times['monitored'].median:7.2f} s  {n / m:>10,.0f} bars/s"
          f"  ({samples[-1]} samples, SQLite store, default rules)")
    out.add(f"monitoring overhead, {n:,} bars bare vs monitored (best of {args.repeats}, interleaved)",
            f"{overhead:+.1%}", "<= 3 %", overhead, "<=", 0.03)
    crowd(args.scrapers, out)
    out.print()
    out.write(args.json)
    return 0


CLIENT = r"""
import asyncio, json, sys, time
port, clients, each = (int(a) for a in sys.argv[1:4])
async def one():
    t0 = time.perf_counter()
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    await w.drain()
    data = await r.read()
    w.close()
    return time.perf_counter() - t0 if b" 200 " in data[:20] else None
async def client(gate):
    await gate.wait()
    out = []
    for _ in range(each):
        try:
            out.append(await asyncio.wait_for(one(), 60))
        except (OSError, asyncio.TimeoutError):
            out.append(None)
    return out
async def main():
    gate = asyncio.Event()
    tasks = [asyncio.create_task(client(gate)) for _ in range(clients)]
    await asyncio.sleep(0.05)
    gate.set()
    print(json.dumps([t for r in await asyncio.gather(*tasks) for t in r]))
asyncio.run(main())
"""


def crowd(clients: int, out: Targets, each: int = 3) -> dict:
    """/metrics of a monitor's registry on both servers, ``clients`` scrapers released
    together from another process (asyncio: the scrapers, not a crowd of client threads,
    must be the cheap side)."""
    import subprocess

    import numpy as np
    from prometheus_client import start_http_server

    from workbench.monitor.export import serve_registry

    registry = Monitor(log=False).registry
    found = {}
    for name, start in (("workbench", lambda: serve_registry(registry, "127.0.0.1", 0)[0]),
                        ("prometheus_client", lambda: start_http_server(0, addr="127.0.0.1", registry=registry)[0])):
        server = start()
        done = subprocess.run([sys.executable, "-c", CLIENT, str(server.server_address[1]), str(clients), str(each)],
                              capture_output=True, text=True, check=True)
        server.shutdown()
        results = json.loads(done.stdout)
        times = np.array([t for t in results if t is not None]) * 1e3
        answered = int(times.size)
        p50, p99 = ((float(np.percentile(times, 50)), float(np.percentile(times, 99))) if answered
                    else (float("nan"), float("nan")))
        found[name] = {"requests": clients * each, "answered": answered, "p50_ms": p50, "p99_ms": p99}
        print(f"  /metrics, {clients} clients x {each}: {name:<17} answered {answered:>4} of {clients * each},"
              f" p50 {p50:8.1f} ms, p99 {p99:9.1f} ms")
    w, p = found["workbench"], found["prometheus_client"]
    out.figures["metrics"] = found
    out.add(f"/metrics, {clients} clients at once x {each}", f"{w['answered']}/{w['requests']} answered, p99 "
            f"{w['p99_ms']:.0f} ms; prometheus-client's own server: {p['answered']}/{p['requests']}, p99 "
            f"{p['p99_ms']:.0f} ms (one scrape crowd each, in sequence)", "p99 <= 100 ms", w["p99_ms"], "<=", 100)
    out.add(f"/metrics requests answered, {clients} clients at once x {each}", f"{w['answered']}/{w['requests']}",
            "all", w["answered"], "==", w["requests"])
    return found


if __name__ == "__main__":
    sys.exit(main())
