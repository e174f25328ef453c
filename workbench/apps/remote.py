"""A ``workbench paper`` session seen from the dashboard (``/trading?run=NAME``).

The session is another process; the page never holds its state. Orders, fills, positions
and the account are read from the run's journal (re-read when an event other than a slice
marker arrives, so a reload, a second browser or a restarted server shows the same thing);
prices and the market time come from the session's command channel (:mod:`workbench.control`),
and so do the ticket's orders and the kill switch, journaled there with who sent them. A
finished run is shown read-only. ``/market?run=NAME`` plots the prices the session reports,
``/monitoring?run=NAME`` reads the monitor store the run was started with (``--monitor``,
found through ``monitor.json`` in its folder).
"""

from __future__ import annotations

import collections
import json
import sqlite3
import threading
import time
from pathlib import Path

import pandas as pd

from workbench.apps.session import fills_frame, orders_frame, positions_frame, reply_text
from workbench.broker.journal import JOURNAL_NAME, read_meta, read_only
from workbench.control import ControlClient, ControlError
from workbench.errors import ConfigError
from workbench.session import MONITOR_LINK

STATE_TIMEOUT = 1.0  # seconds a page's poll waits for a session's prices
PRICES_KEPT = 600  # the (market time, prices) a market page keeps
EQUITY = "workbench_session_equity"
LATENCY = "workbench_broker_place_order_latency_seconds"  # p99 of each sample interval is plotted
P99 = '{"stat":"p99"}'  # its label set, as the store writes it (label_key)
SAMPLES_KEPT = 3600  # equity and latency samples a monitoring page plots


def run_folder(runs: Path, name: str) -> Path:
    """The run folder ``runs/NAME``; a :class:`ConfigError` when there is none (or the name
    leaves ``runs``)."""
    try:
        folder = (runs / name).resolve()
        found = runs.resolve() in folder.parents and folder.is_dir()
    except (ValueError, OSError):  # a NUL byte, a name too long
        found = False
    if not found:
        raise ConfigError(f"no run {name[:80]!r} in {runs}")
    return folder


class RunSession:
    """What a trading page reads and sends, for the paper session in ``folder`` (module
    docstring); the same methods as :class:`~workbench.apps.session.PaperSession`."""

    def __init__(self, folder: str | Path, name: str | None = None) -> None:
        self.folder = Path(folder)
        self.name = name or self.folder.name
        self.journal = self.folder / JOURNAL_NAME
        if not self.journal.is_file():
            raise ConfigError(f"run {self.name}: no journal (not a paper session or a backtest with --out)")
        meta = read_meta(self.journal)
        engine, config = meta.get("engine") or {}, meta.get("config") or {}
        self.symbols = list(engine.get("symbols") or [i["symbol"] for i in config.get("instruments", [])]) or ["?"]
        self.title = f"{engine.get('strategy', 'run')} {engine.get('params', '')}".strip()
        self.lock = threading.RLock()
        self.updates = 0
        self.running = False
        self.silent = False  # its process is alive but did not answer (paused, overloaded)
        self.state: dict | None = None
        self._broker = None
        self._scanned = -1  # journal rows looked at
        self._shown = -2  # the last non-slice event the broker was read up to
        self.prices: collections.deque = collections.deque(maxlen=PRICES_KEPT)  # (market time, {symbol: price})
        self.watch_monitor = False  # read the monitor store too (a monitoring page sets it)
        self.store_path = _link_target(self.folder / MONITOR_LINK)  # the store it was started with, or None
        self.metrics: dict = {"equity": [], "latency": [], "alerts": None, "error": None}
        self._metrics_row = -1  # the store's last row read
        self._newest: dict = {}  # (name, labels) -> (ts, value)
        self._last_sample = -1.0
        self.poll()

    def _client(self, by: str = "dashboard", timeout: float | None = None) -> ControlClient:
        client = ControlClient(self.folder, by=by)
        if timeout is not None:
            client.timeout = timeout
        return client

    def poll(self) -> None:
        """Pull the session's prices and re-read the journal if it changed."""
        state, alive = None, ControlClient.running(self.folder)
        if alive:
            try:
                state = self._client(timeout=STATE_TIMEOUT).state()
            except ControlError:
                state = None
        latest = self._latest_event()
        with self.lock:
            self.running, self.state, self.silent = state is not None, state, alive and state is None
            if latest != self._shown or self._broker is None:
                from workbench.broker import SimulatedBroker

                self._broker = SimulatedBroker.inspect(self.journal)
                self._broker.close()
                self._shown = latest
            for symbol, price in ((state or {}).get("prices") or {}).items():
                if price is not None:
                    self._broker.mark(symbol, price)
            if state is not None and state.get("time") and (not self.prices or self.prices[-1][0] != state["time"]):
                self.prices.append((state["time"], dict(state.get("prices") or {})))
            self.updates += 1
        if self.watch_monitor:
            self._read_metrics()

    def _read_metrics(self) -> None:
        """New samples since the last read (by row: each once, whatever their times), the
        alerts and the newest value of every series, from the run's monitor store, read-only
        (it is never changed, and a file that is not a monitor store is said to be one). A
        store that cannot be read is a message on the page (``metrics["error"]``), not an
        exception; runs in the poll's thread."""
        path = self.store_path = self.store_path or _link_target(self.folder / MONITOR_LINK)
        if path is None:
            return
        try:
            rows, alerts = self._store_rows(path)
            error = None
        except (sqlite3.Error, OSError, ValueError) as exc:
            rows, alerts, error = [], None, f"the monitor store {path.name} cannot be read: {exc}"
        with self.lock:
            self.metrics["error"] = error
            for rowid, ts, name, labels, value in rows:
                self._last_sample = max(self._last_sample, ts)
                self._newest[(name, labels)] = (ts, value)
                if name == EQUITY:
                    self.metrics["equity"].append((ts, value))
                elif name == LATENCY and labels == P99:
                    self.metrics["latency"].append((ts, value))
            if rows:
                self._metrics_row = rows[-1][0]
            if alerts is not None:
                self.metrics["alerts"] = alerts

    def _store_rows(self, path: Path) -> tuple[list, pd.DataFrame]:
        if not path.is_file():
            raise ValueError("no such file")
        db = read_only(path)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"samples", "alerts"} <= tables:
                raise ValueError("not a monitor store (no samples and alerts tables)")
            if self._metrics_row < 0:  # first read: the newest of every series, the last samples plotted
                newest = db.execute("SELECT MAX(rowid), ts, name, labels, value FROM samples "
                                    "GROUP BY name, labels").fetchall()
                recent = db.execute("SELECT rowid, ts, name, labels, value FROM samples WHERE name IN (?, ?) "
                                    "ORDER BY rowid DESC LIMIT ?", (EQUITY, LATENCY, 2 * SAMPLES_KEPT)).fetchall()
                rows = sorted({r[0]: r for r in newest + recent}.values())
            else:
                rows = db.execute("SELECT rowid, ts, name, labels, value FROM samples WHERE rowid > ? ORDER BY rowid "
                                  "LIMIT 100000", (self._metrics_row,)).fetchall()
            alerts = pd.read_sql_query("SELECT state, rule, severity, annotations FROM alerts ORDER BY updated DESC "
                                       "LIMIT 200", db)
        finally:
            db.close()
        return rows, alerts

    def take_metrics(self) -> dict:
        """What :meth:`poll` read from the monitor store since the last take: the new equity
        and latency samples (each handed over once), the alerts, the newest value of every
        series, the seconds since the last sample, and an error when the store cannot be read."""
        with self.lock:
            out = {"equity": self.metrics["equity"], "latency": self.metrics["latency"],
                   "alerts": self.metrics["alerts"], "error": self.metrics["error"],
                   "newest": dict(self._newest),
                   "silent": None if self._last_sample < 0 else time.time() - self._last_sample}
            self.metrics["equity"], self.metrics["latency"] = [], []
        return out

    def sharing_store(self) -> list[str]:
        """Other runs in the same runs folder whose ``monitor.json`` names this run's store:
        their samples are mixed with this run's in it."""
        if self.store_path is None:
            return []
        mine, others = self.store_path.resolve(), []
        for link in sorted(self.folder.parent.glob(f"*/{MONITOR_LINK}"))[:1000]:
            if link.parent != self.folder:
                other = _link_target(link)
                if other is not None and other.resolve() == mine:
                    others.append(link.parent.name)
        return others

    def _latest_event(self) -> int:
        """The sequence number of the journal's last event that is not a slice marker (only
        rows added since the last look are read)."""
        db = read_only(self.journal)
        try:
            last, latest = db.execute("SELECT MAX(seq), MAX(CASE WHEN kind != 'slice' THEN seq END) FROM events "
                                      "WHERE seq > ?", (self._scanned,)).fetchone()
        finally:
            db.close()
        if last is not None:
            self._scanned = last
        return self._shown if latest is None else latest

    def seq(self) -> int:
        return self._shown

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        with self.lock:
            return orders_frame(self._broker), fills_frame(self._broker, "%Y-%m-%d %H:%M:%S")

    def positions_frame(self) -> pd.DataFrame:
        with self.lock:
            return positions_frame(self._broker)

    def account(self):
        with self.lock:
            return self._broker.account()

    def killed(self) -> bool:
        with self.lock:
            if self.running and self.state is not None:
                return bool(self.state.get("killed"))
            return bool(self._broker.killed)

    def quote_line(self) -> str:
        with self.lock:
            if self.silent:
                return f"**{self.name}**: its process is running but does not answer (paused or busy); " \
                       f"shown from its journal"
            if not self.running:
                return f"**{self.name}** is not running: read-only (from its journal)"
            s = self.state or {}
            prices = "  ".join(f"**{k}** {v:,.2f}" for k, v in sorted((s.get("prices") or {}).items())
                               if v is not None)
            return f"{prices}  (market time {str(s.get('time', ''))[:19]}, process {s.get('pid')})"

    def place(self, symbol, side, quantity, type, limit_price, stop_price, tif, by: str) -> tuple[bool, str]:
        r = self._client(by).order(symbol, side, quantity, type, limit_price, stop_price, tif)
        return reply_text(r.get("accepted", False), r.get("order_id"), r.get("reason"), r.get("message", ""))

    def kill(self, on: bool, by: str) -> tuple[bool, str]:
        r = self._client(by).kill(on)
        return True, (f"Kill switch ON: {r.get('cancelled', 0)} order(s) cancelled" if on else "Kill switch reset")

    def close(self) -> None:
        """Nothing to release: the broker read from the journal holds no file."""


def _link_target(link: Path) -> Path | None:
    """The monitor store a run's ``monitor.json`` names (a relative path from the run folder;
    the folder joined with an absolute path is that path), or None when it names none."""
    try:
        store = json.loads(link.read_text(encoding="utf-8-sig"))["store"]
        return link.parent / store if isinstance(store, str) and store else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def open_run(runs: Path, name: str) -> RunSession:
    """The :class:`RunSession` of ``runs/NAME`` (errors name the run)."""
    return RunSession(run_folder(runs, name), name)
