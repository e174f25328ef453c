"""Loading CSV and Parquet files: layouts, timezones, round trips and the Parquet cache."""

import os

import numpy as np
import pandas as pd
import pytest

from workbench.feed import DataError, load_file, read_file, synthetic_bars, synthetic_quotes, validate_frame


def test_multi_symbol_quotes_round_trip_csv_and_parquet(tmp_path):
    quotes = synthetic_quotes(3, days=1, freq="5min", seed=11)
    quotes.to_csv(tmp_path / "q.csv")
    quotes.to_parquet(tmp_path / "q.parquet")
    from_csv = read_file(tmp_path / "q.csv")
    from_parquet = read_file(tmp_path / "q.parquet")
    for frame in (from_csv, from_parquet):
        assert frame.index.name == "time" and str(frame.index.dtype) == "datetime64[ns, UTC]"
        assert list(frame.columns) == ["symbol", "bid", "ask", "bid_size", "ask_size"]
        np.testing.assert_array_equal(frame.index.asi8, quotes.index.asi8)
        np.testing.assert_array_equal(frame["symbol"].astype(str), quotes["symbol"].astype(str))
        for c in ("bid", "ask", "bid_size", "ask_size"):
            np.testing.assert_array_equal(frame[c].to_numpy(), quotes[c].to_numpy())


def test_yahoo_style_single_symbol_file_takes_symbol_from_stem(tmp_path):
    path = tmp_path / "spy.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,472.16,473.67,470.49,472.65,466.66,123623700\n"
        "2024-01-03,470.43,471.19,468.17,468.79,462.85,103585900\n"
    )
    frame = read_file(path)
    assert frame["symbol"].tolist() == ["SPY", "SPY"]
    assert list(frame.columns) == ["symbol", "open", "high", "low", "close", "volume", "adj_close"]
    assert frame["adj_close"].iloc[1] == pytest.approx(462.85)
    assert read_file(path, symbol="SPDR")["symbol"].iloc[0] == "SPDR"


def test_naive_times_are_read_in_tz_and_converted_to_utc(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(
        "time,symbol,bid,ask,bid_size,ask_size\n"
        "2024-01-02 09:30:00,X,10,10.01,1,1\n"
        "2024-07-01 09:30:00,X,10,10.01,1,1\n"
    )
    frame = read_file(path, tz="America/New_York", cache=False)
    # EST is UTC-5 in January, EDT UTC-4 in July.
    assert [t.strftime("%H:%M") for t in frame.index] == ["14:30", "13:30"]
    assert [t.strftime("%H:%M") for t in read_file(path, cache=False).index] == ["09:30", "09:30"]


def test_offsets_win_over_tz_and_mixed_offsets_convert(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(
        "time,symbol,bid,ask,bid_size,ask_size\n"
        "2024-01-02T09:30:00-05:00,X,10,10.01,1,1\n"
        "2024-01-02T15:31:00+01:00,X,10,10.01,1,1\n"
        "2024-01-02T14:32:00Z,X,10,10.01,1,1\n"
    )
    frame = read_file(path, tz="Asia/Tokyo")
    assert [t.strftime("%H:%M") for t in frame.index] == ["14:30", "14:31", "14:32"]


def test_dst_gap_time_is_rejected(tmp_path):
    path = tmp_path / "x.csv"
    # 02:30 on 2024-03-10 does not exist in New York.
    path.write_text(
        "time,symbol,bid,ask,bid_size,ask_size\n2024-03-10 01:30:00,X,10,10.01,1,1\n"
        "2024-03-10 02:30:00,X,10,10.01,1,1\n"
    )
    with pytest.raises(DataError) as info:
        load_file(path, tz="America/New_York")
    assert info.value.rule == "time_parse" and info.value.line == 3


def test_parquet_with_naive_datetime_index(tmp_path):
    bars = synthetic_bars(1, days=3, seed=1)
    naive = bars.copy()
    naive.index = naive.index.tz_localize(None)
    naive.to_parquet(tmp_path / "b.parquet")
    frame = read_file(tmp_path / "b.parquet")
    np.testing.assert_array_equal(frame.index.asi8, bars.index.asi8)


def test_kind_mismatch_is_an_error(tmp_path):
    synthetic_quotes(1, days=1, freq="1h", seed=0).to_csv(tmp_path / "q.csv")
    with pytest.raises(DataError, match="expected bars"):
        load_file(tmp_path / "q.csv", kind="bars")


def test_validate_frame_needs_a_symbol():
    frame = synthetic_bars(1, days=2, seed=0).drop(columns="symbol")
    with pytest.raises(DataError, match="missing column 'symbol'"):
        validate_frame(frame)
    assert validate_frame(frame, symbol="Z").frame["symbol"].unique().tolist() == ["Z"]


def test_csv_cache_hits_and_invalidates_on_content_change(tmp_path):
    cache = tmp_path / "cache"
    path = tmp_path / "q.csv"
    synthetic_quotes(2, days=1, freq="1min", seed=5).to_csv(path)
    first = load_file(path, cache_dir=cache)
    second = load_file(path, cache_dir=cache)
    assert (first.from_cache, second.from_cache) == (False, True)
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert second.report.to_dict() == first.report.to_dict()
    # Other options are another entry; changed content is a miss.
    assert not load_file(path, cache_dir=cache, tz="Europe/London").from_cache
    synthetic_quotes(2, days=1, freq="1min", seed=6).to_csv(path)
    third = load_file(path, cache_dir=cache)
    assert not third.from_cache
    assert not third.frame["bid"].equals(first.frame["bid"])


def test_csv_cache_is_not_served_to_other_code(tmp_path, monkeypatch):
    from workbench.feed import files

    cache = tmp_path / "cache"
    path = tmp_path / "q.csv"
    synthetic_quotes(1, days=1, freq="10min", seed=5).to_csv(path)
    hashed = []

    def code_hash(*parts):
        hashed.append(parts)
        return "old code"

    monkeypatch.setattr(files, "code_hash", code_hash)
    assert not load_file(path, cache_dir=cache).from_cache
    assert load_file(path, cache_dir=cache).from_cache  # same code: served
    assert hashed[0] == ("feed", "errors.py", "model.py")
    monkeypatch.setattr(files, "code_hash", lambda *parts: "new code")
    assert not load_file(path, cache_dir=cache).from_cache  # edited code: made again
    assert load_file(path, cache_dir=cache).from_cache


def test_damaged_cache_entry_is_a_miss(tmp_path):
    cache = tmp_path / "cache"
    path = tmp_path / "q.csv"
    synthetic_quotes(1, days=1, freq="10min", seed=5).to_csv(path)
    load_file(path, cache_dir=cache)
    for entry in cache.glob("*.parquet"):
        entry.write_bytes(b"not parquet")
    again = load_file(path, cache_dir=cache)
    assert not again.from_cache and len(again.frame) == 39


def test_cache_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "envcache"))
    path = tmp_path / "q.csv"
    synthetic_quotes(1, days=1, freq="1h", seed=5).to_csv(path)
    load_file(path)
    assert len(os.listdir(tmp_path / "envcache")) == 2  # frame and report
    assert load_file(path).from_cache
    assert not load_file(path, cache=False).from_cache


def test_gzipped_csv(tmp_path):
    bars = synthetic_bars(2, days=5, seed=2)
    bars.to_csv(tmp_path / "b.csv.gz")
    frame = read_file(tmp_path / "b.csv.gz")
    np.testing.assert_array_equal(frame["close"].to_numpy(), bars["close"].to_numpy())


def test_a_truncated_gzip_is_a_data_error_and_caches_nothing(tmp_path):
    bars = synthetic_bars(2, days=400, seed=2)
    bars.to_csv(tmp_path / "b.csv.gz")
    whole = (tmp_path / "b.csv.gz").read_bytes()
    (tmp_path / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"cut\.csv\.gz: cannot read CSV: Compressed file ended") as info:
        load_file(tmp_path / "cut.csv.gz", cache_dir=tmp_path / "cache")
    assert info.value.rule == "format"
    assert not (tmp_path / "cache").exists() or not os.listdir(tmp_path / "cache")


def test_the_cache_keys_the_symbol_a_file_name_gives(tmp_path, monkeypatch):
    """cp spy.csv qqq.csv: the same bytes under another name load as QQQ, not as SPY's
    cached rows (and a cache keyed without it would serve SPY: shown with the key broken)."""
    from workbench.feed import files

    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    text = "time,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10,11,9,10.5,100\n"
    (tmp_path / "spy.csv").write_text(text)
    (tmp_path / "qqq.csv").write_text(text)
    assert files.load_file(tmp_path / "spy.csv").frame["symbol"].unique().tolist() == ["SPY"]
    second = files.load_file(tmp_path / "qqq.csv")
    assert second.frame["symbol"].unique().tolist() == ["QQQ"] and not second.from_cache
    assert files.load_file(tmp_path / "qqq.csv").from_cache  # its own entry serves it next time
    original = files._cache_key
    monkeypatch.setattr(files, "_cache_key", lambda p, **o: original(p, **{k: v for k, v in o.items()
                                                                            if k not in ("symbol", "source")}))
    (tmp_path / "cache2").mkdir()
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache2"))
    files.load_file(tmp_path / "spy.csv")
    assert files.load_file(tmp_path / "qqq.csv").frame["symbol"].unique().tolist() == ["SPY"]


def _load_in_child(path, queue):  # pragma: no cover (runs in a forked child)
    queue.put(len(load_file(path).frame))


def test_a_large_file_is_checked_on_two_threads_and_a_forked_child_still_loads(tmp_path, monkeypatch):
    """The value rules' reductions run on a thread pool on large files; a child forked after
    the pool exists has none of its threads and must make its own (else it waits forever)."""
    import multiprocessing

    from workbench.feed import files

    monkeypatch.setattr(files, "_POOL_FROM", 10)  # a small file counts as large
    quotes = synthetic_quotes(2, days=1, freq="1min", seed=3)
    path = tmp_path / "q.parquet"
    quotes.to_parquet(path)
    assert len(load_file(path).frame) == len(quotes)
    assert files._POOL is not None and files._POOL[0] == os.getpid()  # the pool ran
    bad = quotes.copy()
    bad.iloc[5, bad.columns.get_loc("ask_size")] = -1.0
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DataError, match="ask_size"):  # its bounds still catch a bad value
        load_file(tmp_path / "bad.parquet")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_load_in_child, args=(path, queue))
    child.start()
    child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "a forked child's load hung on its parent's thread pool"
    assert queue.get(timeout=5) == len(quotes)


def _broken_cases(tmp_path):
    """Large Parquet files (on the two-thread path) that break one pair rule or the order
    in one row, and what loading each must say."""
    quotes = synthetic_quotes(2, days=1, freq="1min", seed=3)
    bars = synthetic_bars(2, periods=300, freq="1D", seed=3)
    cases = []
    crossed = quotes.copy()
    crossed.iloc[7, crossed.columns.get_loc("bid")] = crossed["ask"].iloc[7] + 0.5
    cases.append((crossed, "bid_le_ask", 8))
    high = bars.copy()
    high.iloc[9, high.columns.get_loc("high")] = high[["open", "close"]].iloc[9].max() - 0.01
    cases.append((high, "high_ge_open_close", 10))
    low = bars.copy()
    low.iloc[11, low.columns.get_loc("low")] = low[["open", "close"]].iloc[11].min() + 0.01
    cases.append((low, "low_le_open_close", 12))
    back = quotes.copy()
    stamps = back.index.to_numpy().copy()
    stamps[20] = stamps[2]  # row 21 steps back in time, within its symbol
    back.index = pd.DatetimeIndex(stamps, name=back.index.name)
    cases.append((back, "time_order", 21))
    out = []
    for i, (frame, rule, row) in enumerate(cases):
        path = tmp_path / f"broken{i}.parquet"
        frame.to_parquet(path)
        out.append((path, rule, row, frame))
    return out


def test_the_scans_shortcuts_still_find_one_broken_row(tmp_path, monkeypatch):
    """A clean file skips the per-row masks of the pair and order rules (a whole-column scan
    says none is broken); one broken row in a large file is still found at its row, and the
    first and last times are right whichever way the rows came."""
    from workbench.feed import files

    monkeypatch.setattr(files, "_POOL_FROM", 10)  # these count as large: the two-thread path
    for path, rule, row, frame in _broken_cases(tmp_path):
        with pytest.raises(DataError) as caught:
            load_file(path)
        assert (caught.value.rule, caught.value.row) == (rule, row), (path, caught.value)
        loaded = load_file(path, on_error="drop")
        assert loaded.report.bad_rows == 1
        kept = frame.index.delete(row - 1)
        assert (loaded.report.first_time, loaded.report.last_time) == (kept.min(), kept.max())
    shuffled = synthetic_quotes(2, days=1, freq="1min", seed=3).sort_values("symbol", kind="stable")
    shuffled.to_parquet(tmp_path / "by_symbol.parquet")  # each symbol in order, the file not
    report = load_file(tmp_path / "by_symbol.parquet").report
    assert (report.first_time, report.last_time) == (shuffled.index.min(), shuffled.index.max())
    # red: a scan that calls every file clean and ordered lets the broken rows through
    monkeypatch.setattr(files, "_scan", lambda cols, kind, stamps: ({}, frozenset(
        {"bid_le_ask", "high_ge_open_close", "low_le_open_close"}), True))
    missed = [rule for path, rule, row, frame in _broken_cases(tmp_path)
              if load_file(path, on_error="drop").report.bad_rows == 0]
    assert missed == ["bid_le_ask", "high_ge_open_close", "low_le_open_close", "time_order"]


def test_duplicate_columns_beside_a_time_index_are_named(tmp_path):
    """Found by a break-it review: a regression gave a raw ValueError here."""
    t = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC", name="time")
    frame = pd.DataFrame({"symbol": "SPY", "open": 1.0, "high": 1.0, "low": 1.0, "Close": 1.0, "close": 1.0,
                          "volume": 1.0}, index=t)
    frame.to_parquet(tmp_path / "x.parquet")
    with pytest.raises(DataError, match=r"duplicate column\(s\) \['close'\]"):
        load_file(tmp_path / "x.parquet")


TIMES_FILE = """time,symbol,open,high,low,close,volume
2024-03-10T01:30:00,A,1,1,1,1,1
2024-03-10 02:30:00,A,1,1,1,1,1
2024-03-10T03:30:00-04:00,A,1,1,1,1,1
,A,1,1,1,1,1
not a time,A,1,1,1,1,1
2024-03-10T08:00:00Z,A,1,1,1,1,1
2024-11-03 01:30:00,A,1,1,1,1,1
2024-11-03T06:00:00+00:00,B,1,1,1,1,1
2024-11-03T06:00:00+00:00,B,1,1,1,1,1
2024-11-03 02:00:00,B,1,1,1,1,1
2300-01-01 00:00:00,B,1,1,1,1,1
2024-11-04 09:30:00.000000001,B,1,1,1,1,1
"""
DOTTED_FILE = "time,symbol,close\n" + "".join(f"0{d}.01.2024 10:00,A,{d}\n" for d in range(1, 8)) + "x,A,1\n"


@pytest.mark.parametrize("text", [TIMES_FILE, DOTTED_FILE], ids=["iso, offsets, DST, bad", "dotted"])
def test_times_parsed_a_slice_at_a_time_are_those_parsed_at_once(tmp_path, monkeypatch, text):
    """Text times are parsed TIME_SLICE rows at a time: slices of 2 and 3 rows (sets with and
    without an offset, missing, unparseable, DST gaps and overlaps, a year beyond ns, a set
    with no ISO 8601 row) give the frame and report of one slice for the whole file."""
    from workbench.feed import files

    path = tmp_path / "times.csv"
    path.write_text(text)

    def load():
        loaded = load_file(path, tz="America/New_York", on_error="drop", cache=False)
        return loaded.frame, [(v.rule, v.column, v.first_lines) for v in loaded.report.violations]

    whole = load()
    assert len(whole[0]) >= 3 and whole[1], "the file should have good and bad rows"
    for size in (2, 3):
        monkeypatch.setattr(files, "TIME_SLICE", size)
        frame, violations = load()
        pd.testing.assert_frame_equal(frame, whole[0])
        assert violations == whole[1]


def test_repeated_time_and_symbol_pairs_are_found_as_duplicated_finds_them():
    """In-order times: each repeat of a (time, symbol) pair after the first, missing symbols
    included, is a duplicate_time, as DataFrame.duplicated marks them."""
    from workbench.feed.validate import Findings, check_order

    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(2, 120))
        times = np.sort(rng.integers(0, max(2, n // 3), n)).astype(np.int64)
        codes = rng.integers(-1, 4, n)
        symbols = pd.Series(pd.Categorical.from_codes(codes, ["A", "B", "C", "D"]))
        findings = Findings(n)
        check_order(times, symbols, "bars", findings, ordered=True)
        found = findings.bad()
        want = pd.DataFrame({"t": times, "s": codes}).duplicated().to_numpy()
        assert ((found if found is not None else np.zeros(n, bool)) == want).all()


@pytest.mark.parametrize("time, words", [("2024-03-10 02:30:00", "does not exist: the clocks skip it"),
                                         ("2024-11-03 01:30:00", "is ambiguous: the clocks repeat it"),
                                         ("nope", None)])
def test_a_local_time_a_daylight_saving_change_breaks_is_said_to_be_one(tmp_path, time, words):
    path = tmp_path / "local.csv"
    path.write_text(f"time,symbol,open,high,low,close,volume\n2024-01-02 10:00:00,A,1,1,1,1,1\n{time},A,1,1,1,1,1\n")
    with pytest.raises(DataError) as info:
        load_file(path, tz="America/New_York", cache=False)
    assert info.value.line == 3 and info.value.rule == "time_parse"
    assert (words in str(info.value)) if words else ("the clocks" not in str(info.value))
    utc = load_file(path, cache=False, on_error="drop") if words else None  # in UTC the same times are fine
    assert utc is None or utc.report.bad_rows == 0


def test_times_slices_agree_on_years_beyond_2262_offsets_in_hours_and_clock_words(tmp_path, monkeypatch):
    """Found by a review: pandas picks each parse's unit from its rows, so a year beyond 2262
    parsed alone (a slice of its own) and stopped the dotted dates' fallback; an offset
    written +HH was read as a local time; 'now' read as the time of the load. Whatever the
    slices: US dates read by the fallback, +HH converted, 'now' and 'today' a time_parse."""
    from workbench.feed import files

    path = tmp_path / "t.csv"
    rows = ["01/02/2020 00:00", "01/03/2020 00:00", "1500-01-01 00:00:00.000000001", "3000-01-01 00:00:00"]
    path.write_text("time,symbol,close\n" + "".join(f"{t},A,1\n" for t in rows))
    offsets = tmp_path / "o.csv"
    offsets.write_text("time,symbol,close\n2024-01-01T10:00:00+01,A,1\n2024-01-01T10:30:00+02,A,1\n"
                       "now,A,1\ntoday,A,1\n")
    spaced = tmp_path / "s.csv"  # naive times beside offsets written with a space, or in the basic format
    spaced.write_text("time,symbol,close\n2024-01-01 09:00:00,A,1\n2024-01-01 11:02:00 +01,A,1\n"
                      "20240101T120300+01,A,1\n2024-01-01 11:04:00,A,1\n")
    for size in (1, 2, 3, 1 << 18):
        monkeypatch.setattr(files, "TIME_SLICE", size)
        loaded = load_file(path, cache=False, on_error="drop")
        assert loaded.report.bad_rows == 2 and len(loaded.frame) == 2, size
        loaded = load_file(offsets, cache=False, on_error="drop")
        # 10:00+01 is 09:00 UTC; 10:30+02 is 08:30 UTC, before it: out of order
        assert [str(t) for t in loaded.frame.index] == ["2024-01-01 09:00:00+00:00"], size
        assert loaded.report.counts() == {"time_parse": 2, "time_order": 1}, size
        loaded = load_file(spaced, cache=False)
        assert [t.strftime("%H:%M") for t in loaded.frame.index] == ["09:00", "10:02", "11:03", "11:04"], size
