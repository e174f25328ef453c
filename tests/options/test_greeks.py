"""Position greeks per position and for the account, against the numpy closed form (an
implementation other than the QuantLib one the function uses)."""

import math

import numpy as np
import pandas as pd
import pytest

from workbench.broker import SimulatedBroker
from workbench.model import Bar, Instrument, Quote
from workbench.options import OptionContract, implied_volatility, option_instruments
from workbench.options.greeks import position_greeks
from workbench.options.pricing import _closed_form

T0 = pd.Timestamp("2026-12-01", tz="UTC")
PUT = OptionContract("SPY", pd.Timestamp("2026-12-18").date(), 450.0, "put").symbol
CALL = OptionContract("SPY", pd.Timestamp("2026-12-18").date(), 480.0, "call").symbol


def account():
    b = SimulatedBroker(cash=1e6, instruments=[Instrument("SPY"), *option_instruments([PUT, CALL])])
    b.on_bar(Bar(T0, "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    b.on_quote(Quote(T0, PUT, 2.00, 2.10, 50.0, 50.0))
    b.on_quote(Quote(T0, CALL, 1.40, 1.50, 50.0, 50.0))
    assert b.place_order("SPY", "buy", 200).accepted
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=1), "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.place_order(PUT, "sell", 3).accepted and b.place_order(CALL, "sell", 2).accepted
    return b


def test_each_positions_greeks_and_the_accounts_sums():
    g = position_greeks(account()).set_index("symbol")
    assert list(g.index) == [PUT, "SPY", CALL, "account"] or set(g.index) == {PUT, CALL, "SPY", "account"}
    assert g.loc["SPY", "delta"] == 200 and g.loc["SPY", "gamma"] == 0
    for symbol, right, strike, qty in ((PUT, "put", 450.0, -3), (CALL, "call", 480.0, -2)):
        mid = g.loc[symbol, "price"]
        vol = implied_volatility(mid, 460.0, strike, 17.0, 0.03, 0.0, right)
        want = _closed_form(np.array([460.0]), np.array([strike]), np.array([17.0]), np.array([0.03]),
                            np.array([0.0]), np.array([vol]), np.array([right == "call"]))[0]
        size = qty * 100
        assert g.loc[symbol, "days"] == 17
        assert g.loc[symbol, "delta"] == pytest.approx(size * want[1], rel=1e-6)
        assert g.loc[symbol, "gamma"] == pytest.approx(size * want[2], rel=1e-6)
        assert g.loc[symbol, "vega"] == pytest.approx(size * want[3], rel=1e-6)
        assert g.loc[symbol, "theta"] == pytest.approx(size * want[4], rel=1e-6)
        assert g.loc[symbol, "delta_usd"] == pytest.approx(g.loc[symbol, "delta"] * 460.0)
    assert g.loc[PUT, "delta"] > 0 > g.loc[CALL, "delta"]  # short puts are long delta, short calls short
    total = g.loc["account"]
    for col in ("delta", "gamma", "vega", "theta"):
        assert total[col] == pytest.approx(g.drop(index="account")[col].sum())
    assert total["theta"] > 0 and total["vega"] < 0  # an option seller earns time and is short volatility


def test_a_position_that_cannot_be_priced_says_why():
    b = SimulatedBroker(cash=1e6, instruments=[Instrument("SPY"), *option_instruments([CALL])], account_type="margin")
    b.on_quote(Quote(T0, CALL, 1.40, 1.50, 50.0, 50.0))
    assert b.place_order(CALL, "buy", 1).accepted
    g = position_greeks(b).set_index("symbol")
    assert math.isnan(g.loc[CALL, "delta"]) and "no price of the underlying" in g.loc[CALL, "note"]
    with pytest.raises(ValueError, match="no market data"):
        position_greeks(SimulatedBroker(cash=1.0))


def test_an_account_without_positions_sums_to_zero():
    b = SimulatedBroker(cash=1e6, instruments=[Instrument("SPY")])
    b.on_bar(Bar(T0, "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    account = position_greeks(b).set_index("symbol").loc["account"]
    assert (account[["delta", "delta_usd", "gamma", "vega", "theta"]] == 0).all()
