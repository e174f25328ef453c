"""put_write and the wheel: their documented rules, checked against the quotes they saw with
an independent delta (QuantLib's scalar pricer), and the account they leave."""

import datetime as dt

import pandas as pd
import pytest

from workbench.engine import backtest
from workbench.feed import load_dataset_bars
from workbench.options import implied_volatility, parse_occ, price_option
from workbench.options.contracts import OptionError
from workbench.strategies import IronCondor, PutWrite, Wheel
from workbench.strategies.options import option_frames

BARS = load_dataset_bars("sp500").iloc[-260:]
QUOTES, INSTRUMENTS = option_frames(BARS, seed=3)


def run(strategy, **options):
    return backtest(strategy, QUOTES, BARS, instruments=INSTRUMENTS, cash=1_000_000.0, commission="ibkr-options",
                    **options)


def expected_choice(day: str, right: str, delta: float, dte: int, rate: float = 0.03) -> str:
    """The contract the docstring's rule picks on ``day``, recomputed from the quotes with
    QuantLib's scalar implied volatility and delta."""
    t = pd.Timestamp(day, tz="UTC")
    spot = float(BARS.loc[t, "close"])
    todays = QUOTES[QUOTES.index == t]
    rows = []
    for q in todays.itertuples():
        c = parse_occ(q.symbol)
        if c.right != right or c.expiry < t.date() + dt.timedelta(days=dte):
            continue
        rows.append((c.expiry, c.strike, q.symbol, q.bid, q.ask))
    expiry = min(r[0] for r in rows)
    best, best_gap = None, None
    for e, k, symbol, bid, ask in sorted(r for r in rows if r[0] == expiry):
        days = (e - t.date()).days
        try:
            vol = implied_volatility((bid + ask) / 2, spot, k, days, rate, 0.0, right)
        except OptionError:
            continue
        gap = abs(abs(price_option(spot, k, days, rate, 0.0, vol, right).delta) - delta)
        if best_gap is None or gap < best_gap - 1e-12:
            best, best_gap = symbol, gap
    return best


def check_choices(strategy):
    sales = [entry for entry in strategy.log if entry[1].startswith("sell ") and entry[1] != "sell shares"]
    assert sales, "nothing sold"
    for day, action, symbol, _ in sales:
        want = expected_choice(day, action.split()[1], strategy.params["delta"], strategy.params["dte"])
        assert symbol == want, f"{day}: sold {symbol}, the rule picks {want}"
    for day, action, symbol, _ in (e for e in strategy.log if e[1] in ("buy put", "buy call")):  # condor wings
        want = expected_choice(day, action.split()[1], strategy.params["wing_delta"], strategy.params["dte"])
        assert symbol == want, f"{day}: bought {symbol}, the rule picks {want}"
    return len(sales)


def test_put_write_sells_the_put_its_rule_picks_and_keeps_the_account_whole():
    s = PutWrite(delta=0.3, dte=7)
    result = run(s)
    assert check_choices(s) >= 10
    stats = result.broker.stats()
    assert stats["options_assigned"] + stats["options_expired"] >= 10
    assert result.broker.account().cash > 0
    assert result.equity.iloc[-1] == pytest.approx(result.broker.account().equity, rel=1e-12)
    # after an assignment the shares go (GTC market sell at the next open), then writing resumes
    assert stats["orders_rejected"] == 0


def test_the_wheel_sells_calls_on_assigned_shares_and_puts_otherwise():
    s = Wheel(delta=0.25, dte=5)
    result = run(s)
    check_choices(s)
    fills = result.fills
    shares = fills[fills["symbol"] == "SP500"]
    assert (shares["order_id"].str.startswith("E")).all()  # the wheel trades shares only by assignment
    held = 0.0
    position = {}
    for f in fills.itertuples():
        if f.symbol == "SP500":
            held += f.quantity if f.side == "buy" else -f.quantity
            position[f.time] = held
    calls = [e for e in s.log if e[1] == "sell call"]
    puts = [e for e in s.log if e[1] == "sell put"]
    assert calls and puts
    for day, action, *_ in s.log:  # a call only while holding the shares, a put only without them
        t = pd.Timestamp(day, tz="UTC")
        before = [v for k, v in position.items() if k <= t]
        have = before[-1] if before else 0.0
        assert (have >= 100) == (action == "sell call"), (day, action, have)
    assert result.broker.account().cash > 0


def test_take_profit_buys_back_at_its_threshold():
    s = PutWrite(delta=0.3, dte=14, take_profit=0.5)
    run(s)
    backs = [e for e in s.log if e[1] == "buy back"]
    assert backs
    premium = {}
    for day, action, symbol, price in s.log:
        if action == "sell put":
            premium[symbol] = price
        elif action == "buy back":
            assert price <= 0.5 * premium[symbol] + 1e-9


def test_the_check_catches_a_strategy_that_picks_another_contract(monkeypatch):
    """Red on purpose: a put_write that takes the deepest put of the expiry is caught."""
    from workbench.strategies.options import _OptionSeller

    real = _OptionSeller.choose

    def deepest(self, bar, right, delta=None):
        got = real(self, bar, right, delta)
        if got is None:
            return None
        todays = [(self._terms[x].strike, x, q.bid) for x, q in self._quotes.items()
                  if self._terms[x].right == right and self._terms[x].expiry == self._terms[got[0]].expiry]
        strike, symbol, bid = max(todays) if right == "put" else min(todays)
        return symbol, bid, bid

    monkeypatch.setattr(_OptionSeller, "choose", deepest)
    s = PutWrite(delta=0.3, dte=7)
    run(s)
    with pytest.raises(AssertionError, match="the rule picks"):
        check_choices(s)


def test_bad_parameters_are_refused_by_name():
    from workbench.errors import ConfigError

    for bad in ({"delta": 1.5}, {"dte": 0}, {"stop_loss": 0.5}, {"contracts": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            Wheel(**bad)


def test_the_wheel_from_the_command_line():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "workbench", "backtest", "wheel", "--data", "sp500", "-p", "delta=0.3",
                          "-p", "dte=7", "--start", "2018-01-01"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "on SP500 and " in out.stdout and "option contracts" in out.stdout
    line = next(x for x in out.stdout.splitlines() if x.strip().startswith("at expiry"))
    assert "assigned" in line and "worthless" in line
    bad = subprocess.run([sys.executable, "-m", "workbench", "backtest", "wheel", "--data", "sp500", "--data", "nasdaq"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "one underlying" in bad.stderr and "Traceback" not in bad.stderr


def test_the_optimizer_says_it_cannot_run_an_option_strategy():
    from workbench.errors import ConfigError
    from workbench.optimize import sweep

    with pytest.raises(ConfigError, match="trades options"):
        sweep("wheel", [BARS], [{"delta": 0.3}], jobs=1)



def test_the_iron_condor_opens_four_legs_by_delta_and_holds_them_to_expiry():
    s = IronCondor(delta=0.25, wing_delta=0.08, dte=7)
    result = run(s, account_type="margin")
    assert check_choices(s) >= 10
    days = {}
    for day, action, symbol, _ in s.log:
        if action != "close shares":  # shares an assignment left, closed before the next condor
            days.setdefault(day, []).append((action, parse_occ(symbol)))
    for day, legs in days.items():
        assert [a for a, _ in legs] == ["sell put", "buy put", "sell call", "buy call"], day
        (_, p_short), (_, p_wing), (_, c_short), (_, c_wing) = legs
        assert p_wing.strike < p_short.strike < c_short.strike < c_wing.strike, day
        assert len({c.expiry for _, c in legs}) == 1, day
    stats = result.broker.stats()
    assert stats["orders_rejected"] == 0 and stats["options_expired"] + stats["options_assigned"] \
        + stats["options_exercised"] + stats["options_cash_settled"] >= 4 * 10
    assert result.equity.iloc[-1] == pytest.approx(result.broker.account().equity, rel=1e-12)
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="wing_delta"):
        IronCondor(delta=0.2, wing_delta=0.3)


def test_quotes_given_after_the_bars_are_refused_by_name():
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="before the bars"):
        backtest(Wheel(), BARS, QUOTES, instruments=INSTRUMENTS)


STOP_AT = 37


class _StopsAt(PutWrite):
    """put_write that stops its run after a number of bars (the same name and rules)."""

    name = "put_write"
    stop_at = STOP_AT

    def on_start(self) -> None:
        super().on_start()
        self._bars = 0

    def on_bar(self, bar):
        super().on_bar(bar)
        self._bars += 1
        if self._bars == self.stop_at:
            self._host.stop()


def test_a_resumed_paper_run_knows_the_option_it_holds(tmp_path):
    """Found by a new user's trial: resumed, the strategies forgot the option sold before the
    stop and sold another (two puts held at once)."""
    from workbench.engine import Engine

    notes = []

    def paper(strategy, journal, resume=False):
        engine = Engine(strategy, QUOTES, BARS, instruments=INSTRUMENTS, cash=1_000_000.0, journal=journal,
                        mode="paper", speed=1e12, resume=resume)
        result = engine.run()
        notes.append(engine.resume_note)
        return result

    whole = paper(PutWrite(delta=0.3, dte=7), tmp_path / "whole.sqlite")
    first = paper(_StopsAt(delta=0.3, dte=7), tmp_path / "cut.sqlite")
    assert first.stopped_early and len(first.fills) < len(whole.fills)
    assert first.broker.stats()["options_expired"] + first.broker.stats().get("options_assigned", 0) >= 1
    resumed = paper(PutWrite(delta=0.3, dte=7), tmp_path / "cut.sqlite", resume=True)
    assert resumed.fills_csv() == whole.fills_csv()
    assert notes[-1] is None  # the warm-up retraced the journal, expiries included


def test_the_wheel_sells_calls_on_the_shares_a_partial_fill_left():
    """Found by a new user's trial: with contracts=10, a sale filled in part (4 of 10 at the
    quote's size) was assigned into 400 shares, and the wheel, waiting for 1,000, never traded
    again."""
    small = QUOTES.assign(bid_size=4.0, ask_size=4.0)
    s = Wheel(delta=0.4, dte=7, contracts=10)
    result = backtest(s, small, BARS, instruments=INSTRUMENTS, cash=1e8)
    calls = [e for e in s.log if e[1] == "sell call"]
    assert calls, "no call sold on the assigned shares"
    assert result.broker.stats()["options_assigned"] >= 1
    held = result.positions["SP500"]
    assert (held.diff().fillna(0) != 0).sum() >= 2  # the shares come and go, not stuck


def test_a_margin_account_writes_covered_calls_without_margin():
    """Found by a new user's trial: a margin account whose margin was used up refused every
    covered call (a covered call needs no margin)."""
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar, Quote
    from workbench.options import OptionContract

    call = OptionContract("SP500", dt.date(2026, 12, 18), 480.0, "call").symbol
    t0 = pd.Timestamp("2026-12-01", tz="UTC")
    b = SimulatedBroker(cash=30_000.0, instruments=["SP500", *option_instruments_for([call])], account_type="margin")
    b.on_bar(Bar(t0, "SP500", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.place_order("SP500", "buy", 100).accepted  # 46,000 on 30,000: margin used up
    b.on_bar(Bar(t0 + pd.Timedelta(minutes=1), "SP500", 460.0, 461.0, 459.0, 460.0, 1e7))
    b.on_quote(Quote(t0 + pd.Timedelta(minutes=1), call, 1.40, 1.50, 50.0, 50.0))
    assert b.place_order(call, "sell", 1).accepted  # covered by the 100 shares
    assert not b.place_order(call, "sell", 1).accepted  # a second one is naked: its Reg-T margin is not there


def option_instruments_for(symbols):
    from workbench.options import option_instruments

    return option_instruments(symbols)


def test_a_long_dte_gets_expiries_far_enough():
    quotes, _ = option_frames(BARS.iloc[-60:], dte=40)
    days = [(parse_occ(s).expiry - t.date()).days for t, s in zip(quotes.index, quotes["symbol"])]
    first_day = quotes.index[0]
    assert max(d for (t, d) in zip(quotes.index, days) if t == first_day) >= 40
    later, _ = option_frames(BARS, start="2018-10-01")
    assert later.index[0] >= pd.Timestamp("2018-10-01", tz="UTC")


def test_the_command_line_shows_refusals_and_gives_the_option_figures_in_json(tmp_path):
    import json
    import subprocess
    import sys

    poor = subprocess.run([sys.executable, "-m", "workbench", "backtest", "wheel", "--data", "sp500", "--cash", "50000",
                           "--start", "2018-09-01"], capture_output=True, text=True, timeout=300)
    assert poor.returncode == 0, poor.stderr
    line = next(x for x in poor.stdout.splitlines() if "orders / fills" in x)
    assert "0 / 0" in line and "rejected (UNCOVERED_OPTION" in line  # why nothing traded
    rich = subprocess.run([sys.executable, "-m", "workbench", "backtest", "wheel", "--data", "sp500", "--start",
                           "2018-09-01", "--json", "--out", str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=300)
    options = json.loads(rich.stdout)["options"]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["options"] == options  # the file has them too
    assert options["contracts_sold"] > 0 and options["premium"] > 0
    assert set(options["pnl_parts"]) == {"delta", "gamma", "theta", "vega", "residual", "total"}
    assert "rejections" not in json.loads(rich.stdout)
    poor_json = subprocess.run([sys.executable, "-m", "workbench", "backtest", "wheel", "--data", "sp500", "--cash",
                                "50000", "--start", "2018-09-01", "--json"], capture_output=True, text=True, timeout=300)
    assert json.loads(poor_json.stdout)["rejections"]["UNCOVERED_OPTION"] > 0
    condor = subprocess.run([sys.executable, "-m", "workbench", "backtest", "iron_condor", "--data", "sp500", "--start",
                             "2018-09-01"], capture_output=True, text=True, timeout=300)
    assert condor.returncode == 2 and "--account margin" in condor.stderr


def test_an_option_strategy_without_options_is_refused_saying_what_it_needs():
    from workbench.engine import backtest
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="wheel trades options: give the underlying's chain"):
        backtest(Wheel(), BARS.iloc[-30:])



def test_a_run_stopped_on_an_expiry_days_last_bar_resumes_without_a_note(tmp_path):
    """Found by a review: options expiring on the last day of a run stopped on its last bar
    were settled by the warm-up before the comparison, by the journal's broker only after it:
    a false note. Now both are compared past that close: the same fills, no note."""
    from workbench.engine import Engine
    from workbench.feed import synthetic_bars

    times = [t for t in pd.date_range("2024-02-26 14:30", "2024-03-08 20:30", freq="30min", tz="UTC")
             if t.dayofweek < 5 and 14 * 60 + 30 <= t.hour * 60 + t.minute <= 20 * 60 + 30]
    bars = synthetic_bars(["SPY"], periods=len(times), seed=3)
    bars.index = pd.DatetimeIndex(times, name=bars.index.name)
    quotes, instruments = option_frames(bars, seed=3)

    def run(journal, stop_at=0, resume=False):
        s = _StopsAt(delta=0.3, dte=7)
        s.stop_at = stop_at
        engine = Engine(s, quotes, bars, mode="paper", speed=1e12, journal=journal, resume=resume,
                        instruments=instruments, commission="ibkr-options", session="XNYS")
        result = engine.run()
        engine.broker.close()
        return engine, result

    _, whole = run(tmp_path / "whole.sqlite")
    assert (whole.fills["order_id"].str.startswith("E") & (whole.fills["time"] >= times[-1].normalize())).any()
    run(tmp_path / "cut.sqlite", stop_at=len(bars))
    engine, resumed = run(tmp_path / "cut.sqlite", resume=True)
    assert resumed.fills_csv() == whole.fills_csv() and engine.resume_note is None
