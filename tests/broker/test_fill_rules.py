"""Each documented fill rule, on bars and on quotes."""

import pytest

from workbench.broker import SimulatedBroker
from workbench.model import OrderStatus

from .conftest import bar, quote


def fill_of(broker, reply):
    o = broker.order(reply.order_id)
    return o.status.value, o.filled_quantity, round(o.avg_fill_price, 6)


# --- bars -----------------------------------------------------------------------------------

def test_nothing_fills_against_the_bar_it_was_decided_on(broker):
    reply = broker.place_order("X", "buy", 10)
    assert fill_of(broker, reply) == ("accepted", 0.0, 0.0)  # bar 0 already passed
    broker.on_bar(bar(1, 102, 103, 101, 102.5))
    assert fill_of(broker, reply) == ("filled", 10.0, 102.0)  # next bar's open


@pytest.mark.parametrize(
    "side, limit, next_bar, expected",
    [
        ("buy", 101.0, (100.5, 102, 97.5, 101), ("filled", 100.5)),  # opens below: at the open
        ("buy", 98.0, (100.5, 102, 97.5, 101), ("filled", 98.0)),  # trades through: at the limit
        ("buy", 97.0, (100.5, 102, 97.5, 101), ("accepted", 0.0)),  # never reached
        ("sell", 99.0, (100.5, 102, 97.5, 101), ("filled", 100.5)),  # opens above: at the open
        ("sell", 101.5, (100.5, 102, 97.5, 101), ("filled", 101.5)),  # reached: at the limit
        ("sell", 102.5, (100.5, 102, 97.5, 101), ("accepted", 0.0)),
    ],
)
def test_limit_orders_on_bars(side, limit, next_bar, expected):
    b = SimulatedBroker(cash=1_000_000, instruments=["X"], account_type="margin")
    b.on_bar(bar(0, 100, 101, 99, 100))
    reply = b.place_order("X", side, 10, "limit", limit_price=limit)
    b.on_bar(bar(1, *next_bar))
    status, _, price = fill_of(b, reply)
    assert (status, price) == expected


@pytest.mark.parametrize(
    "side, stop, next_bar, expected",
    [
        ("buy", 101.0, (100, 102, 99, 101), ("filled", 101.0)),  # triggers inside: at the stop
        ("buy", 101.0, (103, 104, 102, 103), ("filled", 103.0)),  # gaps through: at the open
        ("buy", 105.0, (100, 104, 99, 101), ("accepted", 0.0)),  # high below the stop
        ("sell", 99.0, (100, 101, 98, 99), ("filled", 99.0)),
        ("sell", 99.0, (97, 98, 96, 97), ("filled", 97.0)),  # gaps down: at the open
        ("sell", 95.0, (100, 101, 96, 99), ("accepted", 0.0)),
    ],
)
def test_stop_orders_on_bars(side, stop, next_bar, expected):
    b = SimulatedBroker(cash=1_000_000, instruments=["X"], account_type="margin")
    b.on_bar(bar(0, 100, 101, 99, 100))
    reply = b.place_order("X", side, 10, "stop", stop_price=stop)
    b.on_bar(bar(1, *next_bar))
    status, _, price = fill_of(b, reply)
    assert (status, price) == expected


def test_stop_limit_trigger_bar_and_resting_limit(broker):
    # Buy stop 101 limit 102.
    broker.on_bar(bar(0, 100, 100.5, 99, 100, symbol="Y"))
    inside = broker.place_order("X", "buy", 10, "stop_limit", limit_price=102.0, stop_price=101.0)
    gap = broker.place_order("Y", "buy", 10, "stop_limit", limit_price=102.0, stop_price=101.0)
    broker.on_bar(bar(1, 100.5, 103, 100, 102))  # triggers at 101, within the limit
    assert fill_of(broker, inside) == ("filled", 10.0, 101.0)
    # Y opens at 104, beyond the limit: triggered but not filled on that bar,
    broker.on_bar(bar(1, 104, 105, 101.5, 103, symbol="Y"))
    assert fill_of(broker, gap) == ("accepted", 0.0, 0.0) and broker.order(gap.order_id).triggered
    # then it rests as a limit: the next bar trades down through 102 and fills at the limit.
    broker.on_bar(bar(2, 103, 103.5, 101, 102, symbol="Y"))
    assert fill_of(broker, gap) == ("filled", 10.0, 102.0)


def test_sell_stop_limit_mirrors(broker):
    broker.place_order("X", "buy", 20).raise_for_rejection()
    broker.on_bar(bar(1, 100, 100, 100, 100))
    reply = broker.place_order("X", "sell", 10, "stop_limit", limit_price=98.0, stop_price=99.0)
    broker.on_bar(bar(2, 97, 98, 96, 97))  # opens below the limit: triggered, no fill
    assert fill_of(broker, reply)[0] == "accepted"
    broker.on_bar(bar(3, 97, 98.5, 96, 98))  # rests as a limit sell at 98: reached
    assert fill_of(broker, reply) == ("filled", 10.0, 98.0)


def test_volume_participation_partial_fills():
    b = SimulatedBroker(cash=1_000_000, instruments=["X"], participation=0.1)
    b.on_bar(bar(0, 100, 101, 99, 100, v=1000))
    first = b.place_order("X", "buy", 150)
    second = b.place_order("X", "buy", 50)
    b.on_bar(bar(1, 100, 101, 99, 100, v=1000))  # capacity 100 units, oldest order first
    assert fill_of(b, first) == ("partially_filled", 100.0, 100.0)
    assert fill_of(b, second) == ("accepted", 0.0, 0.0)
    b.on_bar(bar(2, 101, 101, 99, 100, v=1000))
    assert fill_of(b, first) == ("filled", 150.0, round((100 * 100 + 50 * 101) / 150, 6))
    assert fill_of(b, second) == ("filled", 50.0, 101.0)


def test_ioc_and_fok_on_bars():
    b = SimulatedBroker(cash=1_000_000, instruments=["X"], participation=0.1)
    b.on_bar(bar(0, 100, 101, 99, 100, v=1000))
    ioc = b.place_order("X", "buy", 150, tif="ioc")
    fok = b.place_order("X", "buy", 150, tif="fok")
    b.on_bar(bar(1, 100, 101, 99, 100, v=1000))
    assert fill_of(b, ioc) == ("cancelled", 100.0, 100.0)  # the rest cancelled at once
    assert fill_of(b, fok) == ("cancelled", 0.0, 0.0)  # not all at once: nothing


def test_day_orders_expire_at_the_session_close_gtc_persist(broker):
    day = broker.place_order("X", "buy", 1, "limit", limit_price=90.0)
    gtc = broker.place_order("X", "buy", 1, "limit", limit_price=90.0, tif="gtc")
    assert broker.end_session() == 1  # only the DAY order
    assert broker.order(day.order_id).status is OrderStatus.EXPIRED
    broker.on_bar(bar(1, 95, 96, 89, 95))
    assert fill_of(broker, gtc) == ("filled", 1.0, 90.0)


# --- quotes ---------------------------------------------------------------------------------

@pytest.fixture
def qbroker():
    b = SimulatedBroker(cash=1_000_000, instruments=["X"], account_type="margin")
    b.on_quote(quote(0, 99.9, 100.1, bid_size=300, ask_size=200))
    return b


def test_market_orders_take_the_quote_up_to_the_displayed_size(qbroker):
    buy = qbroker.place_order("X", "buy", 250)
    assert fill_of(qbroker, buy) == ("partially_filled", 200.0, 100.1)  # at once, at the ask
    sell = qbroker.place_order("X", "sell", 100)
    assert fill_of(qbroker, sell) == ("filled", 100.0, 99.9)  # at the bid
    qbroker.on_quote(quote(1, 100.0, 100.2, ask_size=500))
    assert fill_of(qbroker, buy) == ("filled", 250.0, round((200 * 100.1 + 50 * 100.2) / 250, 6))


def test_displayed_size_is_shared_between_orders(qbroker):
    a = qbroker.place_order("X", "buy", 150)
    b = qbroker.place_order("X", "buy", 150)
    assert fill_of(qbroker, a)[1] == 150.0 and fill_of(qbroker, b)[1] == 50.0


def test_limit_fills_when_crossed_at_the_quote(qbroker):
    reply = qbroker.place_order("X", "buy", 10, "limit", limit_price=99.95)
    assert fill_of(qbroker, reply)[0] == "accepted"  # ask 100.1 above the limit
    qbroker.on_quote(quote(1, 99.8, 99.9))
    assert fill_of(qbroker, reply) == ("filled", 10.0, 99.9)  # price improvement: the ask
    sell = qbroker.place_order("X", "sell", 10, "limit", limit_price=99.5)
    assert fill_of(qbroker, sell) == ("filled", 10.0, 99.8)  # marketable: at the bid


def test_stops_on_quotes(qbroker):
    stop = qbroker.place_order("X", "buy", 10, "stop", stop_price=100.5)
    qbroker.on_quote(quote(1, 100.2, 100.4))
    assert fill_of(qbroker, stop)[0] == "accepted"
    qbroker.on_quote(quote(2, 100.5, 100.6))
    assert fill_of(qbroker, stop) == ("filled", 10.0, 100.6)


def test_ioc_and_fok_on_quotes(qbroker):
    ioc = qbroker.place_order("X", "buy", 300, tif="ioc")
    assert fill_of(qbroker, ioc) == ("cancelled", 200.0, 100.1)
    fok = qbroker.place_order("X", "sell", 400, tif="fok")
    assert fill_of(qbroker, fok) == ("cancelled", 0.0, 0.0)
    fok2 = qbroker.place_order("X", "sell", 300, tif="fok")
    assert fill_of(qbroker, fok2) == ("filled", 300.0, 99.9)
    ioc_limit = qbroker.place_order("X", "buy", 10, "limit", limit_price=99.0, tif="ioc")
    assert fill_of(qbroker, ioc_limit) == ("cancelled", 0.0, 0.0)
