"""The portfolio layer: target_percent / target_weights, the allocators, and the `rebalance`
strategy checked against an independent pandas computation of the same rules to the cent."""

import math

import numpy as np
import pandas as pd
import pytest

from workbench.analytics.allocation import allocate
from workbench.engine import backtest
from workbench.errors import ConfigError
from workbench.feed import load_dataset_bars, synthetic_bars
from workbench.strategies import Rebalance, Strategy
from workbench.strategies.rebalance import parse_weights

RATE, MINIMUM, CAP = 0.005, 1.0, 0.01  # IBKR fixed: 0.005 a share, at least 1.00, at most 1 % of the value


def fee(qty, price):
    return min(max(RATE * qty, MINIMUM), CAP * qty * price)


def buys(targets: dict, pos: dict, close: pd.Series, cash: float) -> list[tuple[str, str, float]]:
    """Each symbol below its target, in symbol order, buys the difference at most what the
    cash left pays at this close with the commission."""
    out = []
    for s in sorted(targets):
        qty = math.floor(targets[s] - pos[s] + 1e-9)
        while qty > 0 and qty * close[s] + fee(qty, close[s]) > cash:
            fit = math.floor(max(cash - fee(qty, close[s]), 0) / close[s])
            qty = fit if fit < qty else qty - 1
        if qty > 0:
            out.append((s, "buy", qty))
            cash -= qty * close[s] + fee(qty, close[s])
    return out


def reference(opens: pd.DataFrame, closes: pd.DataFrame, weights: dict, cash: float, buffer: float = 0.0,
              every: str = "month"):
    # the columns' order is the order the engine is given the symbols' bars, the order they fill in
    """The rebalance rules (the strategy's docstring) in plain pandas and Python: decisions at
    the first day and the first day of each month, sales at the next open, buys sized at the
    close after (at the decision's close when nothing is sold) and filled at the next open,
    capped by the cash (the broker's rule)."""
    symbols = sorted(weights)
    pos = dict.fromkeys(symbols, 0.0)
    working: list[tuple[str, str, float]] = []  # (symbol, side, qty) to fill at the next open
    pending: dict[str, float] = {}
    period, decided = None, False
    fills = []
    for t in closes.index:
        for symbol, side, qty in sorted(working, key=lambda w: list(opens.columns).index(w[0])):  # at this open
            price = opens.at[t, symbol]
            if side == "buy" and qty * price + fee(qty, price) > cash:
                q = math.floor(max(cash - fee(min(qty, cash / price), price), 0) / price)
                while q > 0 and q * price + fee(q, price) > cash:
                    q -= 1
                qty = q
            if qty <= 0:
                continue
            f = fee(qty, price)
            cash += (-1 if side == "buy" else 1) * qty * price - f
            pos[symbol] += qty if side == "buy" else -qty
            fills.append((t, symbol, side, qty, round(price, 6), round(f, 6)))
        working = []
        close = closes.loc[t]
        if pending:
            working, pending = buys(pending, pos, close, cash), {}
            continue
        month = (t.year, t.month) if every == "month" else tuple(t.isocalendar())[:2]
        if not decided or month != period:
            decided = True
            equity = cash + sum(pos[s] * close[s] for s in symbols)
            targets = {s: math.floor(weights[s] * equity * (1 - buffer) / close[s] + 1e-9) for s in symbols}
            working = [(s, "sell", pos[s] - targets[s]) for s in symbols if pos[s] - targets[s] > 1e-9]
            pending = {s: targets[s] for s in symbols if targets[s] - pos[s] > 1e-9}
            if pending and not working:  # nothing to sell: the buys go at this close
                working, pending = buys(pending, pos, close, cash), {}
        period = month
    equity = cash + sum(pos[s] * closes.iloc[-1][s] for s in symbols)
    return fills, cash, equity


def test_a_monthly_60_40_rebalance_equals_a_pandas_computation_of_its_rules_to_the_cent():
    sp, nq = load_dataset_bars("sp500"), load_dataset_bars("nasdaq")  # 1999-2018
    opens = pd.DataFrame({"SP500": sp["open"], "NASDAQ": nq["open"]})
    closes = pd.DataFrame({"SP500": sp["close"], "NASDAQ": nq["close"]})
    weights = {"SP500": 0.6, "NASDAQ": 0.4}
    run = backtest(Rebalance(weights="SP500=0.6,NASDAQ=0.4"), sp, nq, cash=1_000_000.0, commission="ibkr-fixed")
    fills, cash, equity = reference(opens, closes, weights, 1_000_000.0)
    got = [(f.time, f.symbol, f.side, f.quantity, round(f.price, 6), round(f.commission, 6))
           for f in run.fills.itertuples()]
    assert len(got) == len(fills) > 300  # 240 months: a sale and a purchase most months
    assert got == fills
    assert run.broker.account().cash == pytest.approx(cash, abs=0.005)
    assert run.equity.iloc[-1] == pytest.approx(equity, abs=0.005)
    # the weights are kept near the targets: at each month's end within a few points
    held = run.positions[["SP500", "NASDAQ"]] * closes
    share = held["SP500"] / run.equity
    assert share.iloc[60:].between(0.5, 0.7).all()


def test_a_weekly_50_50_rebalance_equals_it_too_cash_caps_included():
    sp, nq = load_dataset_bars("sp500"), load_dataset_bars("nasdaq")
    opens = pd.DataFrame({"SP500": sp["open"], "NASDAQ": nq["open"]})
    closes = pd.DataFrame({"SP500": sp["close"], "NASDAQ": nq["close"]})
    run = backtest(Rebalance(weights="SP500=0.5,NASDAQ=0.5", every="week"), sp, nq, commission="ibkr-fixed")
    fills, cash, equity = reference(opens, closes, {"SP500": 0.5, "NASDAQ": 0.5}, 1_000_000.0, every="week")
    got = [(f.time, f.symbol, f.side, f.quantity, round(f.price, 6), round(f.commission, 6))
           for f in run.fills.itertuples()]
    assert got == fills and run.equity.iloc[-1] == pytest.approx(equity, abs=0.005)
    # a purchase that gapped above the cash at the open was cut to what the cash paid: that rule too
    assert (run.orders["status"] == "cancelled").sum() >= 1


def test_the_reference_catches_a_wrong_rounding():
    sp, nq = load_dataset_bars("sp500").iloc[-200:], load_dataset_bars("nasdaq").iloc[-200:]
    opens = pd.DataFrame({"SP500": sp["open"], "NASDAQ": nq["open"]})
    closes = pd.DataFrame({"SP500": sp["close"], "NASDAQ": nq["close"]})

    class RoundsUp(Rebalance):
        name = "rebalance"

        def units_for(self, symbol, value, price=None, fractional=False):
            return math.ceil(super().units_for(symbol, value, price, fractional) + 0.5)

    run = backtest(RoundsUp(weights="SP500=0.6,NASDAQ=0.4"), sp, nq, commission="ibkr-fixed")
    fills, _, _ = reference(opens, closes, {"SP500": 0.6, "NASDAQ": 0.4}, 1_000_000.0)
    got = [(f.time, f.symbol, f.side, f.quantity, round(f.price, 6), round(f.commission, 6))
           for f in run.fills.itertuples()]
    assert got != fills


def test_a_cash_buffer_stays_in_cash_and_a_drift_band_rebalances_between_months():
    bars = synthetic_bars(["AAA", "BBB"], periods=300, seed=5)
    kept = backtest(Rebalance(cash_buffer=0.1, every="never"), bars)
    first = kept.equity.index[2]  # decided and bought on the 1st bar (nothing to sell), filled at the 2nd's open
    assert kept.broker.account().cash >= 0
    assert (kept.positions.loc[first:] > 0).all().all()
    cash_share = 1 - (kept.positions * bars.pivot(columns="symbol", values="close")).sum(axis=1) / kept.equity
    assert cash_share.loc[first] == pytest.approx(0.1, abs=0.01)
    banded = Rebalance(every="never", band=0.02)
    backtest(banded, bars)
    assert len(banded.rebalances) > 1  # the drift band called for more than the first decision
    calendar = Rebalance(every="never")
    backtest(calendar, bars)
    assert len(calendar.rebalances) == 1


def test_allocators():
    rng = np.random.default_rng(0)
    r = pd.DataFrame({"A": rng.normal(0, 0.01, 300), "B": rng.normal(0, 0.03, 300)})
    closes = 100 * (1 + r).cumprod()
    assert allocate(closes, "equal") == {"A": 0.5, "B": 0.5}
    inv = allocate(closes, "inverse_vol")
    vol = closes.pct_change().std()
    assert inv["A"] / inv["B"] == pytest.approx(vol["B"] / vol["A"])
    mv = allocate(closes, "min_variance")
    assert sum(mv.values()) == pytest.approx(1.0) and mv["A"] > inv["A"] > 0.5
    cov = closes.pct_change().cov().to_numpy()
    w = np.array([mv["A"], mv["B"]])
    for other in np.linspace(0, 1, 21):  # no other long-only mix has less variance
        o = np.array([other, 1 - other])
        assert w @ cov @ w <= o @ cov @ o + 1e-12
    with pytest.raises(ConfigError, match="allocator"):
        allocate(closes, "risk_parity")


def test_weights_are_checked():
    assert parse_weights("SP500=0.6, NASDAQ=0.4") == {"SP500": 0.6, "NASDAQ": 0.4}
    for text, says in (("SP500=0.7,NASDAQ=0.4", "sum to 1.1"), ("SP500", "expected SYMBOL=WEIGHT"),
                       ("SP500=x", "is not a number"), ("SP500=-0.1", "outside 0 to 1"),
                       ("A=0.1,A=0.2", "given twice")):
        with pytest.raises(ConfigError, match=says):
            Rebalance(weights=text)
    with pytest.raises(ConfigError, match="every"):
        Rebalance(every="fortnight")
    with pytest.raises(ConfigError, match="not in the data"):
        backtest(Rebalance(weights="ZZZ=1"), synthetic_bars(["AAA"], periods=20, seed=1))


def test_target_percent_and_target_weights_size_from_equity_and_round_towards_zero():
    class Weights(Strategy):
        def on_bar(self, bar):
            if len(self.history(bar.symbol)) == 5 and bar.symbol == "AAA":
                self.replies = self.target_weights({"AAA": 0.25, "BBB": 0.5})
                self.sized = {s: self.units_for(s, w * self.equity) for s, w in (("AAA", 0.25), ("BBB", 0.5))}

    bars = synthetic_bars(["AAA", "BBB"], periods=20, seed=2)
    s = Weights()
    run = backtest(s, bars)
    for symbol, qty in s.sized.items():
        assert qty == int(qty) and qty > 0
        assert run.positions[symbol].iloc[-1] == qty
    closes = bars[bars["symbol"] == "AAA"]["close"]
    assert s.sized["AAA"] == math.floor(0.25 * 1_000_000 / closes.iloc[4])


@pytest.mark.parametrize("old_warmup", [False, True], ids=["warm-up trades", "red: warm-up sends nothing"])
def test_a_resumed_paper_rebalance_is_the_uninterrupted_one(tmp_path, monkeypatch, old_warmup):
    """Stopped part-way and resumed from its journal, a drift-band rebalance gives the fills
    of the run that never stopped: its warm-up trades again on a broker in memory, so the
    drift it sees there is the run's. Red: a warm-up that sends no order (and so sees the
    journal's latest account throughout) decides otherwise here, and says so."""
    from workbench.engine import Engine

    bars = synthetic_bars(["AAA", "BBB"], periods=200, seed=5)
    whole = backtest(Rebalance(every="never", band=0.01), bars)

    class StopAt(Rebalance):
        def on_slice(self, time):
            super().on_slice(time)
            if len(self.history("AAA")) == 59:
                self.request_stop()

    journal = tmp_path / "paper.sqlite"
    first = Engine(StopAt(every="never", band=0.01), bars, mode="paper", speed=1e12, journal=journal).run()
    assert first.stopped_early
    first.broker.close()
    if old_warmup:
        submit = Engine.submit
        monkeypatch.setattr(Engine, "submit", lambda self, *a: None if self._warming else submit(self, *a))
    engine = Engine(Rebalance(every="never", band=0.01), bars, mode="paper", speed=1e12, journal=journal,
                    resume=True)
    rest = engine.run()
    same = rest.summary()["fills_sha256"] == whole.summary()["fills_sha256"]
    assert len(whole.fills) > 10
    if old_warmup:
        assert not same and engine.resume_note is not None
    else:
        assert same and engine.resume_note is None
