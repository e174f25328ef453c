"""Bad orders and risk limits: a reason code each, and nothing changes."""

import math

import pytest

from workbench.broker import OrderRejected, RejectReason, RiskLimits, SimulatedBroker
from workbench.errors import ConfigError
from workbench.model import Instrument

from .conftest import bar

R = RejectReason


def snapshot(b):
    return b.state(), b.account(), b.open_orders(), len(b.fills())


def make(**kw):
    instruments = kw.pop("instruments", [Instrument("X", tick_size=0.05, lot_size=10), "Y"])
    b = SimulatedBroker(cash=kw.pop("cash", 100_000), instruments=instruments, **kw)
    b.on_bar(bar(0, 100, 101, 99, 100))
    b.on_bar(bar(0, 50, 51, 49, 50, symbol="Y"))
    return b


BAD = [
    (dict(quantity=math.nan), R.INVALID_QUANTITY),
    (dict(quantity=math.inf), R.INVALID_QUANTITY),
    (dict(quantity=0), R.INVALID_QUANTITY),
    (dict(quantity=-10), R.INVALID_QUANTITY),
    (dict(type="limit"), R.MISSING_PRICE),
    (dict(type="stop"), R.MISSING_PRICE),
    (dict(type="stop_limit", limit_price=100.0), R.MISSING_PRICE),
    (dict(type="limit", limit_price=math.nan), R.INVALID_PRICE),
    (dict(type="limit", limit_price=-1.0), R.INVALID_PRICE),
    (dict(type="limit", limit_price=0.0), R.INVALID_PRICE),
    (dict(type="stop", stop_price=math.inf), R.INVALID_PRICE),
    (dict(limit_price=100.0), R.UNEXPECTED_PRICE),
    (dict(symbol="ZZZ"), R.UNKNOWN_SYMBOL),
    (dict(type="limit", limit_price=100.02), R.OFF_TICK),
    (dict(quantity=15), R.OFF_LOT),
    (dict(quantity=10_000), R.INSUFFICIENT_BUYING_POWER),
    (dict(side="sell"), R.SHORT_NEEDS_MARGIN),
]


@pytest.mark.parametrize("changes, reason", BAD, ids=[f"{r.value}-{i}" for i, (_, r) in enumerate(BAD)])
def test_bad_orders_are_rejected_and_change_nothing(changes, reason):
    b = make()
    b.place_order("X", "buy", 10, "limit", limit_price=90.0, tif="gtc").raise_for_rejection()
    before = snapshot(b)
    args = dict(symbol="X", side="buy", quantity=10, type="market")
    args.update(changes)
    reply = b.place_order(**args)
    assert not reply.accepted and reply.reason is reason and reply.order_id is None
    assert reply.message
    assert snapshot(b) == before
    assert b.stats()[f"rejected_{reason.value}"] == 1
    with pytest.raises(OrderRejected, match=reason.value):
        reply.raise_for_rejection()


@pytest.mark.parametrize(
    "call, error",
    [
        (dict(quantity="10"), TypeError),
        (dict(quantity=True), TypeError),
        (dict(quantity=None), TypeError),
        (dict(side="up"), ValueError),
        (dict(side=1), TypeError),
        (dict(type="iceberg"), ValueError),
        (dict(tif="forever"), ValueError),
        (dict(symbol=42), TypeError),
        (dict(type="limit", limit_price="100"), TypeError),
    ],
)
def test_wrong_types_raise_with_a_clear_message(call, error):
    b = make()
    before = snapshot(b)
    args = dict(symbol="X", side="buy", quantity=10)
    args.update(call)
    with pytest.raises(error) as info:
        b.place_order(**args)
    assert any(word in str(info.value) for word in ("quantity", "side", "type", "tif", "symbol", "limit_price"))
    assert snapshot(b) == before


LIMITS = [
    (dict(max_order_quantity=50), dict(quantity=60), R.MAX_ORDER_QUANTITY),
    (dict(max_order_notional=5_000), dict(quantity=60), R.MAX_ORDER_NOTIONAL),
    (dict(max_position=100), dict(quantity=100), R.MAX_POSITION),  # 20 working + 100 > 100
    (dict(price_collar=0.05), dict(type="limit", limit_price=94.0), R.PRICE_COLLAR),
    (dict(allowed_symbols=["Y"]), dict(), R.SYMBOL_NOT_ALLOWED),
    (dict(max_open_orders=1), dict(), R.MAX_OPEN_ORDERS),
]


@pytest.mark.parametrize("limits, order, reason", LIMITS, ids=[r.value for _, _, r in LIMITS])
def test_risk_limits(limits, order, reason):
    b = make(risk=limits, instruments=["X", "Y"])
    if reason is not R.SYMBOL_NOT_ALLOWED:
        b.place_order("X", "buy", 20, "limit", limit_price=99.0, tif="gtc").raise_for_rejection()
    before = snapshot(b)
    args = dict(symbol="X", side="buy", quantity=10)
    args.update(order)
    reply = b.place_order(**args)
    assert (reply.accepted, reply.reason) == (False, reason), reply
    assert snapshot(b) == before
    # Within the limit it goes through.
    assert b.place_order("Y", "buy", 1).accepted or reason is R.MAX_OPEN_ORDERS


def test_price_collar_allows_a_limit_close_to_the_last_price():
    b = make(risk={"price_collar": 0.05}, instruments=["X", "Y"])
    assert b.place_order("X", "buy", 10, "limit", limit_price=96.0).accepted


def test_cash_account_counts_open_buy_orders_against_cash():
    b = make(cash=10_000, instruments=["X", "Y"])
    assert b.place_order("X", "buy", 60, "limit", limit_price=100.0).accepted  # 6,000 reserved
    reply = b.place_order("X", "buy", 50)  # 5,000 more at the last price
    assert reply.reason is R.INSUFFICIENT_BUYING_POWER and "4,000.00" in reply.message


def test_margin_account_may_short_within_reg_t():
    b = make(cash=10_000, instruments=["X", "Y"], account_type="margin")
    assert b.place_order("X", "sell", 150).accepted  # 15,000 short needs 7,500 of 10,000
    assert b.place_order("X", "sell", 60).reason is R.INSUFFICIENT_BUYING_POWER


def test_market_order_without_a_price_is_rejected():
    b = SimulatedBroker(cash=1_000, instruments=["X"])
    assert b.place_order("X", "buy", 1).reason is R.NO_MARKET_DATA


def test_kill_switch_cancels_rejects_and_resets():
    b = make(instruments=["X", "Y"])
    for price in (90.0, 91.0):
        b.place_order("X", "buy", 10, "limit", limit_price=price, tif="gtc").raise_for_rejection()
    assert b.kill_switch("ops") == 2 and b.open_orders() == []
    assert all(o.status.value == "cancelled" for o in b.orders())
    before = snapshot(b)
    assert b.place_order("X", "buy", 1).reason is R.KILL_SWITCH
    assert snapshot(b) == before
    b.reset_kill_switch()
    assert b.place_order("X", "buy", 1).accepted


def test_cancel_and_replace():
    b = make(instruments=["X", "Y"])
    reply = b.place_order("X", "buy", 10, "limit", limit_price=90.0, tif="gtc")
    assert b.replace_order(reply.order_id, quantity=20, limit_price=95.0).accepted
    o = b.order(reply.order_id)
    assert (o.quantity, o.limit_price) == (20.0, 95.0)
    assert b.replace_order(reply.order_id, limit_price=-1.0).reason is R.INVALID_PRICE
    assert b.order(reply.order_id).limit_price == 95.0
    assert b.cancel_order(reply.order_id).accepted
    assert b.cancel_order(reply.order_id).reason is R.ORDER_NOT_OPEN
    assert b.cancel_order("O999").reason is R.UNKNOWN_ORDER
    assert b.replace_order("O999", quantity=1).reason is R.UNKNOWN_ORDER


def test_replace_below_the_filled_quantity_is_rejected():
    b = SimulatedBroker(cash=1_000_000, instruments=["X"], participation=0.01)
    b.on_bar(bar(0, 100, 101, 99, 100, v=1000))
    reply = b.place_order("X", "buy", 50, tif="gtc")
    b.on_bar(bar(1, 100, 101, 99, 100, v=1000))  # fills 10
    assert b.replace_order(reply.order_id, quantity=10).reason is R.INVALID_QUANTITY
    assert b.replace_order(reply.order_id, quantity=30).accepted


def test_bad_configuration_names_the_field():
    with pytest.raises(ConfigError, match="max_orders"):
        RiskLimits.from_dict({"max_orders": 3})
    with pytest.raises(ConfigError, match="max_position"):
        RiskLimits(max_position=-1)
    with pytest.raises(ConfigError, match="participation"):
        SimulatedBroker(instruments=["X"], participation=1.5)
    with pytest.raises(ConfigError, match="durability"):
        SimulatedBroker(instruments=["X"], durability="maybe")
