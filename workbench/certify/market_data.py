"""1. Market data workflow: load, validate, replay, cache."""

from __future__ import annotations

import os
import time

import pandas as pd

from workbench.certify import reference
from workbench.certify.context import Context, digest
from workbench.hashing import sha256_frames
from workbench.certify.report import Check, same, within

# A bar file in which every data row but the good ones breaks exactly one rule: (line, rule).
BAD_BARS = """time,symbol,open,high,low,close,volume
2024-01-02,X,10,11,9,10.5,100
2024-01-03,X,10,11,9,,100
2024-01-04,X,10,11,9,10.5,100
not-a-date,X,10,11,9,10.5,100
2024-01-05,X,10,11,9,ten,100
2024-01-08,X,10,inf,9,10.5,100
2024-01-09,X,10,11,-2,10.5,100
2024-01-10,X,10,11,9,10.5,-5
2024-01-11,X,10,10.2,9,10.5,100
2024-01-12,X,10,11,10.6,10.5,100
2024-01-16,X,10,11,9,10.5,100
2024-01-16,X,10,11,9,10.5,100
2024-01-18,X,10,11,9,10.5,100
2024-01-17,X,10,11,9,10.5,100
2024-01-19,X,10,11,9,10.5,100
2024-01-22,X,10,11,0,10.5,100
2024-01-23,X,10.5,10.4,9,10.2,100
2024-01-24,X,10,11,10.3,10.2,100
2024-01-25,X,10,11,9,10.5,0
2024-01-26,X,10,10.5,9,10.5,100
"""
BAD_BARS_FINDINGS = [(3, "missing_value"), (5, "time_parse"), (6, "number_parse"), (7, "price_finite"),
                     (8, "price_positive"), (9, "volume_nonneg"), (10, "high_ge_open_close"),
                     (11, "low_le_open_close"), (13, "duplicate_time"), (15, "time_order"),
                     # at the edges of the rules: a zero price, a high below the open but not the
                     # close, a low above the close but not the open; then two good rows (zero
                     # volume, a high equal to the close)
                     (17, "price_positive"), (18, "high_ge_open_close"), (19, "low_le_open_close")]
BAD_QUOTES = """time,symbol,bid,ask,bid_size,ask_size
2024-01-02T14:30:00Z,X,10.0,10.1,100,100
2024-01-02T14:30:01Z,X,10.2,10.1,100,100
2024-01-02T14:30:02Z,X,10.0,10.1,-100,100
2024-01-02T14:30:03Z,X,10.0,10.1,100,100
"""
BAD_QUOTES_FINDINGS = [(3, "bid_le_ask"), (4, "size_nonneg")]


def bundled_datasets_match_their_source(ctx: Context) -> Check:
    """Each bundled dataset equals arch's shipped CSV read with the csv module: every date
    and every value."""
    from workbench.feed import DATASETS, load_dataset

    wrong, rows = [], 0
    for name in ("sp500", "nasdaq"):
        frame = load_dataset(name)
        ctx.data[name] = sha256_frames(frame)
        theirs = reference.dataset_rows(DATASETS[name].module, name)
        ours = [{"date": t.date().isoformat(), **{c: float(v) for c, v in zip(frame.columns, values)}}
                for t, values in zip(frame.index, frame.to_numpy().tolist())]
        ctx.record(f"market_data.dataset.{name}", ours, rows=len(ours), last=ours[-1]["date"] if ours else None)
        if ours != theirs:
            first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
            wrong.append(f"{name}: {len(ours)} rows against the source's {len(theirs)}, first difference at "
                         f"row {first + 1}")
        rows += len(ours)
    check = same(wrong, [], what="sp500 and nasdaq against arch's CSV files, every date and value")
    check.measured, check.expected, check.unit = rows, 2 * 5031, "rows"
    if not wrong:
        check.detail = f"{rows:,} rows of sp500 and nasdaq equal arch's CSV files, read independently"
    return check


def every_rule_found_at_its_line(ctx: Context) -> Check:
    """A bar file and a quote file in which each bad line breaks exactly one rule: drop mode
    reports every rule at its line and nothing else; raise mode stops at the first."""
    from workbench.errors import DataError
    from workbench.feed import load_file

    found, expected = [], []
    for text, findings, name in ((BAD_BARS, BAD_BARS_FINDINGS, "bad_bars.csv"),
                                 (BAD_QUOTES, BAD_QUOTES_FINDINGS, "bad_quotes.csv")):
        path = ctx.subdir("validation") / name
        path.write_text(text)
        report = load_file(path, cache=False, on_error="drop").report
        found += sorted((line, v.rule) for v in report.violations for line in v.first_lines)
        expected += findings
        try:
            load_file(path, cache=False)
            found.append(("raise mode", "accepted the file"))
        except DataError as exc:
            found.append(("raise mode", exc.line, exc.rule))
        expected.append(("raise mode", *findings[0]))
    ctx.record("market_data.validation_findings", found)
    return same(found, expected,
                what="(line, rule) of every finding in two files breaking each of the 12 rules, some at their edges")


def seeds_give_their_own_data(ctx: Context) -> Check:
    """The synthetic generator: the same seed gives byte-identical quotes, the next seed
    different ones."""
    from workbench.feed import synthetic_quotes

    a = digest(synthetic_quotes(3, days=1, freq="10s", seed=ctx.seed))
    b = digest(synthetic_quotes(3, days=1, freq="10s", seed=ctx.seed))
    c = digest(synthetic_quotes(3, days=1, freq="10s", seed=ctx.seed + 1))
    ctx.record("market_data.synthetic_quotes", a)
    check = same([a == b, a != c], [True, True],
                 what=f"seed {ctx.seed} twice ({a[:10]}, {b[:10]}) and seed {ctx.seed + 1} ({c[:10]}): "
                      f"[same seed identical, other seed different]")
    return check


def replay_merges_in_documented_order(ctx: Context) -> Check:
    """Bars and quotes merged by replay, against Python's stable sort of every row by
    (time, source, row)."""
    from workbench.feed import Replay, synthetic_bars, synthetic_quotes

    bars = synthetic_bars(3, days=3, freq="5min", seed=ctx.seed)
    quotes = synthetic_quotes(2, days=3, freq="1min", seed=ctx.seed + 1)
    sources = []
    for frame, field in ((bars, "close"), (quotes, "bid")):
        times = frame.index.as_unit("ns").asi8.tolist()
        sources.append(list(zip(times, frame["symbol"].astype(str).tolist(), frame[field].tolist())))
    expected = [list(r) for r in reference.merged_order(sources)]
    measured = [[pd.Timestamp(e.time).value, e.symbol, getattr(e, "close", None) or e.bid]
                for e in Replay(bars, quotes)]
    ctx.record("market_data.replay_order", measured, events=len(measured))
    return same(measured, expected, what=f"{len(expected):,} merged events (time, symbol, price) in order")


def cache_serves_current_content(ctx: Context) -> Check:
    """A cached CSV is served equal to a fresh parse, and not served once the file's content
    changes (even with the same size and modification time)."""
    from workbench.feed import load_file

    folder = ctx.subdir("cache_content")
    path = folder / "bars.csv"
    path.write_text(BAD_BARS.splitlines()[0] + "\n2024-01-02,X,10,11,9,10.5,100\n2024-01-03,X,10,11,9,10.6,100\n")
    cache = folder / "cache"
    first = load_file(path, cache_dir=cache)
    second = load_file(path, cache_dir=cache)
    stat = os.stat(path)
    path.write_text(path.read_text().replace("10.6", "10.7"))  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    third = load_file(path, cache_dir=cache)
    measured = [first.from_cache, second.from_cache, second.frame.equals(first.frame), third.from_cache,
                float(third.frame["close"].iloc[-1])]
    return same(measured, [False, True, True, False, 10.7],
                what="[first load cached, second cached, second equals first, load after an edit cached, "
                     "its last close]")


def cache_speedup(ctx: Context) -> Check:
    """Parsing and validating a CSV of quotes against loading it back from the cache (CPU
    seconds, same run): the cache must pay for itself."""
    from workbench.feed import load_file, synthetic_quotes

    folder = ctx.subdir("cache_speed")
    path = folder / "quotes.csv"
    synthetic_quotes(4, days=1, freq="1s", seed=ctx.seed).to_csv(path)
    t0 = time.process_time()
    first = load_file(path, cache_dir=folder / "cache")
    t1 = time.process_time()
    second = min(_timed_load(path, folder / "cache") for _ in range(3))
    parse = t1 - t0
    spec = ctx.bound("cache_speedup")
    check = within(parse / second if second > 0 else float("inf"), lo=spec["min"], unit=spec["unit"],
                   what=f"{len(first.frame):,}-row CSV parse+validate {parse:.3f} s against cached load "
                        f"{second:.3f} s (CPU, best of 3)",
                   figures={"parse_s": parse, "cached_s": second, "rows": len(first.frame)})
    return check


def _timed_load(path, cache) -> float:
    from workbench.feed import load_file

    t0 = time.process_time()
    loaded = load_file(path, cache_dir=cache)
    if not loaded.from_cache:
        return float("inf")
    return time.process_time() - t0


CHECKS = [bundled_datasets_match_their_source, every_rule_found_at_its_line, seeds_give_their_own_data,
          replay_merges_in_documented_order, cache_serves_current_content, cache_speedup]
