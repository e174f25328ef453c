"""Sessions live in the server, journaled: a second view, a closed hub or a restart shows the
same orders and fills; ids from query strings are checked; closing releases the journal."""

import json
import urllib.request

import pytest

from workbench.apps.hub import SessionHub, session_id
from workbench.apps.runs import run_folders
from workbench.broker.journal import JournalLocked, lock_writer, unlock_writer, writer_pid
from workbench.errors import ConfigError

from .conftest import start_server


def trade(session):
    with session.lock:
        reply = session.broker.place_order("AAA", "buy", 10, "market")
    assert reply.accepted
    session.advance(4)  # the next quotes fill it
    return reply.order_id


def test_a_session_outlives_its_hub(tmp_path):
    hub = SessionHub(tmp_path, tick_s=3600)  # no clock: the test feeds quotes itself
    session = hub.get("desk-1")
    assert hub.get("desk-1") is session  # one session, whoever asks
    order = trade(session)
    before = session.orders_frame(), session.fills_frame(), session.broker.account().cash
    assert before[1]["order"].tolist() == [order]
    hub.close()
    assert writer_pid(hub.journal("desk-1")) is None  # the journal is released
    again = SessionHub(tmp_path, tick_s=3600).get("desk-1")  # a restarted server
    assert again.orders_frame().equals(before[0]) and again.fills_frame().equals(before[1])
    assert again.broker.account().cash == before[2]
    assert "desk-1" in SessionHub(tmp_path).ids()


def test_a_running_session_holds_its_journal(tmp_path):
    hub = SessionHub(tmp_path, tick_s=3600)
    hub.get("demo")
    with pytest.raises(JournalLocked):  # a second writer (another server on the same runs) is refused
        lock_writer(hub.journal("demo"))
    assert [r["state"] for r in run_folders(tmp_path)] == [f"running (pid {writer_pid(hub.journal('demo'))})"]
    hub.close()
    unlock_writer(lock_writer(hub.journal("demo")))
    assert [r["state"] for r in run_folders(tmp_path)] == ["finished"]


@pytest.mark.parametrize("text", ["../x", "a b", "X" * 40, "-lead", "a/b", "é"])
def test_bad_session_ids_are_refused(text):
    with pytest.raises(ConfigError, match="session id"):
        session_id(text)


def test_the_live_chart_keeps_streaming_past_its_history(tmp_path):
    from workbench.apps.pages import market_page

    session = SessionHub(tmp_path, tick_s=3600).get("chart")
    layout, refresh = market_page(session)
    source = layout[2].object.renderers[0].data_source  # the live mid-price chart
    refresh()
    for _ in range(1200):  # 2,400 quotes: more than the 2,000 the session keeps
        session.advance(2)
    refresh()
    drawn = len(source.data["t"])
    session.advance(2)
    refresh()  # the page's cursor follows the count of quotes, not the (capped) length
    assert len(session.history) == 2000 and len(source.data["t"]) == drawn + 1


def test_healthz_answers_without_building_a_page(tmp_path):
    proc, url = start_server(tmp_path)
    try:
        with urllib.request.urlopen(url + "healthz", timeout=10) as r:
            assert r.status == 200 and json.loads(r.read()) == {"status": "ok", "sessions": 0}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_certification_page_lists_failed_checks_first_with_their_bounds():
    from workbench.apps.pages import checks_frame

    report = {"categories": [
        {"title": "A", "checks": [{"name": "ok1", "passed": True, "measured": 1.0, "bounds": {"min": 0.5}, "unit": "x",
                                   "detail": ""},
                                  {"name": "bad", "passed": False, "measured": 0.1, "bounds": {"min": 0.5}, "unit": "x",
                                   "detail": "expected >= 0.5"}]},
        {"title": "B", "checks": [{"name": "ok2", "passed": True, "measured": 2, "bounds": None, "unit": "", "detail": ""}]}]}
    frame = checks_frame(report)
    assert frame["check"].tolist() == ["bad", "ok1", "ok2"] and frame.loc[0, "bounds"] == "min 0.5"
