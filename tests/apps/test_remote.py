"""A `workbench paper` run seen from the app (workbench.apps.remote): read back from its
journal, traded through its command channel while it runs, read-only once it ended."""

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
        assert source.data[symbol] == [p[symbol] for _, p in session.prices]
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
    session = open_run(runs, "m1")
    assert session.store_path == (folder / "monitor.sqlite").resolve()
    page, refresh = run_monitoring_page(session)
    note, charts, _, alerts, _, latest = page.objects
    assert "monitor.sqlite" in note.object
    equity_src = charts.objects[0].object.renderers[0].data_source
    assert equity_src.data["v"] == equity["value"].tolist()  # every sample, once
    assert set(latest.object["metric"]) == names
    refresh(poll=True)  # nothing new in a finished run's store: nothing drawn twice
    assert equity_src.data["v"] == equity["value"].tolist()


def test_a_runs_monitoring_page_without_a_store_says_how_to_get_one(tmp_path):
    from workbench.apps.pages import run_monitoring_page

    runs = tmp_path / "runs"
    finished_run(runs)
    page, _ = run_monitoring_page(open_run(runs, "p1"))
    assert "has no monitor store" in page.objects[0].object and "--monitor" in page.objects[0].object
