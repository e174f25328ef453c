"""Feed benchmarks: load + validate from Parquet, replay rates, CSV cache speed-up.

Every comparison is interleaved in one process (``harness.interleaved``: each side warmed
once, then ``--repeats`` rounds in rotating order, best and median) and checked to be the
same work before a ratio is printed:
* load + validate N quote rows from Parquet against a bare ``pandas.read_parquet`` of the
  same file, the frames compared (target >= 0.8x);
* replay as per-event objects against plain tuples built from the same arrays, the events
  compared (target >= 0.8x); the ``Replay`` is built (and its frame validated) once, before
  the timing: only the iteration is timed;
* replay in vectorized batches (measured; >= 1,000,000 events/s expected);
* a CSV load against the second load of the same file from the Parquet cache (different
  work by design: what the cache saves);
* the CSV load's peak memory above its fresh process's start, beside a bare ``read_csv``'s.
The claimed old system printed a constant 33,481 "ops/s"; it is shown for comparison only.

Run: ``make bench`` or ``python benchmarks/bench_feed.py [--rows N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from harness import Targets, interleaved, same  # noqa: E402

from workbench.feed import Replay, load_file, synthetic_quotes  # noqa: E402

CLAIMED_OPS = 33_481  # the old report's hard-coded figure, never measured


def quotes_for(rows: int, seed: int = 0) -> pd.DataFrame:
    """About ``rows`` synthetic 1-second quotes (20 symbols, whole sessions)."""
    symbols = min(20, max(1, rows // 23_400))
    days = max(1, math.ceil(rows / (symbols * 23_400)))
    return synthetic_quotes(symbols, days=days, freq="1s", seed=seed)


_PEAK = """
import json, sys, psutil
import pandas as pd
from workbench.feed import load_file
path, how = sys.argv[1], sys.argv[2]

def high_water():  # this process's peak resident memory (Linux: VmHWM, which exec resets)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

try:  # the peak so far back to the memory in use now (Linux >= 4.0), so that the imports' peak is not counted
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
start = psutil.Process().memory_info().rss
frame = load_file(path, cache=False).frame if how == "load_file" else pd.read_csv(path)
print(json.dumps({"peak_mb": (high_water() - start) / 2**20, "frame_mb": frame.memory_usage(deep=True).sum() / 2**20}))
"""


def _peak_mb(path: Path, how: str) -> dict[str, float]:
    """Peak memory of one CSV read (``load_file`` or a bare ``read_csv``) above where its
    fresh process stood before it, and the frame's size, in MiB. (Linux's VmHWM, not
    ``getrusage``'s ru_maxrss, which a child keeps from the large process that started it.)"""
    import json
    import subprocess

    done = subprocess.run([sys.executable, "-c", _PEAK, str(path), how], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="quote rows to load (10M)")
    parser.add_argument("--event-rows", type=int, default=1_000_000, help="events for per-event replay")
    parser.add_argument("--csv-rows", type=int, default=1_000_000, help="rows in the cache benchmark CSV")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    out = Targets("bench_feed", parser, args)
    f = out.figures

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        quotes = quotes_for(args.rows)
        f["synthetic_rows"] = len(quotes)
        f["synthetic_rows_per_s"] = len(quotes) / (time.perf_counter() - t0)
        path = tmp / "quotes.parquet"
        quotes.to_parquet(path)
        n = len(quotes)
        print(f"Parquet, {n:,} quote rows: bare read_parquet and load + validate, interleaved", flush=True)
        times, got = interleaved({"read_parquet": lambda: pd.read_parquet(path),
                                  "load_validate": lambda: load_file(path).frame}, repeats=args.repeats)
        bare, ours = got["read_parquet"], got["load_validate"]
        same("rows", len(ours), len(bare))
        for col in ("bid", "ask", "bid_size", "ask_size"):
            same(f"column {col}", ours[col].to_numpy().tobytes(), bare[col].to_numpy().tobytes())
        same("times", ours.index.asi8.tobytes(), bare.index.asi8.tobytes())
        del got, bare, ours
        ratio = times["read_parquet"].best / times["load_validate"].best
        f.update(parquet_rows=n, read_parquet=dict(times["read_parquet"]), load_validate=dict(times["load_validate"]),
                 load_validate_vs_bare=ratio)
        out.add(f"load + validate {n / 1e6:.1f}M quote rows from Parquet, vs a bare read_parquet (interleaved)",
                f"{n / times['load_validate'].best / 1e6:.1f}M vs {n / times['read_parquet'].best / 1e6:.1f}M "
                f"rows/s: {ratio:.2f}x", ">= 0.8x", ratio, ">=", 0.8)

        replay = Replay(quotes)  # validated and merged once: the iteration alone is timed

        def batches() -> int:
            total = 0
            for batch in replay.batches(65_536):
                total += len(batch)
                batch["bid"].to_numpy().max()  # touch the data, as a consumer would
            return total

        t_batches, counted = interleaved({"batches": batches}, repeats=args.repeats, progress=False)
        same("events in batches", counted["batches"], n)
        b = n / t_batches["batches"].best
        f["replay_batches_events_per_s"] = b
        out.add("replay, vectorized batches (a trivial consumer)", f"{b:,.0f} events/s", ">= 1,000,000", b, ">=", 1e6)

        subset = quotes.iloc[: args.event_rows]
        sub_replay = Replay(subset)
        arrays = (subset.index.asi8, subset["symbol"].astype(str).to_numpy(), subset["bid"].to_numpy(),
                  subset["ask"].to_numpy(), subset["bid_size"].to_numpy(), subset["ask_size"].to_numpy())

        # a trivial consumer on each side: counts the events and sums one field of each (the
        # two must agree on every event, not only on the last)
        def objects():
            count, total, last = 0, 0.0, None
            for last in sub_replay:
                count += 1
                total += last.bid
            return count, total, (last.symbol, last.bid, last.ask, last.bid_size, last.ask_size)

        def tuples():
            count, total, last = 0, 0.0, None
            for last in zip(*(a.tolist() for a in arrays)):
                count += 1
                total += last[2]
            return count, total, last[1:]

        print(f"Replay of {len(subset):,} quotes: per-event objects and plain tuples, interleaved", flush=True)
        t_events, events = interleaved({"objects": objects, "tuples": tuples}, repeats=args.repeats)
        same("the events replayed (count, sum of bids, last event)", events["objects"], events["tuples"])
        same("events replayed", events["objects"][0], len(subset))
        o = len(subset) / t_events["objects"].best
        t = len(subset) / t_events["tuples"].best
        f.update(replay_objects_events_per_s=o, replay_tuples_events_per_s=t, replay_objects_vs_tuples=o / t)
        out.add("replay, per-event Quote objects vs plain tuples from the same arrays",
                f"{o:,.0f} vs {t:,.0f} events/s: {o / t:.2f}x", ">= 0.8x", o / t, ">=", 0.8)
        quotes = subset = replay = sub_replay = arrays = None  # free the rows before the CSV benchmark
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
        same("the cached frame", second.frame.equals(first.frame), True)
        f.update(csv_rows=len(first.frame), csv_load_s=t_miss, csv_cached_load_s=t_hit, cache_speedup=t_miss / t_hit)
        out.add(f"CSV load ({len(first.frame) / 1e6:.1f}M rows), then the same file from the Parquet cache",
                f"{t_miss:.2f} s, then {t_hit:.3f} s from the cache ({t_miss / t_hit:.1f}x faster)", "measured")

        # Time: load + validate against a bare pandas.read_csv of the same file, interleaved,
        # both uncached (the load reads with pyarrow's streaming reader where it can)
        print(f"CSV, {len(first.frame):,} quote rows: bare read_csv and load + validate, interleaved", flush=True)
        t_csv, got = interleaved({"read_csv": lambda: pd.read_csv(csv_path),
                                  "load_validate": lambda: load_file(csv_path, cache=False).frame},
                                 repeats=args.repeats)
        same("rows loaded from the CSV", len(got["load_validate"]), len(got["read_csv"]))
        got = None
        csv_ratio = t_csv["read_csv"].best / t_csv["load_validate"].best
        f.update(read_csv=dict(t_csv["read_csv"]), csv_load_validate=dict(t_csv["load_validate"]),
                 csv_load_validate_vs_bare=csv_ratio)
        out.add(f"CSV load + validate ({len(first.frame) / 1e6:.1f}M quote rows) vs a bare read_csv (interleaved)",
                f"{t_csv['load_validate'].best:.2f} s vs {t_csv['read_csv'].best:.2f} s: {csv_ratio:.2f}x",
                "measured")

        # Memory: the CSV load's peak above where its process started, each in a fresh process,
        # against a bare pandas.read_csv of the same file (the same kind of work, no validation).
        peaks = {name: _peak_mb(csv_path, name) for name in ("load_file", "read_csv")}
        ours, bare = peaks["load_file"], peaks["read_csv"]
        f.update(csv_peak_mb=ours["peak_mb"], csv_frame_mb=ours["frame_mb"], read_csv_peak_mb=bare["peak_mb"])
        out.add(f"CSV load ({len(first.frame) / 1e6:.1f}M rows) peak memory above its process's start, vs a bare "
                "read_csv of the file",
                f"{ours['peak_mb']:,.0f} MB (frame {ours['frame_mb']:,.0f} MB) vs {bare['peak_mb']:,.0f} MB"
                + (f": {ours['peak_mb'] / bare['peak_mb']:.2f}x" if bare["peak_mb"] > 1 else ""), "measured")

    print(f"claimed old system: {CLAIMED_OPS:,} 'ops/s' (a constant, never measured); ours: "
          f"{b / CLAIMED_OPS:,.0f}x that in batches, {o / CLAIMED_OPS:,.1f}x as objects")
    out.print()
    out.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
