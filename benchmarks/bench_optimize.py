"""Optimization benchmark: a 1,000-combination sma_cross grid on the S&P 500 bars.

workbench's sweep (the fast path, exactly the engine's fills, on local processes) against
vectorbt's equivalent sweep measured in the same run: the same grid of (fast, slow), a
position of 100 units held while SMA(fast) > SMA(slow), entered and left at the next
bar's open, no costs. Goal: at least vectorbt's trials/s. The figures each reports for the
best combination are printed side by side so that "equivalent" can be checked.

Run: ``make bench`` or ``python benchmarks/bench_optimize.py [--jobs N]`` (vectorbt comes
with the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from workbench.feed import load_dataset_bars
from workbench.optimize import Int, grid, sweep

FAST = Int(2, 51)  # 50 values
SLOW = Int(60, 250, 10)  # 20 values: 1,000 combinations, all valid (fast < slow)


def run_vectorbt(bars) -> tuple[float, dict]:
    import vectorbt as vbt

    close = bars["close"].copy()
    close.index = close.index.tz_localize(None)
    open_ = bars["open"].copy()
    open_.index = close.index
    t0 = time.perf_counter()
    fast = vbt.MA.run(close, window=FAST.values(), short_name="fast", param_product=False)
    slow = vbt.MA.run(close, window=SLOW.values(), short_name="slow", param_product=False)
    # All pairs: broadcast the fast windows against the slow ones.
    f = np.repeat(fast.ma.to_numpy(), len(SLOW.values()), axis=1)
    s = np.tile(slow.ma.to_numpy(), (1, len(FAST.values())))
    above = np.nan_to_num(f, nan=-np.inf) > np.nan_to_num(s, nan=np.inf)
    # Decide at the close, trade at the next open: shift the state one bar.
    state = np.vstack([np.zeros((1, above.shape[1]), bool), above[:-1]])
    entries = state & ~np.vstack([np.zeros((1, above.shape[1]), bool), state[:-1]])
    exits = ~state & np.vstack([np.zeros((1, above.shape[1]), bool), state[:-1]])
    pf = vbt.Portfolio.from_signals(open_.to_numpy()[:, None].repeat(above.shape[1], 1), entries, exits,
                                    size=100.0, init_cash=1_000_000.0, freq="1D")
    sharpe = pf.sharpe_ratio().to_numpy()
    seconds = time.perf_counter() - t0
    best = int(np.nanargmax(sharpe))
    return seconds, {"fast": FAST.values()[best // len(SLOW.values())],
                     "slow": SLOW.values()[best % len(SLOW.values())], "sharpe": float(sharpe[best])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None, help="local processes (default: every core)")
    parser.add_argument("--no-vectorbt", action="store_true", help="skip the peer")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    bars = load_dataset_bars("sp500")
    points = grid({"fast": FAST, "slow": SLOW})
    t0 = time.perf_counter()
    result = sweep("sma_cross", [bars], points, jobs=args.jobs)
    ours_s = time.perf_counter() - t0
    best = result.best
    figures = {"trials": len(points), "workbench_s": ours_s, "workbench_trials_per_s": len(points) / ours_s,
               "workbench_best": best, "executor": result.executor}
    print(f"sma_cross grid, {len(points):,} combinations on sp500 ({len(bars):,} bars):")
    print(f"  workbench  {ours_s:7.2f} s  {len(points) / ours_s:9,.0f} trials/s  ({result.executor}, exact engine fills)"
          f"  best {best['params']} Sharpe {best['sharpe']:.3f}")
    if not args.no_vectorbt:
        try:
            cold_s, vbt_best = run_vectorbt(bars)
            vbt_s, vbt_best = run_vectorbt(bars)  # again, with numba's compiled code warm
        except ImportError:
            print("  vectorbt   not installed (pip install -e '.[bench]'); no ratio")
        else:
            ratio = vbt_s / ours_s
            figures.update(vectorbt_cold_s=cold_s, vectorbt_s=vbt_s, vectorbt_trials_per_s=len(points) / vbt_s,
                           ratio=ratio, vectorbt_best=vbt_best)
            print(f"  vectorbt   {vbt_s:7.2f} s  {len(points) / vbt_s:9,.0f} trials/s  (warm; first run {cold_s:.2f} s)"
                  f"  best {{'fast': {vbt_best['fast']}, 'slow': {vbt_best['slow']}}} Sharpe {vbt_best['sharpe']:.3f}"
                  " (its Sharpe marks at the open)")
            print(f"  ratio      {ratio:7.2f}x vectorbt's trials/s (goal >= 1: {'meets goal' if ratio >= 1 else 'BELOW GOAL'})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
