"""The trials behind docs/reliability.md: a paper session killed with SIGKILL and resumed,
and a journal corrupted on purpose.

:func:`resume_trial` runs ``workbench paper`` (the command itself, in a forked child, so
the trial pays no interpreter start) with a strategy that trades every bar, kills it with
SIGKILL after a random delay, wherever it is (starting up, inside a slice, inside a journal
commit), runs ``workbench paper --resume`` to the end and compares the fills' SHA-256
with the uninterrupted run's.

:func:`corruption_trial` damages a copy of a finished journal in one of several ways (an
edited price or quantity, a deleted, swapped or cut-off event, random bytes anywhere in
the file, a truncated file) and runs ``workbench journal verify``'s check on it: the
damage must be reported with a first bad sequence number, no event before that number may
differ from the undamaged journal, and nothing may escape as a raw exception.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.broker.journal import JOURNAL_NAME, read_only

PAPER = ["every_bar", "--data", "sp500", "--end", "2003-12-31", "--speed", "1e12"]  # 1,256 bars
CORRUPTIONS = ("price", "quantity", "delete", "swap", "cut_tail", "bytes", "truncate_file")


# --- kill and resume ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResumeTrial:
    """One kill-and-resume: when it was killed, what the journal held, and the verdict."""

    seed: int
    kill_after_s: float
    events_at_kill: int  # committed events in the journal when it was killed (-1: no journal yet)
    resumed: bool  # False when the run was killed before its journal held an event
    fills_sha256: str
    expected_sha256: str
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and self.fills_sha256 == self.expected_sha256


def _cli(args: list[str]) -> tuple[int, str, str]:
    """``workbench ARGS`` in this process: (exit status, stdout, stderr)."""
    from workbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def _child(args: list[str], at_event: tuple[str, int] | None = None) -> None:  # pragma: no cover (killed)
    code = 1
    if at_event is not None:
        _die_after(*at_event)
    try:
        code, _, _ = _cli(args)
    finally:
        os._exit(code)


def _die_after(kind: str, n: int) -> None:  # pragma: no cover (runs in the killed child)
    """In this (forked) process only: SIGKILL it right after the journal commits its
    ``n``-th event of ``kind``."""
    from workbench.broker.journal import Journal

    flush = Journal.flush
    seen = [0]

    def flush_then_die(self: Journal) -> None:
        pending = self._buffer if self._step is None else self._buffer[: self._step]
        kinds = [row[2] for row in pending]
        flush(self)
        seen[0] += len(kinds) if kind == "any" else kinds.count(kind)
        if seen[0] >= n:
            os.kill(os.getpid(), signal.SIGKILL)

    Journal.flush = flush_then_die  # type: ignore[method-assign]


def paper_run(out: Path, extra: tuple[str, ...] = ()) -> str:
    """The fills' SHA-256 of ``workbench paper`` run to the end in ``out``."""
    code, text, err = _cli(["paper", *PAPER, "--out", str(out), "--json", *extra])
    if code != 0:
        raise RuntimeError(f"workbench paper failed ({code}): {(text + err).strip()}")
    return json.loads(text.splitlines()[-1])["fills_sha256"]


def resume_trial(directory: str | os.PathLike, seed: int, expected_sha256: str, longest_s: float,
                 at_event: tuple[str, int] | None = None) -> ResumeTrial:
    """Kill a paper session after a random delay of up to ``longest_s`` seconds, then
    resume it (or start it, when it was killed before its journal held an event).

    ``at_event=(kind, n)`` kills it instead right after its journal commits the ``n``-th
    event of that kind (``"any"``: of any kind; a place chosen exactly, whatever the
    machine's load)."""
    from workbench.broker.journal import started

    rng = random.Random(seed)
    out = Path(directory) / f"run-{seed}"
    shutil.rmtree(out, ignore_errors=True)
    delay = rng.uniform(0.0, longest_s) if at_event is None else 0.0
    proc = multiprocessing.get_context("fork").Process(
        target=_child, args=(["paper", *PAPER, "--out", str(out), "--json"], at_event), daemon=True)
    proc.start()
    if at_event is None:
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    journal = out / JOURNAL_NAME
    events = _committed(journal)
    resumed = started(journal)
    try:
        sha = paper_run(out, ("--resume",) if journal.exists() else ())
        error = ""
    except RuntimeError as exc:
        sha, error = "", str(exc)
    return ResumeTrial(seed, delay, events, resumed, sha, expected_sha256, error)


def _committed(journal: Path) -> int:
    if not journal.exists():
        return -1
    try:
        db = read_only(journal)
        try:
            return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return 0


# --- corruption --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorruptionTrial:
    """One damaged journal and what the check said."""

    seed: int
    kind: str
    what: str  # the damage, in words
    detected: bool
    first_bad_seq: int | None
    damaged_seq: int | None  # the first event the damage touched, where it is known
    trusted_are_intact: bool  # every event before first_bad_seq equals the undamaged journal's
    problem: str
    redraws: int  # byte damage that changed no event (free space) was drawn again
    error: str = ""

    @property
    def passed(self) -> bool:
        named_right = self.damaged_seq is None or self.first_bad_seq == self.damaged_seq
        return not self.error and self.detected and self.trusted_are_intact and named_right


def corruption_trial(pristine: str | os.PathLike, directory: str | os.PathLike, seed: int,
                     kind: str | None = None) -> CorruptionTrial:
    """Damage a copy of the journal ``pristine`` (``kind``, or one drawn at random) and
    check it; see the module docstring."""
    from workbench.broker.audit import check
    from workbench.broker.journal import verify

    rng = random.Random(seed)
    kind = kind or rng.choice(CORRUPTIONS)
    original = verify(pristine).events
    Path(directory).mkdir(parents=True, exist_ok=True)
    target = Path(directory) / f"corrupt-{seed}.sqlite"
    redraws = 0
    while True:
        shutil.copyfile(pristine, target)
        what, damaged = _damage(target, kind, rng, len(original))
        if kind not in ("bytes", "truncate_file") or _content_changed(target, pristine):
            break
        redraws += 1
    try:
        found = check(target)
    except Exception as exc:  # the check itself must not raise for bad content
        return CorruptionTrial(seed, kind, what, False, None, damaged, False, "", redraws,
                               f"{type(exc).__name__}: {exc}")
    trusted = found.events if found.first_bad_seq is None else found.events[: found.first_bad_seq]
    intact = all(a == b for a, b in zip(trusted, original)) and len(trusted) <= len(original)
    return CorruptionTrial(seed, kind, what, not found.ok, found.first_bad_seq, damaged, intact, found.problem,
                           redraws)


def _damage(path: Path, kind: str, rng: random.Random, events: int) -> tuple[str, int | None]:
    """Apply one damage; returns what was done and the first sequence number it touched
    (``None`` when that cannot be known: damage to the file's bytes)."""
    if kind in ("bytes", "truncate_file"):
        size = path.stat().st_size
        with open(path, "r+b") as f:
            if kind == "truncate_file":
                cut = rng.randrange(512, size)
                f.truncate(cut)
                return f"file cut to {cut:,} of {size:,} bytes", None
            at, n = rng.randrange(0, size), rng.randint(1, 16)
            f.seek(at)
            f.write(rng.randbytes(n))
            return f"{n} random bytes at offset {at:,}", None
    db = sqlite3.connect(path, isolation_level=None)
    try:
        if kind in ("price", "quantity"):
            fills = [r[0] for r in db.execute("SELECT seq FROM events WHERE kind = 'fill'")]
            seq = rng.choice(fills)
            payload = json.loads(db.execute("SELECT payload FROM events WHERE seq = ?", (seq,)).fetchone()[0])
            field = "price" if kind == "price" else "quantity"
            payload[field] = round(payload[field] * (1.01 if kind == "price" else 2.0), 6)
            db.execute("UPDATE events SET payload = ? WHERE seq = ?", (json.dumps(payload), seq))
            return f"the {field} of the fill at sequence {seq} changed by SQL", seq
        if kind == "delete":
            seq = rng.randrange(0, events)
            db.execute("DELETE FROM events WHERE seq = ?", (seq,))
            return f"event {seq} deleted", seq
        if kind == "swap":
            a, b = sorted(rng.sample(range(events), 2))
            pa = db.execute("SELECT payload FROM events WHERE seq = ?", (a,)).fetchone()[0]
            pb = db.execute("SELECT payload FROM events WHERE seq = ?", (b,)).fetchone()[0]
            if pa == pb:  # the same content swapped changes nothing: take the next pair
                return _damage(path, kind, rng, events)
            db.execute("UPDATE events SET payload = ? WHERE seq = ?", (pb, a))
            db.execute("UPDATE events SET payload = ? WHERE seq = ?", (pa, b))
            return f"the payloads of events {a} and {b} swapped", a
        if kind == "cut_tail":
            seq = rng.randrange(1, events)
            db.execute("DELETE FROM events WHERE seq >= ?", (seq,))
            return f"events {seq}.. deleted", seq
    finally:
        db.close()
    raise ValueError(f"unknown corruption {kind!r}; known: {', '.join(CORRUPTIONS)}")


def _content_changed(damaged: Path, pristine: str | os.PathLike) -> bool:
    """Whether SQLite reads anything different from the damaged file (rows, meta), or
    cannot read it: damage to free space changes nothing a journal holds."""
    def rows(p) -> tuple | None:
        try:
            db = read_only(p)
            try:
                return (db.execute("SELECT * FROM meta ORDER BY key").fetchall(),
                        db.execute("SELECT * FROM events ORDER BY seq").fetchall())
            finally:
                db.close()
        except sqlite3.DatabaseError:
            return None
    return rows(damaged) != rows(pristine)
