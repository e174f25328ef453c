"""Daily P&L attribution: the total is the run's own equity change on every step without
fills; the parts explain most of it, and the residual is reported."""

import numpy as np
import pandas as pd
import pytest

from workbench.engine import backtest
from workbench.feed import load_dataset_bars
from workbench.options.attribution import PARTS, pnl_attribution
from workbench.strategies import BuyAndHold, Wheel
from workbench.strategies.options import option_frames

BARS = load_dataset_bars("sp500").iloc[-250:]
QUOTES, INSTRUMENTS = option_frames(BARS, seed=3)


def wheel_run():
    return backtest(Wheel(delta=0.3, dte=7), QUOTES, BARS, instruments=INSTRUMENTS)


def test_the_total_is_the_equity_change_on_every_step_without_fills():
    result = wheel_run()
    a = pnl_attribution(result)
    assert list(a.columns) == list(PARTS) and a.iloc[0].isna().all()
    fill_times = set(pd.DatetimeIndex(result.fills["time"]))
    quiet = [t for t in a.index[1:] if t not in fill_times]
    assert len(quiet) > 100
    np.testing.assert_allclose(a.loc[quiet, "total"], result.equity.diff().loc[quiet], rtol=0, atol=1e-6)
    parts = a[["delta", "gamma", "theta", "vega", "residual"]].sum(axis=1)
    np.testing.assert_allclose(parts.iloc[1:], a["total"].iloc[1:], rtol=1e-12, atol=1e-9)


def explained(a: pd.DataFrame) -> float:
    return a["residual"].abs().sum() / a["total"].abs().sum()


def test_the_greeks_explain_most_of_it_and_the_residual_is_reported():
    a = pnl_attribution(wheel_run())
    share = explained(a)
    print(f"residual: {share:.1%} of the absolute daily P&L")
    assert share < 0.10
    assert a["theta"].sum() > 0 > a["gamma"].sum()  # an option seller: paid by time, charged by moves


def test_a_wrong_vega_shows_in_the_residual(monkeypatch):
    """Red on purpose: the vega of the wrong sign leaves far more unexplained."""
    from workbench.options import pricing

    real = pricing.price_option

    def flipped(*args, **kwargs):
        g = real(*args, **kwargs)
        return g._replace(vega=-g.vega) if hasattr(g, "_replace") else type(g)(**{**vars(g), "vega": -g.vega})

    monkeypatch.setattr(pricing, "price_option", flipped)
    assert explained(pnl_attribution(wheel_run())) > 0.10


def test_shares_alone_are_all_delta():
    result = backtest(BuyAndHold(quantity=10), BARS)
    a = pnl_attribution(result).iloc[1:]
    assert (a[["gamma", "theta", "vega", "residual"]] == 0).all().all()
    assert a["delta"].sum() == pytest.approx(result.equity.iloc[-1] - result.equity.iloc[1], rel=1e-9)


def test_a_run_without_the_underlyings_prices_is_refused_by_name():
    import dataclasses

    from workbench.errors import ConfigError
    from workbench.model import Instrument
    from workbench.options import OptionError, option_instruments

    quotes = QUOTES[QUOTES.index <= QUOTES.index[0]]
    with pytest.raises(ConfigError, match="options on SP500 need its bars or quotes in the data"):
        backtest(BuyAndHold(), quotes, instruments=[*option_instruments(quotes["symbol"])])
    with pytest.raises(ConfigError, match=r"instruments for symbols not in the data: SP500 \(the data has .* and "
                                          r"[\d,]+ more\)"):
        backtest(BuyAndHold(), quotes, instruments=[Instrument("SP500"), *option_instruments(quotes["symbol"])])
    run = wheel_run()
    without = dataclasses.replace(run, frames=tuple(f for f in run.frames if "close" not in f.columns))
    with pytest.raises(OptionError, match="no prices of SP500, the underlying of its options"):
        pnl_attribution(without)


def test_a_mark_at_its_lower_bound_is_explained_by_delta_not_left_to_the_residual():
    from workbench.model import Instrument
    from workbench.options import OptionContract, option_instruments
    from workbench.strategies.base import Strategy

    put = OptionContract("XYZ", pd.Timestamp("2024-03-15").date(), 150.0, "put").symbol
    days = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"], tz="UTC")
    spots = [100.0, 98.0, 99.0]
    bars = pd.DataFrame({"symbol": "XYZ", "open": spots, "high": spots, "low": spots, "close": spots,
                         "volume": 1e6}, index=days)
    # deep in the money, its mid a cent under the European lower bound K exp(-rT) - S: no volatility fits
    low = [150.0 * np.exp(-0.03 * (pd.Timestamp("2024-03-15", tz="UTC") - d).days / 365) - s - 0.01
           for d, s in zip(days, spots)]
    quotes = pd.DataFrame({"symbol": put, "bid": [v - 0.05 for v in low], "ask": [v + 0.05 for v in low],
                           "bid_size": 10.0, "ask_size": 10.0}, index=days)

    class BuyPut(Strategy):
        def on_bar(self, bar):
            if not self.position(put) and not self.working(put):
                self.order(put, "buy", 1)

    run = backtest(BuyPut(), quotes, bars, instruments=[Instrument("XYZ"), *option_instruments([put])])
    a = pnl_attribution(run).iloc[1:]
    held = a[a["total"] != 0]
    assert len(held) >= 1
    for _, row in held.iterrows():  # delta about -1 a share: the P&L is the move, not residual
        assert abs(row["residual"]) < 0.1 * abs(row["total"]), row.to_dict()
