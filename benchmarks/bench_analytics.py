"""Analytics benchmark: the time of each analysis on 5,000 daily points per symbol.

Target: at most 1.5 s each. Every accuracy figure is printed beside the naive
(random-walk) baseline on the same windows.

Run: ``make bench`` or ``python benchmarks/bench_analytics.py [--json FILE]``.
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


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    out = Targets("bench_analytics", parser, args)
    figures = out.figures
    for name in ("sp500", "nasdaq"):
        prices = load_dataset(name)["close"]
        returns = performance.simple_returns(prices)
        rows = {}
        _, rows["summary"] = timed(performance.summary, returns)
        _, rows["drift_test"] = timed(timeseries.drift_test, returns)
        _, rows["anomalies"] = timed(timeseries.anomalies, returns, window=250)
        _, rows["garch"] = timed(forecast.volatility_forecast, returns, 10)
        accuracy = {}
        for model in ("arima", "ets", "theta"):
            _, rows[f"forecast_{model}"] = timed(forecast.forecast, prices, 10, model)
            accuracy[model], rows[f"evaluate_{model}"] = timed(forecast.evaluate, prices, model, horizon=5, origins=20)
        figures[name] = {"seconds": rows, "accuracy": accuracy}
        print(f"{name}: {len(prices):,} daily points")
        for key, seconds in rows.items():
            flag = "" if seconds <= 1.5 else "  (slower than about a second)"
            print(f"  {key:<18} {seconds:7.3f} s{flag}")
        for model, acc in accuracy.items():
            print(f"  {model:<6} 5-day MAE {acc['model_mae']:8.3f} vs naive {acc['naive_mae']:8.3f}"
                  f"  skill {acc['skill_vs_naive']:+.2%}  95% coverage {acc['model_coverage']:.0%}"
                  f" (naive {acc['naive_coverage']:.0%}) over {acc['origins']} origins")
    for name in figures:
        secs = figures[name]["seconds"]
        evals = {k: v for k, v in secs.items() if k.startswith("evaluate_")}
        others = {k: v for k, v in secs.items() if k not in evals}
        out.add(f"each analysis on {name}'s daily points (summary, drift test, anomalies, GARCH, forecasts)",
                f"{min(others.values()):.3f}-{max(others.values()):.2f} s", "<= 1.5 s each", max(others.values()), "<=",
                1.5)
        out.add(f"rolling-origin evaluation (20 origins, 5 days) on {name}: ARIMA, ETS, Theta",
                ", ".join(f"{k[9:]} {v:.2f} s" for k, v in evals.items()), "<= 1.5 s each", max(evals.values()), "<=",
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
