"""The monitor: samples the running components, stores the figures, evaluates alert rules.

Pull, not push: the components measure what they measure anyway (the broker times every
``place_order``, the journal every write, the engine counts events) and the monitor reads
those figures every ``interval`` seconds, so watching a session costs its hot paths almost
nothing. One ``prometheus_client.CollectorRegistry`` per monitor keeps instances (and tests)
apart.

A watchdog, not a passenger: on the wall clock (the default), sampling and alert evaluation
run in the monitor's own thread, started with the session, so a hung engine shows a
growing feed age and fires ``FeedStalled``, and an order stalled inside the broker shows as
``workbench_broker_place_order_latency_max_seconds`` while it is still under way. The
broker is read under its lock, waited for at most a fraction of the interval: a broker
stuck inside a call is skipped for that sample, never waited on. With an injected clock
(tests, the certification on the data clock) the engine samples at its time slices
instead, deterministically. When the session ends every pending or firing alert is
resolved (annotated ``note: session ended``): nothing stays firing for a session that
is gone.

Metrics (all measured, none assumed):

====================================================  =========  ============================
name                                                  type       from
====================================================  =========  ============================
workbench_feed_events_total                           counter    events the engine received
workbench_feed_last_event_age_seconds                 gauge      time since the engine last
                                                                 handled an event (only while a
                                                                 session runs)
workbench_engine_events_per_second                    gauge      events over the interval
workbench_engine_busy_seconds_per_event               gauge      loop time per event
workbench_broker_place_order_latency_seconds          histogram  each place_order -> reply
workbench_broker_place_order_latency_max_seconds      gauge      the longest place_order of the
                                                                 interval, or the one still under
                                                                 way
workbench_broker_fills_total                          counter    fills
workbench_broker_rejections_total{reason}             counter    rejections by reason code
workbench_broker_open_orders                          gauge      working orders
workbench_journal_write_seconds                       histogram  each journal transaction
workbench_journal_write_errors_total                  counter    failed journal writes
workbench_session_equity                              gauge      account equity
workbench_session_drawdown                            gauge      equity / peak equity - 1
workbench_process_cpu_percent                         gauge      psutil
workbench_process_rss_bytes                           gauge      psutil
workbench_process_open_files                          gauge      psutil
====================================================  =========  ============================
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil
import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

import workbench
from workbench.component import CheckResult, run_check
from workbench.monitor.alerts import AlertManager, ListNotifier, LogNotifier, WebhookNotifier
from workbench.monitor import rules as rulebook
from workbench.monitor.rules import Rule, load_rules
from workbench.monitor.store import MetricStore, label_key

LATENCY_BUCKETS = (1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3,
                   0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
KEEP_SECONDS = 3600.0  # samples kept in memory for rule windows
L0 = label_key({})  # the key of a series without labels
HISTOGRAMS = ("workbench_broker_place_order_latency_seconds", "workbench_journal_write_seconds")


class BulkHistogram(Collector):
    """A Prometheus histogram fed a whole interval's observations at once: bucket counts
    by ``numpy.searchsorted`` (an observation counts in each bucket whose ``le`` it does not
    exceed), exposed through prometheus-client's public collector API. Written because
    prometheus-client's ``Histogram.observe`` takes one value a call (2-3 us each: 60,000
    place_order latencies a second cost the engine 15 % of a core)."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...],
                 registry: CollectorRegistry) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = np.asarray(buckets, dtype=float)
        self._counts = np.zeros(len(buckets) + 1, dtype=np.int64)  # the last: above every bound (+Inf)
        self._sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe_many(self, values: np.ndarray) -> None:
        if values.size == 0:
            return
        counts = np.bincount(np.searchsorted(self.bounds, values, side="left"), minlength=self._counts.size)
        with self._lock:
            self._counts += counts
            self._sum += float(values.sum())

    def collect(self):
        with self._lock:
            cumulative, total = np.cumsum(self._counts).tolist(), self._sum
        les = [floatToGoString(b) for b in self.bounds.tolist()] + ["+Inf"]  # as Histogram writes them
        family = HistogramMetricFamily(self.name, self.documentation, buckets=list(zip(les, cumulative)),
                                       sum_value=total)
        yield family

    def describe(self):
        return [HistogramMetricFamily(self.name, self.documentation)]


class Monitor:
    """Samples attached components every ``interval`` seconds (see the module docstring).

    ``store``: a path (or :class:`MetricStore`) to persist samples and alerts, or ``None``.
    ``rules``: a rule file, rule list or parsed YAML; ``None`` loads the default pack.
    ``clock``: seconds since the epoch (injectable for tests). ``log``: alert notifications
    to the ``workbench.monitor`` logger too. ``watchdog``: sample in a thread of its own
    while a session runs (default: when the clock is the wall clock).
    """

    name = "monitor"

    def __init__(self, *, store: str | os.PathLike | MetricStore | None = None,
                 rules: Any = None, interval: float = 1.0, webhook: str | None = None,
                 log: bool = True, clock: Callable[[], float] = time.time,
                 watchdog: bool | None = None) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        self.interval = float(interval)
        self.clock = clock
        self.watchdog = clock is time.time if watchdog is None else bool(watchdog)
        self._watcher: threading.Thread | None = None
        self._stop_watching = threading.Event()
        self.sample_errors = 0  # samples the watchdog could not take (logged)
        self.store = store if isinstance(store, MetricStore) or store is None else MetricStore(store)
        self.rules: list[Rule] = rules if isinstance(rules, list) and all(isinstance(r, Rule) for r in rules) \
            else load_rules(rules)
        self.notifications = ListNotifier()
        notifiers: list = [LogNotifier(), self.notifications] if log else [self.notifications]
        self.webhook = WebhookNotifier(webhook) if webhook else None
        if self.webhook:
            notifiers.append(self.webhook)
        self.alerts = AlertManager(self.rules, notifiers)
        self.registry = CollectorRegistry()
        r = self.registry
        self.metrics = {  # the Prometheus families, by short name
            "feed_events": Counter("workbench_feed_events", "Market events received", registry=r),
            "feed_age": Gauge("workbench_feed_last_event_age_seconds", "Seconds since the last market event", registry=r),
            "engine_rate": Gauge("workbench_engine_events_per_second", "Events handled per second", registry=r),
            "engine_busy": Gauge("workbench_engine_busy_seconds_per_event", "Engine loop time per event", registry=r),
            "latency": BulkHistogram("workbench_broker_place_order_latency_seconds", "place_order to reply",
                                     LATENCY_BUCKETS, r),
            "fills": Counter("workbench_broker_fills", "Fills", registry=r),
            "rejections": Counter("workbench_broker_rejections", "Rejected requests", ["reason"], registry=r),
            "open_orders": Gauge("workbench_broker_open_orders", "Working orders", registry=r),
            "latency_max": Gauge("workbench_broker_place_order_latency_max_seconds",
                                 "Longest place_order of the interval, or the one under way", registry=r),
            "journal": BulkHistogram("workbench_journal_write_seconds", "Journal transaction time",
                                     LATENCY_BUCKETS, r),
            "journal_errors": Counter("workbench_journal_write_errors", "Failed journal writes", registry=r),
            "equity": Gauge("workbench_session_equity", "Account equity", registry=r),
            "drawdown": Gauge("workbench_session_drawdown", "Equity / peak equity - 1", registry=r),
            "cpu": Gauge("workbench_process_cpu_percent", "Process CPU percent", registry=r),
            "rss": Gauge("workbench_process_rss_bytes", "Process resident memory", registry=r),
            "files": Gauge("workbench_process_open_files", "Process open file descriptors", registry=r),
        }
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # primes the CPU measurement
        self._recent: dict[str, dict[str, tuple[dict, deque]]] = {}
        self._broker = None
        self._engine = None
        self._components: list = []
        self._session_open = False
        self._lock = threading.RLock()
        self._next_sample_at = 0.0  # clock time the next sample is due
        self._seen = _Seen()
        self._last_event_at: float | None = None
        self._peak_equity = -math.inf
        self.samples_taken = 0
        self.rows_written = 0
        self._server = None
        self._pending_rows: list[tuple[float, str, str, float]] = []

    # --- wiring --------------------------------------------------------------------------

    def attach(self, *, broker=None, engine=None, components: tuple = ()) -> Monitor:
        """Watch these components (their ``stats()`` too); an engine opens a session."""
        with self._lock:
            if broker is not None:
                self._broker = broker
            if engine is not None:
                self._engine = engine
                self._broker = engine.broker
            for c in (broker, engine, *components):
                if c is not None and c not in self._components:
                    self._components.append(c)
        return self

    def session_started(self) -> None:
        with self._lock:
            self._session_open = True
            self._last_event_at = self.clock()
            self._next_sample_at = 0.0
        if self.watchdog and self._watcher is None:
            self._stop_watching.clear()
            self._watcher = threading.Thread(target=self._watch, name="workbench-monitor", daemon=True)
            self._watcher.start()

    def session_ended(self) -> None:
        """The session is over: a last sample, then every pending or firing alert resolved."""
        self._stop_watcher()
        with self._lock:
            self.sample()
            self._session_open = False
            now = self.clock()
            self._record_alerts(self.alerts.end_session(now))

    def _watch(self) -> None:
        """The watchdog: a sample every interval on the wall clock, whatever the engine does."""
        log = logging.getLogger("workbench.monitor")
        while not self._stop_watching.wait(self.interval):
            try:
                self.sample()
            except Exception:  # a failed sample is counted and logged; the watchdog keeps watching
                self.sample_errors += 1
                log.exception("monitor sample failed")

    def _stop_watcher(self) -> None:
        if self._watcher is not None:
            self._stop_watching.set()
            self._watcher.join()
            self._watcher = None

    def tick(self) -> None:
        """Called by the engine after each time slice: notes when the feed last delivered
        (the feed age is exact, not rounded up to the next sample); without a watchdog it
        also samples when an interval is due."""
        now = self.clock()
        self._last_event_at = now
        if self._watcher is None:
            self.sample_if_due(now)

    def sample_if_due(self, now: float | None = None) -> bool:
        """Sample when an interval has passed since the last sample; True if it sampled."""
        now = self.clock() if now is None else now
        if now < self._next_sample_at:
            return False
        self.sample(now)
        return True

    def sleeper(self, sleep: Callable[[float], None]) -> Callable[[float], None]:
        """Wrap a sleep function so that long waits (a paced replay through a data gap)
        keep sampling every interval."""
        if self.watchdog:
            return sleep  # the watchdog samples on its own

        def wait(seconds: float) -> None:
            while seconds > 0:
                step = min(seconds, self.interval)
                sleep(step)
                seconds -= step
                self.sample_if_due()
        return wait

    # --- sampling ------------------------------------------------------------------------

    def record(self, name: str, value: float, labels: dict[str, str] | None = None,
               now: float | None = None, *, store: bool = True) -> None:
        """Add one sample of any series (custom metrics, monitoring series of your own);
        ``store=False`` keeps it in memory only (single latency observations)."""
        now = self.clock() if now is None else now
        key = label_key(labels)
        series = self._recent.setdefault(name, {})
        if key not in series:
            series[key] = (dict(labels or {}), deque())
        # a histogram's window holds one array a sample (see _observe)
        series[key][1].append((now, np.array([float(value)]) if name in HISTOGRAMS else float(value)))
        if store:
            self._pending_rows.append((now, name, key, float(value)))

    def sample(self, now: float | None = None) -> dict[str, Any]:
        """Measure everything attached, store it, evaluate the rules. Returns the values."""
        with self._lock:
            now = self.clock() if now is None else now
            values: dict[str, float] = {}
            seen = self._seen
            dt = None if seen.sampled_at is None else now - seen.sampled_at
            if self._engine is not None:
                events, busy = self._engine.events, self._engine.busy_seconds
                new = events - seen.events
                self.metrics["feed_events"].inc(new)
                values["workbench_feed_events_total"] = events
                if dt is not None and dt > 0:  # two samples at one clock time have no rate between them
                    values["workbench_engine_events_per_second"] = new / dt
                if new > 0:
                    values["workbench_engine_busy_seconds_per_event"] = (busy - seen.busy_seconds) / new
                seen.events, seen.busy_seconds = events, busy
                if self._session_open and self._last_event_at is not None:
                    values["workbench_feed_last_event_age_seconds"] = now - self._last_event_at
            if self._broker is not None:
                self._sample_broker(now, values)
            mem = self._process.memory_info().rss
            values["workbench_process_cpu_percent"] = self._process.cpu_percent(None)
            values["workbench_process_rss_bytes"] = float(mem)
            values["workbench_process_open_files"] = float(self._process.num_fds())
            for name, value in values.items():
                self.record(name, value, now=now)
                gauge = _GAUGES.get(name)
                if gauge is not None:
                    self.metrics[gauge].set(value)
            seen.sampled_at = now
            self._next_sample_at = now + self.interval
            self._trim(now)
            self._evaluate(now)
            if self.store is not None and self._pending_rows:
                self.rows_written += self.store.write(self._pending_rows)
            self._pending_rows = []
            self.samples_taken += 1
            return values

    def _sample_broker(self, now: float, values: dict[str, float]) -> None:
        broker, seen = self._broker, self._seen
        in_flight = broker.order_in_flight_seconds()
        # The latencies and write times need no broker lock: a slow broker (whose lock is
        # held through every call) still has them read each sample. Skipping them left
        # windows empty, and an empty window resolved a firing latency alert mid-fault.
        timed, latencies = broker.latencies_since(seen.latencies)
        self._observe("latency", "workbench_broker_place_order_latency_seconds", latencies, now)
        seen.latencies = timed
        values["workbench_broker_place_order_latency_max_seconds"] = max([in_flight, *latencies])
        written, writes = broker.journal.write_times_since(seen.journal_writes)
        self._observe("journal", "workbench_journal_write_seconds", writes, now)
        seen.journal_writes = written
        # In the engine's own thread the lock is the engine's already; the watchdog waits for
        # it briefly and skips the rest of a broker stuck inside a call (the stall shows as
        # in_flight).
        if not broker.lock.acquire(timeout=min(0.2 * self.interval, 0.25)):
            return
        try:
            self._read_broker(broker, seen, now, values)
        finally:
            broker.lock.release()

    def _read_broker(self, broker, seen: _Seen, now: float, values: dict[str, float]) -> None:
        stats = broker.stats(latency=False)
        errors = broker.journal.write_errors
        self.metrics["journal_errors"].inc(errors - seen.journal_errors)
        seen.journal_errors = errors
        values["workbench_journal_write_errors_total"] = float(errors)
        self.metrics["fills"].inc(stats["fills"] - seen.fills)
        seen.fills = stats["fills"]
        values["workbench_broker_fills_total"] = float(stats["fills"])
        for key, n in stats.items():
            if key.startswith("rejected_"):
                reason = key[len("rejected_"):]
                self.metrics["rejections"].labels(reason=reason).inc(n - seen.rejections.get(reason, 0))
                seen.rejections[reason] = n
                self.record("workbench_broker_rejections_total", n, {"reason": reason}, now=now)
        values["workbench_broker_open_orders"] = float(stats["open_orders"])
        equity = broker.account().equity
        self._peak_equity = max(self._peak_equity, equity)
        values["workbench_session_equity"] = equity
        values["workbench_session_drawdown"] = equity / self._peak_equity - 1 if self._peak_equity > 0 else 0.0

    def _observe(self, metric: str, name: str, observations: list[float], now: float) -> None:
        """Histogram observations: all at once into Prometheus, into the rule windows as one
        array for this sample's time; their count, p50, p99 and max over the interval into
        the store."""
        values = np.asarray(observations, dtype=float)
        self.metrics[metric].observe_many(values)
        series = self._recent.setdefault(name, {})
        if L0 not in series:
            series[L0] = ({}, deque())
        if values.size:
            series[L0][1].append((now, values))
            ordered = np.sort(values)
            n = len(ordered)
            for stat, value in (("count", n), ("p50", ordered[(n - 1) // 2]),
                                ("p99", ordered[min(n - 1, math.ceil(0.99 * n) - 1)]), ("max", ordered[-1])):
                self._pending_rows.append((now, name, label_key({"stat": stat}), float(value)))

    def _trim(self, now: float) -> None:
        cut = now - KEEP_SECONDS
        for series in self._recent.values():
            for _, samples in series.values():
                while samples and samples[0][0] < cut:
                    samples.popleft()

    def _evaluate(self, now: float) -> None:
        values: dict[str, dict[str, tuple[dict, float]]] = {}
        for rule in self.rules:
            per = values.setdefault(rule.name, {})
            for key, (labels, samples) in self._recent.get(rule.metric, {}).items():
                window = [s for s in samples if s[0] > now - rule.window]
                if not window:
                    continue
                if rule.metric not in HISTOGRAMS:
                    per[key] = (labels, rulebook.aggregate(rule.aggregation, window))
                elif rule.aggregation in ("last", "rate"):  # per observation, with its sample's time
                    per[key] = (labels, rulebook.aggregate(rule.aggregation, _pairs(window)))
                else:  # (time, array of the interval's observations) per sample
                    per[key] = (labels, rulebook.aggregate_values(rule.aggregation,
                                                                  np.concatenate([v for _, v in window])))
        self._record_alerts(self.alerts.evaluate(now, values, notify=False))

    def _record_alerts(self, changed: list[dict]) -> None:
        """Store the alerts that changed, then notify: what a notification says is on disk."""
        if self.store is not None:
            for alert in changed:
                self.store.save_alert(alert)
        self.alerts.notify(changed)

    # --- reads and export ----------------------------------------------------------------

    def series(self, name: str, labels: dict[str, str] | None = None) -> list[tuple[float, float]]:
        """In-memory samples of one series (the last hour)."""
        entry = self._recent.get(name, {}).get(label_key(labels))
        if not entry:
            return []
        return _pairs(entry[1]) if name in HISTOGRAMS else list(entry[1])

    def status(self) -> dict[str, Any]:
        """Current values of every series and the firing alerts."""
        with self._lock:
            current = {}
            for name, series in sorted(self._recent.items()):
                for key, (labels, samples) in series.items():
                    if samples and name not in HISTOGRAMS:
                        current[name + (key if labels else "")] = samples[-1][1]
            return {"values": current, "firing": [a.to_dict(self.clock()) for a in self.alerts.firing()],
                    "components": {getattr(c, "name", type(c).__name__): c.stats() for c in self._components}}

    def serve(self, address: str = "127.0.0.1", port: int = 9464):
        """Serve ``/metrics`` of this monitor's registry over HTTP (loopback by default)."""
        from workbench.monitor.export import serve_registry

        self._server, thread = serve_registry(self.registry, address, port)
        return self._server, thread

    def close(self) -> None:
        self._stop_watcher()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.store is not None:
            self.store.close()

    # --- component API -------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": workbench.__version__,
            "capabilities": ["prometheus", "sqlite-store", "alerts", "webhook"],
            "config": {"interval": self.interval, "rules": [r.name for r in self.rules],
                       "store": None if self.store is None else str(self.store.path)},
        }

    def stats(self) -> dict[str, float | int]:
        return {"samples": self.samples_taken, "rows_written": self.rows_written,
                "alerts_firing": len(self.alerts.firing()), "notifications": len(self.notifications.items),
                "series": sum(len(s) for s in self._recent.values())}

    def self_test(self) -> list[CheckResult]:
        return [run_check(self.name, "alert_lifecycle", _check_lifecycle)]


@dataclass
class _Seen:
    """What the monitor had read of the components at its last sample (counts and totals),
    so each sample adds only what is new."""

    sampled_at: float | None = None  # clock time of the last sample
    events: int = 0  # market events the engine had handled
    busy_seconds: float = 0.0  # the engine's time inside its loop
    latencies: int = 0  # place_order calls the broker had timed
    journal_writes: int = 0  # journal transactions timed
    journal_errors: int = 0
    fills: int = 0
    rejections: dict[str, int] = field(default_factory=dict)  # by reason code


_GAUGES = {
    "workbench_feed_last_event_age_seconds": "feed_age",
    "workbench_engine_events_per_second": "engine_rate",
    "workbench_engine_busy_seconds_per_event": "engine_busy",
    "workbench_broker_open_orders": "open_orders",
    "workbench_broker_place_order_latency_max_seconds": "latency_max",
    "workbench_session_equity": "equity",
    "workbench_session_drawdown": "drawdown",
    "workbench_process_cpu_percent": "cpu",
    "workbench_process_rss_bytes": "rss",
    "workbench_process_open_files": "files",
}


def _check_lifecycle() -> str:
    rule = {"rules": [{"name": "T", "metric": "x", "aggregation": "last", "window": "10s", "op": ">",
                       "threshold": 1, "for": "2s"}]}
    t = [0.0]
    m = Monitor(rules=rule, clock=lambda: t[0], log=False)
    states = []
    for second, value in enumerate([0, 5, 5, 5, 0, 0]):
        t[0] = float(second)
        m.record("x", value)
        m.sample()
        inst = next(iter(m.alerts.instances.values()), None)
        states.append(inst.state if inst else "inactive")
    want = ["inactive", "pending", "pending", "firing", "resolved", "resolved"]
    if states != want:
        raise AssertionError(f"states {states}, expected {want}")
    return "inactive -> pending -> firing after 'for' -> resolved"


def _pairs(chunks) -> list[tuple[float, float]]:
    """A histogram's window, (time, array) per sample, as one (time, value) per observation."""
    return [(t, v) for t, values in chunks for v in values.tolist()]
