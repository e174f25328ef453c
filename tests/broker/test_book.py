"""The open-order book's running totals (workbench/broker/book.py) against the working orders
they sum, as fills, partial fills and cancels change them."""

import pytest

from workbench.broker import SimulatedBroker
from workbench.broker.book import BUY, SELL
from workbench.model import Side

from .conftest import bar


def totals(b, symbol):
    """(units per side, market units per side, limit money per side) from the orders themselves."""
    qty, at_last, fixed = [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]
    for o in b.open_orders(symbol):
        i = BUY if o.side is Side.BUY else SELL
        qty[i] += o.remaining
        if o.type.value == "market":
            at_last[i] += o.remaining
        elif o.limit_price is not None:
            fixed[i] += o.remaining * o.limit_price
    return qty, at_last, fixed


def book_totals(b, symbol):
    book = b._open._books.get(symbol)
    return ([0.0, 0.0], [0.0, 0.0], [0.0, 0.0]) if book is None else (book.qty, book.at_last, book.fixed)


def flat(t):
    return [x for part in t for x in part]


@pytest.mark.parametrize("participation", [None, 0.0003])
def test_a_fill_takes_its_order_out_of_the_totals_while_others_work(participation):
    # a market buy fills (at once, or 300 units a bar) beside a limit buy and a limit sell that
    # keep working: the totals are those of the orders left, whatever filled before
    b = SimulatedBroker(cash=1_000_000, instruments=["X"], participation=participation)
    b.on_bar(bar(0, 100, 101, 99, 100))
    assert b.place_order("X", "buy", 500.0).accepted
    assert b.place_order("X", "buy", 70.0, "limit", limit_price=50.0, tif="gtc").accepted
    assert b.place_order("X", "buy", 30.0, "limit", limit_price=60.0, tif="gtc").accepted
    for day in range(1, 4):
        b.on_bar(bar(day, 100, 101, 99, 100, v=1_000_000.0))
        assert flat(book_totals(b, "X")) == pytest.approx(flat(totals(b, "X")), abs=1e-9)
        assert b.working("X") == pytest.approx(totals(b, "X")[0][BUY])
    assert b.position("X") == 500.0 and b.working("X") == 100.0
    assert book_totals(b, "X") == ([100.0, 0.0], [0.0, 0.0], [70 * 50.0 + 30 * 60.0, 0.0])
    b.cancel_order(b.open_orders("X")[0].id)
    assert book_totals(b, "X") == ([30.0, 0.0], [0.0, 0.0], [30 * 60.0, 0.0])
    b.on_bar(bar(4, 60, 61, 59, 60))  # the last limit fills: no order, no totals left
    assert "X" not in b._open._books and b.working("X") == 0.0
