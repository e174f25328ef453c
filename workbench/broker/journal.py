"""The broker's append-only SQLite journal: the source of truth for orders and the account.

Every order event and fill is written here before the broker acknowledges it; the account
and the order book are a fold over these events, so recovery is replay
(:meth:`SimulatedBroker.recover <workbench.broker.SimulatedBroker.recover>`).

Durability modes:

``"sync"`` (default)
    Each event is its own transaction, committed before the call that made it returns, in
    WAL mode with ``synchronous=FULL``: an acknowledged event survives a killed process and
    a power cut.
``"batched"``
    Events are buffered and written ``batch_size`` at a time (and on :meth:`flush` and
    :meth:`close`) with ``synchronous=NORMAL``. Much faster, for backtests that can be
    re-run: a crash loses the events since the last flush (at most ``batch_size - 1``),
    acknowledged or not, and the journal stays consistent up to the last flushed event.

All SQL is parameterized. ``dump()`` gives a canonical byte serialization of the events
(one JSON line each) whose SHA-256 is the journal's fingerprint: the same event stream
gives the same bytes, whatever the SQLite file's own layout.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from workbench.errors import ConfigError, WorkbenchError
from workbench.hashing import sha256_bytes
from workbench.sqlite import transaction

Durability = Literal["sync", "batched"]
FORMAT = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    time_ns INTEGER NOT NULL,
    kind TEXT NOT NULL,
    order_id TEXT,
    payload TEXT NOT NULL
);
"""


class JournalError(WorkbenchError):
    """The journal cannot be opened, written or read as a workbench journal."""


@dataclass(frozen=True, slots=True)
class Event:
    """One journaled event: ``seq`` orders all events; ``time_ns`` is market time (UTC ns)."""

    seq: int
    time_ns: int
    kind: str
    order_id: str | None
    payload: dict[str, Any]


def _line(seq: int, time_ns: int, kind: str, order_id: str | None, payload: str) -> str:
    return (f'{{"seq":{seq},"time_ns":{time_ns},"kind":{json.dumps(kind)},'
            f'"order_id":{json.dumps(order_id)},"payload":{payload}}}\n')


def encode(payload: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys, no spaces, floats as Python's shortest repr."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)


class MemoryJournal:
    """The journal of a run that keeps nothing on disk (``journal=None``): events in a list.

    Same interface and the same :meth:`dump` bytes as :class:`Journal`, without the SQLite
    and JSON work per event, so a backtest that needs no file does not pay for one.
    """

    path = None
    durability = "memory"
    batch_size = 0

    write_errors = 0

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._meta: dict[str, Any] = {}
        self.writes = 0

    def write_times_since(self, seen: int) -> tuple[int, list[float]]:
        """Nothing is written to disk: no write times."""
        return 0, []

    def meta(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._meta))

    def write_meta(self, values: dict[str, Any]) -> None:
        self._meta.update(json.loads(json.dumps(values, sort_keys=True)))

    def append(self, event: Event) -> None:
        self._events.append(event)
        self.writes += 1

    def flush(self) -> None:
        """Nothing to write."""

    def events(self, upto_seq: int | None = None) -> Iterator[Event]:
        for e in self._events:
            if upto_seq is not None and e.seq > upto_seq:
                break
            yield e

    def last_seq(self) -> int:
        return self._events[-1].seq if self._events else -1

    def count(self) -> int:
        return len(self._events)

    def dump(self) -> bytes:
        return "".join(_line(e.seq, e.time_ns, e.kind, e.order_id, encode(e.payload))
                       for e in self._events).encode()

    def sha256(self) -> str:
        return sha256_bytes(self.dump())

    def close(self) -> None:
        """Nothing to close."""


class Journal:
    """Append-only event store in one SQLite file (``path=None``: an in-memory database;
    the broker uses :class:`MemoryJournal` instead when it has no file)."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        durability: Durability = "sync",
        batch_size: int = 1000,
    ) -> None:
        if durability not in ("sync", "batched"):
            raise ConfigError(f"journal durability must be 'sync' or 'batched', got {durability!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"journal batch_size must be an integer >= 1, got {batch_size!r}")
        self.path = None if path is None else Path(path)
        self.durability = durability
        self.batch_size = batch_size
        self._buffer: list[tuple[int, int, str, str | None, str]] = []
        self.writes = 0  # transactions committed
        self.write_errors = 0
        self._write_times: deque[float] = deque(maxlen=100_000)  # seconds per transaction
        try:
            target = ":memory:" if self.path is None else str(self.path)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durability == 'sync' else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{path}: not a usable SQLite journal: {exc}") from None

    # --- meta ----------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        rows = self._db.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
        return {k: json.loads(v) for k, v in rows}

    def write_meta(self, values: dict[str, Any]) -> None:
        """Record configuration once, when the journal is new."""
        with transaction(self._db):
            self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [(k, json.dumps(v, sort_keys=True)) for k, v in sorted(values.items())],
            )

    # --- events --------------------------------------------------------------------------

    def append(self, event: Event) -> None:
        """Write one event now (sync) or into the batch (batched)."""
        row = (event.seq, event.time_ns, event.kind, event.order_id, encode(event.payload))
        if self.durability == "sync":
            t0 = time.perf_counter()
            try:
                self._db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?)", row)
            except sqlite3.Error as exc:
                self.write_errors += 1
                raise JournalError(f"{self.path}: journal write failed: {exc}") from exc
            self._write_times.append(time.perf_counter() - t0)
            self.writes += 1
            return
        self._buffer.append(row)
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Write buffered events (batched mode); a no-op in sync mode."""
        if not self._buffer:
            return
        t0 = time.perf_counter()
        try:
            with transaction(self._db):
                self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", self._buffer)
        except sqlite3.Error as exc:
            self.write_errors += 1
            raise JournalError(f"{self.path}: journal write failed: {exc}") from exc
        self._write_times.append(time.perf_counter() - t0)
        self._buffer.clear()
        self.writes += 1

    def write_times_since(self, seen: int) -> tuple[int, list[float]]:
        """(transactions so far, the durations in seconds of those after the first ``seen``)."""
        new = min(self.writes - seen, len(self._write_times))
        return self.writes, list(self._write_times)[-new:] if new > 0 else []

    def events(self, upto_seq: int | None = None) -> Iterator[Event]:
        """Events in sequence order (flushed ones only), up to ``upto_seq`` inclusive."""
        self.flush()
        sql = "SELECT seq, time_ns, kind, order_id, payload FROM events"
        params: tuple = ()
        if upto_seq is not None:
            sql += " WHERE seq <= ?"
            params = (upto_seq,)
        for seq, t, kind, oid, payload in self._db.execute(sql + " ORDER BY seq", params):
            yield Event(seq, t, kind, oid, json.loads(payload))

    def last_seq(self) -> int:
        """The highest sequence number written (buffered events included); -1 if none."""
        if self._buffer:
            return self._buffer[-1][0]
        row = self._db.execute("SELECT MAX(seq) FROM events").fetchone()
        return -1 if row[0] is None else int(row[0])

    def count(self) -> int:
        self.flush()
        return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def dump(self) -> bytes:
        """Canonical bytes of every event (one JSON line each, in sequence order)."""
        self.flush()
        rows = self._db.execute("SELECT seq, time_ns, kind, order_id, payload FROM events ORDER BY seq")
        return "".join(_line(*row) for row in rows).encode()

    def sha256(self) -> str:
        return sha256_bytes(self.dump())

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()


def journal_file(run: str | os.PathLike) -> Path:
    """The journal of a run folder (``<run>/journal.sqlite``), or ``run`` itself when it is
    a file; an error that names the path when there is none."""
    path = Path(run)
    if path.is_dir():
        path = path / "journal.sqlite"
    if not path.is_file():
        raise JournalError(f"no journal at {path}")
    return path


def read_events(run: str | os.PathLike, last: int | None = None) -> list[Event]:
    """The events of a run's journal (the ``last`` ones only, when given), oldest first."""
    journal = Journal(journal_file(run))
    try:
        events = list(journal.events())
    finally:
        journal.close()
    return events[-last:] if last else events
