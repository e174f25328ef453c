"""Monitoring overhead: the same backtest bare and monitored, in the same run.

The monitored run samples every second into an SQLite store and evaluates the default
rule pack. Goal: at most 5 % throughput cost.

Run: ``make bench`` or ``python benchmarks/bench_monitor.py [--bars N] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

from workbench.engine import backtest
from workbench.feed import synthetic_bars
from workbench.monitor import Monitor
from workbench.strategies import SmaCross


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=400_000, help="bars in all (400,000 over 10 symbols)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, best taken (3)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    bars = synthetic_bars(10, periods=max(args.bars // 10, 40), freq="1D", seed=2, start="1900-01-01")
    n = len(bars)
    bare, monitored, samples = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):  # interleaved, so drift in the machine hits both alike
            gc.collect()
            t0 = time.perf_counter()
            backtest(SmaCross(), bars)
            bare.append(time.perf_counter() - t0)
            gc.collect()
            monitor = Monitor(store=Path(tmp) / f"m{i}.sqlite", interval=1.0, log=False)
            t0 = time.perf_counter()
            backtest(SmaCross(), bars, monitor=monitor)
            monitored.append(time.perf_counter() - t0)
            samples = monitor.samples_taken
            monitor.close()
    b, m = min(bare), min(monitored)
    overhead = m / b - 1
    figures = {"bars": n, "bare_bars_per_s": n / b, "monitored_bars_per_s": n / m, "overhead": overhead,
               "samples_per_run": samples}
    print(f"sma_cross over {n:,} bars, best of {args.repeats}:")
    print(f"  bare       {b:7.2f} s  {n / b:>10,.0f} bars/s")
    print(f"  monitored  {m:7.2f} s  {n / m:>10,.0f} bars/s  ({samples} samples, SQLite store, default rules)")
    print(f"  overhead   {overhead:+.1%}  (goal <= 5%: {'meets goal' if overhead <= 0.05 else 'ABOVE GOAL'})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
