"""Chains: synthetic chains are seeded and byte-identical, shaped as documented (Friday
expiries, a strike grid, widening spreads, skew and term structure) and pass the loader's own
rules; a chain file breaking any rule is refused naming file, line or row, column and rule."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from workbench.errors import DataError
from workbench.feed import load_dataset_bars
from workbench.options.chains import VolSurface, expiries_after, load_chain, strike_step, synthetic_chains


@pytest.fixture(scope="module")
def sp500():
    return load_dataset_bars("sp500")


@pytest.fixture(scope="module")
def chain(sp500):
    return synthetic_chains(sp500, start="2004-03-01", end="2004-03-12", seed=7)


def digest(frame):
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def test_a_seed_gives_byte_identical_chains_and_another_seed_others(sp500, chain):
    again = synthetic_chains(sp500, start="2004-03-01", end="2004-03-12", seed=7)
    assert digest(again) == digest(chain)
    assert digest(synthetic_chains(sp500, start="2004-03-01", end="2004-03-12", seed=8)) != digest(chain)


def test_expiries_are_weekly_and_monthly_fridays_after_the_quote_date():
    day = pd.Timestamp("2004-03-03")  # a Wednesday
    got = expiries_after(day, weeklies=2, monthlies=2)
    assert all(e.weekday() == 4 and e > day for e in got)
    assert pd.Timestamp("2004-03-05") in got and pd.Timestamp("2004-03-12") in got
    assert pd.Timestamp("2004-03-19") in got and pd.Timestamp("2004-04-16") in got  # third Fridays
    assert expiries_after(pd.Timestamp("2004-03-19"), 0, 1) == [pd.Timestamp("2004-04-16")]  # strictly after


def test_the_chain_is_shaped_as_documented(chain):
    assert set(chain["right"]) == {"call", "put"} and (chain["bid"] <= chain["ask"]).all()
    assert (chain["expiry"].dt.day_of_week == 4).all() and (chain["days"] > 0).all()
    one = chain[chain["time"] == chain["time"].iloc[0]]
    spot = one["spot"].iloc[0]
    step = strike_step(spot)
    assert step in (10.0, 25.0) and np.allclose(one["strike"] % step, 0)
    assert one["strike"].min() <= 0.8 * spot + step and one["strike"].max() >= 1.2 * spot - step
    near = one[one["expiry"] == one["expiry"].min()]
    calls = near[near["right"] == "call"].set_index("strike")
    atm = calls.index[np.argmin(np.abs(calls.index - spot))]
    wing = calls.index.max()
    spread = (calls["ask"] - calls["bid"]) / ((calls["ask"] + calls["bid"]) / 2).clip(lower=0.05)
    assert spread[wing] > spread[atm]  # wider away from the money
    puts = near[near["right"] == "put"].set_index("strike")
    assert puts["iv"].iloc[0] > calls["iv"].iloc[-1]  # negative skew: the low strikes dearer in volatility


def test_term_structure_and_an_atm_override(sp500):
    calm = synthetic_chains(sp500, start="2004-03-01", end="2004-03-01", surface=VolSurface(atm=0.10, jitter=0.0))
    by_expiry = calm[calm["right"] == "call"].assign(gap=lambda f: (f["strike"] - f["spot"]).abs())
    atm = by_expiry.sort_values("gap").groupby("expiry")["iv"].first()
    assert atm.is_monotonic_increasing and atm.iloc[0] < 0.12 < atm.iloc[-1] < 0.2  # toward the long run 0.20


def test_a_written_synthetic_chain_passes_the_loaders_rules(chain, tmp_path):
    chain.to_csv(tmp_path / "c.csv", index=False)
    chain.to_parquet(tmp_path / "c.parquet")
    for path in (tmp_path / "c.csv", tmp_path / "c.parquet"):
        got = load_chain(path)
        assert len(got) == len(chain) and np.allclose(got["ask"], chain["ask"])


def small_chain():
    rows = []
    for k, cb, ca, pb, pa in ((90, 11.0, 11.4, 0.4, 0.5), (100, 3.0, 3.2, 2.0, 2.2), (110, 0.3, 0.4, 9.6, 10.0)):
        rows.append(("2024-05-01T20:00:00Z", "XYZ", "2024-05-17", k, "call", cb, ca, 10, 12))
        rows.append(("2024-05-01T20:00:00Z", "XYZ", "2024-05-17", k, "P", pb, pa, 10, 12))
    return pd.DataFrame(rows, columns=["time", "underlying", "expiry", "strike", "right", "bid", "ask", "bid_size",
                                       "ask_size"])


@pytest.mark.parametrize("row,column,value,rule", [
    (2, "bid", 3.5, "crossed_quote"), (0, "ask", -1, "price_nonneg"), (3, "bid_size", -2, "size_nonneg"),
    (1, "strike", "abc", "strike_positive"), (4, "strike", 0, "strike_positive"),
    (5, "expiry", "2024-13-01", "expiry_parse"), (2, "expiry", "2024-04-30", "expiry_before_time"),
    (0, "time", "yesterday", "time_parse"), (3, "right", "straddle", "right"),
    (4, "bid", (3.3, 3.5), "call_monotonic"),  # the 110 call bid above the 100 call's ask
    (1, "bid", (2.3, 2.4), "put_monotonic")])  # the 90 put bid above the 100 put's ask
def test_a_chain_file_breaking_a_rule_is_refused_and_named(tmp_path, row, column, value, rule):
    good = small_chain()
    good.to_csv(tmp_path / "good.csv", index=False)
    assert len(load_chain(tmp_path / "good.csv")) == 6
    bad = good.astype(object)
    if isinstance(value, tuple):  # a bid and its ask
        bad.loc[row, "bid"], bad.loc[row, "ask"] = value
    else:
        bad.loc[row, column] = value
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError) as err:
        load_chain(tmp_path / "bad.csv")
    e = err.value
    assert (e.rule, e.column, e.line, e.file) == (rule, column, row + 2, str(tmp_path / "bad.csv")), str(e)
    if rule not in ("time_parse", "expiry_parse", "right"):  # a Parquet file of numbers is checked alike
        typed = bad.copy()
        for c in ("strike", "bid", "ask", "bid_size", "ask_size"):
            typed[c] = pd.to_numeric(typed[c], errors="coerce")
        typed.to_parquet(tmp_path / "bad.parquet")
        with pytest.raises(DataError) as err:
            load_chain(tmp_path / "bad.parquet")
        assert (err.value.rule, err.value.row) == (rule, row + 1), str(err.value)


def test_a_chain_file_without_a_column_or_rows_is_refused(tmp_path):
    small_chain().drop(columns="ask_size").to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataError, match="missing column.*ask_size"):
        load_chain(tmp_path / "c.csv")
    small_chain().iloc[:0].to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(DataError, match="no data rows"):
        load_chain(tmp_path / "e.csv")
    with pytest.raises(DataError, match="no such file"):
        load_chain(tmp_path / "none.csv")


def test_a_days_chain_does_not_depend_on_the_range_it_is_made_in():
    bars = load_dataset_bars("sp500")
    alone = synthetic_chains(bars, seed=3, start="2018-07-09", end="2018-07-09")
    within = synthetic_chains(bars, seed=3, start="2018-05-01", end="2018-07-31")
    within = within[within["time"] == alone["time"].iloc[0]].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), within)
    assert not alone["iv"].equals(synthetic_chains(bars, seed=4, start="2018-07-09", end="2018-07-09")["iv"])
    with pytest.raises(ValueError, match="seed must be a whole number >= 0"):
        synthetic_chains(bars, seed=-1, start="2018-07-09", end="2018-07-09")


def test_a_listed_strike_stays_quoted_until_its_expiry():
    bars = load_dataset_bars("sp500")
    chain = synthetic_chains(bars, seed=0, start="2007-06-01", end="2007-09-28")
    days = pd.DatetimeIndex(sorted(chain["time"].unique()))
    quoted = chain.groupby(["expiry", "strike", "right"], observed=True)["time"].agg(["min", "count"])
    for (expiry, strike, right), row in quoted.iterrows():
        span = days[(days >= row["min"]) & (days.tz_localize(None).normalize() < expiry)]
        assert row["count"] == len(span), (expiry, strike, right)
    # the review's case: sold on 2007-07-23, the grid's step changed from 25 to 10 after it
    held = chain[(chain["expiry"] == pd.Timestamp("2007-08-03")) & (chain["strike"] == 1525.0)
                 & (chain["right"] == "put")]
    assert pd.Timestamp("2007-07-27", tz="UTC") in set(held["time"]) and held["time"].max() == \
        pd.Timestamp("2007-08-02", tz="UTC")
