"""Replay: merge canonical frames into one stream ordered by (time, sequence).

The order is total: events sort by time; ties keep the order in which the sources were
given, then each source's row order. ``seq`` numbers the merged stream from 0.

Three ways to consume it:

* ``for event in replay`` yields :class:`~workbench.model.Bar` and
  :class:`~workbench.model.Quote` objects (built in chunks from the arrays; frames are
  validated once on entry with the feed's rules, so events are not checked one by one;
  each keeps its time as nanoseconds and builds its UTC ``datetime`` when asked,
  ``pandas.Timestamp`` for a sub-microsecond time);
* ``async for event in replay`` does the same in an event loop (pacing with asyncio);
* ``replay.batches(size)`` and ``replay.frame()`` give whole arrays, for vectorized
  consumers.

``speed=None`` replays as fast as possible; ``speed=60`` paces events by the wall clock,
one data minute per real second (paper sessions, dashboards). The clock and the sleep
function can be injected, so tests of pacing need no real waiting.
"""

from __future__ import annotations

import asyncio
import time as _time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.feed.schema import FIELDS, Kind, kind_of
from workbench.feed.files import validate_frame
from workbench.model import Bar, Quote, bars_from_ns, quotes_from_ns
from workbench.units import utc_time

# Events built at a time. Fewer than the collector's youngest-generation threshold (700
# allocations by default), so a chunk's events die young: with 1,024 every chunk started a
# collection that walked its live events and promoted them, and replaying objects took 1.8x
# as long (bench_feed: 0.52x plain tuples; 0.9x at 256). Backtests run the same either way.
CHUNK = 256


@dataclass
class _Source:
    kind: Kind
    times: np.ndarray  # int64 ns UTC
    symbols: np.ndarray  # object array of str
    columns: tuple[np.ndarray, ...]  # float64 data columns in FIELDS order


@dataclass
class ReplayStats:
    """What a replay has delivered so far."""

    events: int = 0
    seconds: float = 0.0  # wall time spent inside the iterator, pacing included
    batches: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")


class Replay:
    """A merged, optionally paced, stream of bars and quotes from canonical frames."""

    def __init__(
        self,
        *frames: pd.DataFrame,
        speed: float | None = None,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        clock: Callable[[], float] = _time.monotonic,
        sleep: Callable[[float], None] = _time.sleep,
    ) -> None:
        if not frames:
            raise ValueError("Replay needs at least one frame")
        if speed is not None and not (isinstance(speed, (int, float)) and speed > 0):
            raise ValueError(f"speed must be a positive number of data seconds per second, got {speed!r}")
        self.speed = speed
        self.clock = clock
        self.sleep = sleep
        # slices() paces nothing at or before this time (a resumed run catching up on what
        # its journal already holds); the pacing starts with the first slice after it
        self.pace_after_ns: int | None = None
        self.stats = ReplayStats()
        lo = _ns(start, "start")
        hi = _ns(end, "end")
        self._sources = [_source(f, i, lo, hi) for i, f in enumerate(frames)]
        times = np.concatenate([s.times for s in self._sources])
        source_ids = np.concatenate(
            [np.full(s.times.size, i, dtype=np.int32) for i, s in enumerate(self._sources)]
        )
        rows = np.concatenate([np.arange(s.times.size, dtype=np.int64) for s in self._sources])
        order = _merge_order(times, source_ids)
        self._times = times[order]
        self._source_ids = source_ids[order]
        self._rows = rows[order]
        self._in_order = len(self._sources) == 1 and bool(np.all(self._rows == np.arange(self._rows.size)))
        self._unique_times: bool | None = None  # (one_event_per_time, when first asked)

    def __len__(self) -> int:
        return int(self._times.size)

    @property
    def kinds(self) -> list[Kind]:
        return [s.kind for s in self._sources]

    # --- vectorized access -------------------------------------------------------------

    def frame(self) -> pd.DataFrame:
        """The whole merged stream as one frame: ``seq, source, kind, symbol`` and the
        data columns of every source kind (NaN where a kind lacks a column). Never paced."""
        return next(self._frames(max(len(self), 1)), pd.DataFrame())

    def batches(self, size: int = 65_536) -> Iterator[pd.DataFrame]:
        """Consecutive slices of the merged stream as frames (columns as :meth:`frame`),
        paced by the first event of each batch when ``speed`` is set."""
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        t0 = start_wall = self.clock()
        for lo, batch in zip(range(0, len(self), size), self._frames(size)):
            self._pace(int(self._times[lo]), self._times[0], start_wall)
            yield batch
            self._count(len(batch), t0, batches=1)
            t0 = self.clock()

    def _frames(self, size: int) -> Iterator[pd.DataFrame]:
        cols: list[str] = []
        for s in self._sources:
            cols.extend(c for c in FIELDS[s.kind] if c not in cols)
        for lo in range(0, len(self), size):
            hi = min(lo + size, len(self))
            src = self._source_ids[lo:hi]
            rows = self._rows[lo:hi]
            data: dict[str, np.ndarray] = {
                "seq": np.arange(lo, hi, dtype=np.int64),
                "source": src,
                "kind": np.empty(hi - lo, dtype=object),
                "symbol": np.empty(hi - lo, dtype=object),
            }
            for c in cols:
                data[c] = np.full(hi - lo, np.nan)
            for i, s in enumerate(self._sources):
                mask = src == i
                if not mask.any():
                    continue
                r = rows[mask]
                data["kind"][mask] = s.kind
                data["symbol"][mask] = s.symbols[r]
                for name, col in zip(FIELDS[s.kind], s.columns):
                    data[name][mask] = col[r]
            index = pd.DatetimeIndex(self._times[lo:hi], tz="UTC", name="time")
            yield pd.DataFrame(data, index=index)

    def marks(self, until_ns: int | None = None, exclude: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
        """The price each symbol is marked at after each time (a bar's close, a quote's mid;
        of several at one time, the last in replay order), forward filled: a time x symbol
        frame (symbols sorted), what an equity curve values positions at. Events after
        ``until_ns`` and the symbols of ``exclude`` are left out. From the arrays, without
        :meth:`frame`'s per-event columns (a test checks it against a groupby of that frame)."""
        times, symbols, marks = [], [], []
        for s in self._sources:
            keep = np.ones(s.times.size, dtype=bool)
            if until_ns is not None:
                keep &= s.times <= until_ns
            if exclude:  # hashed (np.isin sorts object arrays: minutes for an option chain's millions of rows)
                keep &= ~pd.Index(s.symbols).isin(list(exclude))
            mark = s.columns[3] if s.kind == "bars" else (s.columns[0] + s.columns[1]) / 2
            times.append(s.times[keep])
            symbols.append(s.symbols[keep])
            marks.append(mark[keep])
        t = np.concatenate(times)
        if not t.size:
            return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="time"))
        order = np.argsort(t, kind="stable")  # replay order: by time, ties in source then row order
        t, sym, mark = t[order], np.concatenate(symbols)[order], np.concatenate(marks)[order]
        codes, found = pd.factorize(sym)
        rank = np.argsort(np.asarray(found, dtype=str), kind="stable")  # the columns sorted by name
        names = np.asarray(found, dtype=object)[rank]
        codes = np.argsort(rank)[codes]
        new_time = np.append(True, t[1:] != t[:-1])  # t is sorted: a time's rows are consecutive
        stamps, rows = t[new_time], np.cumsum(new_time) - 1
        key = rows.astype(np.int64) * len(names) + codes
        grid = np.full((stamps.size, len(names)), np.nan)
        if pd.Index(key).is_unique:  # one mark per time and symbol
            grid[rows, codes] = mark
        else:  # the last of each (time, symbol) in replay order (a stable sort keeps it)
            ordered = np.argsort(key, kind="stable")
            key, mark = key[ordered], mark[ordered]
            last = np.flatnonzero(np.append(key[1:] != key[:-1], True))
            grid.reshape(-1)[key[last]] = mark[last]
        columns = pd.Index([str(n) for n in names], name="symbol")
        frame = pd.DataFrame(grid, index=pd.DatetimeIndex(stamps, tz="UTC", name="time"), columns=columns)
        return frame.ffill()

    # --- per-event objects -------------------------------------------------------------

    def __iter__(self) -> Iterator[Bar | Quote]:
        start_wall = self.clock()
        t_first = self._times[0] if len(self) else 0
        for lo, chunk in self._chunks():
            t0 = self.clock()
            if self.speed is None:
                yield from chunk
            else:
                for j, event in enumerate(chunk):
                    self._pace(int(self._times[lo + j]), t_first, start_wall)
                    yield event
            self._count(len(chunk), t0)

    @property
    def one_event_per_time(self) -> bool:
        """Whether no two events share a time (each of :meth:`slices` holds one event)."""
        if self._unique_times is None:
            t = self._times
            self._unique_times = bool(np.all(t[1:] > t[:-1]))
        return self._unique_times

    def slices(self) -> Iterator[tuple[int, list[Bar | Quote]]]:
        """The stream cut into time slices: ``(time in UTC ns, events at that time)``, in
        order; paced by each slice's time when ``speed`` is set. The engine's loop."""
        start_wall = self.clock()
        t_first = self._times[0] if len(self) else 0
        catch_up = self.pace_after_ns
        paced = self.speed is not None
        pending: list | None = None
        pending_t = 0
        for lo, chunk in self._chunks():
            t0 = self.clock()
            if not paced and catch_up is None:  # unpaced: cut by each event's own time (its first field)
                for event in chunk:
                    t = event[0]
                    if pending is not None:
                        if t == pending_t:
                            pending.append(event)
                            continue
                        yield pending_t, pending
                    pending, pending_t = [event], t
                self._count(len(chunk), t0)
                continue
            times = self._times[lo : lo + len(chunk)]
            cuts = (np.flatnonzero(times[1:] != times[:-1]) + 1).tolist()
            starts = [0, *cuts]
            for s, e, t in zip(starts, [*cuts, len(chunk)], times[starts].tolist()):
                if pending is not None:
                    if t == pending_t:  # a slice that spans two chunks
                        pending.extend(chunk[s:e])
                        continue
                    if catch_up is None:
                        if paced:
                            self._pace(pending_t, t_first, start_wall)
                    elif pending_t > catch_up:  # caught up: the pacing starts from this slice
                        catch_up, t_first, start_wall = None, pending_t, self.clock()
                    yield pending_t, pending
                pending, pending_t = chunk[s:e], t
            self._count(len(chunk), t0)
        if pending is not None:
            if catch_up is None:
                self._pace(pending_t, t_first, start_wall)
            yield pending_t, pending

    async def __aiter__(self) -> AsyncIterator[Bar | Quote]:
        start_wall = self.clock()
        t_first = self._times[0] if len(self) else 0
        for lo, chunk in self._chunks():
            t0 = self.clock()
            for j, event in enumerate(chunk):
                if self.speed is not None:
                    delay = self._delay(int(self._times[lo + j]), t_first, start_wall)
                    if delay > 0:
                        await asyncio.sleep(delay)
                elif j % 1024 == 0:
                    await asyncio.sleep(0)  # let other tasks run in a fast replay
                yield event
            self._count(len(chunk), t0)

    def _chunks(self) -> Iterator[tuple[int, list[Bar | Quote]]]:
        for lo in range(0, len(self), CHUNK):
            hi = min(lo + CHUNK, len(self))
            yield lo, self._objects(lo, hi)

    def _objects(self, lo: int, hi: int) -> list[Bar | Quote]:
        if self._in_order:  # one source replayed in its own row order: rows lo..hi, as views
            return _build(self._sources[0], slice(lo, hi))
        src = self._source_ids[lo:hi]
        rows = self._rows[lo:hi]
        if len(self._sources) == 1:
            return _build(self._sources[0], rows)
        out: list = [None] * (hi - lo)
        for i, s in enumerate(self._sources):
            positions = np.flatnonzero(src == i)
            if positions.size:
                for p, event in zip(positions.tolist(), _build(s, rows[positions])):
                    out[p] = event
        return out

    # --- pacing and counting -----------------------------------------------------------

    def _delay(self, t_ns: int, t_first: int, start_wall: float) -> float:
        due = start_wall + (t_ns - int(t_first)) / 1e9 / self.speed
        return due - self.clock()

    def _pace(self, t_ns: int, t_first: int, start_wall: float) -> None:
        if self.speed is None:
            return
        delay = self._delay(t_ns, t_first, start_wall)
        if delay > 0:
            self.sleep(delay)

    def _count(self, n: int, t0: float, batches: int = 0) -> None:
        self.stats.events += n
        self.stats.seconds += self.clock() - t0
        self.stats.batches += batches


def _merge_order(times: np.ndarray, source_ids: np.ndarray) -> np.ndarray:
    """Positions of the concatenated sources' rows in replay order: a stable sort by time,
    so ties keep source order, then row order."""
    return np.argsort(times, kind="stable")


def _ns(value: str | pd.Timestamp | None, name: str) -> int | None:
    if value is None:
        return None
    return int(utc_time(value, name).as_unit("ns").value)


def _source(frame: pd.DataFrame, i: int, lo: int | None, hi: int | None) -> _Source:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"source {i}: expected a canonical DataFrame, got {type(frame).__name__}")
    if not isinstance(frame.index, pd.DatetimeIndex) or frame.index.tz is None:
        raise ValueError(f"source {i}: index must be a UTC DatetimeIndex named 'time'")
    kind = kind_of(frame)
    if "symbol" not in frame.columns:
        raise ValueError(f"source {i}: missing column 'symbol'")
    # The feed's rules once, vectorized, so events can be built without re-checking each.
    if len(frame):
        frame = validate_frame(frame, kind=kind, source=f"replay source {i}").frame
    times = frame.index.tz_convert("UTC").as_unit("ns").asi8
    keep = np.ones(times.size, dtype=bool)
    if lo is not None:
        keep &= times >= lo
    if hi is not None:
        keep &= times <= hi
    sel = slice(None) if keep.all() else keep
    times = times[sel]
    return _Source(
        kind=kind,
        times=times,
        symbols=_symbol_array(frame["symbol"])[sel],
        columns=tuple(frame[c].to_numpy(dtype=np.float64)[sel] for c in FIELDS[kind]),
    )


def _symbol_array(col: pd.Series) -> np.ndarray:
    """Symbols as an object array of str; categoricals through their codes (fast)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        names = np.asarray(col.cat.categories.astype(str), dtype=object)
        return names[col.cat.codes.to_numpy()]
    return col.astype(str).to_numpy(dtype=object)


def _build(s: _Source, rows: np.ndarray | slice) -> list[Bar | Quote]:
    """Objects for ``rows`` of one validated source, built in C (``tuple.__new__`` over
    ``zip`` of lists): no Python call and no ``datetime`` per event; an event builds its
    ``time`` from its nanoseconds when asked (:class:`~workbench.model.Bar`)."""
    make = bars_from_ns if s.kind == "bars" else quotes_from_ns
    return list(make(zip(s.times[rows].tolist(), s.symbols[rows].tolist(), *(c[rows].tolist() for c in s.columns))))
