"""The engine's lean loop (``Engine._lean``: a backtest in memory, without the full loop's
checks for a journal file, monitor, command channel and the rest) against the full loop:
the same fills, orders, equity and counts on every kind of run it takes."""

import pandas as pd
import pytest

from workbench.engine import Engine
from workbench.feed import load_dataset_bars, synthetic_bars, synthetic_quotes
from workbench.strategies import SmaCross, Strategy, Wheel
from workbench.strategies.options import option_frames


class Resting(Strategy):
    """Limit and stop orders that rest for a while, DAY and GTC, buys and sells: the
    broker's working-order path, session expiries and fills across the slices."""

    name = "resting"

    def on_bar(self, bar):
        held = self.position(bar.symbol)
        if self.working(bar.symbol):
            return
        if held <= 0:
            self.order(bar.symbol, "buy", 3, "limit", limit_price=round(bar.close * 0.999, 2))
        else:
            self.order(bar.symbol, "sell", held, "stop", stop_price=round(bar.close * 0.998, 2), tif="gtc")


class Heard(Resting):
    """Resting, keeping what ``on_fill`` told it (the outcome compares it)."""

    name = "heard"

    def on_start(self):
        self.heard = []

    def on_fill(self, fill):
        self.heard.append((fill.order_id, fill.quantity, fill.price))


class Taker(Strategy):
    name = "taker"

    def on_quote(self, quote):
        if self.exposure(quote.symbol) == 0:
            self.order(quote.symbol, "buy", 10)
        elif self.position(quote.symbol) > 0:
            self.order(quote.symbol, "sell", 10, "limit", limit_price=round(quote.ask + 0.02, 2))


class StopHalfway(SmaCross):
    name = "stop_halfway"

    def on_bar(self, bar):
        super().on_bar(bar)
        if len(self.history(bar.symbol)) == 300:
            self.request_stop()


def _intraday():
    return synthetic_bars(2, periods=3 * 390, freq="1min", seed=4, start="2024-03-04 14:30")


def _mixed():
    quotes = synthetic_quotes(1, days=1, freq="30s", seed=6)
    bars = synthetic_bars(1, periods=390, freq="1min", seed=7, start=quotes.index[0].floor("min"))
    return [quotes, bars]


def _wheel():
    bars = load_dataset_bars("sp500").iloc[-120:]
    quotes, instruments = option_frames(bars, seed=3)
    return [quotes, bars], {"instruments": instruments, "cash": 1e6, "commission": "ibkr-options"}


SCENARIOS = {
    "daily bars, 3 symbols": lambda: (SmaCross(fast=3, slow=8), [synthetic_bars(3, periods=400, seed=1)], {}),
    "resting orders, intraday, UTC dates": lambda: (Resting(), [_intraday()], {"session": "date"}),
    "resting orders, intraday, XNYS": lambda: (Resting(), [_intraday()], {"session": "XNYS"}),
    "resting orders, per-bar sessions": lambda: (Resting(), [_intraday()], {"session": "bar"}),
    "quotes and bars": lambda: (Taker(), _mixed(), {"account_type": "margin", "cash": 1e7}),
    "option chains (the wheel)": lambda: (Wheel(), *_wheel()),
    "a run stopped by its strategy": lambda: (StopHalfway(), [load_dataset_bars("sp500").iloc[:600]], {}),
    # one event a time (Engine._lean's event-by-event branch)
    "one symbol's daily bars": lambda: (SmaCross(fast=3, slow=8), [synthetic_bars(1, periods=400, seed=2)], {}),
    "one symbol, resting orders, per-bar sessions": lambda: (
        Heard(), [synthetic_bars(1, periods=3 * 390, freq="1min", seed=5, start="2024-03-04 14:30")],
        {"session": "bar"}),
    "monitored": lambda: (Resting(), [_intraday()], {"session": "XNYS", "monitor": _monitor()}),
}


def _monitor():
    from workbench.monitor import Monitor

    ticks = iter(range(10**9))  # a clock that moves a second a call: samples are due often
    return Monitor(log=False, interval=5.0, clock=lambda: float(next(ticks)))


def _run(scenario, lean):
    strategy, frames, options = SCENARIOS[scenario]()
    engine = Engine(strategy, *frames, fast_path=False, **options)
    engine._lean_ok = lean
    result = engine.run()
    return engine, result


def _outcome(engine, result):
    return {"fills": result.fills, "orders": result.orders, "equity": result.equity,
            "counts": (result.bars, result.quotes, engine.events, dict(engine._seen), result.stopped_early),
            "stats": {k: v for k, v in result.broker.stats().items() if "_us" not in k},  # timings differ
            "heard": getattr(engine.strategy, "heard", None),
            "journal": [(e.seq, e.time_ns, e.kind, e.order_id, e.payload) for e in result.broker.events()]}


def _differences(a, b):
    out = []
    for key in a:
        if isinstance(a[key], (pd.DataFrame, pd.Series)):
            if not a[key].equals(b[key]):
                out.append(key)
        elif a[key] != b[key]:
            out.append(key)
    return out


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_lean_loop_gives_what_the_full_loop_gives(scenario):
    lean_engine, lean = _run(scenario, True)
    full_engine, full = _run(scenario, False)
    assert lean_engine._took_lean and not full_engine._took_lean
    assert len(full.fills) > 0, "the scenario should trade"
    assert _differences(_outcome(lean_engine, lean), _outcome(full_engine, full)) == []
    if lean_engine.monitor is not None:  # told of every slice, and sampled, as in the full loop
        for engine in (lean_engine, full_engine):
            values = engine.monitor.sample()
            assert values["workbench_feed_events_total"] == engine.events > 0
            assert engine.busy_seconds > 0


BY_EVENT = ("one symbol's daily bars", "one symbol, resting orders, per-bar sessions", "a run stopped by its strategy")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_runs_of_one_event_a_time_go_event_by_event(scenario):
    engine, _ = _run(scenario, True)
    assert engine._lean_by_event == (scenario in BY_EVENT)


def test_a_lean_loop_that_skips_a_step_is_caught(monkeypatch):
    """Red: a lean loop that never ends a per-bar session (its DAY orders never expire)."""
    original = Engine._lean

    def no_session_ends(self, slices, per_bar, *rest):
        return original(self, slices, False, *rest)

    monkeypatch.setattr(Engine, "_lean", no_session_ends)
    lean_engine, lean = _run("resting orders, per-bar sessions", True)
    full_engine, full = _run("resting orders, per-bar sessions", False)
    assert "orders" in _differences(_outcome(lean_engine, lean), _outcome(full_engine, full))
