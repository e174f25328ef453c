"""Instruments with a contract size (multiplier): cash, equity, P&L, the money checks and
commissions count quantity x price x multiplier; a journal keeps it; a backtest's equity
curve and round trips do too; a multiplier of 1 changes nothing (journal meta included)."""

import pytest

from workbench.broker import SimulatedBroker
from workbench.broker.costs import Percentage, PerShare
from workbench.broker.journal import read_meta
from workbench.engine import backtest
from workbench.errors import ConfigError
from workbench.feed import synthetic_bars
from workbench.model import Instrument
from workbench.strategies import SmaCross

from tests.broker.conftest import bar

ES = Instrument("ES", tick_size=0.25, multiplier=50.0)


def es_broker(**kw):
    b = SimulatedBroker(**({"cash": 1_000_000, "instruments": [ES], "account_type": "margin"} | kw))
    b.on_bar(bar(0, 4000, 4001, 3999, 4000, symbol="ES"))
    return b


def test_cash_equity_and_pnl_count_the_contract_size():
    b = es_broker()
    assert b.place_order("ES", "buy", 2).accepted
    b.on_bar(bar(1, 4000, 4012, 3998, 4010, symbol="ES"))  # fills at the open, 4000
    acct = b.account()
    assert acct.cash == 1_000_000 - 2 * 4000 * 50
    assert acct.equity == pytest.approx(1_001_000)  # marked at 4010: +10 points x 2 x 50
    pos = b.positions()["ES"]
    assert (pos.market_value, pos.unrealized_pnl, pos.multiplier) == (2 * 4010 * 50, 1000, 50)
    assert acct.unrealized_pnl == pytest.approx(1000)
    assert b.place_order("ES", "sell", 2).accepted
    b.on_bar(bar(2, 4020, 4021, 4019, 4020, symbol="ES"))
    acct = b.account()
    assert acct.realized_pnl == pytest.approx(2 * 20 * 50) and acct.cash == pytest.approx(1_002_000)


def test_the_money_check_counts_the_contract_size():
    cash = SimulatedBroker(cash=300_000, instruments=[ES])
    cash.on_bar(bar(0, 4000, 4001, 3999, 4000, symbol="ES"))
    assert cash.place_order("ES", "buy", 1).accepted  # 200,000 of 300,000
    no = cash.place_order("ES", "buy", 1)  # 200,000 more, with 100,000 free after the first
    assert not no.accepted and no.reason.value == "INSUFFICIENT_BUYING_POWER" and "200,000.00" in no.message
    plain = SimulatedBroker(cash=300_000, instruments=["ES"])  # the same order without the size: cheap
    plain.on_bar(bar(0, 4000, 4001, 3999, 4000, symbol="ES"))
    assert plain.place_order("ES", "buy", 1).accepted and plain.place_order("ES", "buy", 1).accepted
    margin = es_broker(cash=90_000)
    refused = margin.place_order("ES", "buy", 1, "limit", limit_price=4000.0)
    assert not refused.accepted and "needs 100,000.00 initial margin" in refused.message, refused  # 50 % of 200,000


def test_commissions_see_a_contracts_value():
    b = es_broker(commission=Percentage(bps=1.0))
    b.place_order("ES", "buy", 2)
    b.on_bar(bar(1, 4000, 4001, 3999, 4000, symbol="ES"))
    assert b.fills()[0].commission == pytest.approx(1e-4 * 2 * 4000 * 50)
    per = es_broker(commission=PerShare(rate=0.85, minimum=1.0))  # a per-contract charge
    per.place_order("ES", "buy", 2)
    per.on_bar(bar(1, 4000, 4001, 3999, 4000, symbol="ES"))
    assert per.fills()[0].commission == pytest.approx(1.7)


def test_a_journal_keeps_the_contract_size_and_leaves_plain_meta_as_it_was(tmp_path):
    b = es_broker(journal=tmp_path / "es.sqlite")
    b.place_order("ES", "buy", 3)
    b.on_bar(bar(1, 4000, 4012, 3998, 4010, symbol="ES"))
    before = b.account()
    b.close()
    again = SimulatedBroker.recover(tmp_path / "es.sqlite")
    assert again.multipliers == {"ES": 50.0} and again.positions()["ES"].multiplier == 50.0
    assert again.account().cash == before.cash and again.account().realized_pnl == before.realized_pnl
    again.close()
    plain = SimulatedBroker(instruments=["X"], journal=tmp_path / "x.sqlite")
    plain.close()
    assert all("multiplier" not in i for i in read_meta(tmp_path / "x.sqlite")["config"]["instruments"])


def test_a_backtest_counts_the_contract_size_in_its_curve_and_trips():
    bars = synthetic_bars(["ES"], days=300, seed=4)
    one = backtest(SmaCross(fast=5, slow=20, quantity=1), bars, account_type="margin")
    fifty = backtest(SmaCross(fast=5, slow=20, quantity=1), bars, account_type="margin",
                     instruments=[Instrument("ES", multiplier=50.0)])
    assert len(one.trades) > 3 and one.fills["price"].tolist() == fifty.fills["price"].tolist()
    assert fifty.equity.iloc[-1] == pytest.approx(fifty.broker.account().equity, rel=1e-12)
    gain_one, gain_fifty = one.equity - 1_000_000, fifty.equity - 1_000_000
    assert (gain_fifty - 50 * gain_one).abs().max() < 1e-6
    assert (fifty.trades["pnl"] - 50 * one.trades["pnl"]).abs().max() < 1e-9
    assert (fifty.trades["return"] - one.trades["return"]).abs().max() < 1e-12  # a return has no size
    with pytest.raises(ConfigError, match="not in the data: NQ"):
        backtest(SmaCross(), bars, instruments=[Instrument("NQ", multiplier=20.0)])
