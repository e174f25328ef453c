"""The broker's own quick checks (``SimulatedBroker.self_test()``).

The checks run on the broker class they are given (``run(SimulatedBroker)``), so this module
does not import :mod:`workbench.broker.broker` (which imports it).
"""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

import pandas as pd

from workbench.component import CheckResult, run_check
from workbench.model import Bar

NAME = "broker"
T0 = pd.Timestamp("2024-01-02", tz="UTC")


def _bar(day: int, o: float, h: float, lo: float, c: float, v: float = 1e6) -> Bar:
    return Bar(T0 + pd.Timedelta(days=day), "X", o, h, lo, c, v)


def _broker(broker_class: type, **kw):
    return broker_class(cash=100_000, instruments=["X"], **kw)


def _limit_rules(broker_class: type) -> str:
    b = _broker(broker_class)
    b.on_bar(_bar(0, 100, 101, 99, 100))
    at_open = b.place_order("X", "buy", 10, "limit", limit_price=101.0).raise_for_rejection()
    at_limit = b.place_order("X", "buy", 10, "limit", limit_price=98.0).raise_for_rejection()
    never = b.place_order("X", "buy", 10, "limit", limit_price=90.0).raise_for_rejection()
    b.on_bar(_bar(1, 100.5, 102, 97.5, 101))
    got = {o.id: (o.status.value, o.avg_fill_price) for o in b.orders()}
    want = {at_open.order_id: ("filled", 100.5), at_limit.order_id: ("filled", 98.0),
            never.order_id: ("accepted", 0.0)}
    if got != want:
        raise AssertionError(f"limit fills {got}, expected {want}")
    return "limit buy fills at the open, at the limit, or not at all"


def _rejection_changes_nothing(broker_class: type) -> str:
    b = _broker(broker_class)
    b.on_bar(_bar(0, 100, 101, 99, 100))
    before = b.state()
    for args in (dict(quantity=float("nan")), dict(quantity=-5), dict(quantity=1e9)):
        reply = b.place_order("X", "buy", type="market", **args)
        if reply.accepted:
            raise AssertionError(f"accepted a bad order {args}")
    if b.state() != before:
        raise AssertionError("a rejected order changed the state")
    return "NaN, negative and unaffordable orders rejected; state unchanged"


def _recovery(broker_class: type) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.sqlite"
        b = _broker(broker_class, journal=path)
        b.on_bar(_bar(0, 100, 101, 99, 100))
        b.place_order("X", "buy", 100)
        b.place_order("X", "sell", 40, "limit", limit_price=150.0, tif="gtc")
        b.on_bar(_bar(1, 100, 102, 99, 101))
        digest, seq = b.state_digest(), b.last_seq
        b.close()
        r = broker_class.recover(path)
        if (r.state_digest(), r.last_seq) != (digest, seq):
            raise AssertionError("recovered state differs from the live state")
        r.close()
    return f"{seq + 1} events journaled and recovered to the same state"


def _kill_switch(broker_class: type) -> str:
    b = _broker(broker_class)
    b.on_bar(_bar(0, 100, 101, 99, 100))
    b.place_order("X", "buy", 1, "limit", limit_price=90.0, tif="gtc")
    if b.kill_switch("self-test") != 1 or b.open_orders():
        raise AssertionError("kill switch left orders working")
    reply = b.place_order("X", "buy", 1)
    if reply.accepted or reply.reason.value != "KILL_SWITCH":
        raise AssertionError(f"kill switch let an order through: {reply}")
    b.reset_kill_switch()
    b.place_order("X", "buy", 1).raise_for_rejection()
    return "kill switch cancels, rejects with KILL_SWITCH, resets"


def run(broker_class: type) -> list[CheckResult]:
    """Run the checks on fresh brokers of ``broker_class`` (:class:`SimulatedBroker` or a
    subclass: built with keyword configuration, rebuilt with its ``recover(path)``)."""
    return [
        run_check(NAME, "limit_fill_rules", partial(_limit_rules, broker_class)),
        run_check(NAME, "rejection_changes_nothing", partial(_rejection_changes_nothing, broker_class)),
        run_check(NAME, "journal_recovery", partial(_recovery, broker_class)),
        run_check(NAME, "kill_switch", partial(_kill_switch, broker_class)),
    ]
