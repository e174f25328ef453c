"""Rule files, aggregations, and the alert state machine with Prometheus semantics."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from workbench.errors import ConfigError
from workbench.monitor import Monitor, MetricStore, load_rules
from workbench.monitor.rules import aggregate

RULE = {"name": "High", "metric": "x", "aggregation": "last", "window": "10s", "op": ">", "threshold": 1.0,
        "for": "3s", "severity": "critical", "annotations": {"summary": "x is {value:.1f} over {threshold}"}}


def rules(**changes):
    return {"rules": [{**RULE, **changes}]}


def test_default_pack_loads():
    names = [r.name for r in load_rules()]
    assert names == ["OrderLatencyP99High", "OrderStalled", "RejectionRateHigh", "FeedStalled", "JournalWriteErrors",
                     "RSSAboveBudget", "DrawdownBeyondLimit"]


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"op": "=>"}, "rule 'High': field 'op'"),
        ({"aggregation": "median"}, "rule 'High': field 'aggregation'"),
        ({"window": "soon"}, "rule 'High': field 'window'"),
        ({"for": "-5s"}, "rule 'High': field 'for'"),
        ({"threshold": "high"}, "rule 'High': field 'threshold'"),
        ({"severity": "panic"}, "rule 'High': field 'severity'"),
        ({"metric": "bad name"}, "rule 'High': field 'metric'"),
        ({"annotations": {"summary": "{nope}"}}, "rule 'High': field 'annotations'"),
        ({"colour": "red"}, "rule 'High': unknown field(s) ['colour']"),
        ({"name": ""}, "rule 1: field 'name' is required"),
    ],
)
def test_bad_rules_name_the_rule_and_field(changes, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        load_rules(rules(**changes))


def test_bad_rule_files(tmp_path):
    missing = {k: v for k, v in RULE.items() if k != "threshold"}
    with pytest.raises(ConfigError, match="field 'threshold' is required"):
        load_rules({"rules": [missing]})
    with pytest.raises(ConfigError, match="used twice"):
        load_rules({"rules": [RULE, RULE]})
    bad = tmp_path / "r.yaml"
    bad.write_text("rules: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_rules(bad)
    with pytest.raises(ConfigError, match="no rule file"):
        load_rules(tmp_path / "absent.yaml")


def test_aggregations_by_hand():
    s = [(0.0, 1.0), (1.0, 3.0), (2.0, 2.0), (4.0, 10.0)]
    assert aggregate("avg", s) == 4.0 and aggregate("min", s) == 1.0 and aggregate("max", s) == 10.0
    assert aggregate("last", s) == 10.0 and aggregate("rate", s) == pytest.approx(9.0 / 4.0)
    assert aggregate("p50", s) == 2.5 and aggregate("rate", [(0.0, 5.0), (2.0, 1.0)]) == 0.5  # reset
    assert aggregate("avg", []) != aggregate("avg", [])  # NaN


def run(values, **rule_changes):
    """Feed one value a second; return each second's state and the monitor."""
    t = [1000.0]
    m = Monitor(rules=rules(**rule_changes), clock=lambda: t[0], log=False)
    states = []
    for i, v in enumerate(values):
        t[0] = 1000.0 + i
        if v is not None:
            m.record("x", v)
        m.sample()
        inst = next(iter(m.alerts.instances.values()), None)
        states.append(inst.state if inst else "inactive")
    return states, m


def test_pending_then_firing_after_for_then_resolved():
    states, m = run([0, 5, 5, 5, 5, 0, 0])
    assert states == ["inactive", "pending", "pending", "pending", "firing", "resolved", "resolved"]
    inst = next(iter(m.alerts.instances.values()))
    assert (inst.active_since, inst.fired_at, inst.resolved_at) == (1001.0, 1004.0, 1005.0)
    assert [n["state"] for n in m.notifications.items] == ["firing", "resolved"]
    assert m.notifications.items[0]["annotations"]["summary"] == "x is 5.0 over 1.0"


def test_a_pending_alert_that_misses_one_evaluation_resets():
    states, _ = run([5, 5, 0, 5, 5, 5, 5])
    assert states == ["pending", "pending", "inactive", "pending", "pending", "pending", "firing"]


def test_keep_firing_for_holds_a_cleared_alert():
    states, m = run([5, 5, 0, 0, 0, 0], **{"for": "1s", "keep_firing_for": "3s"})
    assert states == ["pending", "firing", "firing", "firing", "firing", "resolved"]
    assert next(iter(m.alerts.instances.values())).resolved_at == 1005.0


def test_a_new_breach_after_resolution_is_a_new_instance():
    _, m = run([5, 5, 0, 5, 5], **{"for": "1s"})
    firing = [n for n in m.notifications.items if n["state"] == "firing"]
    assert len(firing) == 2 and firing[0]["id"] != firing[1]["id"]


def test_label_sets_are_separate_instances_and_history_is_stored(tmp_path):
    t = [0.0]
    store = MetricStore(tmp_path / "m.sqlite")
    m = Monitor(rules=rules(**{"for": "0s"}), store=store, clock=lambda: t[0], log=False)
    for i in range(3):
        t[0] = float(i)
        m.record("x", 5.0, {"venue": "A"})
        m.record("x", 0.0 if i < 2 else 5.0, {"venue": "B"})
        m.sample()
    states = {inst.labels["venue"]: inst.state for inst in m.alerts.instances.values()}
    assert states == {"A": "firing", "B": "firing"}
    history = store.alerts()
    assert set(history["state"]) == {"firing"} and len(history) == 2
    assert sorted(h["venue"] for h in history["labels"]) == ["A", "B"]


class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_gets_one_post_per_instance_and_state():
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Hook.received = []
    try:
        t = [0.0]
        m = Monitor(rules=rules(**{"for": "1s"}), clock=lambda: t[0], log=False,
                    webhook=f"http://127.0.0.1:{server.server_port}/alerts")
        for i, v in enumerate([5, 5, 5, 5, 5, 0, 0, 0]):
            t[0] = float(i)
            m.record("x", v)
            m.sample()
    finally:
        server.shutdown()
        server.server_close()
    assert [a["state"] for a in Hook.received] == ["firing", "resolved"]
    assert Hook.received[0]["rule"] == "High" and Hook.received[0]["severity"] == "critical"
