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
