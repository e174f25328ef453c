"""The engine and the reference strategies, against independent computations."""


import numpy as np
import pandas as pd
import pytest

from workbench.broker import SimulatedBroker
from workbench.engine import Engine, backtest
from workbench.errors import ConfigError
from workbench.feed import load_dataset_bars, synthetic_bars, synthetic_quotes
from workbench.strategies import BuyAndHold, MeanReversion, SmaCross, Strategy, strategy_class


def expected_fills(bars: pd.DataFrame, target: np.ndarray) -> list[tuple]:
    """Fills implied by a target position decided at each close: at the next open."""
    out, held = [], 0.0
    opens = bars["open"].to_numpy()
    for t in range(len(bars) - 1):
        if target[t] != held:
            qty = target[t] - held
            out.append((bars.index[t + 1], "buy" if qty > 0 else "sell", abs(qty), opens[t + 1]))
            held = target[t]
    return out


def fills_of(result) -> list[tuple]:
    return [(pd.Timestamp(f.time), f.side, f.quantity, f.price) for f in result.fills.itertuples()]


@pytest.mark.parametrize("fast, slow", [(10, 30), (5, 20), (2, 3)])
def test_sma_cross_follows_its_rules(fast, slow):
    bars = load_dataset_bars("sp500").iloc[:1500]
    close = bars["close"]
    f, s = close.rolling(fast).mean(), close.rolling(slow).mean()  # independent: pandas
    target = np.where((f > s) & s.notna(), 100.0, 0.0)
    result = backtest(SmaCross(fast=fast, slow=slow, quantity=100), bars)
    assert fills_of(result) == [(pd.Timestamp(t), *rest) for t, *rest in expected_fills(bars, target)]
    assert len(result.fills) > 10


def test_buy_and_hold_by_hand():
    bars = load_dataset_bars("nasdaq").iloc[:300]
    result = backtest(BuyAndHold(quantity=50), bars, cash=200_000)
    assert fills_of(result) == [(bars.index[1], "buy", 50.0, bars["open"].iloc[1])]
    expected = 200_000 - 50 * bars["open"].iloc[1] + 50 * bars["close"].iloc[-1]
    assert result.equity.iloc[-1] == pytest.approx(expected)
    assert result.summary()["total_return"] == pytest.approx(expected / 200_000 - 1)


def test_mean_reversion_follows_its_rules():
    bars = synthetic_bars(1, periods=2000, freq="1D", seed=3, volatility=0.4)
    close = bars["close"]
    mean, sd = close.rolling(20).mean(), close.rolling(20).std(ddof=1)
    z = ((close - mean) / sd).to_numpy()
    target, held = np.zeros(len(bars)), 0.0
    for t in range(len(bars)):  # the documented state machine, written out again
        if not np.isfinite(z[t]):
            target[t] = held
            continue
        if held == 0 and z[t] < -2.0:
            held = 100.0
        elif held == 0 and z[t] > 2.0:
            held = -100.0
        elif held > 0 and z[t] >= -0.5:
            held = 0.0
        elif held < 0 and z[t] <= 0.5:
            held = 0.0
        target[t] = held
    result = backtest(MeanReversion(allow_short=True), bars, account_type="margin")
    assert fills_of(result) == [(pd.Timestamp(t), *r) for t, *r in expected_fills(bars, target)]
    assert (result.fills["side"] == "sell").any() and len(result.trades) > 5


class Snoop(Strategy):
    """Tries to see the future."""

    name = "snoop"

    def on_start(self):
        self.log = []

    def on_bar(self, bar):
        h = self.history(bar.symbol)
        self.log.append((len(h), float(h[-1]), bar.close, self.time == bar.time))
        with pytest.raises(ValueError):
            h[0] = 0.0  # read-only: history cannot be edited either


def test_a_strategy_cannot_see_the_next_bar():
    bars = synthetic_bars(["A", "B"], days=30, seed=1)
    snoop = Snoop()
    backtest(snoop, bars)
    per_symbol = {"A": 0, "B": 0}
    for (n, last, close, now), sym in zip(snoop.log, bars["symbol"].astype(str)):
        per_symbol[sym] += 1
        assert n == per_symbol[sym] and last == close and now
    assert not hasattr(snoop, "frames") and snoop.history("A", "close", None).size == 30


def test_multi_symbol_portfolio_trades_each_symbol_as_alone():
    together = backtest(SmaCross(), load_dataset_bars("sp500"), load_dataset_bars("nasdaq"))
    assert together.symbols == ["NASDAQ", "SP500"] and together.bars == 2 * 5031
    for name in ("sp500", "nasdaq"):
        alone = backtest(SmaCross(), load_dataset_bars(name))
        mine = together.fills[together.fills["symbol"] == alone.symbols[0]]
        assert fills_of(alone) == [(pd.Timestamp(f.time), f.side, f.quantity, f.price) for f in mine.itertuples()]


def test_equity_curve_and_positions_match_the_broker():
    bars = synthetic_bars(3, days=120, seed=8)
    result = backtest(SmaCross(fast=3, slow=8, quantity=10), bars, commission="ibkr-fixed")
    broker = result.broker
    assert result.equity.iloc[-1] == pytest.approx(broker.account().equity, rel=1e-12)
    last = result.positions.iloc[-1]
    for sym in result.symbols:
        assert last[sym] == broker.position(sym)
    assert result.equity.index.is_monotonic_increasing and len(result.equity) == 120


def test_same_inputs_same_fills_hash():
    bars = synthetic_bars(2, days=200, seed=4)
    a = backtest(SmaCross(fast=5, slow=15), bars).summary()
    b = backtest(SmaCross(fast=5, slow=15), bars).summary()
    assert a["fills_sha256"] == b["fills_sha256"] and a == b


def test_daily_bars_day_orders_expire_after_their_session():
    class LowBid(Strategy):
        name = "lowbid"

        def on_bar(self, bar):
            if not self.position(bar.symbol) and not self.exposure(bar.symbol):
                self.order(bar.symbol, "buy", 1, "limit", limit_price=round(bar.close * 0.5, 2))

    bars = load_dataset_bars("sp500").iloc[:10]
    result = backtest(LowBid(), bars)
    statuses = result.orders["status"].tolist()
    assert statuses[:-1] == ["expired"] * (len(statuses) - 1) and statuses[-1] == "accepted"


class QuoteTaker(Strategy):
    name = "quote_taker"

    def on_start(self):
        self.fills = 0

    def on_quote(self, quote):
        if self.exposure(quote.symbol) == 0:
            self.order(quote.symbol, "buy", 100)
        elif self.position(quote.symbol) > 0:
            self.order(quote.symbol, "sell", 100, "limit", limit_price=round(quote.ask + 0.05, 2))

    def on_fill(self, fill):
        self.fills += 1


def test_quote_driven_run():
    quotes = synthetic_quotes(2, days=1, freq="10s", seed=2)
    s = QuoteTaker()
    result = backtest(s, quotes)
    assert result.quotes == len(quotes) and result.bars == 0
    assert s.fills == len(result.fills) > 10
    buys = result.fills[result.fills["side"] == "buy"]
    assert (buys["price"].isin(quotes["ask"])).all()  # at the ask, at once


def test_paper_mode_is_paced_and_stops_cleanly(tmp_path):
    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

        def sleep(self, s):
            self.now += s

    clock = Clock()
    bars = synthetic_bars(1, days=2, freq="30min", seed=1)  # 13 bars a day, half an hour apart
    engine = Engine(SmaCross(fast=2, slow=4, quantity=1), bars, mode="paper", speed=1800,
                    journal=tmp_path / "j.sqlite", clock=clock, sleep=clock.sleep)
    result = engine.run()
    span = (bars.index[-1] - bars.index[0]).total_seconds() / 1800
    assert clock.now == pytest.approx(span) and not result.stopped_early
    assert engine.broker.journal.durability == "sync"


def test_a_paced_wait_ends_at_the_duration_and_at_a_stop_not_at_the_next_bar(tmp_path):
    """Daily bars at one data second per second: the next bar is a day away. --duration and a
    stop (Ctrl-C, engine.stop()) end the wait at once, and the bar that was not due is not
    handled."""
    import threading

    bars = synthetic_bars(1, days=5, seed=2)

    def run_within(engine, seconds=30):
        box = {}
        runner = threading.Thread(target=lambda: box.update(result=engine.run()), daemon=True)
        runner.start()
        runner.join(seconds)
        assert not runner.is_alive(), "the run waited for the next bar (a day away)"
        return box["result"]

    engine = Engine(SmaCross(fast=2, slow=3), bars, mode="paper", speed=1.0, duration=0.3,
                    journal=tmp_path / "a.sqlite")
    result = run_within(engine)
    assert result.stopped_early and result.bars == 1
    engine = Engine(SmaCross(fast=2, slow=3), bars, mode="paper", speed=1.0, journal=tmp_path / "b.sqlite")
    threading.Timer(0.3, engine.stop).start()
    result = run_within(engine)
    assert result.stopped_early and result.bars == 1


def test_a_resumed_paper_run_catches_up_at_full_speed_then_paces(tmp_path):
    """What the journal holds is replayed unpaced: the resume of a run stopped at 3/4 waits
    about the last quarter's paced time, not the whole run's. The waits are the engine's own
    (a clock that advances by what it is asked to sleep): a ratio of the two runs' waits that a
    loaded machine cannot move (wall time did: 2.8 s against 3.2 s beside a CPU hog)."""

    class Clock:
        def __init__(self):
            self.t, self.slept = 0.0, 0.0

        def now(self):
            return self.t

        def sleep(self, seconds):
            self.t += seconds
            self.slept += seconds

    bars = synthetic_bars(1, days=120, seed=4)
    speed = 86400 * 40  # 40 daily bars a second

    class StopAt(SmaCross):
        name = "sma_cross"
        seen = 0

        def on_bar(self, bar):
            super().on_bar(bar)
            self.seen += 1
            if self.seen == 90:
                self.request_stop()

    journal = tmp_path / "j.sqlite"
    a, b = Clock(), Clock()
    first = Engine(StopAt(), bars, mode="paper", speed=speed, journal=journal, clock=a.now, sleep=a.sleep).run()
    first_s = a.slept
    rest = Engine(SmaCross(), bars, mode="paper", speed=speed, journal=journal, resume=True, clock=b.now,
                  sleep=b.sleep).run()
    rest_s = b.slept
    assert first.stopped_early and not rest.stopped_early
    assert rest_s < 0.7 * first_s, (rest_s, first_s)  # paced: ~30 bars against ~90
    assert rest.fills_csv() == backtest(SmaCross(), bars).fills_csv()


def test_paper_run_stopped_then_resumed_equals_a_full_run(tmp_path):
    bars = load_dataset_bars("sp500").iloc[:800]
    full = backtest(SmaCross(), bars).summary()

    class StopAfter(SmaCross):
        def on_bar(self, bar):
            super().on_bar(bar)
            if len(self.history(bar.symbol)) == 400:
                self.request_stop()

    journal = tmp_path / "paper.sqlite"
    first = Engine(StopAfter(), bars, mode="paper", speed=1e12, journal=journal).run()
    assert first.stopped_early and first.bars == 400
    first.broker.close()
    rest = Engine(SmaCross(), bars, mode="paper", speed=1e12, journal=journal, resume=True).run()
    assert rest.summary()["fills_sha256"] == full["fills_sha256"]
    assert rest.summary()["final_equity"] == pytest.approx(full["final_equity"])
    with pytest.raises(ConfigError, match="written by sma_cross"):
        Engine(SmaCross(fast=3), bars, mode="paper", speed=1, journal=journal, resume=True)


def test_results_save_writes_the_documented_files(tmp_path):
    bars = load_dataset_bars("sp500").iloc[:400]
    result = backtest(SmaCross(), bars, journal=tmp_path / "journal.sqlite")
    result.save(tmp_path)
    fills = pd.read_csv(tmp_path / "fills.csv")
    assert list(fills.columns) == ["time", "symbol", "side", "quantity", "price", "commission"]
    assert list(pd.read_csv(tmp_path / "equity.csv").columns) == ["time", "equity"]
    assert len(pd.read_csv(tmp_path / "orders.csv")) == len(result.orders)
    assert (tmp_path / "summary.json").exists()
    assert SimulatedBroker.recover(tmp_path / "journal.sqlite").state() == result.broker.state()


def test_strategy_parameters_are_checked():
    assert strategy_class("sma_cross") is SmaCross
    with pytest.raises(ConfigError, match="unknown strategy 'smacross'"):
        strategy_class("smacross")
    with pytest.raises(ConfigError, match="unknown parameter"):
        SmaCross(speed=2)
    with pytest.raises(ConfigError, match="fast: 'ten' is not an int"):
        SmaCross(fast="ten")
    with pytest.raises(ConfigError, match="fast: 1.5 is not an int|fast: '1.5' is not an int"):
        SmaCross(fast="1.5")
    with pytest.raises(ConfigError, match="must be below slow"):
        SmaCross(fast=30, slow=10)
    with pytest.raises(ConfigError, match="below the minimum"):
        SmaCross(quantity=-1)
    assert SmaCross(fast="7").params["fast"] == 7
    assert MeanReversion(allow_short="yes").params["allow_short"] is True


def test_engine_rejects_bad_setups():
    bars = synthetic_bars(1, days=5, seed=0)
    with pytest.raises(ConfigError, match="speed"):
        Engine(SmaCross(), bars, mode="paper")
    with pytest.raises(ConfigError, match="no data"):
        Engine(SmaCross())
    with pytest.raises(TypeError, match="Strategy instance"):
        Engine(SmaCross, bars)
    engine = Engine(SmaCross(), bars)
    engine.run()
    with pytest.raises(RuntimeError, match="runs once"):
        engine.run()


def test_engine_component_api():
    engine = Engine(SmaCross(), load_dataset_bars("sp500").iloc[:300])
    engine.run()
    assert engine.info()["config"]["session"] == "bar"
    stats = engine.stats()
    assert stats["bars"] == 300 and stats["events_per_second"] > 0
    assert all(r.passed for r in engine.self_test())


def test_ctrl_c_ends_a_paper_run_cleanly(tmp_path):
    class Interrupted(SmaCross):
        def on_bar(self, bar):
            super().on_bar(bar)
            if len(self.history(bar.symbol)) == 300:
                raise KeyboardInterrupt

    journal = tmp_path / "j.sqlite"
    result = Engine(Interrupted(), load_dataset_bars("sp500"), mode="paper", speed=1e12, journal=journal).run()
    assert result.stopped_early and result.bars == 300 and len(result.fills) > 0
    result.broker.close()
    assert SimulatedBroker.recover(journal).state() == result.broker.state()


def test_a_broker_subclass_hears_every_bar_and_session_end():
    # The engine shows the broker a slice in one call and skips the session close when
    # nothing works; a subclass with its own hooks must still see every bar and close.
    bars = synthetic_bars(2, periods=60, freq="1D", seed=4)
    seen = {"bars": 0, "ends": 0}

    class Counting(SimulatedBroker):
        def on_bar(self, bar):
            seen["bars"] += 1
            return super().on_bar(bar)

        def end_session(self, time=None, next_time=None):
            seen["ends"] += 1
            return super().end_session(time, next_time)

    broker = Counting(cash=1e6, instruments=sorted(bars["symbol"].astype(str).unique()))
    counted = Engine(SmaCross(fast=3, slow=8), bars, broker=broker, fast_path=False).run()
    plain = backtest(SmaCross(fast=3, slow=8), bars, fast_path=False)
    assert seen == {"bars": len(bars), "ends": bars.index.nunique()}
    assert fills_of(counted) == fills_of(plain)


def test_exposure_adds_the_working_net_to_the_position_as_before():
    # position + (buys - sells), in that order: (position + buys) - sells differs in the last
    # bit with fractional sizes, and a target_position order would move by that
    from workbench.model import Bar, Instrument

    b = SimulatedBroker(cash=1e6, instruments=[Instrument("X", lot_size=0.1)], account_type="margin")
    t = pd.Timestamp("2024-01-02", tz="UTC")
    b.on_bar(Bar(t, "X", 10.0, 10.0, 10.0, 10.0, 1e6))
    b.place_order("X", "buy", 0.1)
    b.on_bar(Bar(t + pd.Timedelta(days=1), "X", 10.0, 10.0, 10.0, 10.0, 1e6))
    b.place_order("X", "buy", 0.2, "limit", limit_price=5.0, tif="gtc")
    b.place_order("X", "sell", 0.3, "limit", limit_price=20.0, tif="gtc")
    assert b.position("X") == 0.1
    assert b.exposure("X") == 0.1 + (0.2 - 0.3) and b.exposure("X") != (0.1 + 0.2) - 0.3


def test_a_resume_whose_warm_up_decides_otherwise_names_the_first_order_placed_otherwise(tmp_path):
    """A strategy that does not decide the same way twice (here: a class attribute changed
    between the runs) buys at another bar in the warm-up: the note names the first order by
    the time it was placed, the warm-up's and the journal's, and the run carries on."""

    class Flaky(Strategy):
        name = "flaky"
        at = 10

        def on_start(self):
            self.bars = 0

        def on_bar(self, bar):
            self.bars += 1
            if self.bars in (self.at, 40):
                self.order(bar.symbol, "buy", 1)
            if self.bars == 60 and Flaky.at == 10:
                self.request_stop()

    bars = load_dataset_bars("sp500").iloc[:100]
    journal = tmp_path / "paper.sqlite"
    first = Engine(Flaky(), bars, mode="paper", speed=1e12, journal=journal).run()
    assert first.stopped_early and len(first.fills) == 2
    first.broker.close()
    Flaky.at = 12
    engine = Engine(Flaky(), bars, mode="paper", speed=1e12, journal=journal, resume=True)
    result = engine.run()
    note = engine.resume_note
    assert note is not None and "its order 1 is O1" in note
    assert str(bars.index[11]) in note.split(";")[0] and str(bars.index[9]) in note.split(";")[1]
    assert len(result.fills) == 2 and not result.stopped_early  # the journal's account, carried on


def test_a_run_stopped_before_the_end_of_its_data_says_so_in_summary_json(tmp_path):
    class StopAt(SmaCross):
        def on_bar(self, bar):
            super().on_bar(bar)
            if len(self.history(bar.symbol)) == 100:
                self.request_stop()

    bars = load_dataset_bars("sp500").iloc[:300]
    backtest(StopAt(), bars).save(tmp_path / "cut")
    backtest(SmaCross(), bars).save(tmp_path / "whole")
    import json

    assert json.loads((tmp_path / "cut" / "summary.json").read_text())["stopped_early"] is True
    assert "stopped_early" not in json.loads((tmp_path / "whole" / "summary.json").read_text())


def test_resuming_a_finished_run_says_nothing_was_left_and_changes_nothing(tmp_path):
    bars = load_dataset_bars("sp500").iloc[:300]
    journal = tmp_path / "paper.sqlite"
    done = Engine(SmaCross(), bars, mode="paper", speed=1e12, journal=journal)
    whole = done.run()
    whole.broker.close()
    assert not done.resumed_nothing
    again = Engine(SmaCross(), bars, mode="paper", speed=1e12, journal=journal, resume=True)
    result = again.run()
    assert again.resumed_nothing and again.resume_note is None
    assert result.fills_csv() == whole.fills_csv()


class _StopAtBar(Strategy):
    """Rests a DAY limit far below the market (it never fills) and stops at bar ``stop_at``
    (0: never); a bar of ``fail_at`` raises."""

    name = "stop_at_bar"
    stop_at = fail_at = 0

    def on_start(self):
        self.n = 0
        if self.fail_at < 0:
            raise RuntimeError("a strategy's own error, in on_start")

    def on_bar(self, bar):
        self.n += 1
        if not self.working(bar.symbol):
            self.order(bar.symbol, "buy", 1, "limit", limit_price=1.0)
        if self.n == self.fail_at:
            raise RuntimeError("a strategy's own error")
        if self.n == self.stop_at:
            self.request_stop()


def _paper(bars, journal, resume=False, stop_at=0, fail_at=0, close=True, **options):
    strategy = _StopAtBar()
    strategy.stop_at, strategy.fail_at = stop_at, fail_at
    engine = Engine(strategy, bars, mode="paper", speed=1e12, journal=journal, resume=resume, **options)
    try:
        result = engine.run()
    finally:
        digest = engine.broker.state_digest()
        if close:
            engine.broker.close()
    return engine, result, digest


@pytest.mark.parametrize("how", ["stopped", "failed", "failed in on_start"])
def test_a_resume_stopped_or_failing_in_its_warm_up_leaves_the_journal_free(tmp_path, how):
    """A resumed run stopped (or failing) during its warm-up releases the journal, as a
    run does: the next resume in the same process runs (red: JournalLocked)."""
    bars = synthetic_bars(1, days=60, seed=3)
    journal = tmp_path / "paper.sqlite"
    _paper(bars, journal, stop_at=40)
    if how == "stopped":  # (the run releases the journal itself: nothing closed here)
        _, cut, _ = _paper(bars, journal, resume=True, stop_at=20, close=False)
        assert cut.stopped_early
    else:
        with pytest.raises(Exception, match="own error"):
            _paper(bars, journal, resume=True, fail_at=20 if how == "failed" else -1, close=False)
    engine, result, _ = _paper(bars, journal, resume=True)
    assert not result.stopped_early and engine.resume_note is None


@pytest.mark.parametrize("session", ["date", "XNYS"])
def test_a_run_stopped_on_its_last_slice_closes_its_last_session_when_resumed(tmp_path, session):
    """Stopped on its last bar, before the close of its last session: the resumed run closes
    it (the DAY order expires) and ends as the run that never stopped."""
    bars = synthetic_bars(1, periods=6, freq="1min", seed=4, start="2024-03-04 14:30")
    _, whole, whole_digest = _paper(bars, tmp_path / "whole.sqlite", session=session)
    _paper(bars, tmp_path / "cut.sqlite", stop_at=6, session=session)
    engine, resumed, digest = _paper(bars, tmp_path / "cut.sqlite", resume=True, session=session)
    assert whole.orders["status"].tolist() == ["expired"] == resumed.orders["status"].tolist()
    assert digest == whole_digest and engine.resume_note is None and not engine.resumed_nothing
