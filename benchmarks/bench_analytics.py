"""Analytics benchmark: the time of each analysis on 5,000 daily points per symbol.

Target: at most 1.5 s each, the best of ``--repeats`` calls (3; the first call's time, which
includes importing and warming the libraries, is printed and kept beside it as ``cold``).
Every accuracy figure is printed beside the naive (random-walk) baseline on the same windows.

Run: ``make bench`` or ``python benchmarks/bench_analytics.py [--repeats N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import Targets  # noqa: E402

from workbench.analytics import forecast, performance, timeseries  # noqa: E402
from workbench.feed import load_dataset  # noqa: E402


REPEATS = 3


def timed(fn, *args, **kwargs):
    """``fn``'s result, its best time over ``REPEATS`` calls, and the first call's time."""
    out, times = None, []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return out, min(times), times[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="calls of each analysis, best kept (3)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    globals()["REPEATS"] = max(1, args.repeats)
    out = Targets("bench_analytics", parser, args)
    figures = out.figures
    for name in ("sp500", "nasdaq"):
        prices = load_dataset(name)["close"]
        returns = performance.simple_returns(prices)
        rows, cold = {}, {}
        _, rows["summary"], cold["summary"] = timed(performance.summary, returns)
        _, rows["drift_test"], cold["drift_test"] = timed(timeseries.drift_test, returns)
        _, rows["anomalies"], cold["anomalies"] = timed(timeseries.anomalies, returns, window=250)
        _, rows["garch"], cold["garch"] = timed(forecast.volatility_forecast, returns, 10)
        accuracy = {}
        for model in ("arima", "ets", "theta"):
            _, rows[f"forecast_{model}"], cold[f"forecast_{model}"] = timed(forecast.forecast, prices, 10, model)
            accuracy[model], rows[f"evaluate_{model}"], cold[f"evaluate_{model}"] = timed(
                forecast.evaluate, prices, model, horizon=5, origins=20)
        figures[name] = {"seconds": rows, "cold_seconds": cold, "accuracy": accuracy}
        print(f"{name}: {len(prices):,} daily points (best of {REPEATS} calls; the first call in brackets)")
        for key, seconds in rows.items():
            flag = "" if seconds <= 1.5 else "  (slower than 1.5 s)"
            print(f"  {key:<18} {seconds:7.3f} s  ({cold[key]:.3f} s){flag}")
        for model, acc in accuracy.items():
            print(f"  {model:<6} 5-day MAE {acc['model_mae']:8.3f} vs naive {acc['naive_mae']:8.3f}"
                  f"  skill {acc['skill_vs_naive']:+.2%}  95% coverage {acc['model_coverage']:.0%}"
                  f" (naive {acc['naive_coverage']:.0%}) over {acc['origins']} origins")
    for name in figures:
        secs = figures[name]["seconds"]
        evals = {k: v for k, v in secs.items() if k.startswith("evaluate_")}
        others = {k: v for k, v in secs.items() if k not in evals}
        out.add(f"each analysis on {name}'s daily points (summary, drift test, anomalies, GARCH, forecasts)",
                f"{min(others.values()):.3f}-{max(others.values()):.2f} s (best of {REPEATS})", "<= 1.5 s each", max(others.values()), "<=",
                1.5)
        out.add(f"rolling-origin evaluation (20 origins, 5 days) on {name}: ARIMA, ETS, Theta",
                ", ".join(f"{k[9:]} {v:.2f} s" for k, v in evals.items()) + f" (best of {REPEATS})", "<= 1.5 s each", max(evals.values()), "<=",
                1.5)
        acc = figures[name]["accuracy"]
        out.add(f"5-day forecast MAE vs naive on {name}, 20 origins",
                ", ".join(f"{m} skill {a['skill_vs_naive']:+.1%} (95 % intervals cover {a['model_coverage']:.0%})"
                          for m, a in acc.items()), "measured")
    out.print()
    out.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
