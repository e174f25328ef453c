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
    before = *session.frames(), session.broker.account().cash
    assert before[1]["order"].tolist() == [order]
    hub.close()
    assert writer_pid(hub.journal("desk-1")) is None  # the journal is released
    again = SessionHub(tmp_path, tick_s=3600).get("desk-1")  # a restarted server
    orders, fills = again.frames()
    assert orders.equals(before[0]) and fills.equals(before[1])
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
    assert [r["state"] for r in run_folders(tmp_path)] == ["stopped"]


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


def test_a_server_opens_at_most_its_cap_of_sessions(tmp_path):
    hub = SessionHub(tmp_path, tick_s=3600, max_sessions=2)
    hub.get("a"), hub.get("b")
    with pytest.raises(ConfigError, match="already runs 2 sessions"):
        hub.get("c")
    assert hub.get("a") is not None and not (tmp_path / "sessions" / "c").exists()
    hub.close()


def test_a_session_another_process_holds_is_named_not_a_traceback(tmp_path):

    first = SessionHub(tmp_path, tick_s=3600)
    first.get("held")
    first_pid = writer_pid(first.journal("held"))
    second = SessionHub(tmp_path, tick_s=3600)
    assert second.state("held") == f"running in process {first_pid}"
    with pytest.raises(JournalLocked):
        second.get("held")
    first.close()


def test_a_page_never_shows_a_traceback(tmp_path, monkeypatch):
    import panel as pn

    import workbench.apps.app as app
    from workbench.apps.runs import run_detail

    for name in ("\x00", "../../etc", "x" * 5000):
        alert = run_detail(tmp_path, name)
        assert isinstance(alert, pn.pane.Alert) and "no run" in alert.object

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(app, "runs_page", broken)
    built = app.page("runs", SessionHub(tmp_path), tmp_path)
    alerts = [o for o in built.main.objects if isinstance(o, pn.pane.Alert)]
    assert alerts and "could not be built: RuntimeError: boom" in alerts[0].object
