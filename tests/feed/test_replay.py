"""Replay: total (time, sequence) order, the three ways to consume it, and pacing."""

import asyncio
import itertools
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.feed import DataError, Replay, synthetic_bars, synthetic_quotes
from workbench.model import Bar, Quote

BASE = pd.Timestamp("2024-01-02 14:30", tz="UTC")


def times(seconds: list[int]) -> pd.DatetimeIndex:
    ns = BASE.as_unit("ns").value + np.asarray(seconds, dtype=np.int64) * 1_000_000_000
    return pd.DatetimeIndex(ns, tz="UTC", name="time")


def quotes_at(seconds: list[int], symbol: str = "X") -> pd.DataFrame:
    n = len(seconds)
    index = times(seconds)
    return pd.DataFrame(
        {"symbol": symbol, "bid": 10.0 + np.arange(n), "ask": 10.5 + np.arange(n),
         "bid_size": 100.0, "ask_size": 100.0},
        index=index,
    )


def bars_at(seconds: list[int], symbol: str = "Y") -> pd.DataFrame:
    n = len(seconds)
    index = times(seconds)
    price = 50.0 + np.arange(n)
    return pd.DataFrame(
        {"symbol": symbol, "open": price, "high": price + 1, "low": price - 1, "close": price, "volume": 1.0},
        index=index,
    )


sorted_seconds = st.lists(st.integers(0, 30), max_size=25).map(sorted)


@given(st.lists(st.tuples(st.booleans(), sorted_seconds), min_size=1, max_size=4))
def test_order_is_time_then_source_then_row(specs):
    # Quotes may share a time within a source; bar times strictly increase.
    frames = [
        quotes_at(secs, f"Q{i}") if is_quote else bars_at(sorted(set(secs)), f"B{i}")
        for i, (is_quote, secs) in enumerate(specs)
    ]
    # Independent reference: Python's sort of (time, source, row) tuples.
    expected = sorted(
        (int(t.value), i, r) for i, f in enumerate(frames) for r, t in enumerate(f.index)
    )
    replay = Replay(*frames)
    events = list(replay)
    assert len(events) == len(expected) == len(replay)
    for event, (t, i, r) in zip(events, expected):
        frame = frames[i]
        assert pd.Timestamp(event.time).value == t and event.symbol == frame["symbol"].iloc[r]
        assert isinstance(event, Quote if "bid" in frame.columns else Bar)
        first_field = "bid" if isinstance(event, Quote) else "open"
        assert getattr(event, first_field) == frame[first_field].iloc[r]
    merged = replay.frame()
    if expected:
        assert merged["seq"].tolist() == list(range(len(expected)))
        assert list(zip(merged.index.asi8.tolist(), merged["source"].tolist())) == [(t, i) for t, i, _ in expected]


def test_batches_concatenate_to_the_frame_and_match_the_events():
    q = synthetic_quotes(2, days=1, freq="1min", seed=1)
    b = synthetic_bars(2, days=1, freq="5min", seed=2)
    replay = Replay(q, b)
    whole = replay.frame()
    parts = pd.concat(list(replay.batches(size=97)))
    pd.testing.assert_frame_equal(parts, whole)
    assert replay.stats.events == len(whole) and replay.stats.batches == -(-len(whole) // 97)
    events = list(Replay(q, b))
    assert [e.symbol for e in events] == whole["symbol"].tolist()
    assert [pd.Timestamp(e.time).value for e in events] == whole.index.asi8.tolist()
    bids = [e.bid for e in events if isinstance(e, Quote)]
    assert bids == whole.loc[whole["kind"] == "quotes", "bid"].tolist()


def test_start_and_end_filter_inclusively():
    replay = Replay(quotes_at([0, 10, 20, 30]), start=BASE + pd.Timedelta(seconds=10), end="2024-01-02 14:30:20Z")
    assert [e.time.second for e in replay] == [10, 20]


class FakeClock:
    """A clock that only moves when the replay sleeps: pacing tests need no waiting."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_pacing_follows_data_time_at_the_speed_multiplier():
    clock = FakeClock()
    replay = Replay(quotes_at([0, 60, 60, 180]), speed=60, clock=clock, sleep=clock.sleep)
    seen = []
    for event in replay:
        seen.append((event.time.second + 60 * event.time.minute, clock.now - 1000.0))
    # One data minute per wall second; ties are not waited for.
    assert [wall for _, wall in seen] == pytest.approx([0.0, 1.0, 1.0, 3.0])
    assert len(clock.sleeps) == 2


def test_pacing_does_not_drift_when_the_consumer_is_slow():
    clock = FakeClock()
    replay = Replay(quotes_at([0, 1, 2, 3]), speed=1, clock=clock, sleep=clock.sleep)
    walls = []
    for _ in replay:
        walls.append(clock.now - 1000.0)
        clock.now += 1.5  # the consumer takes longer than the data interval
    # Due times are absolute: a late stream catches up instead of sleeping more.
    assert walls == pytest.approx([0.0, 1.5, 3.0, 4.5]) and clock.sleeps == []


def test_async_replay_yields_the_same_events_and_paces_for_real():
    frames = (quotes_at([0, 1, 2]), bars_at([1, 2]))
    expected = [(pd.Timestamp(e.time).value, e.symbol) for e in Replay(*frames)]

    async def consume(speed):
        out = []
        async for e in Replay(*frames, speed=speed):
            out.append((pd.Timestamp(e.time).value, e.symbol))
        return out

    assert asyncio.run(consume(None)) == expected
    t0 = time.monotonic()
    assert asyncio.run(consume(20.0)) == expected  # 2 data seconds at 20x: >= 0.1 s
    assert time.monotonic() - t0 >= 0.1


def test_frames_are_checked_on_entry():
    bad = bars_at([0, 1])
    bad.iloc[1, bad.columns.get_loc("high")] = 1.0  # below open and close
    with pytest.raises(DataError, match="replay source 0, row 2"):
        Replay(bad)


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least one frame"):
        Replay()
    with pytest.raises(ValueError, match="speed must be a positive"):
        Replay(quotes_at([0]), speed=0)
    with pytest.raises(TypeError, match="source 0"):
        Replay([1, 2, 3])
    naive = quotes_at([0])
    naive.index = naive.index.tz_localize(None)
    with pytest.raises(ValueError, match="UTC DatetimeIndex"):
        Replay(naive)
    with pytest.raises(ValueError, match="start: not a date or time"):
        Replay(quotes_at([0]), start="soon")


def marks_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The price each symbol is marked at after each time (bar close, quote mid), forward
    filled: a time x symbol frame, from a merged replay frame (what the engine computed
    before Replay.marks: the independent statement)"""
    if frame.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="time"))
    mark = frame["close"] if "close" in frame.columns else pd.Series(np.nan, index=frame.index)
    if "bid" in frame.columns:
        mark = mark.fillna((frame["bid"] + frame["ask"]) / 2)
    return (
        pd.DataFrame({"symbol": frame["symbol"].to_numpy(), "mark": mark.to_numpy()}, index=frame.index)
        .groupby([pd.Grouper(level="time"), "symbol"]).last()["mark"].unstack("symbol").ffill()
    )



@given(st.lists(st.tuples(st.booleans(), sorted_seconds, st.sampled_from(["A", "B"])), min_size=1, max_size=4),
       st.integers(0, 30), st.booleans())
def test_marks_from_the_arrays_equal_the_marks_of_the_merged_frame(specs, until, exclude_b):
    # Replay.marks (what the engine values positions at) against marks_of on
    # replay.frame(), an independent groupby: the last mark of each time and symbol (sources
    # may mark the same symbol at the same time), forward filled, cut at `until`.
    frames = [quotes_at(secs, symbol) if is_quote else bars_at(sorted(set(secs)), symbol)
              for is_quote, secs, symbol in specs]
    replay = Replay(*frames)
    cut = BASE.as_unit("ns").value + until * 1_000_000_000
    frame = replay.frame()
    if len(frame):
        frame = frame[(frame.index.asi8 <= cut) & ~(exclude_b & (frame["symbol"] == "B")).to_numpy()]
    expected = marks_of(frame)
    got = replay.marks(until_ns=cut, exclude={"B"} if exclude_b else set())
    pd.testing.assert_frame_equal(got, expected, check_column_type=False, check_index_type=len(expected) > 0)


def test_marks_take_the_last_of_a_time_in_replay_order():
    # Two sources mark X at the same time: the later source's mark wins (red if the first did).
    first, second = quotes_at([0, 1], "X"), quotes_at([1, 2], "X")
    second[["bid", "ask"]] += 100.0
    marks = Replay(first, second).marks()
    assert marks["X"].tolist() == [10.25, 110.25, 111.25]


def test_events_keep_their_time_as_nanoseconds_and_build_it_when_asked():
    whole = bars_at([0, 1])
    fine = whole.copy()
    fine.index = fine.index + pd.Timedelta(nanoseconds=7)
    a, b = list(Replay(whole))
    assert a.ns == BASE.as_unit("ns").value and a.time == BASE and b.time == BASE + pd.Timedelta(seconds=1)
    (c, d) = list(Replay(fine))
    assert c.time.value == BASE.as_unit("ns").value + 7  # nanoseconds kept
    # one type whatever the time: a whole second and a nanosecond alike (code may call
    # Timestamp methods on any event's time; a plain datetime for some broke the dashboard)
    assert {type(e.time) for e in (a, b, c, d)} == {pd.Timestamp} and str(a.time.tz) == "UTC"


@pytest.mark.parametrize("symbols", [1, 3, 300])
def test_slices_are_the_events_of_each_time_paced_or_not(symbols):
    """slices() against a groupby of the merged events' times: 300 symbols make slices
    longer than a chunk (256 events), so some span two; the paced cut (a clock that never
    waits) and the unpaced one give the same slices."""
    bars = synthetic_bars(symbols, periods=max(2_000 // symbols, 3), seed=2)
    quotes = synthetic_quotes(1, days=1, freq="7min", seed=3)
    expected = [list(g) for _, g in itertools.groupby(list(Replay(bars, quotes)), key=lambda e: e.time)]
    unpaced = list(Replay(bars, quotes).slices())
    paced = list(Replay(bars, quotes, speed=1e12, clock=lambda: 0.0, sleep=lambda s: None).slices())
    assert [events for _, events in unpaced] == expected
    assert [t for t, _ in unpaced] == [events[0][0] for events in expected]
    assert paced == unpaced
    if symbols == 300:
        assert max(len(events) for _, events in unpaced) == 300 > 256
