"""Cost models against hand-computed figures, and the account's P&L arithmetic."""

import math

import pytest

from workbench.broker import (
    CommissionModel,
    FixedBps,
    NoCommission,
    Percentage,
    PerShare,
    SimulatedBroker,
    SpreadFraction,
    SquareRootImpact,
    commission_from,
    slippage_from,
)
from workbench.broker.account import Account, AccountType
from workbench.errors import ConfigError
from workbench.model import Order, OrderStatus, OrderType, Side, TimeInForce

from .conftest import bar, quote


def order(filled=0.0, avg=0.0, commission=0.0):
    return Order("O1", "X", Side.BUY, OrderType.MARKET, 1e6, None, None, TimeInForce.DAY,
                 OrderStatus.ACCEPTED, filled_quantity=filled, avg_fill_price=avg, commission=commission)


@pytest.mark.parametrize(
    "shares, price, expected",
    [
        (100, 50.0, 1.00),  # 0.50 by the share, raised to the 1.00 minimum
        (1000, 50.0, 5.00),  # 0.005 x 1000
        (100, 0.5, 0.50),  # 1 % of 50.00 caps the 1.00 minimum
        (10_000, 0.2, 20.0),  # 50.00 by the share, capped at 1 % of 2,000
    ],
)
def test_ibkr_fixed_per_share(shares, price, expected):
    assert PerShare().commission(order(), shares, price) == pytest.approx(expected)


def test_per_share_partial_fills_add_up_to_the_order_total():
    m = PerShare()
    first = m.commission(order(), 100, 50.0)  # minimum 1.00
    second = m.commission(order(100, 50.0, first), 900, 50.0)  # total 5.00 for 1000 shares
    assert (first, first + second) == (pytest.approx(1.0), pytest.approx(5.0))


def test_percentage_and_slippage_models():
    assert Percentage(bps=10).commission(order(), 100, 50.0) == pytest.approx(5.0)
    assert NoCommission().commission(order(), 100, 50.0) == 0.0
    b = bar(1, 100, 101, 99, 100, v=10_000)
    assert FixedBps(10).price(Side.BUY, 100.0, 1, b) == pytest.approx(100.1)
    assert FixedBps(10).price(Side.SELL, 100.0, 1, b) == pytest.approx(99.9)
    q = quote(0, 99.9, 100.1)
    assert SpreadFraction(0.5).price(Side.BUY, 100.1, 1, q) == pytest.approx(100.2)
    assert SpreadFraction(0.5, bar_spread_bps=20).price(Side.SELL, 100.0, 1, b) == pytest.approx(99.9)
    # 0.5 x 0.02 x sqrt(100 / 10,000) = 0.001
    assert SquareRootImpact(k=0.5, sigma=0.02).price(Side.BUY, 100.0, 100, b) == pytest.approx(100.1)


def test_models_from_text_and_dicts():
    assert commission_from("ibkr-fixed") == PerShare()
    assert commission_from("bps:2.5") == Percentage(2.5)
    assert commission_from({"model": "per_share", "rate": 0.01}) == PerShare(rate=0.01)
    assert slippage_from("bps:5") == FixedBps(5)
    assert slippage_from(None).price(Side.BUY, 1.0, 1, None) == 1.0
    for bad in ("flat", "bps:-1", "bps:x", {"model": "nope"}, {"model": "per_share", "fee": 1}):
        with pytest.raises(ConfigError):
            commission_from(bad)
    with pytest.raises(ConfigError, match="rate"):
        PerShare(rate=float("nan"))


def test_a_notebook_model_plugs_in():
    class HalfPenny(CommissionModel):
        def commission(self, order, quantity, price):
            return 0.005 * quantity

    b = SimulatedBroker(cash=100_000, instruments=["X"], commission=HalfPenny())
    b.on_bar(bar(0, 100, 101, 99, 100))
    b.place_order("X", "buy", 200)
    (fill,) = b.on_bar(bar(1, 100, 101, 99, 100))
    assert fill.commission == pytest.approx(1.0)
    assert b.account().cash == pytest.approx(100_000 - 200 * 100 - 1.0)


def test_average_cost_and_realized_pnl_by_hand():
    a = Account(10_000, AccountType.MARGIN)
    a.apply_fill("X", Side.BUY, 10, 100.0, 1.0)
    a.apply_fill("X", Side.BUY, 10, 110.0, 1.0)  # avg (1000 + 1100) / 20 = 105
    assert a.positions()["X"].avg_cost == pytest.approx(105.0)
    a.apply_fill("X", Side.SELL, 5, 120.0, 1.0)  # realizes 5 x 15 = 75
    p = a.positions()["X"]
    assert (p.quantity, p.avg_cost, p.realized_pnl) == (15.0, pytest.approx(105.0), pytest.approx(75.0))
    a.apply_fill("X", Side.SELL, 25, 100.0, 1.0)  # closes 15 (-75), opens 10 short at 100
    p = a.positions()["X"]
    assert (p.quantity, p.avg_cost) == (-10.0, 100.0) and a.realized_pnl() == pytest.approx(0.0)
    a.apply_fill("X", Side.BUY, 4, 90.0, 1.0)  # short covers 4 at 90: +40
    assert a.realized_pnl() == pytest.approx(40.0)
    # cash: 10,000 - 1000 - 1100 + 600 + 2500 - 360 - 5 commissions
    assert a.cash == pytest.approx(10_000 - 1000 - 1100 + 600 + 2500 - 360 - 5)
    a.mark("X", 95.0)
    snap = a.snapshot()
    assert snap.equity == pytest.approx(a.cash - 6 * 95.0)
    assert snap.unrealized_pnl == pytest.approx(-6 * (95.0 - 100.0))
    assert snap.commissions == 5.0


def test_buying_power_cash_and_reg_t():
    cash = Account(10_000, AccountType.CASH)
    assert cash.buying_power() == 10_000
    margin = Account(10_000, AccountType.MARGIN)
    assert margin.buying_power() == 20_000
    margin.apply_fill("X", Side.BUY, 100, 100.0, 0.0)  # 10,000 long: equity 10,000, 5,000 used
    assert margin.buying_power() == pytest.approx(10_000)
    margin.apply_fill("Y", Side.SELL, 50, 100.0, 0.0)  # 5,000 short more: 7,500 used
    assert margin.buying_power() == pytest.approx(5_000)


def test_account_rejects_bad_cash():
    for bad in (-1, math.nan, math.inf, "100"):
        with pytest.raises(ValueError):
            Account(bad)
