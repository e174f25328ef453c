"""backtest() takes the sparse route (Engine._run_sparse) when the strategy's vectorized
targets say where it trades; the result must be the event loop's, figure for figure."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.engine import Engine, backtest
from workbench.feed import load_dataset_bars, synthetic_bars
from workbench.strategies import BuyAndHold, SmaCross

SP500 = load_dataset_bars("sp500")


def both(make, bars, **options):
    sparse = Engine(make(), bars, **options)
    loop = Engine(make(), bars, fast_path=False, **options)
    return sparse, sparse.run(), loop, loop.run()


def assert_same(a, b):
    for name in ("orders", "fills", "positions", "trades"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)
    pd.testing.assert_series_equal(a.equity, b.equity, check_exact=True, obj="equity")
    assert a.summary() == b.summary()
    assert (a.bars, a.quotes, a.symbols, a.stopped_early) == (b.bars, b.quotes, b.symbols, b.stopped_early)
    assert a.broker.account() == b.broker.account()
    assert a.broker.stats(latency=False) == b.broker.stats(latency=False)
    assert a.broker.journal.dump() == b.broker.journal.dump()  # the same events, in order, byte for byte


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), fast=st.integers(1, 30), extra=st.integers(1, 60),
       tick=st.sampled_from([0.01, 1e-6]),
       options=st.sampled_from([{}, {"commission": "ibkr-fixed", "slippage": "bps:5"},
                                {"account_type": "margin", "cash": 50_000.0}, {"cash": 20_000.0}]))
def test_the_sparse_route_gives_the_event_loops_result(seed, fast, extra, tick, options):
    bars = synthetic_bars(1, days=400, seed=seed, tick_size=tick)
    sparse, a, loop, b = both(lambda: SmaCross(fast=fast, slow=fast + extra, quantity=100), bars, **options)
    assert not loop.routed
    if not sparse.routed:  # it gave way: an order the loop rejected
        assert b.broker.stats()["orders_rejected"] > 0
    assert_same(a, b)


def test_routed_on_real_data_and_given_way_when_money_runs_out():
    sparse, a, _, b = both(lambda: SmaCross(fast=10, slow=30), SP500)
    assert sparse.routed and len(a.fills) > 50
    assert_same(a, b)
    sparse, a, _, b = both(lambda: BuyAndHold(quantity=100), SP500)
    assert sparse.routed and len(a.fills) == 1
    assert_same(a, b)
    sparse, a, _, b = both(BuyAndHold, SP500)  # fully invested: sized from the equity, the loop's work
    assert not sparse.routed and len(a.fills) == 1 and a.positions["SP500"].iloc[-1] > 100
    assert_same(a, b)
    # 1,000 shares at ~$1,000+ with $100,000: the loop rejects (and retries each bar); the
    # sparse route must give way to it and give its result
    sparse, a, _, b = both(lambda: SmaCross(fast=5, slow=20, quantity=1000), SP500, cash=100_000.0)
    assert not sparse.routed and b.broker.stats()["orders_rejected"] > 0
    assert_same(a, b)


class Louder(SmaCross):
    """Changes what it does on a bar: its vectorized targets (inherited) no longer say it."""

    name = "louder"

    def on_bar(self, bar):
        super().on_bar(bar)
        if self.exposure(bar.symbol) == 0 and bar.close > bar.open * 1.01:
            self.target_position(bar.symbol, 1.0)


@pytest.mark.parametrize("case", ["subclass", "journal", "two symbols", "intraday", "risk", "participation"])
def test_runs_the_sparse_route_cannot_stand_for_go_through_the_loop(tmp_path, case):
    make, bars, options = (lambda: SmaCross(fast=5, slow=20)), SP500, {}
    if case == "subclass":
        make = lambda: Louder(fast=5, slow=20)  # noqa: E731
    elif case == "journal":
        options = {"journal": tmp_path / "j.sqlite"}
    elif case == "two symbols":
        bars = synthetic_bars(2, days=300, seed=1)
    elif case == "intraday":
        bars = synthetic_bars(1, periods=2000, freq="1h", seed=3)
    elif case == "risk":
        options = {"risk": {"max_order_quantity": 1e9}}
    elif case == "participation":
        options = {"participation": 0.5}
    engine = Engine(make(), bars, **options)
    result = engine.run()
    assert not engine.routed
    if case == "subclass":  # and the reason matters: the inherited targets would give other fills
        plain = backtest(SmaCross(fast=5, slow=20), bars)
        assert len(result.fills) != len(plain.fills)


def test_a_check_removed_is_caught(monkeypatch):
    """The eligibility is what keeps a changed on_bar out: without it the subclass would be
    routed and its result would not be the loop's."""
    monkeypatch.setattr(Engine, "_sparse_eligible", lambda self: True)
    sparse, a, _, b = both(lambda: Louder(fast=5, slow=20), SP500)
    assert sparse.routed
    with pytest.raises(AssertionError):
        assert_same(a, b)


def test_the_comparison_sees_targets_that_are_off_by_one_bar(monkeypatch):
    """Red on purpose: vectorized targets one bar late (a strategy whose twin drifted from its
    on_bar) give other fills, and the comparison says so."""
    import numpy as np

    real = SmaCross.vectorized_targets

    def late(close, params):
        t = np.asarray(real(close, params), dtype=float)
        return np.concatenate([[0.0], t[:-1]])

    monkeypatch.setattr(SmaCross, "vectorized_targets", staticmethod(late))
    sparse, a, _, b = both(lambda: SmaCross(fast=10, slow=30), SP500)
    assert sparse.routed
    with pytest.raises(AssertionError):
        assert_same(a, b)


def test_a_buy_filled_in_part_sends_the_run_to_the_loop():
    """Found by a break-it review: a cash buy that gaps up fills as far as the cash goes and
    its rest is cancelled; the loop's strategy then orders again, the sparse route did not."""
    import numpy as np

    closes = [50, 50, 50, 50, 100, 90, 90, 90, 90, 90]
    opens = [50, 50, 50, 50, 100, 101, 90, 90, 90, 90]
    bars = pd.DataFrame({"symbol": "X", "open": np.array(opens, float), "high": np.maximum(opens, closes) * 1.0,
                         "low": np.minimum(opens, closes) * 1.0, "close": np.array(closes, float), "volume": 1e6},
                        index=pd.date_range("2020-01-01", periods=10, freq="D", tz="UTC", name="time"))
    sparse, a, _, b = both(lambda: SmaCross(fast=2, slow=4, quantity=10), bars, cash=1000.0)
    assert not sparse.routed
    assert_same(a, b)


def test_a_hook_set_on_the_instance_sends_the_run_to_the_loop():
    def make():
        s = SmaCross(fast=5, slow=20)
        plain = s.on_bar

        def louder(bar):
            plain(bar)
            if s.exposure(bar.symbol) == 0 and bar.close > bar.open * 1.01:
                s.target_position(bar.symbol, 1.0)

        s.on_bar = louder
        return s

    sparse, a, _, b = both(make, SP500)
    assert not sparse.routed
    assert_same(a, b)
