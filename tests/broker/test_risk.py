"""The pre-trade checks one by one: each rejects with its reason code just past its edge and
passes at the edge; first_problem runs them in the order the module docstring lists."""

import math
import re
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.broker import risk
from workbench.broker.account import AccountType
from workbench.broker.costs import CommissionModel, NoCommission
from workbench.broker.orders import RejectReason
from workbench.broker.risk import OrderTicket, Rejection, RiskLimits
from workbench.model import Instrument, OrderType, Side

R = RejectReason
BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT, STOP, STOP_LIMIT = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT


def reason(problem):
    return None if problem is None else problem.reason


@dataclass(frozen=True)
class OneDollar(CommissionModel):
    """1.00 an order, whatever its size."""

    def commission(self, order, quantity, price):
        return 1.0


def never():
    raise AssertionError("called although the check does not need it")


def test_a_rejection_is_a_named_reason_and_message():
    problem = risk.check_kill_switch(True)
    assert isinstance(problem, Rejection) and problem
    assert problem.reason is R.KILL_SWITCH and problem.message == "the kill switch is on; reset it to trade"
    assert tuple(problem) == (R.KILL_SWITCH, problem.message)


def test_kill_switch():
    assert reason(risk.check_kill_switch(True)) is R.KILL_SWITCH
    assert risk.check_kill_switch(False) is None


@pytest.mark.parametrize("quantity", [0.0, -1.0, math.nan, math.inf, -math.inf])
def test_quantity_rejected(quantity):
    assert reason(risk.check_quantity(quantity)) is R.INVALID_QUANTITY


def test_quantity_edge_passes():
    assert risk.check_quantity(1e-12) is None
    assert risk.check_quantity(risk.MAX_QUANTITY) is None
    assert reason(risk.check_quantity(risk.MAX_QUANTITY * 1.000001)) is R.INVALID_QUANTITY
    assert reason(risk.check_quantity(1e300)) is R.INVALID_QUANTITY


def test_huge_and_sub_tick_prices_are_rejected_not_raised():
    inst = Instrument("X", tick_size=0.01)
    assert reason(risk.check_prices(1e308, None)) is R.INVALID_PRICE
    assert risk.check_prices(risk.MAX_PRICE, None) is None
    assert reason(risk.check_ticks_and_lots(1.0, 1e-9, None, inst)) is R.OFF_TICK  # below one tick
    assert reason(risk.check_ticks_and_lots(1.0, 0.004, None, inst)) is R.OFF_TICK
    assert risk.check_ticks_and_lots(1.0, 0.01, None, inst) is None
    assert not risk.on_grid(math.inf, 0.01) and not risk.on_grid(1e308, 1e-300)


@pytest.mark.parametrize("limit, stop, name", [
    (0.0, None, "limit_price"), (-1.0, None, "limit_price"), (math.nan, None, "limit_price"),
    (None, math.inf, "stop_price"), (None, 0.0, "stop_price"), (math.nan, 0.0, "limit_price"),
])
def test_prices_rejected(limit, stop, name):
    problem = risk.check_prices(limit, stop)
    assert reason(problem) is R.INVALID_PRICE and problem.message.startswith(name)


def test_prices_edge_passes():
    assert risk.check_prices(None, None) is None
    assert risk.check_prices(1e-12, 1e-12) is None


@pytest.mark.parametrize("kind, limit, stop, code, word", [
    (LIMIT, None, None, R.MISSING_PRICE, "limit_price"),
    (STOP_LIMIT, None, 10.0, R.MISSING_PRICE, "limit_price"),
    (STOP, None, None, R.MISSING_PRICE, "stop_price"),
    (STOP_LIMIT, 10.0, None, R.MISSING_PRICE, "stop_price"),
    (MARKET, 10.0, None, R.UNEXPECTED_PRICE, "limit_price"),
    (STOP, 10.0, 10.0, R.UNEXPECTED_PRICE, "limit_price"),
    (MARKET, None, 10.0, R.UNEXPECTED_PRICE, "stop_price"),
    (LIMIT, 10.0, 10.0, R.UNEXPECTED_PRICE, "stop_price"),
])
def test_order_type_needs_its_prices_only(kind, limit, stop, code, word):
    problem = risk.check_order_type(kind, limit, stop)
    assert reason(problem) is code and problem.message.endswith(word)


@pytest.mark.parametrize("kind, limit, stop", [
    (MARKET, None, None), (LIMIT, 10.0, None), (STOP, None, 10.0), (STOP_LIMIT, 10.0, 10.0),
])
def test_order_type_with_its_prices_passes(kind, limit, stop):
    assert risk.check_order_type(kind, limit, stop) is None


def test_symbol():
    instruments = {"Y": Instrument("Y"), "X": Instrument("X")}
    problem = risk.check_symbol("Q", instruments)
    assert reason(problem) is R.UNKNOWN_SYMBOL and problem.message == "unknown symbol 'Q'; known: X, Y"
    assert risk.check_symbol("Q", {}).message.endswith("known: none")
    assert risk.check_symbol("X", instruments) is None


def test_allowed_symbol():
    assert reason(risk.check_allowed_symbol("Y", ("X",))) is R.SYMBOL_NOT_ALLOWED
    assert risk.check_allowed_symbol("X", ("X",)) is None
    assert risk.check_allowed_symbol("Y", None) is None  # no list: every symbol


def test_ticks_and_lots():
    inst = Instrument("X", tick_size=0.05, lot_size=10)
    assert risk.check_ticks_and_lots(20.0, 100.05, 99.95, inst) is None
    assert reason(risk.check_ticks_and_lots(20.0, 100.02, None, inst)) is R.OFF_TICK
    problem = risk.check_ticks_and_lots(20.0, 100.05, 99.97, inst)
    assert reason(problem) is R.OFF_TICK and problem.message.startswith("stop_price 99.97")
    assert reason(risk.check_ticks_and_lots(15.0, None, None, inst)) is R.OFF_LOT
    assert reason(risk.check_ticks_and_lots(15.0, 100.02, None, inst)) is R.OFF_TICK  # prices first


def test_market_data():
    assert reason(risk.check_market_data("X", MARKET, None)) is R.NO_MARKET_DATA
    assert risk.check_market_data("X", MARKET, 100.0) is None


def test_reference_price():
    assert risk.reference_price(LIMIT, BUY, 99.0, None, 100.0) == 99.0
    assert risk.reference_price(STOP_LIMIT, SELL, 99.0, 98.0, None) == 99.0
    assert risk.reference_price(STOP, BUY, None, 101.0, 100.0) == 101.0
    assert risk.reference_price(STOP, BUY, None, 101.0, 102.0) == 102.0  # the last price beyond the stop
    assert risk.reference_price(STOP, SELL, None, 99.0, 98.0) == 98.0
    assert risk.reference_price(STOP, SELL, None, 99.0, None) == 99.0
    assert risk.reference_price(MARKET, BUY, None, None, 100.0) == 100.0
    assert risk.reference_price(MARKET, BUY, None, None, None) is None


def test_on_grid():
    assert risk.on_grid(100.05, 0.05) and risk.on_grid(0.3, 0.1) and not risk.on_grid(100.02, 0.05)


def test_open_orders():
    assert reason(risk.check_open_orders(5, 5)) is R.MAX_OPEN_ORDERS
    assert risk.check_open_orders(4, 5) is None
    assert risk.check_open_orders(10**6, None) is None


def test_order_quantity():
    assert reason(risk.check_order_quantity(100.5, 100)) is R.MAX_ORDER_QUANTITY
    assert risk.check_order_quantity(100.0, 100) is None
    assert risk.check_order_quantity(1e12, None) is None


def test_notional():
    problem = risk.check_notional(10.0, 100.0, 999.99)
    assert reason(problem) is R.MAX_ORDER_NOTIONAL
    assert problem.message == "notional 1,000.00 is above the limit 999.99"
    assert risk.check_notional(10.0, 100.0, 1000.0) is None
    assert risk.check_notional(1e9, 1e9, None) is None


def test_position_counts_working_orders_on_the_same_side():
    # 50 held and 30 working buys: 20 more reach the limit of 100, 21 pass it
    assert risk.check_position("X", BUY, 20.0, 50.0, 30.0, 100) is None
    assert reason(risk.check_position("X", BUY, 21.0, 50.0, 30.0, 100)) is R.MAX_POSITION
    # short side: -50 held and 30 working sells
    assert risk.check_position("X", SELL, 20.0, -50.0, 30.0, 100) is None
    problem = risk.check_position("X", SELL, 21.0, -50.0, 30.0, 100)
    assert reason(problem) is R.MAX_POSITION and problem.message == "position could reach -101 X; the limit is 100"
    assert risk.check_position("X", BUY, 1e9, 0.0, 0.0, None) is None


def test_collar():
    assert risk.check_collar("X", 105.0, 100.0, 0.05) is None  # exactly 5 % away
    assert reason(risk.check_collar("X", 105.01, 100.0, 0.05)) is R.PRICE_COLLAR
    assert reason(risk.check_collar("X", 94.99, 100.0, 0.05)) is R.PRICE_COLLAR
    assert reason(risk.check_collar("X", 100.0, None, 0.05)) is R.NO_MARKET_DATA
    assert risk.check_collar("X", None, None, 0.05) is None  # no limit price: nothing to collar
    assert risk.check_collar("X", 500.0, 100.0, None) is None


def test_cash_sell_counts_working_sells():
    assert risk.check_cash_sell("X", 60.0, 100.0, 40.0) is None
    problem = risk.check_cash_sell("X", 61.0, 100.0, 40.0)
    assert reason(problem) is R.SHORT_NEEDS_MARGIN
    assert problem.message == "selling 61 X with 60 available; shorting needs a margin account"


def test_cash_buy_pays_the_commission_too():
    assert risk.check_cash_buy("X", 10.0, 100.0, 1000.0, NoCommission()) is None
    assert reason(risk.check_cash_buy("X", 10.0, 100.0, 999.99, NoCommission())) is R.INSUFFICIENT_BUYING_POWER
    assert risk.check_cash_buy("X", 10.0, 100.0, 1001.0, OneDollar()) is None
    problem = risk.check_cash_buy("X", 10.0, 100.0, 1000.99, OneDollar())
    assert reason(problem) is R.INSUFFICIENT_BUYING_POWER
    assert problem.message == "needs 1,001.00; 1,000.99 cash is free after open orders"


def test_margin_needs_initial_margin_only_for_what_grows_the_position():
    assert risk.check_margin("X", BUY, 10.0, 100.0, 0.0, 0.0, 500.0) is None  # 50 % of 1,000
    problem = risk.check_margin("X", BUY, 10.0, 100.0, 0.0, 0.0, 499.99)
    assert reason(problem) is R.INSUFFICIENT_BUYING_POWER
    assert problem.message == "needs 500.00 initial margin; 499.99 is free after open orders"
    assert risk.check_margin("X", SELL, 10.0, 100.0, 10.0, 0.0, 0.0) is None  # closing needs none
    # 10 long to 15 short: the absolute position grows by 5 (250 of margin)
    assert risk.check_margin("X", SELL, 25.0, 100.0, 10.0, 0.0, 250.0) is None
    assert reason(risk.check_margin("X", SELL, 25.0, 100.0, 10.0, 0.0, 249.0)) is R.INSUFFICIENT_BUYING_POWER
    # 10 bought by working orders already: the next 10 grow the position
    assert reason(risk.check_margin("X", SELL, 10.0, 100.0, 10.0, 10.0, 0.0)) is R.INSUFFICIENT_BUYING_POWER
    assert risk.check_margin("X", SELL, 10.0, 100.0, 10.0, 10.0, 500.0) is None
    assert risk.check_margin("X", BUY, 1.0, 100.0, 0.0, 0.0, -10.0).message.endswith(
        "0.00 is free after open orders")  # negative free margin shown as 0


def test_funds_asks_only_for_the_money_it_needs():
    cost = NoCommission()
    for cash in (AccountType.CASH, "cash"):
        assert reason(risk.check_funds("X", SELL, 1.0, 100.0, 0.0, 0.0, cash, cost, never, never)) \
            is R.SHORT_NEEDS_MARGIN
        assert risk.check_funds("X", BUY, 1.0, 100.0, 0.0, 0.0, cash, cost, lambda: 100.0, never) is None
        assert reason(risk.check_funds("X", BUY, 1.0, 100.0, 0.0, 0.0, cash, cost, lambda: 99.0, never)) \
            is R.INSUFFICIENT_BUYING_POWER
    for margin in (AccountType.MARGIN, "margin"):
        assert risk.check_funds("X", SELL, 1.0, 100.0, 0.0, 0.0, margin, cost, never, lambda: 50.0) is None
        assert reason(risk.check_funds("X", SELL, 1.0, 100.0, 0.0, 0.0, margin, cost, never, lambda: 49.0)) \
            is R.INSUFFICIENT_BUYING_POWER


# --- first_problem -------------------------------------------------------------------------


def _documented_order():
    """The check names of the module docstring's table, top to bottom."""
    names = re.findall(r"^(check_\w+)\s", risk.__doc__, flags=re.MULTILINE)
    assert names and len(names) == len(set(names))
    return names


LIMIT_CHECKS = ("check_allowed_symbol", "check_open_orders", "check_order_quantity", "check_notional",
                "check_position", "check_collar")


@pytest.mark.parametrize("limits", [RiskLimits(max_open_orders=5), RiskLimits()])
def test_first_problem_runs_the_documented_checks_in_order(monkeypatch, limits):
    # with no limit on, the limits' checks (which would each pass) are not called
    called = []
    for name in _documented_order():
        monkeypatch.setattr(risk, name, lambda *a, _name=name: called.append(_name))
    ticket = OrderTicket("X", BUY, MARKET, 10.0, None, None)
    problem = risk.first_problem(
        ticket, limits=limits, instruments={"X": Instrument("X")}, killed=False, last=100.0, open_orders=0,
        position=0.0, pending=0.0, account_type=AccountType.CASH, commission=NoCommission(),
        free_cash=lambda: 1e6, free_margin=never)
    assert problem is None
    assert called == [n for n in _documented_order() if limits != RiskLimits() or n not in LIMIT_CHECKS]


@pytest.mark.parametrize("name, value", [("max_order_quantity", 5.0), ("max_order_notional", 5.0), ("max_position", 5.0),
                                         ("price_collar", 0.1), ("allowed_symbols", ["X"]), ("max_open_orders", 5)])
def test_any_limit_on_turns_the_limit_checks_on(name, value):
    # first_problem skips the limits' checks on RiskLimits()._limited; each limit alone sets it,
    # however the limits are made
    import dataclasses
    import pickle

    assert not RiskLimits()._limited and not RiskLimits.from_dict({})._limited
    one = RiskLimits(**{name: value})
    assert one._limited and RiskLimits.from_dict({name: value})._limited
    assert dataclasses.replace(RiskLimits(), **{name: value})._limited
    assert not dataclasses.replace(one, **{name: None})._limited
    assert pickle.loads(pickle.dumps(one))._limited
    assert "_limited" not in repr(one) and "_limited" not in one.to_dict() and one == RiskLimits(**{name: value})


def test_first_problem_returns_the_first_broken_check():
    """An order that breaks every check; mend them one by one in the documented order and
    the reason moves on to the next."""
    limits = dict(allowed_symbols=("X",), max_open_orders=3, max_order_quantity=50, max_order_notional=4000,
                  max_position=60, price_collar=0.05)
    state = dict(killed=True, quantity=math.nan, limit=-1.0, kind=MARKET, symbol="Q", tick=0.05, last=None,
                 open_orders=3, position=30.0, free_cash=1.0)
    mends = [
        (R.KILL_SWITCH, dict(killed=False)),
        (R.INVALID_QUANTITY, dict(quantity=55.0)),
        (R.INVALID_PRICE, dict(limit=90.02)),
        (R.UNEXPECTED_PRICE, dict(kind=LIMIT)),
        (R.UNKNOWN_SYMBOL, dict(symbol="Y")),
        (R.SYMBOL_NOT_ALLOWED, dict(symbol="X")),
        (R.OFF_TICK, dict(tick=0.01)),
        (R.MAX_OPEN_ORDERS, dict(open_orders=2)),
        (R.MAX_ORDER_QUANTITY, dict(quantity=45.0)),
        (R.MAX_ORDER_NOTIONAL, dict(quantity=40.0)),
        (R.MAX_POSITION, dict(position=20.0)),
        (R.NO_MARKET_DATA, dict(last=100.0)),  # the collar needs a last price
        (R.PRICE_COLLAR, dict(limit=96.0)),
        (R.INSUFFICIENT_BUYING_POWER, dict(free_cash=3840.0)),
        (None, {}),
    ]

    def first(s):
        instruments = {"X": Instrument("X", tick_size=s["tick"]), "Y": Instrument("Y", tick_size=s["tick"])}
        ticket = OrderTicket(s["symbol"], BUY, s["kind"], s["quantity"], s["limit"], None)
        return risk.first_problem(
            ticket, limits=RiskLimits(**limits), instruments=instruments, killed=s["killed"], last=s["last"],
            open_orders=s["open_orders"], position=s["position"], pending=0.0, account_type="cash",
            commission=NoCommission(), free_cash=lambda: s["free_cash"], free_margin=never)

    for code, mend in mends:
        assert reason(first(state)) is code, (code, state)
        state.update(mend)


def test_first_problem_checks_a_stop_against_a_reference_price():
    ticket = OrderTicket("X", BUY, STOP, 10.0, None, 101.0)
    common = dict(limits=RiskLimits(max_order_notional=1015.0), instruments={"X": Instrument("X")}, killed=False,
                  open_orders=0, position=0.0, pending=0.0, account_type="cash", commission=NoCommission(),
                  free_cash=lambda: 1e6, free_margin=never)
    assert risk.first_problem(ticket, last=None, **common) is None  # the stop price is its reference
    assert risk.first_problem(ticket, last=101.5, **common) is None
    assert reason(risk.first_problem(ticket, last=101.6, **common)) is R.MAX_ORDER_NOTIONAL  # beyond the stop
    market = OrderTicket("X", BUY, MARKET, 10.0, None, None)
    assert reason(risk.first_problem(market, last=None, **common)) is R.NO_MARKET_DATA


def _on_grid_by_round(value, step):
    """on_grid as it was written first (round() to the nearest whole number of steps)."""
    ratio = value / step
    if not math.isfinite(ratio):
        return False
    whole = round(ratio)
    return whole >= 1 and abs(ratio - whole) <= 1e-6


_GRID_EDGES = [0.0, -0.0, 0.5, 0.49999999999999994, 0.5000000000000001, 1.0, 1 - 1e-6, 1 + 1e-6, 1 - 1.1e-6,
               1 + 1.1e-6, 2.5, 3.5, 2**52 + 0.5, 2**52 + 1.0, 2**53 + 2.0, 1e300, -1.0, -0.5, -1e-20, 1e-6, 1e-300]


@given(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(_GRID_EDGES),
       st.floats(min_value=1e-12, max_value=1e6) | st.sampled_from([1.0, 0.01, 0.05, 0.1, 100.0, -1.0, 3.0]))
@settings(max_examples=3000, deadline=None)
def test_on_grid_answers_as_round_did(value, step):
    assert risk.on_grid(value, step) == _on_grid_by_round(value, step)
    near = value + step * 1e-6 if math.isfinite(value) else value  # the tolerance's edge
    assert risk.on_grid(near, step) == _on_grid_by_round(near, step)


@pytest.mark.parametrize("ratio", _GRID_EDGES + [k + d for k in (1, 7, 100, 12345) for d in
                                                 (-1e-6, -9.99999e-7, 0.0, 9.99999e-7, 1e-6, 1.000001e-6)])
def test_on_grid_at_its_edges(ratio):
    assert risk.on_grid(ratio, 1.0) == _on_grid_by_round(ratio, 1.0)
    assert risk.on_grid(np.float64(ratio), 1.0) == _on_grid_by_round(np.float64(ratio), 1.0)
