"""The monitor's SQLite store: metric samples, minute rollups and alert history.

WAL mode, parameterized SQL, a busy timeout so that several processes (a paper session
and a dashboard, say) can write at once without "database is locked" errors: a writer
waits for the other's short transaction instead of failing. Each sampling round is one
transaction.

Retention (:meth:`MetricStore.prune`): raw samples are kept ``raw_retention`` seconds
(24 h by default), after being rolled up into one row per minute (avg, min, max, count),
which are kept ``rollup_retention`` seconds (30 days). Queries return pandas DataFrames.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import ConfigError
from workbench.sqlite import transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    ts REAL NOT NULL, name TEXT NOT NULL, labels TEXT NOT NULL, value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_name_ts ON samples (name, ts);
CREATE TABLE IF NOT EXISTS rollups (
    minute INTEGER NOT NULL, name TEXT NOT NULL, labels TEXT NOT NULL,
    avg REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (minute, name, labels)
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, rule TEXT NOT NULL, labels TEXT NOT NULL, state TEXT NOT NULL,
    severity TEXT NOT NULL, value REAL, active_since REAL, fired_at REAL, resolved_at REAL,
    updated REAL NOT NULL, annotations TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_updated ON alerts (updated);
"""


def label_key(labels: dict[str, str] | None) -> str:
    """Canonical text of a label set (sorted JSON), used as a key."""
    return json.dumps(dict(sorted((labels or {}).items())), separators=(",", ":"))


class MetricStore:
    """Metric samples and alerts in one SQLite file."""

    def __init__(self, path: str | os.PathLike, *, raw_retention: float = 24 * 3600,
                 rollup_retention: float = 30 * 86400, busy_timeout: float = 30.0) -> None:
        if not raw_retention > 0 or not rollup_retention > 0:
            raise ConfigError("store retention periods must be > 0 seconds")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.raw_retention = raw_retention
        self.rollup_retention = rollup_retention
        try:
            self._db = sqlite3.connect(str(self.path), timeout=busy_timeout, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                self._db.execute(stmt)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path}: not a usable monitor store: {exc}") from None

    # --- writes --------------------------------------------------------------------------

    def write(self, rows: Iterable[tuple[float, str, str, float]]) -> int:
        """Insert ``(ts, name, labels_key, value)`` rows in one transaction."""
        rows = list(rows)
        if rows:
            with transaction(self._db):
                self._db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?)", rows)
        return len(rows)

    def save_alert(self, alert: dict[str, Any]) -> None:
        """Insert or update one alert instance (keyed by its id)."""
        with transaction(self._db):
            self._db.execute(
                "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "state=excluded.state, value=excluded.value, fired_at=excluded.fired_at, "
                "resolved_at=excluded.resolved_at, updated=excluded.updated, annotations=excluded.annotations",
                (alert["id"], alert["rule"], label_key(alert["labels"]), alert["state"], alert["severity"],
                 alert["value"], alert["active_since"], alert["fired_at"], alert["resolved_at"],
                 alert["updated"], json.dumps(alert["annotations"], sort_keys=True)),
            )

    def prune(self, now: float | None = None) -> dict[str, int]:
        """Roll raw samples older than the raw retention into minute rows, delete them, and
        delete rollups older than their retention. Returns the row counts touched."""
        now = time.time() if now is None else now
        raw_cut = now - self.raw_retention
        with transaction(self._db):
            rolled = self._db.execute(
                "INSERT INTO rollups SELECT CAST(ts / 60 AS INTEGER) * 60, name, labels, AVG(value), "
                "MIN(value), MAX(value), COUNT(*) FROM samples WHERE ts < ? GROUP BY 1, 2, 3 "
                "ON CONFLICT(minute, name, labels) DO UPDATE SET "
                "avg = (avg * count + excluded.avg * excluded.count) / (count + excluded.count), "
                "min = MIN(min, excluded.min), max = MAX(max, excluded.max), count = count + excluded.count",
                (raw_cut,),
            ).rowcount
            deleted = self._db.execute("DELETE FROM samples WHERE ts < ?", (raw_cut,)).rowcount
            expired = self._db.execute("DELETE FROM rollups WHERE minute < ?",
                                       (now - self.rollup_retention,)).rowcount
        return {"rolled_up": rolled, "raw_deleted": deleted, "rollups_deleted": expired}

    # --- reads ---------------------------------------------------------------------------

    def series(self, name: str, since: float | None = None, until: float | None = None) -> pd.DataFrame:
        """Raw samples of one metric: columns ``time`` (UTC), ``labels`` (dict), ``value``."""
        sql, params = "SELECT ts, labels, value FROM samples WHERE name = ?", [name]
        if since is not None:
            sql += " AND ts >= ?"
            params.append(since)
        if until is not None:
            sql += " AND ts <= ?"
            params.append(until)
        rows = self._db.execute(sql + " ORDER BY ts", params).fetchall()
        return pd.DataFrame({
            "time": pd.to_datetime([r[0] for r in rows], unit="s", utc=True),
            "labels": [json.loads(r[1]) for r in rows],
            "value": [r[2] for r in rows],
        })

    def rollups(self, name: str) -> pd.DataFrame:
        rows = self._db.execute("SELECT minute, labels, avg, min, max, count FROM rollups WHERE name = ? "
                                "ORDER BY minute", (name,)).fetchall()
        return pd.DataFrame({
            "time": pd.to_datetime([r[0] for r in rows], unit="s", utc=True),
            "labels": [json.loads(r[1]) for r in rows],
            "avg": [r[2] for r in rows], "min": [r[3] for r in rows],
            "max": [r[4] for r in rows], "count": [r[5] for r in rows],
        })

    def latest(self) -> pd.DataFrame:
        """The newest sample of every series: ``name, labels, time, value``."""
        # The newest row of each series (by insertion: two samples may share a time).
        rows = self._db.execute(
            "SELECT s.name, s.labels, s.ts, s.value FROM samples s JOIN (SELECT MAX(rowid) AS id FROM samples "
            "GROUP BY name, labels) m ON s.rowid = m.id ORDER BY s.name, s.labels"
        ).fetchall()
        return pd.DataFrame({
            "name": [r[0] for r in rows], "labels": [json.loads(r[1]) for r in rows],
            "time": pd.to_datetime([r[2] for r in rows], unit="s", utc=True), "value": [r[3] for r in rows],
        })

    def all_samples(self) -> pd.DataFrame:
        """Every raw sample (for export): ``time, name, labels, value``."""
        rows = self._db.execute("SELECT ts, name, labels, value FROM samples ORDER BY ts, name").fetchall()
        return pd.DataFrame({
            "time": pd.to_datetime([r[0] for r in rows], unit="s", utc=True),
            "name": [r[1] for r in rows], "labels": [r[2] for r in rows], "value": [r[3] for r in rows],
        })

    def alerts(self, since: float | None = None, state: str | None = None) -> pd.DataFrame:
        """Alert instances updated since ``since`` (unix seconds), newest first."""
        sql, params = "SELECT * FROM alerts WHERE 1 = 1", []
        if since is not None:
            sql += " AND updated >= ?"
            params.append(since)
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        cur = self._db.execute(sql + " ORDER BY updated DESC", params)
        cols = [d[0] for d in cur.description]
        frame = pd.DataFrame(cur.fetchall(), columns=cols)
        for col in ("active_since", "fired_at", "resolved_at", "updated"):
            frame[col] = pd.to_datetime(frame[col], unit="s", utc=True)
        frame["labels"] = frame["labels"].map(json.loads)
        frame["annotations"] = frame["annotations"].map(json.loads)
        return frame

    @classmethod
    def existing(cls, path: str | os.PathLike) -> MetricStore:
        """Open a store that a session wrote; a missing file is an error that says how to make one."""
        if not Path(path).is_file():
            raise ConfigError(f"no monitor store at {path} (run a session with --monitor {path})")
        return cls(path)

    def status(self, stale_after: float = 30.0, now: float | None = None) -> dict[str, Any]:
        """The newest value of every series and the firing alerts, as plain data. When no
        sample has arrived for ``stale_after`` seconds the session that raised the alerts
        has stopped (killed, or its monitor gone): they are reported ``stale``, not firing."""
        latest, firing = self.latest(), self.alerts(state="firing")
        now = time.time() if now is None else now
        last = self._db.execute("SELECT MAX(ts) FROM samples").fetchone()[0]
        silent = None if last is None else now - float(last)
        stale = silent is None or silent > stale_after
        return {
            "values": [{"name": r.name, "labels": r.labels, "time": r.time.isoformat(), "value": r.value}
                       for r in latest.itertuples()],
            "firing": [{"rule": r.rule, "labels": r.labels, "severity": r.severity, "value": r.value,
                        "since": r.fired_at.isoformat(), "annotations": r.annotations, "stale": stale}
                       for r in firing.itertuples()],
            "seconds_since_last_sample": silent,
        }

    def export(self, out: str | os.PathLike, format: str = "csv") -> int:
        """Every raw sample to the file ``out`` as ``csv`` or ``parquet``; returns how many."""
        if format not in ("csv", "parquet"):
            raise ConfigError(f"export format must be csv or parquet, got {format!r}")
        frame, target = self.all_samples(), Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        if format == "parquet":
            frame.to_parquet(target, index=False)
        else:
            frame.to_csv(target, index=False)
        return len(frame)

    def close(self) -> None:
        self._db.close()
