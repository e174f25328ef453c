"""The broker's component API: info, measured stats, a self-test that can fail."""

import math

from workbench.broker import SimulatedBroker, fills
from workbench.broker import selftest

from .conftest import bar


def test_info_and_stats(broker):
    info = broker.info()
    assert info["name"] == "broker" and info["config"]["cash"] == 1_000_000
    assert math.isnan(broker.stats()["place_order_p99_us"])  # nothing measured yet
    broker.place_order("X", "buy", 10)
    broker.place_order("X", "buy", -1)
    broker.place_order("X", "buy", 5, "limit", limit_price=90.0, tif="gtc")
    broker.on_bar(bar(1, 100, 101, 99, 100))
    stats = broker.stats()
    assert (stats["orders_accepted"], stats["orders_rejected"], stats["fills"], stats["open_orders"]) == (2, 1, 1, 1)
    assert stats["rejected_INVALID_QUANTITY"] == 1 and stats["latency_samples"] == 3
    assert 0 < stats["place_order_p50_us"] <= stats["place_order_p99_us"] <= stats["place_order_max_us"]
    assert stats["events"] == broker.last_seq + 1 == 4


def test_self_test_passes_and_catches_a_broken_fill_rule(monkeypatch):
    assert all(r.passed for r in SimulatedBroker().self_test())

    def always_at_the_limit(side, type, limit, stop, triggered, b):
        return (limit if limit is not None else b.open), triggered, False

    monkeypatch.setattr(fills, "bar_fill", always_at_the_limit)
    results = {r.name: r for r in selftest.run(SimulatedBroker)}
    assert not results["limit_fill_rules"].passed and "limit fills" in results["limit_fill_rules"].detail
