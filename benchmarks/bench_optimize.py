"""Optimization benchmark: a 1,000-combination sma_cross grid on the S&P 500 bars.

workbench's sweep (the fast path, exactly the engine's fills) against vectorbt's equivalent
sweep, interleaved in one process (``harness.interleaved``: each warmed once, then 3 rounds,
best and median). The rules, the same on both sides: a position of 100 units held while
SMA(fast) > SMA(slow) of the close, decided at the close, entered and left at the next bar's
open, valued at the close, $1,000,000 of cash, no costs. The conventions, stated and the
same: daily returns from the starting cash, Sharpe = mean / std (ddof 1) x sqrt(252)
(vectorbt's default year is 365 days; it is given 252 here).

Equivalence is asserted, not printed: every one of the 1,000 Sharpe ratios agrees to 1e-9
(relative), so the best pair is the same. The target is judged core for core: workbench
in one process against vectorbt's one thread (its design); the sweep on every usable core
(local processes, a fresh pool each call, as a user's call would) is printed beside it.

Target (issue 17): >= 2x vectorbt's trials/s. Run: ``make bench`` or
``python benchmarks/bench_optimize.py [--repeats N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from harness import Targets, interleaved, same  # noqa: E402

from workbench.feed import load_dataset_bars  # noqa: E402
from workbench.optimize import Int, grid, sweep  # noqa: E402

FAST = Int(2, 51)  # 50 values
SLOW = Int(60, 250, 10)  # 20 values: 1,000 combinations, all valid (fast < slow)
QTY, CASH = 100.0, 1_000_000.0
TARGET = 2.0


def vectorbt_sweep(bars):
    """The same grid in vectorbt; returns the Sharpe of every (fast, slow), fast-major."""
    import vectorbt as vbt

    close = bars["close"].copy()
    close.index = close.index.tz_localize(None)
    open_ = bars["open"].to_numpy()
    fast = vbt.MA.run(close, window=FAST.values(), short_name="fast", param_product=False)
    slow = vbt.MA.run(close, window=SLOW.values(), short_name="slow", param_product=False)
    f = np.repeat(fast.ma.to_numpy(), len(SLOW.values()), axis=1)  # every pair, fast-major
    s = np.tile(slow.ma.to_numpy(), (1, len(FAST.values())))
    above = np.nan_to_num(f, nan=-np.inf) > np.nan_to_num(s, nan=np.inf)
    state = np.vstack([np.zeros((1, above.shape[1]), bool), above[:-1]])  # decided at the close, held from the next bar
    before = np.vstack([np.zeros((1, above.shape[1]), bool), state[:-1]])
    pf = vbt.Portfolio.from_signals(close.to_numpy()[:, None].repeat(above.shape[1], 1), state & ~before,
                                    ~state & before, price=open_[:, None].repeat(above.shape[1], 1),
                                    size=QTY, init_cash=CASH, freq="1D")
    return pf.sharpe_ratio(year_freq="252 days").to_numpy()


def workbench_sweep(bars, points, jobs):
    result = sweep("sma_cross", [bars], points, jobs=jobs, options={"cash": CASH})
    sharpe = result.trials.set_index(["fast", "slow"])["sharpe"]  # in the points' order, one lookup
    return sharpe.reindex(pd.MultiIndex.from_tuples([(p["fast"], p["slow"]) for p in points])).to_numpy(dtype=float)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None, help="local processes (default: every usable core)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--no-vectorbt", action="store_true", help="leave the peer out: no ratio")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not args.no_vectorbt:
        try:
            import vectorbt  # noqa: F401
        except ImportError:
            print("vectorbt is not installed (make bench installs the bench extra; --no-vectorbt leaves it out)")
            return 1
    bars = load_dataset_bars("sp500")
    points = [{"fast": f, "slow": s} for f in FAST.values() for s in SLOW.values()]
    assert len(points) == len(grid({"fast": FAST, "slow": SLOW}))
    out = Targets("bench_optimize", parser, args)
    print(f"sma_cross grid, {len(points):,} combinations on sp500 ({len(bars):,} bars), interleaved:", flush=True)
    programs = {"workbench": lambda: workbench_sweep(bars, points, args.jobs)}
    if args.jobs != 1:
        programs["workbench_1_process"] = lambda: workbench_sweep(bars, points, 1)
    if not args.no_vectorbt:
        programs["vectorbt"] = lambda: vectorbt_sweep(bars)
    times, results = interleaved(programs, repeats=args.repeats)
    ours = results["workbench"]
    one = results.get("workbench_1_process", ours)
    same("one process and every core", one.tobytes(), ours.tobytes())
    n = len(points)
    rate = {k: n / t.best for k, t in times.items()}
    best = points[int(np.nanargmax(ours))]
    out.figures.update(trials=n, best=best, best_sharpe=float(np.nanmax(ours)),
                       **{f"{k}_s": dict(t) for k, t in times.items()})
    for k, t in times.items():
        print(f"  {k:<20} best {t.best:6.2f} s  median {t.median:6.2f} s  {rate[k]:8,.0f} trials/s")
    if args.no_vectorbt:
        out.add("1,000-combination sma_cross sweep on sp500 (no peer)", f"{rate['workbench']:,.0f} trials/s",
                "measured")
        out.print()
        out.write(args.json)
        return 0
    theirs = results["vectorbt"]
    same("the 1,000 Sharpe ratios (workbench, vectorbt)", bool(np.allclose(ours, theirs, rtol=1e-9, atol=1e-12,
                                                                            equal_nan=True)), True,
         f"largest difference {np.nanmax(np.abs(ours - theirs)):.3g}")
    same("the best pairs", int(np.nanargmax(ours)), int(np.nanargmax(theirs)))
    one = times.get("workbench_1_process", times["workbench"])
    ratio, ratio_all = times["vectorbt"].best / one.best, times["vectorbt"].best / times["workbench"].best
    print(f"  same Sharpe for all {n:,} pairs (to 1e-9); best {best} Sharpe {np.nanmax(ours):.4f} on both sides")
    out.figures.update(ratio_one_process=ratio, ratio_every_core=ratio_all)
    out.add("1,000-combination sma_cross sweep on sp500: workbench in one process vs vectorbt's one thread "
            "(both warm, all 1,000 Sharpe ratios and the best pair asserted equal)",
            f"{n / one.best:,.0f} vs {rate['vectorbt']:,.0f} trials/s: {ratio:.2f}x", f">= {TARGET:g}x", ratio, ">=",
            TARGET)
    out.add(f"same, workbench on every usable core ({out.machine['usable_cores']} processes, a fresh pool each "
            f"sweep) vs vectorbt's one thread", f"{rate['workbench']:,.0f} trials/s: {ratio_all:.2f}x", "measured")
    out.print()
    out.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
