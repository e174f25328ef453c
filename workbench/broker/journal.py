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

**Steps.** The engine handles a time slice as one atomic step (:meth:`begin_step` ...
:meth:`end_step`): the slice's fills, the strategy's orders and the slice-complete marker
are committed together, so a journal never ends inside a slice and a resumed run restarts
at the first slice that did not complete. Events outside a step (a broker driven directly)
are committed one by one as above.

**Tamper evidence.** Each event row carries ``chain``, the SHA-256 of the previous row's
chain and the event's canonical line (the first row chains from a hash of the journal's
meta), and the ``head`` meta row names the last sequence number and its chain, updated in
the same transaction. :func:`verify` (and recovery) recomputes the chain: an edited,
removed, reordered or unreadable event, or a cut-off tail, is reported with the first bad
sequence number; nothing is replayed past it.

**One writer.** A writer holds an exclusive lock on ``<journal>.lock`` (``flock``, released
by the kernel when the process dies) holding its pid; a second writer is refused at once,
naming it. Readers (:func:`verify`, :func:`read_events`, ``recover(upto_seq=...)``) take no
lock.

All SQL is parameterized. ``dump()`` gives a canonical byte serialization of the events
(one JSON line each) whose SHA-256 is the journal's fingerprint: the same event stream
gives the same bytes, whatever the SQLite file's own layout.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii
from pathlib import Path
from typing import Any, Literal

from workbench.broker.timings import Timings
from workbench.errors import ConfigError, WorkbenchError
from workbench.hashing import canonical_json, sha256_bytes
from workbench.sqlite import transaction

Durability = Literal["sync", "batched"]
FORMAT = 2
JOURNAL_NAME = "journal.sqlite"  # a run folder's journal
KINDS = frozenset({"accepted", "fill", "cancelled", "expired", "triggered", "replaced", "rejected", "kill_switch",
                   "slice", "expiry"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    time_ns INTEGER NOT NULL,
    kind TEXT NOT NULL,
    order_id TEXT,
    payload TEXT NOT NULL,
    chain TEXT NOT NULL
);
"""
_INSERT = "INSERT INTO events (seq, time_ns, kind, order_id, payload, chain) VALUES (?, ?, ?, ?, ?, ?)"
_HEAD = "INSERT INTO meta (key, value) VALUES ('head', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"


class JournalError(WorkbenchError):
    """The journal cannot be opened, written or read as a workbench journal."""


class JournalCorrupted(JournalError):
    """The journal's content is not what was written: ``first_bad_seq`` is the first
    sequence number that cannot be trusted (events before it can)."""

    def __init__(self, path: Any, first_bad_seq: int, problem: str) -> None:
        self.path, self.first_bad_seq, self.problem = path, first_bad_seq, problem
        super().__init__(f"journal {path} is corrupted at sequence {first_bad_seq}: {problem} "
                         f"(`workbench journal verify` shows it)")


class JournalLocked(JournalError):
    """Another process is writing the journal."""


@dataclass(frozen=True, slots=True)
class Event:
    """One journaled event: ``seq`` orders all events; ``time_ns`` is market time (UTC ns)."""

    seq: int
    time_ns: int
    kind: str
    order_id: str | None
    payload: dict[str, Any]

    def __init__(self, seq: int, time_ns: int, kind: str, order_id: str | None, payload: dict[str, Any]) -> None:
        # What the generated __init__ does, through the slots' own setters (no look-up by name):
        # two events an order are built on place_order's path.
        _set_seq(self, seq)
        _set_time_ns(self, time_ns)
        _set_kind(self, kind)
        _set_order_id(self, order_id)
        _set_payload(self, payload)


_set_seq, _set_time_ns, _set_kind, _set_order_id, _set_payload = (
    Event.__dict__[name].__set__ for name in ("seq", "time_ns", "kind", "order_id", "payload"))


def _line(seq: int, time_ns: int, kind: str, order_id: str | None, payload: str) -> str:
    # json.dumps of a str is the C escaper it calls, of None "null" (called directly: a synced
    # journal builds a line on every event's acknowledgement path)
    kind = _quote(kind) if kind.__class__ is str else json.dumps(kind)
    order_id = "null" if order_id is None else _quote(order_id) if order_id.__class__ is str else json.dumps(order_id)
    return f'{{"seq":{seq},"time_ns":{time_ns},"kind":{kind},"order_id":{order_id},"payload":{payload}}}\n'


_quote = encode_basestring_ascii  # what json.dumps(a str) returns


def _head(seq: int, chain: str) -> str:
    """The ``head`` meta value: ``json.dumps({"seq": seq, "chain": chain})``, formatted
    directly for an int and a str (what it always is)."""
    if seq.__class__ is int and chain.__class__ is str:
        return f'{{"seq": {seq!r}, "chain": {_quote(chain)}}}'
    return json.dumps({"seq": seq, "chain": chain})


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)  # one, not one a call


def _c_encoder() -> Any:
    """The C encoder ``_ENCODER.encode`` builds on each call (with its own circular-reference
    markers), built once a thread: ``None`` where the C accelerator is missing."""
    if c_make_encoder is None:
        return None
    e = _ENCODER
    strings = encode_basestring_ascii if e.ensure_ascii else encode_basestring
    return c_make_encoder({}, e.default, strings, e.indent, e.key_separator, e.item_separator,
                          e.sort_keys, e.skipkeys, e.allow_nan)


_ENCODERS = threading.local()  # .c: this thread's C encoder (its markers are never shared across threads)


def encode(payload: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys, no spaces, floats as Python's shortest repr."""
    try:
        c = _ENCODERS.c
    except AttributeError:
        c = _ENCODERS.c = _c_encoder()
    if c is None:
        return _ENCODER.encode(payload)
    try:
        return "".join(c(payload, 0))  # the same bytes as _ENCODER.encode, without building the encoder
    except BaseException:
        # a failed call can leave its markers behind (a later payload would read as circular): a fresh encoder
        _ENCODERS.c = _c_encoder()
        raise


def genesis(meta: dict[str, Any]) -> str:
    """The chain value before the first event: a hash of the journal's meta (its head
    aside), so an edited configuration breaks the chain too."""
    return sha256_bytes(f"workbench journal {FORMAT}\n", canonical_json({k: v for k, v in meta.items() if k != "head"}))


def link(previous: str, line: str) -> str:
    """The chain value of an event: SHA-256 of the previous value and the event's line."""
    return sha256_bytes(previous, line)


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

    def begin_step(self) -> None:
        """Nothing to make atomic in memory."""

    def end_step(self) -> None:
        """Nothing to commit."""

    def abort_step(self) -> None:
        """Nothing was written."""

    def flush(self) -> None:
        """Nothing to write."""

    def release(self) -> None:
        """No lock to release."""

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
    """Append-only event store in one SQLite file (module docstring); ``path=None``: an
    in-memory database (the broker uses :class:`MemoryJournal` instead when it has no file).
    ``readonly``: read an existing journal without taking the writer's lock."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        durability: Durability = "sync",
        batch_size: int = 1000,
        readonly: bool = False,
    ) -> None:
        if durability not in ("sync", "batched"):
            raise ConfigError(f"journal durability must be 'sync' or 'batched', got {durability!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"journal batch_size must be an integer >= 1, got {batch_size!r}")
        self.path = None if path is None else Path(path)
        self.durability = durability
        self.batch_size = batch_size
        self.readonly = readonly
        self._buffer: list[tuple[int, int, str, str | None, str]] = []  # encoded, not yet written
        self._step: int | None = None  # the buffer's length when the open step began
        self._broken = ""  # why this journal takes no more writes (a step was aborted)
        self.writes = 0  # transactions committed
        self.write_errors = 0
        self._write_times = Timings(100_000)  # seconds per transaction, read by the watchdog too
        self._lock_fd: int | None = None
        if readonly:
            if self.path is None or not self.path.is_file():
                raise JournalError(f"no journal at {self.path}")
            try:
                self._db = read_only(self.path)
            except sqlite3.DatabaseError as exc:
                raise JournalError(f"{path}: not a usable SQLite journal: {exc}") from None
            return
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock()
        try:
            self._db = sqlite3.connect(":memory:" if self.path is None else str(self.path), isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durability == 'sync' else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
            head = self.head()
            self._genesis = genesis(self.meta())  # the chain's start (the meta is fixed before events)
        except sqlite3.DatabaseError as exc:
            self._unlock()
            raise JournalError(f"{path}: not a usable SQLite journal: {exc}") from None
        self._chain = None if head is None else head["chain"]
        self._last_seq = -1 if head is None else int(head["seq"])

    # --- the writer's lock -----------------------------------------------------------------

    @property
    def lock_path(self) -> Path | None:
        return None if self.path is None else self.path.with_name(self.path.name + ".lock")

    def _lock(self) -> None:
        self._lock_fd = lock_writer(self.path)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            unlock_writer(self._lock_fd)
            self._lock_fd = None

    def release(self) -> None:
        """Write what is buffered and let another process write (the next append takes the
        lock again)."""
        self.flush()
        self._unlock()

    # --- meta ----------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        rows = self._db.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
        return {k: json.loads(v) for k, v in rows}

    def head(self) -> dict[str, Any] | None:
        """``{"seq", "chain"}`` of the last committed event (``None`` before the first)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()
        return None if row is None else json.loads(row[0])

    def write_meta(self, values: dict[str, Any]) -> None:
        """Record configuration once, while the journal holds no event (the chain starts
        from it, so it cannot change afterwards)."""
        self._writable()
        if self._chain is not None or self._buffer:
            raise JournalError(f"journal {self.path}: its meta is fixed once it holds events")
        with transaction(self._db):
            self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [(k, json.dumps(v, sort_keys=True)) for k, v in sorted(values.items())],
            )
        self._genesis = genesis(self.meta())

    # --- events --------------------------------------------------------------------------

    def append(self, event: Event) -> None:
        """Write one event now (sync, outside a step) or into the buffer (batched, or inside
        a step until :meth:`end_step`)."""
        if self._lock_fd is None or self._broken:
            self._writable()
        # Encoded now (a payload JSON cannot hold is refused before the event is applied);
        # chained when written (flush), off the path of the acknowledgement.
        self._buffer.append((event.seq, event.time_ns, event.kind, event.order_id, encode(event.payload)))
        if self._step is None and (self.durability == "sync" or len(self._buffer) >= self.batch_size):
            try:
                self.flush()
            except JournalError:
                if self.durability == "sync":  # not written, so not acknowledged: as if never appended
                    self._buffer.pop()
                raise

    def begin_step(self) -> None:
        """Start an atomic step: events are held until :meth:`end_step` commits them."""
        self._step = len(self._buffer)

    def end_step(self) -> None:
        """Commit the step's events (sync) or keep them for the next batch (batched: a batch
        is only ever written at a step's end, so it never holds half a step)."""
        step, self._step = self._step, None
        if self.durability == "sync" or len(self._buffer) >= self.batch_size:
            try:
                self.flush()
            except JournalError:
                if step is not None:  # the step's events are lost to the journal: nothing more may follow them
                    self._step = step
                    self.abort_step()
                raise

    def abort_step(self) -> None:
        """Drop the open step's events: the journal ends at the last complete step, and this
        object takes no more writes (the broker's state is ahead of it)."""
        if self._step is not None:
            del self._buffer[self._step:]
            self._step = None
            self._broken = "a step was aborted"

    def flush(self) -> None:
        """Write buffered events and the head in one transaction (never half an open step)."""
        pending = self._buffer if self._step is None else self._buffer[: self._step]
        if not pending:
            return
        t0 = time.perf_counter()
        chain = self._genesis if self._chain is None else self._chain
        rows = []
        for row in pending:
            chain = link(chain, _line(*row))
            rows.append((*row, chain))
        try:
            with transaction(self._db):
                self._db.executemany(_INSERT, rows)
                self._db.execute(_HEAD, (_head(rows[-1][0], chain),))
        except sqlite3.Error as exc:
            self.write_errors += 1
            raise JournalError(f"{self.path}: journal write failed: {exc}") from exc
        self._write_times.add(time.perf_counter() - t0)
        self._chain, self._last_seq = chain, rows[-1][0]
        if self._step is None:
            self._buffer.clear()
        else:
            del self._buffer[: len(rows)]
            self._step = 0
        self.writes += 1

    def _writable(self) -> None:
        if self.readonly:
            raise JournalError(f"journal {self.path} is open read-only")
        if self._broken:
            raise JournalError(f"journal {self.path} takes no more writes: {self._broken}")
        if self._lock_fd is None and self.path is not None:
            self._lock()

    def write_times_since(self, seen: int) -> tuple[int, list[float]]:
        """(transactions so far, the durations in seconds of those after the first ``seen``);
        needs no broker lock."""
        return self._write_times.since(seen)

    def events(self, upto_seq: int | None = None) -> Iterator[Event]:
        """Events in sequence order (committed ones only), up to ``upto_seq`` inclusive, as
        stored (:func:`verified_events` checks them)."""
        if not self.readonly:
            self.flush()
        sql = "SELECT seq, time_ns, kind, order_id, payload FROM events"
        params: tuple = ()
        if upto_seq is not None:
            sql += " WHERE seq <= ?"
            params = (upto_seq,)
        for seq, t, kind, oid, payload in self._db.execute(sql + " ORDER BY seq", params):
            yield Event(seq, t, kind, oid, json.loads(payload))

    def rows(self) -> Iterator[tuple[int, int, str, str | None, str, str]]:
        """The stored rows ``(seq, time_ns, kind, order_id, payload, chain)`` in sequence
        order, as they are on disk (what :func:`verify` checks); an unreadable part of the
        file raises ``sqlite3.DatabaseError`` where it starts."""
        cursor = self._db.execute("SELECT seq, time_ns, kind, order_id, payload, chain FROM events ORDER BY seq")
        while (row := cursor.fetchone()) is not None:
            yield row

    def last_seq(self) -> int:
        """The highest sequence number written (buffered events included); -1 if none."""
        if self._buffer:
            return self._buffer[-1][0]
        head = self.head()
        return -1 if head is None else int(head["seq"])

    def count(self) -> int:
        if not self.readonly:
            self.flush()
        return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def dump(self) -> bytes:
        """Canonical bytes of every event (one JSON line each, in sequence order)."""
        if not self.readonly:
            self.flush()
        rows = self._db.execute("SELECT seq, time_ns, kind, order_id, payload FROM events ORDER BY seq")
        return "".join(_line(*row) for row in rows).encode()

    def sha256(self) -> str:
        return sha256_bytes(self.dump())

    def close(self) -> None:
        try:
            if not self.readonly and not self._broken:
                self.flush()
        finally:
            self._db.close()
            self._unlock()


# --- reading and verifying ---------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found: ``events`` that can be trusted (a prefix of the journal),
    the last sequence number the head names, and the first bad one with what is wrong
    (``None`` when the journal is intact)."""

    path: str
    events: list[Event]
    head_seq: int
    first_bad_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None

    def raise_if_bad(self) -> None:
        if not self.ok:
            raise JournalCorrupted(self.path, self.first_bad_seq, self.problem)


def verify(path: str | os.PathLike, upto_seq: int | None = None) -> Verification:
    """Check a journal event by event: sequence numbers from 0 without a gap, each payload
    readable JSON of a known kind, each row's chain value recomputed from its content, and
    the head naming the last row. Stops at the first bad event (never raises for bad
    content; an absent file is a :class:`JournalError`)."""
    where = str(path)
    if not Path(path).is_file():
        raise JournalError(f"no journal at {path}")
    try:
        journal = Journal(path, readonly=True)
    except JournalError as exc:
        return Verification(where, [], -1, 0, f"not readable as an SQLite journal ({exc})")
    trusted: list[Event] = []
    expected = 0

    def bad(seq: int, problem: str) -> Verification:
        return Verification(where, trusted, head_seq, seq, problem)

    head_seq = -1
    try:
        try:
            # One read transaction: the meta, the head and the rows from one snapshot, even
            # while the writer commits (a running session's journal is read live).
            journal._db.execute("BEGIN")
            meta = journal.meta()
            head = journal.head()
            head_seq = -1 if head is None else int(head["seq"])
            head_chain = None if head is None else str(head["chain"])
        except (sqlite3.DatabaseError, ValueError, TypeError, KeyError) as exc:
            return bad(0, f"its meta cannot be read ({type(exc).__name__}: {exc})")
        if meta.get("format") != FORMAT:
            return Verification(where, [], -1, 0, f"format {meta.get('format')!r}, not {FORMAT}: not a journal this "
                                                  f"version of workbench writes")
        chain = genesis(meta)
        rows = journal.rows()
        while True:
            try:
                row = next(rows, None)
            except sqlite3.DatabaseError as exc:
                return bad(expected, f"the file cannot be read from here on ({exc})")
            if row is None:
                break
            seq, time_ns, kind, order_id, payload, stored = row
            if upto_seq is not None and seq > upto_seq:
                break
            if seq != expected:
                what = f"events {expected}..{seq - 1} are missing" if isinstance(seq, int) and seq > expected \
                    else f"sequence {seq!r} where {expected} should be"
                return bad(expected, what)
            if not (isinstance(time_ns, int) and isinstance(kind, str) and isinstance(payload, str)):
                return bad(seq, "a field has the wrong type")
            line = _line(seq, time_ns, kind, order_id, payload)
            chain = link(chain, line)
            if chain != stored:
                return bad(seq, "its content is not what was written (the hash chain breaks here)")
            try:
                event = Event(seq, time_ns, kind, order_id, json.loads(payload))
            except ValueError:
                return bad(seq, "its payload is not JSON")
            if kind not in KINDS or not isinstance(event.payload, dict):
                return bad(seq, f"unknown kind of event {kind!r}")
            trusted.append(event)
            expected += 1
        if upto_seq is None or upto_seq >= head_seq:
            if head is None and trusted:
                return bad(0, "events but no head")
            if head is not None and head_seq >= expected:
                return bad(expected, f"events {expected}..{head_seq} are missing (the head names {head_seq})")
            if head is not None and (head_seq != expected - 1 or head_chain != chain):
                return bad(head_seq + 1 if head_seq < expected - 1 else max(head_seq, 0),
                           "the head does not match the last event")
        return Verification(where, trusted, head_seq)
    finally:
        journal.close()


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The meta of the journal file at ``path``, read without taking the writer's lock;
    :class:`JournalCorrupted` (sequence 0) when it cannot be read."""
    source = Journal(path, readonly=True)
    try:
        return source.meta()
    except (sqlite3.DatabaseError, ValueError) as exc:
        raise JournalCorrupted(path, 0, f"its meta cannot be read ({exc})") from None
    finally:
        source.close()


def read_only(path: str | os.PathLike) -> sqlite3.Connection:
    """A connection that only reads the SQLite file at ``path`` (``query_only``). Not
    SQLite's ``mode=ro``: a journal whose writer was killed may hold a write-ahead log
    that the first connection must recover, which a read-only file handle cannot do."""
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA query_only = 1")
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db


def lock_writer(path: str | os.PathLike) -> int:
    """Take the writer's lock of the journal at ``path`` (its ``.lock`` file, holding this
    pid); :class:`JournalLocked` naming the holder when another process has it."""
    lock = Path(path).with_name(Path(path).name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise JournalLocked(f"journal {path} is open for writing by process {holder}; one writer at a time") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def writer_pid(path: str | os.PathLike) -> int | None:
    """The pid of the live process that holds the writer's lock of the journal at ``path``,
    or None. Read from the lock file, without taking the lock (a writer starting now is never
    refused because someone looked)."""
    import psutil

    lock = Path(path).with_name(Path(path).name + ".lock")
    try:
        pid = int(lock.read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    if not (pid > 0 and psutil.pid_exists(pid)):
        return None
    held = _flock_holders(lock)  # a pid left by a killed writer may since belong to another process
    return pid if held is None or pid in held else None


def _flock_holders(lock: Path) -> set[int] | None:
    """The pids holding a ``flock`` on the file ``lock``, from Linux's ``/proc/locks`` (the
    lock is only looked at, never taken); None where the kernel does not say."""
    try:
        st = lock.stat()
        table = Path("/proc/locks").read_text()
    except OSError:
        return None
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    holders = set()
    for line in table.splitlines():
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == inode:
            try:
                holders.add(int(fields[4]))
            except ValueError:
                pass
    return holders


def unlock_writer(fd: int) -> None:
    os.ftruncate(fd, 0)  # no holder named any more (what writer_pid reads)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def journal_file(run: str | os.PathLike) -> Path:
    """The journal of a run folder (``<run>/journal.sqlite``), or ``run`` itself when it is
    a file; an error that names the path when there is none."""
    path = Path(run)
    if path.is_dir():
        path = path / JOURNAL_NAME
    if not path.is_file():
        raise JournalError(f"no journal at {path}")
    return path


def read_events(run: str | os.PathLike, last: int | None = None) -> list[Event]:
    """The verified events of a run's journal (the ``last`` ones only, when given), oldest
    first; a corrupted journal raises :class:`JournalCorrupted`."""
    found = verify(journal_file(run))
    found.raise_if_bad()
    return found.events[-last:] if last else found.events


def started(path: str | os.PathLike) -> bool:
    """True when the journal at ``path`` holds at least one committed event; False when
    there is no file or a run was killed before its first event (a half-created journal:
    it acknowledged nothing and may be replaced)."""
    p = Path(path)
    if not p.is_file():
        return False
    try:
        db = read_only(p)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "events" not in tables:
                return False
            return db.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return True  # unreadable: it may hold events; never treated as replaceable


def remove(path: str | os.PathLike) -> list[Path]:
    """Delete a journal and its SQLite and lock files (refused while a writer holds it);
    returns what was removed."""
    p = Path(path)
    fd = lock_writer(p)  # refuses while a run writes it
    removed = []
    try:
        for extra in (p, p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm")):
            if extra.exists():
                extra.unlink()
                removed.append(extra)
    finally:
        unlock_writer(fd)
    lock = p.with_name(p.name + ".lock")
    if lock.exists():
        lock.unlink()
        removed.append(lock)
    return removed
