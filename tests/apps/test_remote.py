"""A `workbench paper` run seen from the app (workbench.apps.remote): read back from its
journal, traded through its command channel while it runs, read-only once it ended."""

import json
import threading
import time

import pytest

from workbench.apps.remote import RunSession, open_run
from workbench.apps.session import orders_frame
from workbench.broker import SimulatedBroker
from workbench.control import ControlChannel, ControlError
from workbench.engine import Engine
from workbench.errors import ConfigError
from workbench.feed import synthetic_bars
from workbench.strategies import SmaCross

BARS = synthetic_bars(1, days=120, seed=5)


def finished_run(runs):
    folder = runs / "p1"
    folder.mkdir(parents=True)
    Engine(SmaCross(fast=3, slow=10), BARS, mode="paper", speed=1e12, journal=folder / "journal.sqlite").run()
    return folder


def test_a_finished_run_is_shown_from_its_journal_and_refuses_orders(tmp_path):
    runs = tmp_path / "runs"
    folder = finished_run(runs)
    session = open_run(runs, "p1")
    assert not session.running and "read-only" in session.quote_line()
    inspected = SimulatedBroker.inspect(folder / "journal.sqlite")
    orders, _ = session.frames()
    assert len(orders) > 0 and orders.equals(orders_frame(inspected))
    with pytest.raises(ControlError, match="no session running"):
        session.place(session.symbols[0], "buy", 1, "market", None, None, "day", "dashboard:x")


@pytest.mark.parametrize("name", ["nope", "../..", "p1/../../x", "a\x00b"])
def test_a_run_that_is_not_there_or_outside_the_runs_folder_is_named(tmp_path, name):
    runs = tmp_path / "runs"
    finished_run(runs)
    with pytest.raises(ConfigError, match="no run"):
        open_run(runs, name)


def test_a_running_session_shows_its_prices_and_a_new_order_after_one_poll(tmp_path):
    runs = tmp_path / "runs"
    folder = runs / "live"
    folder.mkdir(parents=True)
    channel = ControlChannel(folder)
    engine = Engine(SmaCross(fast=3, slow=10), BARS, mode="paper", speed=86400 * 20,
                    journal=folder / "journal.sqlite", control=channel)
    channel.open()
    runner = threading.Thread(target=engine.run, daemon=True)
    runner.start()
    try:
        session = RunSession(folder)
        deadline = time.monotonic() + 30
        while session.state is None or session.state.get("time") is None:  # the first bar came
            assert time.monotonic() < deadline, "the session never reported its market time"
            session.poll()
        assert session.running and "market time" in session.quote_line()
        ok, text = session.place(session.symbols[0], "buy", 3, "market", None, None, "day", "dashboard:t")
        assert ok, text
        order_id = text.split()[-1]
        session.poll()  # the journal changed: read again
        orders, _ = session.frames()
        assert orders.loc[orders["id"] == order_id, "by"].tolist() == ["dashboard:t"]
        # its market page plots the prices the session reported, by market time, each once
        from workbench.apps.pages import run_market_page

        page, refresh = run_market_page(session)
        source = page.objects[1].object.renderers[0].data_source
        while len(session.prices) < 3:
            assert time.monotonic() < deadline + 30, "the session reported no new prices"
            refresh(poll=True)
        refresh(poll=False)
        symbol = session.symbols[0]
        times = [t for t, _ in session.prices]
        assert len(source.data["t"]) == len(times) == len(set(times))
        assert source.data["p0"] == [p[symbol] for _, p in session.prices]
    finally:
        engine.stop()
        runner.join(30)
        channel.close()


def monitored_run(runs, name="m1"):
    from workbench.session import SessionConfig, run_session

    folder = runs / name
    run_session(SessionConfig(strategy="sma_cross", data=("sp500",), mode="paper", out=folder, speed=1e12,
                              start="2010-01-01", end="2010-12-31", monitor=folder / "monitor.sqlite",
                              sample_every=0.05, control=False))
    return folder


def test_a_runs_monitoring_page_shows_the_metrics_and_alerts_of_its_monitor_store(tmp_path):
    from workbench.apps.pages import run_monitoring_page
    from workbench.monitor.store import MetricStore

    runs = tmp_path / "runs"
    folder = monitored_run(runs)
    store = MetricStore.existing(folder / "monitor.sqlite")
    equity = store.series("workbench_session_equity")
    names = set(store.latest()["name"])
    store.close()
    assert len(equity) >= 1
    before = (folder / "monitor.sqlite").read_bytes()
    session = open_run(runs, "m1")
    assert session.store_path == (folder / "monitor.sqlite").resolve()
    page, refresh = run_monitoring_page(session)
    refresh(poll=True)  # the app's first tick
    note, charts, _, alerts, _, latest = page.objects
    assert "monitor.sqlite" in note.object and "shared" not in note.object
    equity_src = charts.objects[0].object.renderers[0].data_source
    assert equity_src.data["v"] == equity["value"].tolist()  # every sample, once
    assert set(latest.object["metric"]) == names
    refresh(poll=True)  # nothing new in a finished run's store: nothing drawn twice
    assert equity_src.data["v"] == equity["value"].tolist()
    assert "stale" not in note.object  # the run ended a moment ago
    assert (folder / "monitor.sqlite").read_bytes() == before  # read, never written


def test_a_runs_monitoring_page_without_a_store_says_how_to_get_one(tmp_path):
    from workbench.apps.pages import run_monitoring_page

    runs = tmp_path / "runs"
    finished_run(runs)
    page, _ = run_monitoring_page(open_run(runs, "p1"))
    assert "has no monitor store" in page.objects[0].object and "--monitor" in page.objects[0].object


def store_link(folder, store):
    (folder / "monitor.json").write_text(json.dumps({"store": str(store)}))


@pytest.mark.parametrize("kind", ["missing", "directory", "not sqlite", "empty", "journal"])
def test_a_store_link_to_what_is_not_a_monitor_store_is_said_and_changes_nothing(tmp_path, kind):
    from workbench.apps.pages import run_monitoring_page

    runs = tmp_path / "runs"
    folder = finished_run(runs)
    target = {"missing": tmp_path / "none.sqlite", "directory": tmp_path, "not sqlite": tmp_path / "x.txt",
              "empty": tmp_path / "empty.sqlite", "journal": folder / "journal.sqlite"}[kind]
    if kind == "not sqlite":
        target.write_text("hello\n" * 100)
    if kind == "empty":
        target.write_bytes(b"")
    before = target.read_bytes() if target.is_file() else None
    store_link(folder, target)
    page, refresh = run_monitoring_page(open_run(runs, "p1"))
    refresh(poll=True)
    assert "cannot be read" in page.objects[0].object, page.objects[0].object
    assert page.objects[0].alert_type == "danger"
    if kind == "journal":  # read by the page anyway (a checkpoint may touch it): no store tables added
        import sqlite3

        db = sqlite3.connect(target)
        assert "samples" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        db.close()
    elif before is not None:
        assert target.read_bytes() == before  # not turned into a monitor store
    assert not (tmp_path / "none.sqlite").exists()


def test_a_store_broken_while_its_page_is_open_is_said_on_the_page(tmp_path):
    from workbench.apps.pages import run_monitoring_page

    runs = tmp_path / "runs"
    folder = monitored_run(runs)
    page, refresh = run_monitoring_page(open_run(runs, "m1"))
    refresh(poll=True)
    assert page.objects[0].alert_type == "secondary"
    (folder / "monitor.sqlite").write_bytes(bytes(range(256)) * 64)  # overwritten with garbage
    refresh(poll=True)  # no exception: the page says so
    assert "cannot be read" in page.objects[0].object and page.objects[0].alert_type == "danger"


def test_samples_are_read_once_each_even_with_equal_times_and_a_stopped_run_is_stale(tmp_path):
    from workbench.apps.pages import run_monitoring_page
    from workbench.monitor.store import MetricStore

    runs = tmp_path / "runs"
    folder = finished_run(runs)
    store = MetricStore(tmp_path / "m.sqlite")
    t = time.time() - 3600  # an hour ago: the run has stopped
    store.write([(t, "workbench_session_equity", "{}", 1.0)])
    store_link(folder, tmp_path / "m.sqlite")
    page, refresh = run_monitoring_page(open_run(runs, "p1"))
    refresh(poll=True)
    source = page.objects[1].objects[0].object.renderers[0].data_source
    assert source.data["v"] == [1.0]
    store.write([(t, "workbench_session_equity", "{}", 2.0)])  # the same time, another transaction
    store.write([(t + 1e-7, "workbench_session_equity", "{}", 3.0)])
    store.save_alert({"id": "a1", "rule": "R", "labels": {}, "state": "firing", "severity": "critical",
                      "value": 1.0, "active_since": t, "fired_at": t, "resolved_at": None, "updated": t,
                      "annotations": {"summary": "s"}})
    store.close()
    refresh(poll=True)
    assert source.data["v"] == [1.0, 2.0, 3.0]
    assert "no sample for" in page.objects[0].object
    assert page.objects[3].object["state"].tolist() == ["firing (stale)"]


def test_a_store_shared_with_another_run_is_said(tmp_path):
    from workbench.apps.pages import run_monitoring_page

    runs = tmp_path / "runs"
    folder = monitored_run(runs, "m1")
    other = runs / "m2"
    other.mkdir()
    store_link(other, folder / "monitor.sqlite")
    page, refresh = run_monitoring_page(open_run(runs, "m1"))
    refresh(poll=True)
    assert "shared with run(s) m2" in page.objects[0].object


def test_the_market_page_orders_prices_by_utc_time_whatever_their_offset_and_any_symbol_name(tmp_path):
    from workbench.apps.pages import run_market_page

    runs = tmp_path / "runs"
    session = open_run(runs if finished_run(runs) else runs, "p1")
    session.symbols = ["t", "X"]
    page, refresh = run_market_page(session)
    session.prices.extend([("2026-01-02T14:45:00+00:00", {"t": 1.0, "X": None}),
                           ("2026-01-02T15:00:00+01:00", {"t": 2.0, "X": 5.0}),  # 14:00 UTC: earlier
                           ("2026-01-02T15:10:00+00:00", {"t": 3.0, "X": 6.0})])
    refresh(poll=False)
    source = page.objects[1].object.renderers[0].data_source
    assert [str(t) for t in source.data["t"]] == ["2026-01-02 14:45:00", "2026-01-02 15:10:00"]
    assert source.data["p0"] == [1.0, 3.0] and source.data["p1"][1] == 6.0


def test_the_page_of_a_run_that_is_slow_to_poll_is_let_go_when_its_browser_leaves(tmp_path, monkeypatch):
    """A page's tick must not hold its document while a slow pull (a paused session, a large
    store) waits: a page whose tick always did was never discarded after its browser left,
    and the server went on polling for it. (Red on the previous code: 5 polls after leaving.)"""
    import socket

    import panel as pn
    from bokeh.client import pull_session

    from workbench.apps import remote
    from workbench.apps.app import routes
    from workbench.apps.hub import SessionHub

    runs = tmp_path / "runs"
    finished_run(runs)
    polls = []
    real = remote.RunSession.poll

    def slow_poll(self):
        polls.append(time.monotonic())
        real(self)
        time.sleep(0.7)  # longer than a tick (500 ms)

    monkeypatch.setattr(remote.RunSession, "poll", slow_poll)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hub = SessionHub(runs)
    server = pn.serve(routes(hub, runs), port=port, address="127.0.0.1", show=False, threaded=True,
                      websocket_origin=[f"127.0.0.1:{port}"], unused_session_lifetime_milliseconds=1000,
                      check_unused_sessions_milliseconds=250)
    try:
        deadline = time.monotonic() + 60
        while True:  # the server's thread is starting
            try:
                session = pull_session(url=f"http://127.0.0.1:{port}/trading", arguments={"run": "p1"})
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        opened = len(polls)
        while len(polls) < opened + 3:  # the page polls
            assert time.monotonic() < deadline, "the page never polled"
            time.sleep(0.1)
        session.close()
        left = time.monotonic()
        while time.monotonic() < left + 8:  # discarded after 1 s unused, checked every 0.25 s
            time.sleep(0.2)
        late = [t for t in polls if t > left + 4]
        assert late == [], f"{len(late)} polls for a page whose browser left 4+ s before"
    finally:
        server.stop()
        hub.close()


def test_a_run_resumed_without_monitor_drops_its_old_store_link(tmp_path):
    """The link names the store of the session that wrote it: a resume without --monitor
    records nothing there, so the page says the run has no store instead of showing the old one."""
    from workbench.apps.pages import run_monitoring_page
    from workbench.cli import main
    from workbench.reliability import PAPER

    runs = tmp_path / "runs"
    out = runs / "p"
    assert main(["paper", *PAPER, "--out", str(out), "--monitor", str(tmp_path / "m.sqlite")]) == 0
    assert json.loads((out / "monitor.json").read_text())["store"] == str(tmp_path / "m.sqlite")
    assert main(["paper", *PAPER, "--out", str(out), "--resume"]) == 0
    assert not (out / "monitor.json").exists()
    page, _ = run_monitoring_page(open_run(runs, "p"))
    assert "has no monitor store" in page.objects[0].object
