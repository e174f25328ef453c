"""Option prices and greeks: textbook values, put-call parity, the vectorized closed form
against QuantLib (two implementations), greeks against finite differences of the price (the
conventions), American prices against a binomial tree, implied volatility round trips, and
clear errors for bad terms, bad chains and prices outside the no-arbitrage bounds."""

import math

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql

from workbench.options import OptionContract, OptionError, bounds, implied_volatility, parse_occ, price_chain, \
    price_option
from workbench.options import pricing

GREEKS = ["price", "delta", "gamma", "vega", "theta", "rho"]


def test_hulls_textbook_example():
    """Hull, Options, Futures and Other Derivatives, example 15.6: S=42, K=40, r=10 %,
    sigma=20 %, six months: call 4.76, put 0.81."""
    assert price_option(42, 40, 182.5, 0.10, 0.0, 0.20, "call").price == pytest.approx(4.76, abs=0.005)
    assert price_option(42, 40, 182.5, 0.10, 0.0, 0.20, "put").price == pytest.approx(0.81, abs=0.005)


def random_chain(n, seed=0, style="european"):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"spot": rng.uniform(20, 500, n), "strike": 0.0, "days": rng.uniform(0.5, 730, n),
                         "rate": rng.uniform(-0.01, 0.08, n), "dividend": rng.uniform(0, 0.05, n),
                         "vol": rng.uniform(0.05, 1.2, n), "right": rng.choice(["call", "put"], n),
                         "style": style}).assign(strike=lambda f: f["spot"] * rng.uniform(0.6, 1.5, n))


def scalar(row):
    return price_option(row.spot, row.strike, row.days, row.rate, row.dividend, row.vol, row.right, row.style)


def worst_relative(ours: pd.DataFrame, theirs: pd.DataFrame, spot: pd.Series) -> float:
    """The largest relative difference, against at least 1e-9 of the spot (a deep
    out-of-the-money option's 1e-14 is rounding, not a price: QuantLib's own is 2e-14 where
    the closed form gives 9e-16)."""
    floor = 1e-9 * spot.to_numpy()[:, None]
    return float((np.abs(ours[GREEKS].to_numpy() - theirs[GREEKS].to_numpy())
                  / np.maximum(np.abs(theirs[GREEKS].to_numpy()), floor)).max())


def test_the_vectorized_chain_equals_quantlib_to_1e_6():
    chain = random_chain(400)
    ours = price_chain(chain)
    theirs = pd.DataFrame([scalar(r).to_dict() for r in chain.itertuples()], index=chain.index)
    assert worst_relative(ours, theirs, chain["spot"]) < 1e-6


def test_the_comparison_catches_a_wrong_convention(monkeypatch):
    chain = random_chain(50)
    theirs = pd.DataFrame([scalar(r).to_dict() for r in chain.itertuples()], index=chain.index)
    closed = pricing._closed_form
    monkeypatch.setattr(pricing, "_closed_form", lambda *a: closed(*a) * np.array([1, 1, 1, 100, 1, 1]))  # vega per 1.0
    assert worst_relative(price_chain(chain), theirs, chain["spot"]) > 1


@pytest.mark.parametrize("style", ["european", "american"])
def test_greeks_are_the_price_changes_their_conventions_say(style):
    """delta and gamma per 1 of spot, vega per vol point, theta per calendar day, rho per 1 %."""
    s, k, days, r, q, vol = 100.0, 105.0, 60.0, 0.04, 0.01, 0.3
    for right in ("call", "put"):
        g = price_option(s, k, days, r, q, vol, right, style)

        def p(**c):
            a = dict(spot=s, strike=k, days=days, rate=r, dividend=q, vol=vol, right=right, style=style) | c
            return price_option(**a).price

        tol = 2e-3 if style == "american" else 1e-4
        assert g.delta == pytest.approx((p(spot=s + 0.01) - p(spot=s - 0.01)) / 0.02, rel=tol)
        assert g.gamma == pytest.approx((p(spot=s + 0.5) - 2 * g.price + p(spot=s - 0.5)) / 0.25, rel=5 * tol)
        assert g.vega == pytest.approx((p(vol=vol + 0.001) - p(vol=vol - 0.001)) / 0.2, rel=tol)
        assert g.theta == pytest.approx((p(days=days - 0.5) - p(days=days + 0.5)), rel=5 * tol)
        assert g.rho == pytest.approx((p(rate=r + 1e-4) - p(rate=r - 1e-4)) / 2e-2, rel=tol)


def test_put_call_parity_with_dividends():
    chain = random_chain(300, seed=3)
    calls, puts = price_chain(chain.assign(right="call")), price_chain(chain.assign(right="put"))
    t = chain["days"] / 365
    parity = chain["spot"] * np.exp(-chain["dividend"] * t) - chain["strike"] * np.exp(-chain["rate"] * t)
    assert np.allclose(calls["price"] - puts["price"], parity, rtol=0, atol=1e-9 * chain["spot"].max())
    assert np.allclose(calls["delta"] - puts["delta"], np.exp(-chain["dividend"] * t), atol=1e-12)


def binomial(s, k, days, r, q, vol, right, steps=2000):
    """An independent American price: QuantLib's Cox-Ross-Rubinstein tree on whole days."""
    today = ql.Date(1, 1, 2001)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(s)), ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc, ql.Continuous)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc, ql.Continuous)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)))
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call if right == "call" else ql.Option.Put, k),
                              ql.AmericanExercise(today, today + int(days)))
    option.setPricingEngine(ql.BinomialVanillaEngine(process, "crr", steps))
    return option.NPV()


@pytest.mark.parametrize("s,k,days,r,q,vol,right", [
    (100, 110, 30, 0.05, 0.0, 0.25, "put"), (100, 90, 90, 0.08, 0.0, 0.4, "put"), (50, 50, 365, 0.03, 0.06, 0.3, "call"),
    (200, 195, 7, 0.05, 0.02, 0.2, "put"), (80, 100, 200, 0.1, 0.0, 0.15, "put")])
def test_american_prices_equal_a_binomial_tree_to_2e_3(s, k, days, r, q, vol, right):
    ours = price_option(s, k, days, r, q, vol, right, "american").price
    assert ours == pytest.approx(binomial(s, k, days, r, q, vol, right), rel=2e-3)
    assert ours >= price_option(s, k, days, r, q, vol, right).price - 1e-9  # early exercise is worth >= 0


def test_an_american_call_without_dividends_is_worth_the_european_one():
    euro, amer = price_option(100, 95, 120, 0.05, 0.0, 0.3, "call"), price_option(100, 95, 120, 0.05, 0.0, 0.3,
                                                                                    "call", "american")
    assert amer.price == pytest.approx(euro.price, rel=2e-3)


def test_fractional_days_are_priced_as_such_for_american_options():
    whole = price_option(100, 100, 10, 0.05, 0.0, 0.3, "put", "american").price
    half = price_option(100, 100, 9.5, 0.05, 0.0, 0.3, "put", "american").price
    assert half < whole and half == pytest.approx(binomial(100, 100, 19, 0.025, 0.0, 0.3 / math.sqrt(2), "put"),
                                                   rel=2e-3)  # 9.5 days are 19 days at half the rates


@pytest.mark.parametrize("style", ["european", "american"])
def test_implied_volatility_recovers_the_volatility(style):
    for right, k in (("call", 90.0), ("put", 110.0), ("call", 120.0)):
        price = price_option(100, k, 45, 0.03, 0.01, 0.37, right, style).price
        assert implied_volatility(price, 100, k, 45, 0.03, 0.01, right, style) == pytest.approx(0.37, abs=1e-5)


def test_a_price_outside_the_no_arbitrage_bounds_is_refused_with_them():
    low, high = bounds(100, 80, 30, 0.05, 0.0, "call")
    for price in (low - 0.5, high + 1, 150.0):
        with pytest.raises(OptionError, match="outside the no-arbitrage bounds") as err:
            implied_volatility(price, 100, 80, 30, 0.05, 0.0, "call")
        assert f"{low:.6g}" in str(err.value) and f"{high:.6g}" in str(err.value)
    with pytest.raises(OptionError, match="outside the no-arbitrage bounds"):
        implied_volatility(19.0, 100, 120, 30, 0.05, 0.0, "put", "american")  # below exercising now (20)


@pytest.mark.parametrize("change,words", [({"spot": -1}, "spot must be a positive number"),
                                          ({"vol": 0}, "vol must be a positive number"),
                                          ({"days": float("nan")}, "days must be a positive number"),
                                          ({"rate": 5}, "rate must be a yearly rate"),
                                          ({"right": "straddle"}, "right must be 'call' or 'put'"),
                                          ({"style": "bermudan"}, "style must be")])
def test_bad_terms_are_named(change, words):
    args = dict(spot=100, strike=100, days=30, rate=0.05, dividend=0.0, vol=0.2, right="call") | change
    with pytest.raises(OptionError, match=words):
        price_option(**args)


def test_a_bad_chain_row_or_a_missing_column_is_named():
    chain = random_chain(10)
    chain.loc[chain.index[6], "vol"] = -0.2
    chain.loc[chain.index[8], "vol"] = float("nan")
    with pytest.raises(OptionError, match=r"chain row 7 \(index 6\): vol -0.2 is not valid; 1 more row"):
        price_chain(chain)
    with pytest.raises(OptionError, match="lacks column.*dividend"):
        price_chain(random_chain(3).drop(columns="dividend"))


def test_a_chain_mixing_styles_prices_each_row_by_its_style():
    chain = pd.concat([random_chain(4, seed=5), random_chain(3, seed=6, style="american")], ignore_index=True)
    got = price_chain(chain)
    for i, row in enumerate(chain.itertuples()):
        assert got.iloc[i]["price"] == pytest.approx(scalar(row).price, rel=1e-9)


def test_occ_symbols_round_trip_and_malformed_ones_are_refused():
    c = parse_occ("SPY   261218P00450000")
    assert (c.underlying, str(c.expiry), c.strike, c.right, c.multiplier) == ("SPY", "2026-12-18", 450.0, "put", 100)
    assert c.symbol == "SPY   261218P00450000" and parse_occ(c.symbol) == c
    assert OptionContract("BRK.B", c.expiry, 412.5, "call").symbol == "BRK.B 261218C00412500"
    for bad in ("SPY 261218P00450000x", "SPY   261318P00450000", "SPY   261218X00450000", "SPY   261218P0045",
                "SPY   261218P00000000", 42):
        with pytest.raises(OptionError):
            parse_occ(bad)
    with pytest.raises(OptionError, match="no OCC form"):
        OptionContract("SPY", c.expiry, 450.0001, "put").symbol
    with pytest.raises(OptionError, match="right must be"):
        OptionContract("SPY", c.expiry, 450, "Put")
    assert OptionContract("SPY", c.expiry, 450, "put").intrinsic(430) == 20.0
    # the two-digit year, pivoted at 70: the bundled S&P 500's 1999 options have symbols
    import datetime as dt

    for year, text in ((1999, "990108"), (2000, "000107"), (2069, "690118"), (1970, "700116")):
        old = OptionContract("SPX", dt.date(year, int(text[2:4]), int(text[4:])), 1250, "call")
        assert old.symbol == f"SPX   {text}C01250000" and parse_occ(old.symbol) == old
    for year in (1969, 2070):
        with pytest.raises(OptionError, match="years 1970 to 2069"):
            OptionContract("SPX", dt.date(year, 1, 16), 1250, "call").symbol


def test_american_theta_is_the_days_change_at_fractional_and_short_expiries():
    """Found by a break-it review: theta at 0.5 and 1.5 days was off by the clock's scale."""
    for days in (0.5, 1.5, 2.0, 10.5):
        g = price_option(100, 100, days, 0.05, 0.0, 0.3, "put", "american")
        d = min(0.1, days / 10)
        fd = (price_option(100, 100, days - d, 0.05, 0.0, 0.3, "put", "american").price
              - price_option(100, 100, days + d, 0.05, 0.0, 0.3, "put", "american").price) / (2 * d)
        assert g.theta == pytest.approx(fd, rel=0.05), days


def test_a_chain_of_timedeltas_or_infinities_and_numpy_integers_are_handled():
    chain = random_chain(2).assign(spot=100.0, strike=100.0, days=pd.to_timedelta([30, 30], unit="D"))
    with pytest.raises(OptionError, match="days must hold plain numbers.*dt.days"):
        price_chain(chain)
    with pytest.raises(OptionError, match="spot inf is not valid"):
        price_chain(random_chain(2).assign(spot=[float("inf"), 100.0]))
    assert implied_volatility(2.5, 100, np.int64(100), 30, 0.05, 0, "call") > 0
    with pytest.raises(OptionError, match="price must be a number"):
        implied_volatility(True, 100, 100, 30, 0.05, 0, "call")


def test_a_volatility_typed_as_a_percentage_is_refused():
    with pytest.raises(OptionError, match="0.20 is 20 %"):
        price_option(100, 100, 30, 0.03, 0.0, 20, "call")
    assert price_option(100, 100, 30, 0.03, 0.0, 5.0, "call").price > 0  # 500 %: still a volatility
