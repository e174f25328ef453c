"""The monitor on real sessions: measured metrics, /metrics over HTTP, injected faults."""

import time
import urllib.request

import pandas as pd
import pytest

from workbench.broker import CommissionModel
from workbench.cli import main
from workbench.engine import Engine, backtest
from workbench.feed import load_dataset_bars, synthetic_quotes
from workbench.monitor import MetricStore, Monitor
from workbench.monitor.export import StoreCollector
from workbench.clock import ManualClock
from workbench.strategies import QuoteTaker, SmaCross


def test_metrics_are_measured_from_the_components(tmp_path):
    m = Monitor(store=tmp_path / "m.sqlite", interval=0.001, log=False)
    engine = Engine(SmaCross(), load_dataset_bars("sp500"), monitor=m)
    engine.broker.place_order("NOPE", "buy", 1)  # one rejection, by reason
    result = engine.run()
    values = m.status()["values"]
    assert values["workbench_broker_fills_total"] == len(result.fills) == 176
    assert values["workbench_feed_events_total"] == 5031
    assert values["workbench_session_equity"] == pytest.approx(result.broker.account().equity)
    assert values["workbench_process_rss_bytes"] > 10e6
    assert m.registry.get_sample_value("workbench_broker_place_order_latency_seconds_sum") > 0  # every place_order observed
    assert m.series("workbench_broker_rejections_total", {"reason": "UNKNOWN_SYMBOL"})[-1][1] == 1
    stored = MetricStore(tmp_path / "m.sqlite").series("workbench_broker_fills_total")
    assert stored["value"].iloc[-1] == 176 and stored["value"].is_monotonic_increasing


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def test_metrics_endpoint_over_http():
    m = Monitor(interval=0.001, log=False)
    backtest(SmaCross(), load_dataset_bars("sp500").iloc[:600], monitor=m)
    server, _ = m.serve("127.0.0.1", 0)
    try:
        text = scrape(server.server_port)
    finally:
        m.close()
    assert "workbench_broker_fills_total" in text
    fills = [l for l in text.splitlines() if l.startswith("workbench_broker_fills_total ")]
    assert float(fills[0].split()[1]) > 0
    assert 'workbench_broker_place_order_latency_seconds_bucket{le="0.001"}' in text


def test_store_collector_serves_what_another_process_wrote(tmp_path):
    path = tmp_path / "m.sqlite"
    backtest(SmaCross(), load_dataset_bars("sp500").iloc[:300], monitor=Monitor(store=path, interval=0.001, log=False))
    families = {f.name: f for f in StoreCollector(MetricStore(path)).collect()}
    assert families["workbench_feed_events_total"].samples[0].value == 300


def test_monitor_cli(tmp_path, capsys):
    store = tmp_path / "m.sqlite"
    assert main(["backtest", "sma_cross", "--data", "sp500", "--monitor", str(store), "--json"]) == 0
    capsys.readouterr()
    assert main(["monitor", "status", "--store", str(store)]) == 0
    assert "workbench_broker_fills_total = 176" in capsys.readouterr().out
    assert main(["monitor", "export", "--store", str(store), "--format", "parquet", "--out", str(tmp_path / "x.parquet")]) == 0
    assert len(pd.read_parquet(tmp_path / "x.parquet")) > 10
    assert main(["monitor", "alerts", "--store", str(store), "--since", "1h"]) == 0
    assert main(["monitor", "status", "--store", str(tmp_path / "none.sqlite")]) == 2


class SlowDuring(CommissionModel):
    """A fault: free, but takes 60 ms (for real) while the data time is in a window (the rule's
    threshold is 30 ms: an ordinary place_order on a loaded machine stays well under it)."""

    def __init__(self, engine_ref, start, end):
        self.engine_ref, self.start, self.end = engine_ref, start, end

    def commission(self, order, quantity, price):
        now = self.engine_ref[0].now
        if now is not None and self.start <= pd.Timestamp(now) < self.end:
            time.sleep(0.06)
        return 0.0


def test_injected_latency_spike_fires_and_resolves():
    quotes = synthetic_quotes(1, days=1, freq="1s", seed=3).iloc[:900]  # 15 minutes
    t0 = quotes.index[0]
    spike = (t0 + pd.Timedelta(minutes=5), t0 + pd.Timedelta(minutes=7))
    clock = ManualClock()
    rule = {"rules": [{"name": "Latency", "metric": "workbench_broker_place_order_latency_seconds",
                       "aggregation": "p99", "window": "60s", "op": ">", "threshold": 0.03, "for": "20s"}]}
    m = Monitor(rules=rule, interval=1.0, clock=clock, log=False)
    ref = []
    engine = Engine(QuoteTaker(), quotes, mode="paper", speed=1.0, clock=clock, sleep=clock.sleep, monitor=m,
                    account_type="margin", commission=SlowDuring(ref, *spike))
    ref.append(engine)
    wall0 = clock.now
    engine.run()
    (alert,) = m.alerts.instances.values()
    assert alert.state == "resolved"
    start, end = (spike[0] - t0).total_seconds(), (spike[1] - t0).total_seconds()
    # Pending at the first slow order's sample, firing 20 s later, resolved once the slow
    # orders have left the 60 s window.
    assert start <= alert.active_since - wall0 <= start + 6
    assert alert.fired_at - alert.active_since == pytest.approx(20, abs=1.01)
    assert end + 60 - 6 <= alert.resolved_at - wall0 <= end + 60 + 2
    assert [n["state"] for n in m.notifications.items] == ["firing", "resolved"]


def test_injected_feed_stall_fires_and_resolves():
    from workbench.certify.scenarios import feed_stall

    stall = feed_stall(seed=4)  # three minutes of nothing, three minutes in; FeedStalled: > 30 s for 10 s
    m, wall0 = stall.monitor, stall.t0  # the session's clock starts at the first quote's time
    (alert,) = m.alerts.instances.values()
    last_before, resume = stall.last_before - wall0, stall.resume - wall0
    assert alert.state == "resolved"
    assert alert.active_since - wall0 == pytest.approx(last_before + 31, abs=1.01)  # age > 30 s
    assert alert.fired_at - alert.active_since == pytest.approx(10, abs=1.01)
    assert alert.resolved_at - wall0 == pytest.approx(resume, abs=1.01)
    # The feed's age counts from the last quote itself, not from the sample that noticed it:
    # every sample in the gap reads exactly (sample time - last quote time).
    ages = [(t - wall0, v) for t, v in m.series("workbench_feed_last_event_age_seconds")
            if last_before < t - wall0 < resume]
    assert len(ages) > 150 and all(v == pytest.approx(t - last_before, abs=1e-6) for t, v in ages)
    assert alert.active_since - wall0 == pytest.approx(last_before + 31, abs=1e-6)


def test_monitor_serve_command_over_http(tmp_path):
    import socket
    import subprocess
    import sys

    store = tmp_path / "m.sqlite"
    backtest(SmaCross(), load_dataset_bars("sp500").iloc[:300], monitor=Monitor(store=store, interval=0.001, log=False))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "monitor", "serve", "--store", str(store),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "serving http://127.0.0.1" in proc.stdout.readline()  # printed once it listens
        text = scrape(port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    line = next(l for l in text.splitlines() if l.startswith("workbench_feed_events_total "))
    assert float(line.split()[1]) == 300


def test_journal_write_errors_are_counted_and_nothing_is_acknowledged(tmp_path):
    from workbench.broker import JournalError, SimulatedBroker

    from tests.broker.conftest import bar

    b = SimulatedBroker(cash=1e6, instruments=["X"], journal=tmp_path / "j.sqlite")
    b.on_bar(bar(0, 100, 101, 99, 100))
    m = Monitor(interval=0.001, log=False).attach(broker=b)
    before = b.state()
    b.journal._db.close()  # the disk goes away
    with pytest.raises(JournalError, match="journal write failed"):
        b.place_order("X", "buy", 1)
    assert b.state() == before and b.journal.write_errors == 1
    m.sample()
    assert m.series("workbench_journal_write_errors_total")[-1][1] == 1


def test_the_bulk_histogram_exposes_what_prometheus_clients_histogram_would():
    """Observations fed at once give the same /metrics lines as prometheus-client's own
    Histogram fed one by one, values exactly on a bucket's bound included (le is inclusive)."""
    import numpy as np
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from workbench.monitor.monitor import LATENCY_BUCKETS, BulkHistogram

    rng = np.random.default_rng(7)
    values = np.concatenate([rng.lognormal(-9, 2, 5_000), np.asarray(LATENCY_BUCKETS), [0.0, 99.0]])
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    bulk = BulkHistogram("x_seconds", "doc", LATENCY_BUCKETS, ours)
    bulk.observe_many(values[:100])
    bulk.observe_many(values[100:])
    bulk.observe_many(np.asarray([]))
    one = Histogram("x_seconds", "doc", buckets=LATENCY_BUCKETS, registry=theirs)
    for v in values:
        one.observe(v)

    def lines(registry):
        return [ln for ln in generate_latest(registry).decode().splitlines() if "_created" not in ln]

    got, want = lines(ours), lines(theirs)
    assert [ln for ln in got if "_sum" not in ln] == [ln for ln in want if "_sum" not in ln]
    assert ours.get_sample_value("x_seconds_sum") == pytest.approx(theirs.get_sample_value("x_seconds_sum"), rel=1e-12)


def test_a_single_latency_recorded_by_hand_still_fires_a_histogram_rule():
    """Found by a break-it review: record() on a histogram name broke every later sample."""
    from workbench.monitor import Monitor
    from workbench.monitor.rules import Rule

    name = "workbench_broker_place_order_latency_seconds"
    m = Monitor(rules=[Rule("slow", name, "p99", 60.0, ">", 0.01)], clock=lambda: 100.0, log=False, watchdog=False)
    m.record(name, 0.5, store=False)
    assert m.series(name) == [(100.0, 0.5)]
    m.sample()
    assert [a.rule.name for a in m.alerts.firing()] == ["slow"]


def test_the_watchdog_reads_latencies_while_a_slow_call_holds_the_broker(tmp_path):
    """A slow broker holds its lock through every call. The watchdog used to skip the
    latencies when it could not take the lock within a fifth of an interval; a window of
    such samples was empty, and an empty window resolved a firing latency alert in the
    middle of the fault (the watchdog test's slowed broker flapped under load)."""
    import threading

    from workbench.broker import SimulatedBroker
    from workbench.monitor.rules import Rule
    from tests.broker.conftest import bar

    names = ("workbench_broker_place_order_latency_seconds", "workbench_journal_write_seconds")
    m = Monitor(rules=[Rule(n, n, "p99", 60.0, ">", 0.0) for n in names], interval=0.1, clock=lambda: 100.0,
                log=False, watchdog=False)
    b = SimulatedBroker(cash=1_000_000, instruments=["X"], journal=tmp_path / "j.sqlite", durability="sync")
    b.on_bar(bar(0, 100, 101, 99, 100))
    m.attach(broker=b)
    for _ in range(5):
        assert b.place_order("X", "buy", 1).accepted
    held, done = threading.Event(), threading.Event()

    def slow_call():  # what a slow commission inside place_order does to the lock
        with b.lock:
            held.set()
            done.wait(30)

    holder = threading.Thread(target=slow_call)
    holder.start()
    try:
        assert held.wait(30)
        m.sample()
    finally:
        done.set()
        holder.join()
    assert len(m.series(names[0])) == 5 and len(m.series(names[1])) >= 5
    assert sorted(a.rule.name for a in m.alerts.firing()) == sorted(names)
