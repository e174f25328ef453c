"""A paper session's command channel (workbench.control): commands from outside the process
are journaled with their sender, answered after the commit, refused without the token, run
between slices (so a resumed session still equals one that never stopped) and never run
late once withdrawn."""

import json
import stat
import threading
import urllib.request

import pytest

from workbench.broker.journal import read_events
from workbench.control import CONTROL_NAME, ControlChannel, ControlClient, ControlError
from workbench.engine import Engine
from workbench.feed import synthetic_bars
from workbench.strategies import SmaCross, Strategy

BARS = synthetic_bars(1, days=200, seed=3)
SYMBOL = str(BARS["symbol"].iloc[0])


def paper(tmp_path, name="run", strategy=None, resume=False, **options):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    channel = ControlChannel(folder)
    engine = Engine(strategy or SmaCross(fast=5, slow=20), BARS, mode="paper", speed=1e12,
                    journal=folder / "journal.sqlite", control=channel, resume=resume, **options)
    return folder, channel, engine


def send_before_the_run(channel, folder, by, **order):
    """Queue an order from another thread before the engine runs: it runs at the first
    boundary between slices, the same one in every run. Returns the thread's reply box."""
    box = {}
    client = ControlClient(folder, by=by)

    def send():
        try:
            box["reply"] = client.order(**order)
        except ControlError as exc:
            box["error"] = str(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    while not channel.pending:
        thread.join(0.01)
    return thread, box


def test_an_order_is_journaled_with_its_sender_and_answered_after_the_commit(tmp_path):
    folder, channel, engine = paper(tmp_path)
    channel.open()
    info = json.loads((folder / CONTROL_NAME).read_text())
    assert info["url"].startswith("http://127.0.0.1:") and stat.S_IMODE((folder / CONTROL_NAME).stat().st_mode) == 0o600
    thread, box = send_before_the_run(channel, folder, "ops:alice", symbol=SYMBOL, side="buy", quantity=7)
    result = engine.run()
    thread.join(10)
    channel.close()
    reply = box["reply"]
    assert reply["accepted"] and reply["order_id"]
    events = read_events(folder)
    accepted = next(e for e in events if e.kind == "accepted" and e.order_id == reply["order_id"])
    assert accepted.payload["client_id"] == "ops:alice" and accepted.seq == reply["seq"]
    assert any(f.order_id == reply["order_id"] and f.quantity == 7 for f in engine.broker.fills())
    assert result.fills["order_id"].eq(reply["order_id"]).any()
    assert not (folder / CONTROL_NAME).exists()  # removed when the session ended
    with pytest.raises(ControlError, match="no session running"):
        ControlClient(folder)


def test_a_session_stopped_after_a_command_resumes_to_the_run_that_never_stopped(tmp_path):
    """The command is one atomic journal step between slices: a resume carries on after it."""

    class StopAt(SmaCross):
        name = "sma_cross"
        bars = 0

        def on_bar(self, bar):
            super().on_bar(bar)
            self.bars += 1
            if self.bars == 120:
                self.request_stop()

    runs = {}
    for name, strategy in (("whole", SmaCross(fast=5, slow=20)), ("cut", StopAt(fast=5, slow=20))):
        folder, channel, engine = paper(tmp_path, name, strategy)
        channel.open()
        thread, box = send_before_the_run(channel, folder, "ops:bob", symbol=SYMBOL, side="buy", quantity=3)
        result = engine.run()
        thread.join(10)
        channel.close()
        runs[name] = result, engine.broker.state_digest()
        engine.broker.close()
        assert box["reply"]["accepted"]
    assert runs["cut"][0].stopped_early and not runs["whole"][0].stopped_early
    assert runs["cut"][0].fills_csv() != runs["whole"][0].fills_csv()  # the cut run did stop short
    folder, channel, engine = paper(tmp_path, "cut", SmaCross(fast=5, slow=20), resume=True)
    resumed = engine.run()
    assert resumed.fills_csv() == runs["whole"][0].fills_csv()
    assert engine.broker.state_digest() == runs["whole"][1]
    assert engine.resume_note is None  # the warm-up ran the command again where the run had it


def test_the_channel_refuses_strangers_and_bad_bodies_naming_the_field(tmp_path):
    folder, channel, engine = paper(tmp_path)
    channel.open()
    try:
        with pytest.raises(ControlError, match="401"):
            client = ControlClient(folder)
            client.token = "wrong"
            client.state()
        request = urllib.request.Request(channel.url + "/state")  # no token at all
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        assert info.value.code == 401
        client = ControlClient(folder)
        for body, field in (({"symbol": SYMBOL, "side": "buy"}, "quantity"),
                            ({"symbol": SYMBOL, "side": "buy", "quantity": "ten"}, "quantity"),
                            ({"symbol": SYMBOL, "side": "buy", "quantity": 1, "colour": "red"}, "colour"),
                            ({"symbol": 5, "side": "buy", "quantity": 1}, "symbol")):
            with pytest.raises(ControlError, match=f"400.*{field}"):
                client._call("POST", "/orders", body)
        with pytest.raises(ControlError, match="400.*on"):
            client._call("POST", "/kill", {"on": "yes"})
        with pytest.raises(ControlError, match="404"):
            client._call("POST", "/shutdown", {})
        with pytest.raises(ControlError, match="413"):
            client._call("POST", "/orders", {"symbol": "x" * 5000, "side": "buy", "quantity": 1})
        with pytest.raises(ControlError, match="400.*X-Workbench-By"):
            ControlClient(folder, by="\x01bad").kill(True)
        assert channel.pending is False  # nothing refused was queued
    finally:
        channel.close()


def test_a_command_the_session_does_not_take_in_time_is_withdrawn_and_never_runs(tmp_path):
    folder, channel, engine = paper(tmp_path)
    channel.take_timeout = 0.3
    channel.open()
    try:
        with pytest.raises(ControlError, match="503.*did not take"):
            ControlClient(folder).order(SYMBOL, "buy", 1)
        assert not channel.pending
        engine.run()
        assert engine.broker.orders() == [] or all(o.client_id != "api" for o in engine.broker.orders())
    finally:
        channel.close()
    with pytest.raises(ControlError, match="503.*ended"):  # a channel closed while a command waits
        closed = ControlChannel(tmp_path / "other", engine.broker)
        closed.close()
        from workbench.control import _Command

        status, body = closed.submit(_Command("kill", {"on": True}, "api"))
        raise ControlError(f"{status} {body['error']}")


def test_the_kill_switch_from_outside_cancels_and_refuses_and_is_journaled(tmp_path):
    class Rest(Strategy):
        name = "rest"
        bars = 0

        def on_bar(self, bar):
            self.bars += 1
            if self.bars == 1:  # rests: far below the market
                self.order(bar.symbol, "buy", 1, "limit", limit_price=round(bar.close * 0.5, 2), tif="gtc")

    folder, channel, engine = paper(tmp_path, strategy=Rest())
    channel.open()
    box = {}
    client = ControlClient(folder, by="ops:carol")
    thread = threading.Thread(target=lambda: box.update(kill=client.kill(True)), daemon=True)

    class Late(Rest):
        def on_bar(self, bar):
            super().on_bar(bar)
            if self.bars == 2:
                thread.start()
                while not channel.pending:
                    thread.join(0.01)

    engine.strategy = Late()
    engine.run()
    thread.join(10)
    channel.close()
    assert box["kill"]["killed"] and box["kill"]["cancelled"] == 1
    events = read_events(folder)
    assert any(e.kind == "kill_switch" and e.payload["reason"] == "ops:carol" for e in events)
    assert engine.broker.killed and not engine.broker.open_orders()


def test_a_command_whose_step_fails_is_refused_and_leaves_nothing_in_the_journal(tmp_path, monkeypatch):
    """The reply follows the commit: when the step cannot be committed, the sender hears 503
    and the journal holds nothing of the command."""
    folder, channel, engine = paper(tmp_path)
    channel.open()
    thread, box = send_before_the_run(channel, folder, "ops:dave", symbol=SYMBOL, side="buy", quantity=2)
    real_end = engine.broker.end_slice
    calls = {"n": 0}

    def end_slice():
        calls["n"] += 1
        if calls["n"] == 2:  # the first slice commits; the command's step is the second
            raise OSError("disk full")
        real_end()

    monkeypatch.setattr(engine.broker, "end_slice", end_slice)
    with pytest.raises(OSError, match="disk full"):
        engine.run()
    thread.join(10)
    channel.close()
    assert "reply" not in box and "503" in box["error"]  # an error, not an acknowledgement
    events = read_events(folder)
    assert not any(e.kind == "accepted" for e in events)


def test_a_number_beyond_any_float_is_refused_and_the_session_runs_on(tmp_path):
    folder, channel, engine = paper(tmp_path)
    channel.open()
    thread, box = send_before_the_run(channel, folder, "ops:eve", symbol=SYMBOL, side="buy", quantity=10 ** 400)
    result = engine.run()
    thread.join(10)
    channel.close()
    assert "400" in box["error"] and "too large" in box["error"]
    assert not result.stopped_early and result.bars == len(BARS)


def raw(channel, method, path, headers=None, body=b""):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", int(channel.url.rsplit(":", 1)[1]), timeout=10)
    conn.putrequest(method, path)
    for k, v in {"Authorization": f"Bearer {channel.token}", **(headers or {})}.items():
        conn.putheader(k, v)
    conn.endheaders(body)
    response = conn.getresponse()
    status, data = response.status, json.loads(response.read())
    conn.close()
    return status, data


def test_requests_the_session_must_not_queue_are_answered_at_once(tmp_path):
    folder, channel, engine = paper(tmp_path)
    channel.open()
    try:
        order = json.dumps({"symbol": SYMBOL, "side": "buy", "quantity": 1}).encode()
        status, body = raw(channel, "POST", "/orders", {"Content-Length": str(len(order)),
                                                        "X-Workbench-Deadline": "1000"}, order)
        assert status == 503 and "deadline passed" in body["error"]  # the client stopped waiting long ago
        status, body = raw(channel, "POST", "/orders", {"Content-Length": "-1"})
        assert status == 400 and "Content-Length" in body["error"]
        status, body = raw(channel, "GET", "/orders")
        assert status == 405 and "POST" in body["error"]
        assert not channel.pending
    finally:
        channel.close()


def test_a_control_file_left_by_a_killed_session_does_not_count_as_running(tmp_path):
    import os

    folder = tmp_path / "old"
    folder.mkdir()
    (folder / CONTROL_NAME).write_text(json.dumps({"url": "http://127.0.0.1:9", "token": "x", "pid": os.getpid()}))
    assert not ControlClient.running(folder)  # a live pid, but not the journal's writer
    folder2, channel, engine = paper(tmp_path, "live")
    channel.open()
    try:
        assert ControlClient.running(folder2)  # the engine holds the journal: its writer is this pid
    finally:
        channel.close()
        engine.broker.close()


def test_a_burst_of_clients_is_served_and_every_acknowledged_order_is_journaled(tmp_path):
    folder = tmp_path / "burst"
    folder.mkdir()
    channel = ControlChannel(folder)
    engine = Engine(Strategy(), BARS, mode="paper", speed=86400 * 40, journal=folder / "j2.sqlite",
                    control=channel)
    channel.open()
    runner = threading.Thread(target=engine.run, daemon=True)
    runner.start()
    replies, errors = [], []

    def send(i):
        try:
            replies.append(ControlClient(folder, by=f"burst:{i}").order(SYMBOL, "buy", 1))
        except ControlError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    engine.stop()
    runner.join(60)
    channel.close()
    assert errors == [] and len(replies) == 100
    journaled = {e.order_id for e in read_events(folder / "j2.sqlite") if e.kind == "accepted"}
    assert {r["order_id"] for r in replies if r["accepted"]} <= journaled and len(journaled) == 100


def test_a_resumed_session_is_warmed_up_with_the_commands_the_run_had(tmp_path, monkeypatch):
    """An order, a cancel, the kill switch on and off from outside, then a stop: the resumed
    session's warm-up gives those commands again where the run had them, so it retraces the
    journal (no resume note) and ends as the run that never stopped. Red: a warm-up that
    leaves them out is caught by its comparison with the journal."""
    commands = {3: lambda c: c.order(symbol=SYMBOL, side="buy", quantity=2, type="limit", limit_price=1.0,
                                      tif="gtc"),
                6: lambda c: c.order(symbol=SYMBOL, side="buy", quantity=5),
                9: lambda c: c.cancel("O2"),
                30: lambda c: c.kill(True), 34: lambda c: c.kill(False)}

    def commanding(stop_at, channel, folder):
        class Commanding(SmaCross):
            name = "sma_cross"
            bars = 0

            def on_bar(self, bar):
                super().on_bar(bar)
                self.bars += 1
                if self.bars in commands:
                    client = ControlClient(folder, by="ops:dana")
                    send = commands[self.bars]
                    thread = threading.Thread(target=lambda: send(client), daemon=True)
                    thread.start()
                    while not channel.pending:
                        thread.join(0.01)
                if self.bars == stop_at:
                    self.request_stop()

        return Commanding(fast=5, slow=20)

    def session(name, stop_at, resume=False):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        channel = ControlChannel(folder)
        strategy = SmaCross(fast=5, slow=20) if resume else commanding(stop_at, channel, folder)
        engine = Engine(strategy, BARS, mode="paper", speed=1e12, journal=folder / "journal.sqlite",
                        control=channel, resume=resume)
        channel.open()
        try:
            result = engine.run()
        finally:
            channel.close()
        digest = engine.broker.state_digest()
        engine.broker.close()
        return engine, result, digest

    _, whole, whole_digest = session("whole", None)
    kinds = [e.kind for e in read_events(tmp_path / "whole")]
    from workbench.engine import _by_operator

    assert sum(_by_operator(e) for e in read_events(tmp_path / "whole")) == 5  # the five commands, journaled
    assert "kill_switch" in kinds and "cancelled" in kinds
    for name, broken in (("cut", False), ("cut_broken", True)):
        session(name, 60)
        if broken:
            monkeypatch.setattr(Engine, "_give_commands", lambda self, before_ns: None)
        engine, resumed, digest = session(name, None, resume=True)
        if broken:
            assert engine.resume_note is not None and "did not retrace the journal" in engine.resume_note
        else:
            assert engine.resume_note is None
            assert resumed.fills_csv() == whole.fills_csv() and digest == whole_digest


def test_a_command_journaled_after_a_stopped_runs_on_stop_orders_is_still_a_command():
    """Found by a review: a stopped run's on_stop orders are written outside any step, so
    the next session's first command step starts with them; the step is still found by its
    operator's events, and the on_stop orders before them are told apart."""
    from types import SimpleNamespace as E

    from workbench.engine import _command_steps

    events = [E(kind="accepted", payload={"client_id": None}, order_id="O1", time_ns=1),
              E(kind="slice", payload={}, order_id=None, time_ns=1),
              E(kind="accepted", payload={"client_id": None}, order_id="O2", time_ns=1),  # on_stop's
              E(kind="accepted", payload={"client_id": "ops:erin"}, order_id="O3", time_ns=1),
              E(kind="slice", payload={}, order_id=None, time_ns=1),
              E(kind="fill", payload={}, order_id="O2", time_ns=2),
              E(kind="slice", payload={}, order_id=None, time_ns=2)]
    steps = _command_steps(events)
    assert len(steps) == 1 and [(e.order_id, on_stop) for e, on_stop in steps[0][1]] == [("O2", True), ("O3", False)]


def test_a_stopped_runs_on_stop_orders_and_later_commands_are_given_again_in_the_warm_up(tmp_path):
    """Found by a review: a strategy that flattens in on_stop. Its orders, written outside
    any step, are given again in the warm-up where the run placed them, so the order ids of
    the commands after them stay the run's (an operator's cancel once hit the strategy's own
    order): each later resume retraces the journal, with no note."""

    class Flatten(SmaCross):
        name = "flatten"
        stop_at = 0
        commands = {}

        def on_start(self):
            super().on_start()
            self.n = 0

        def on_bar(self, bar):
            super().on_bar(bar)
            self.n += 1
            if self.n in self.commands:
                client = ControlClient(self.folder, by="ops:fay")
                send, box = self.commands[self.n], self.replies
                thread = threading.Thread(target=lambda: box.append(send(client, box)), daemon=True)
                thread.start()
                while not self.channel.pending:
                    thread.join(0.01)
            if self.n == self.stop_at:
                self.request_stop()

        def on_stop(self):
            for s in self.universe:
                if self.position(s):
                    self.order(s, "sell" if self.position(s) > 0 else "buy", abs(self.position(s)))

    folder = tmp_path / "run"
    folder.mkdir()
    replies = []
    limit = dict(symbol=SYMBOL, side="buy", type="limit", limit_price=1.0, tif="gtc")

    def session(stop_at, commands=None, resume=False):
        channel = ControlChannel(folder)
        strategy = Flatten(fast=5, slow=20)
        strategy.stop_at, strategy.commands, strategy.replies = stop_at, commands or {}, replies
        strategy.folder, strategy.channel = folder, channel
        engine = Engine(strategy, BARS, mode="paper", speed=1e12, journal=folder / "journal.sqlite", control=channel,
                        resume=resume)
        channel.open()
        try:
            engine.run()
        finally:
            channel.close()
        engine.broker.close()
        return engine

    session(60)
    second = session(100, {70: lambda c, box: c.order(quantity=2, **limit),
                           72: lambda c, box: c.order(quantity=3, **limit),
                           75: lambda c, box: c.cancel(box[0]["order_id"])}, resume=True)
    third = session(0, resume=True)
    ops = [(e.kind, e.order_id) for e in read_events(folder) if e.payload.get("client_id") or e.payload.get("by")]
    assert ops == [("accepted", replies[0]["order_id"]), ("accepted", replies[1]["order_id"]),
                   ("cancelled", replies[0]["order_id"])]
    flattened = [e for e in read_events(folder) if e.kind == "accepted" and e.payload["side"] == "sell"]
    assert len(flattened) >= 2  # the two stops' on_stop sales (with the strategy's own)
    assert second.resume_note is None and third.resume_note is None
