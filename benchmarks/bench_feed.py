"""Feed benchmarks: load + validate from Parquet, replay rates, CSV cache speed-up.

Every figure is measured in this run, beside a peer measured in the same run:
* load + validate N quote rows from Parquet against a bare ``pandas.read_parquet`` of the
  same file (goal: at least half its speed);
* replay events/s through the vectorized batches (goal >= 1,000,000) and as per-event
  objects (goal >= 300,000), each with a trivial consumer;
* a CSV load against the second load of the same file from the Parquet cache.
The claimed old system printed a constant 33,481 "ops/s"; it is shown for comparison only.

Run: ``make bench`` or ``python benchmarks/bench_feed.py [--rows N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from workbench.feed import Replay, load_file, synthetic_quotes

CLAIMED_OPS = 33_481  # the old report's hard-coded figure, never measured


def best_of(repeats: int, fn) -> float:
    """Best wall time of ``repeats`` calls (seconds); results are dropped between calls."""
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        del result
    return min(times)


def quotes_for(rows: int, seed: int = 0) -> pd.DataFrame:
    """About ``rows`` synthetic 1-second quotes (20 symbols, whole sessions)."""
    symbols = min(20, max(1, rows // 23_400))
    days = max(1, math.ceil(rows / (symbols * 23_400)))
    return synthetic_quotes(symbols, days=days, freq="1s", seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="quote rows to load (10M)")
    parser.add_argument("--event-rows", type=int, default=1_000_000, help="events for per-event replay")
    parser.add_argument("--csv-rows", type=int, default=1_000_000, help="rows in the cache benchmark CSV")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures: dict[str, float] = {}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        quotes = quotes_for(args.rows)
        figures["synthetic_rows"] = len(quotes)
        figures["synthetic_rows_per_s"] = len(quotes) / (time.perf_counter() - t0)
        path = tmp / "quotes.parquet"
        quotes.to_parquet(path)
        n = len(quotes)

        bare = best_of(args.repeats, lambda: pd.read_parquet(path))
        ours = best_of(args.repeats, lambda: load_file(path).frame)
        figures.update(
            parquet_rows=n,
            bare_read_parquet_rows_per_s=n / bare,
            load_validate_rows_per_s=n / ours,
            load_validate_vs_bare=bare / ours,
        )

        # Replay: vectorized batches over all rows, objects over a slice.
        def batches() -> int:
            total = 0
            for batch in Replay(quotes).batches(65_536):
                total += len(batch)
                batch["bid"].to_numpy().max()  # touch the data, as a consumer would
            return total

        t_batches = best_of(args.repeats, batches)
        figures["replay_batches_events_per_s"] = n / t_batches

        subset = quotes.iloc[: args.event_rows]

        def objects() -> int:
            count = 0
            for _ in Replay(subset):
                count += 1
            return count

        t_objects = best_of(args.repeats, objects)
        figures["replay_objects_events_per_s"] = len(subset) / t_objects
        quotes = subset = None  # free the 10M rows before the CSV benchmark
        gc.collect()

        # CSV cache: the first load parses and validates, the second reads cached Parquet.
        csv_path = tmp / "quotes.csv"
        quotes_for(args.csv_rows, seed=1).to_csv(csv_path)
        cache = tmp / "cache"
        t0 = time.perf_counter()
        first = load_file(csv_path, cache_dir=cache)
        t_miss = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = load_file(csv_path, cache_dir=cache)
        t_hit = time.perf_counter() - t0
        if first.from_cache or not second.from_cache:
            raise SystemExit("cache benchmark: the second load did not hit the cache")
        figures.update(
            csv_rows=len(first.frame),
            csv_load_s=t_miss,
            csv_cached_load_s=t_hit,
            cache_speedup=t_miss / t_hit,
        )

    report(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def report(f: dict[str, float]) -> None:
    def goal(ok: bool) -> str:
        return "meets goal" if ok else "BELOW GOAL"

    print(f"synthetic quotes generated   {f['synthetic_rows']:>14,.0f} rows at {f['synthetic_rows_per_s']:,.0f} rows/s")
    print(f"Parquet, {f['parquet_rows']:,.0f} quote rows:")
    print(f"  bare pandas.read_parquet   {f['bare_read_parquet_rows_per_s']:>14,.0f} rows/s")
    ratio = f["load_validate_vs_bare"]
    print(f"  workbench load + validate  {f['load_validate_rows_per_s']:>14,.0f} rows/s"
          f"   {ratio:.2f}x bare (goal >= 0.50x: {goal(ratio >= 0.5)})")
    b, o = f["replay_batches_events_per_s"], f["replay_objects_events_per_s"]
    print("Replay, trivial consumer:")
    print(f"  vectorized batches         {b:>14,.0f} events/s   (goal >= 1,000,000: {goal(b >= 1e6)})")
    print(f"  per-event objects          {o:>14,.0f} events/s   (goal >=   300,000: {goal(o >= 3e5)})")
    print(f"  claimed old system         {CLAIMED_OPS:>14,} 'ops/s' (a constant, never measured);"
          f" ours: {b / CLAIMED_OPS:,.0f}x and {o / CLAIMED_OPS:,.1f}x that")
    print(f"CSV cache, {f['csv_rows']:,.0f} rows: parse + validate {f['csv_load_s']:.3f} s,"
          f" cached {f['csv_cached_load_s']:.3f} s: {f['cache_speedup']:.1f}x faster")


if __name__ == "__main__":
    sys.exit(main())
