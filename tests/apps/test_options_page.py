"""The options page's figures: the expiry and contract it picks, the day it quotes, its
payoff curves and the chain board, checked against the chain computed here."""

import asyncio

import numpy as np
import pandas as pd
import panel as pn
import pytest

from workbench.apps.pages import option_chain_view, option_view, options_page
from workbench.errors import ConfigError
from workbench.feed import load_dataset_bars
from workbench.options import synthetic_chains


def chain_on(day: str, seed: int = 0) -> pd.DataFrame:
    return synthetic_chains(load_dataset_bars("sp500"), seed=seed, start=day, end=day, monthlies=3)


@pytest.mark.parametrize("right", ["put", "call"])
def test_the_expiry_is_the_nearest_at_least_dte_days_away_and_the_contract_the_nearest_delta(right):
    chain = chain_on("2018-06-29")
    days = sorted(chain["days"].unique())
    for dte in (1, int(days[2]), int(days[2]) + 1):  # an expiry exactly dte days away counts
        view = option_chain_view("sp500", "2018-06-29", 0, right, dte, 0.3)
        expected_days = min(d for d in days if d >= dte)
        assert view["days"] == expected_days, (dte, view["days"], expected_days)
        leg = chain[(chain["days"] == expected_days) & (chain["right"] == right)]
        gaps = (leg["delta"].abs() - 0.3).abs()
        best = leg.loc[gaps == gaps.min()].sort_values("strike").iloc[0]  # the lower strike on a tie
        assert view["contract"]["strike"] == best["strike"]
        assert view["premium"] == best["bid"]


def test_a_day_without_trading_is_quoted_on_the_trading_day_before_it_and_says_so():
    view = option_chain_view("sp500", "2018-06-30", 0, "put", 30, 0.3)  # a Saturday
    assert view["quoted"] == pd.Timestamp("2018-06-29", tz="UTC")
    assert "2018-06-30 is not a trading day" in view["note"] and "2018-06-29" in view["note"]
    assert option_chain_view("sp500", "2018-06-29", 0, "put", 30, 0.3)["note"] == ""
    late = option_chain_view("sp500", "2031-01-01", 0, "put", 30, 0.3)
    assert late["quoted"] == pd.Timestamp("2018-12-31", tz="UTC") and "end on 2018-12-31" in late["note"]


@pytest.mark.parametrize("text, says", [("1990-01-01", "before sp500's first day, 1999-01-04"),
                                        ("not a day", "'not a day' is not a date"), ("", "'' is not a date")])
def test_a_bad_quote_date_is_refused_naming_the_field(text, says):
    with pytest.raises(ConfigError, match="Quote date") as info:
        option_chain_view("sp500", text, 0, "put", 30, 0.3)
    assert says in str(info.value)


def test_the_payoff_of_the_short_option_at_expiry_and_on_the_quote_day():
    view = option_chain_view("sp500", "2018-06-29", 0, "put", 30, 0.3)
    pay, strike, premium = view["payoff"], view["contract"]["strike"], view["premium"]
    expected = 100 * (premium - np.maximum(strike - pay["spot"], 0))
    assert np.allclose(pay["at_expiry"], expected)
    assert pay["at_expiry"].max() == pytest.approx(100 * premium)  # the most a short put keeps
    # on the quote day, at the quoted spot, selling at the bid loses about half the spread
    c = view["contract"]
    today = float(np.interp(view["spot"], pay["spot"], pay["today"]))
    assert 100 * (c["bid"] - c["ask"]) <= today <= 0
    call = option_chain_view("sp500", "2018-06-29", 0, "call", 30, 0.3)
    k = call["contract"]["strike"]
    assert np.allclose(call["payoff"]["at_expiry"], 100 * (call["premium"] - np.maximum(call["payoff"]["spot"] - k, 0)))


def test_the_board_puts_calls_and_puts_of_one_strike_on_one_row():
    view = option_chain_view("sp500", "2018-06-29", 0, "put", 30, 0.3)
    chain = chain_on("2018-06-29")
    leg = chain[chain["expiry"] == view["expiry"]]
    board = view["board"].set_index("strike")
    for right in ("call", "put"):
        side = leg[leg["right"] == right].set_index("strike")
        assert board[f"{right} bid"].equals(side["bid"].reindex(board.index))
        assert board[f"{right} delta"].equals(side["delta"].reindex(board.index))
    grid = view["grid"].set_index("strike")
    puts = chain[chain["right"] == "put"]
    row = puts[(puts["strike"] == grid.index[0]) & (puts["expiry"] == view["expiry"])].iloc[0]
    assert grid.loc[grid.index[0], f"{view['expiry']:%Y-%m-%d}"] == pytest.approx((row["bid"] + row["ask"]) / 2)


def test_the_seed_changes_the_chain_and_the_same_seed_repeats_it():
    one = option_chain_view("sp500", "2018-06-29", 1, "put", 30, 0.3)["chain"]
    again = option_chain_view.__wrapped__("sp500", "2018-06-29", 1, "put", 30, 0.3)["chain"]
    other = option_chain_view("sp500", "2018-06-29", 2, "put", 30, 0.3)["chain"]
    assert one.equals(again) and not one["bid"].equals(other["bid"])


def test_the_page_builds_and_its_computed_part_shows_the_chain_or_what_was_wrong():
    page = options_page()
    assert isinstance(page, pn.Column) and page.name == "Options"
    shown = asyncio.run(option_view("sp500", "2018-06-29", "put", 30, 0.3, 0))
    assert isinstance(shown, pn.Column)
    summary = shown[0].object
    assert "quoted 2018-06-29" in summary and "takes in" in summary
    tables = [o for o in shown if isinstance(o, pn.widgets.Tabulator)]
    assert len(tables) == 2 and "put iv" in tables[0].value.columns
    plots = [o for o in shown.select(pn.pane.HoloViews)]
    assert len(plots) == 6  # smile, payoff and four greeks
    for bad, says in ((("sp500", "someday", "put", 30, 0.3, 0), "Quote date"),
                      (("sp500", "2018-06-29", "put", 30, 0.3, None), "Chain seed")):
        alert = asyncio.run(option_view(*bad))
        assert isinstance(alert, pn.pane.Alert) and says in alert.object


@pytest.mark.parametrize("args, field, says", [
    (("put", 30, float("nan"), 0), "Delta", "nan is not between 0 and 1"),
    (("put", 30, 0.0, 0), "Delta", "0.0 is not between 0 and 1"),
    (("put", -3, 0.3, 0), "Days to expiry", "-3 is outside 1 to 730"),
    (("put", 100000, 0.3, 0), "Days to expiry", "100000 is outside 1 to 730"),
    (("put", None, 0.3, 0), "Days to expiry", "None is not a whole number"),
    (("straddle", 30, 0.3, 0), "Right", "'straddle' is neither put nor call"),
    (("put", 30, 0.3, -1), "Chain seed", "-1 is outside 0"),
    (("put", 30, 0.3, 2**63), "Chain seed", "is outside 0"),
    (("put", 30, 0.3, 1.5), "Chain seed", "1.5 is not a whole number"),
])
def test_bad_choices_are_refused_by_field(args, field, says):
    right, dte, delta, seed = args
    with pytest.raises(ConfigError, match=field) as info:
        option_chain_view("sp500", "2018-06-29", seed, right, dte, delta)
    assert says in str(info.value)
    alert = asyncio.run(option_view("sp500", "2018-06-29", right, dte, delta, seed))
    assert isinstance(alert, pn.pane.Alert) and field in alert.object


def test_rights_in_any_case_long_inputs_cut_short_and_dates_read_as_typed():
    assert option_chain_view("sp500", "2018-06-29", 0, "PUT", 30, 0.3)["contract"]["strike"] == \
        option_chain_view("sp500", "2018-06-29", 0, "put", 30, 0.3)["contract"]["strike"]
    with pytest.raises(ConfigError) as info:
        option_chain_view("sp500", "x" * 100_000, 0, "put", 30, 0.3)
    assert len(str(info.value)) < 200 and "100,000 characters" in str(info.value)
    sunday = option_chain_view("sp500", "2018-07-01T20:00:00-10:00", 0, "put", 30, 0.3)  # Sunday where typed
    assert sunday["quoted"] == pd.Timestamp("2018-06-29", tz="UTC") and "2018-07-01 is not a trading day" in \
        sunday["note"]


def test_a_date_without_a_year_is_refused():
    with pytest.raises(ConfigError, match="'June 29' is not a date"):
        option_chain_view("sp500", "June 29", 0, "put", 30, 0.3)
