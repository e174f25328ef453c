"""place_order reads its common arguments (a member or its value, a float, no price) by a
look-up table and a type test: every argument gives the request, the reply or the error the
validating helpers give (the tables are the enums', so none can disagree with them)."""

import enum
import math

import numpy as np
import pytest

from workbench.broker import SimulatedBroker
from workbench.broker import broker as broker_module
from workbench.broker.broker import _VALUES, _enum, _number, _symbol
from workbench.model import OrderType, Side, TimeInForce

from .conftest import bar


class Other(str, enum.Enum):  # another str enum whose names and values look like the broker's
    BUY = "buy"
    buy = "BUY"
    DAY = "market"


SPELLINGS = ["buy", "sell", "BUY", "Sell", "market", "limit", "stop", "stop_limit", "MARKET", "day", "gtc",
             "ioc", "fok", "DAY", "Day", "", "x", np.str_("buy"), np.str_("day"), Other.BUY, Other.buy,
             Other.DAY, 1, 1.0, None, True, [], ["buy"], {}, b"buy", *Side, *OrderType, *TimeInForce]
NUMBERS = [100.0, 100, 0.0, -5.0, math.nan, math.inf, np.float64(100.0), np.int64(100), np.float32(1.5), True,
           False, "100", None, 10**400, [], 1e300, -0.0]


def reference(symbol, side, quantity, type, limit_price, stop_price, tif, client_id):
    """The request as the validating helpers make it (place_order before the look-ups)."""
    return {
        "symbol": _symbol(symbol),
        "side": _VALUES[_enum(Side, side, "side")],
        "type": _VALUES[_enum(OrderType, type, "type")],
        "quantity": _number(quantity, "quantity"),
        "limit_price": _number(limit_price, "limit_price", optional=True),
        "stop_price": _number(stop_price, "stop_price", optional=True),
        "tif": _VALUES[_enum(TimeInForce, tif, "tif")],
        "client_id": None if client_id is None else str(client_id),
    }


def outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the error is what is compared
        return type(exc), str(exc)


def placed(*args):
    """The request place_order journals for ``args`` (accepted or rejected), or its error."""
    b = SimulatedBroker(cash=1e9, instruments=["X"], account_type="margin")
    b.on_bar(bar(0, 100, 101, 99, 100))
    kind, value = outcome(b.place_order, *args)
    if kind != "ok":
        return kind, value
    event = list(b.events())[-1]
    request = event.payload if event.kind == "accepted" else event.payload["request"]
    return "ok", {k: (v, type(v)) for k, v in request.items()}


def expected(*args):
    kind, value = outcome(reference, *args)
    if kind != "ok":
        return kind, value
    b = SimulatedBroker(cash=1e9, instruments=["X"], account_type="margin")
    b.on_bar(bar(0, 100, 101, 99, 100))
    for k, v in value.items():  # a rejection keeps NaN and infinities as text
        if isinstance(v, float) and not math.isfinite(v):
            value[k] = repr(v)
    return "ok", {k: (v, type(v)) for k, v in value.items()}


DEFAULT = dict(symbol="X", side="buy", quantity=100.0, type="market", limit_price=None, stop_price=None, tif="day",
               client_id=None)


def args(**changes):
    a = {**DEFAULT, **changes}
    return (a["symbol"], a["side"], a["quantity"], a["type"], a["limit_price"], a["stop_price"], a["tif"],
            a["client_id"])


@pytest.mark.parametrize("value", SPELLINGS, ids=repr)
@pytest.mark.parametrize("name", ["side", "type", "tif"])
def test_each_spelling_of_an_enum_argument_reads_as_the_validating_path_reads_it(name, value):
    changes = {name: value}
    if name == "type" and value in ("limit", "stop_limit", OrderType.LIMIT, OrderType.STOP_LIMIT):
        changes["limit_price"] = 100.0
    if name == "type" and value in ("stop", "stop_limit", OrderType.STOP, OrderType.STOP_LIMIT):
        changes["stop_price"] = 100.0
    assert placed(*args(**changes)) == expected(*args(**changes))


@pytest.mark.parametrize("value", NUMBERS, ids=repr)
@pytest.mark.parametrize("name", ["quantity", "limit_price", "stop_price"])
def test_each_number_argument_reads_as_the_validating_path_reads_it(name, value):
    changes = {name: value}
    if name != "quantity":
        changes["type"] = "limit" if name == "limit_price" else "stop"
    assert placed(*args(**changes)) == expected(*args(**changes))


@pytest.mark.parametrize("value", ["X", np.str_("X"), "Y", 1, None, b"X"], ids=repr)
def test_each_symbol_argument_reads_as_the_validating_path_reads_it(value):
    assert placed(*args(symbol=value)) == expected(*args(symbol=value))


def test_the_tables_are_the_enums():
    for table, cls in ((broker_module._SIDE_VALUES, Side), (broker_module._TYPE_VALUES, OrderType),
                       (broker_module._TIF_VALUES, TimeInForce)):
        for member in cls:  # a member and its value (a str enum's member hashes as its value: one key)
            assert table[member] == table[member.value] == _VALUES[member]
            assert type(table[member]) is str
        assert set(table) == set(cls)
