"""Statistics against textbook computations written here and in workbench.certify.reference
(independent of empyrical, which now computes most of them), against empyrical itself (our
conventions passed through as documented), and hand computations."""

import itertools
import math

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.analytics import performance as P
from workbench.analytics.tearsheet import monthly_returns
from workbench.analytics.trades import round_trips, trade_stats
from workbench.certify.reference import textbook_statistics


def series(seed, n=750, mu=0.0004, sd=0.012):
    idx = pd.bdate_range("2010-01-04", periods=n, tz="UTC")
    return pd.Series(np.random.default_rng(seed).normal(mu, sd, n), index=idx)


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_empyrical(seed):
    r = series(seed)
    bench = series(seed + 100) * 0.8 + r * 0.3
    assert P.sharpe(r) == pytest.approx(ep.sharpe_ratio(r), rel=1e-10)
    assert P.sharpe(r, risk_free=0.0001) == pytest.approx(ep.sharpe_ratio(r, risk_free=0.0001), rel=1e-10)
    assert P.sortino(r) == pytest.approx(ep.sortino_ratio(r), rel=1e-10)
    assert P.max_drawdown(r) == pytest.approx(ep.max_drawdown(r), rel=1e-10)
    assert P.cagr(r) == pytest.approx(ep.cagr(r), rel=1e-10)
    assert P.annual_volatility(r) == pytest.approx(ep.annual_volatility(r), rel=1e-10)
    assert P.calmar(r) == pytest.approx(ep.calmar_ratio(r), rel=1e-10)
    assert P.omega(r) == pytest.approx(ep.omega_ratio(r), rel=1e-10)
    assert P.tail_ratio(r) == pytest.approx(ep.tail_ratio(r), rel=1e-10)
    assert P.value_at_risk(r) == pytest.approx(ep.value_at_risk(r), rel=1e-10)
    assert P.conditional_value_at_risk(r) == pytest.approx(ep.conditional_value_at_risk(r), rel=1e-10)
    beta, alpha = P.beta_alpha(r, bench)
    ep_alpha, ep_beta = ep.alpha_beta(r, bench)
    assert beta == pytest.approx(ep_beta, rel=1e-10)
    # empyrical compounds the daily alpha; we annualize it arithmetically (documented).
    assert (1 + alpha / 252) ** 252 - 1 == pytest.approx(ep_alpha, rel=1e-9)
    rs = P.rolling_sharpe(r, 63).dropna()
    ep_rs = ep.roll_sharpe_ratio(r, 63)
    assert np.allclose(rs.to_numpy(), np.asarray(ep_rs)[-len(rs):], rtol=1e-9)


def _percentile(ordered, q):
    """Linear interpolation between the closest ranks of a sorted list."""
    rank = q / 100 * (len(ordered) - 1)
    lo = int(rank)
    return ordered[lo] + (rank - lo) * (ordered[min(lo + 1, len(ordered) - 1)] - ordered[lo])


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_the_textbook(seed):
    """Every statistic empyrical now computes for us, against its definition in plain Python
    (no empyrical, no code shared with the analytics), so the wrappers are not only checked
    against the library they call."""
    r = series(seed)
    x = r.tolist()
    n = len(x)
    for rf in (0.0, 0.0001):
        want = textbook_statistics(r.to_numpy() - rf, 252)  # excess returns
        assert P.sharpe(r, risk_free=rf) == pytest.approx(want["sharpe"], rel=1e-10)
        assert P.sortino(r, target=rf) == pytest.approx(want["sortino"], rel=1e-10)
    want = textbook_statistics(r.to_numpy(), 252)
    for name in ("annual_volatility", "total_return", "cagr", "max_drawdown", "calmar"):
        assert getattr(P, name)(r) == pytest.approx(want[name], rel=1e-10), name
    assert P.downside_deviation(r) == pytest.approx(math.sqrt(math.fsum(min(v, 0.0) ** 2 for v in x) / n * 252),
                                                    rel=1e-10)
    for threshold in (0.0, 0.0001):
        gains = math.fsum(v - threshold for v in x if v > threshold)
        losses = math.fsum(threshold - v for v in x if v < threshold)
        assert P.omega(r, threshold) == pytest.approx(gains / losses, rel=1e-10)
    ordered = sorted(x)
    p5, p95 = _percentile(ordered, 5), _percentile(ordered, 95)
    assert P.tail_ratio(r) == pytest.approx(abs(p95) / abs(p5), rel=1e-10)
    assert P.value_at_risk(r) == pytest.approx(p5, rel=1e-10)
    assert P.value_at_risk(r, 0.99) == pytest.approx(_percentile(ordered, 1), rel=1e-10)
    tail = [v for v in x if v <= p5]
    assert P.conditional_value_at_risk(r) == pytest.approx(math.fsum(tail) / len(tail), rel=1e-10)
    wealth = list(itertools.accumulate(x, lambda w, v: w * (1 + v), initial=1.0))
    peaks = list(itertools.accumulate(wealth, max))
    assert np.allclose(P.cumulative_returns(r).to_numpy(), [w - 1 for w in wealth[1:]], rtol=1e-12, atol=0)
    assert np.allclose(P.drawdown(r).to_numpy(), [w / p - 1 for w, p in zip(wealth[1:], peaks[1:])],
                       rtol=0, atol=1e-14)
    bench = series(seed + 100) * 0.8 + r * 0.3
    b = bench.tolist()
    mr, mb = math.fsum(x) / n, math.fsum(b) / n
    slope = math.fsum((u - mr) * (v - mb) for u, v in zip(x, b)) / math.fsum((v - mb) ** 2 for v in b)
    beta, alpha = P.beta_alpha(r, bench)
    assert beta == pytest.approx(slope, rel=1e-10)
    assert alpha == pytest.approx((mr - slope * mb) * 252, rel=1e-9)
    rs, rv = P.rolling_sharpe(r, 63), P.rolling_volatility(r, 63)
    assert rs.index.equals(r.index) and rs.iloc[:62].isna().all() and rv.iloc[:62].isna().all()
    for end in (63, 200, n):
        window = textbook_statistics(r.to_numpy()[end - 63:end], 252)
        assert rs.iloc[end - 1] == pytest.approx(window["sharpe"], rel=1e-10)
        assert rv.iloc[end - 1] == pytest.approx(window["annual_volatility"], rel=1e-10)


def test_degenerate_input_where_empyrical_differs():
    """Where empyrical gives infinities or declines, the wrappers keep the documented
    results."""
    assert math.isnan(P.sharpe(pd.Series([0.001] * 10)))  # empyrical: inf
    assert math.isnan(P.sortino(pd.Series([0.01, 0.02, 0.03])))  # empyrical: inf
    assert P.sortino(pd.Series([-0.01])) == pytest.approx(-math.sqrt(252))  # empyrical: NaN
    assert P.omega(pd.Series([-0.01])) == 0.0 and math.isnan(P.omega(pd.Series([0.01])))
    assert math.isnan(P.tail_ratio(pd.Series([0.0] * 10 + [0.01])))  # 5th percentile 0; empyrical: inf
    assert P.cagr(pd.Series([0.1, -1.0, 0.2])) == -1.0  # empyrical: NaN
    assert P.rolling_sharpe(pd.Series([0.01, -0.02, 0.03]), 5).isna().all()  # empyrical shrinks the window
    assert P.rolling_sharpe(pd.Series([0.001] * 10), 5).isna().all()
    assert P.drawdown(pd.Series([], dtype=float)).empty
    assert P.cumulative_returns(pd.Series([], dtype=float)).empty
    r = pd.Series([0.01, np.nan, -0.02, 0.03])
    assert P.total_return(r) == pytest.approx(1.01 * 0.98 * 1.03 - 1)  # NaNs dropped, not compounded as 0
    assert P.drawdown(r).index.tolist() == [0, 2, 3]


def test_by_hand():
    r = pd.Series([0.10, -0.20, 0.05, 0.0, 0.15], index=pd.bdate_range("2024-01-01", periods=5))
    wealth = [1.0, 1.1, 0.88, 0.924, 0.924, 1.0626]
    assert P.total_return(r) == pytest.approx(wealth[-1] - 1)
    assert P.cagr(r, periods_per_year=5) == pytest.approx(wealth[-1] - 1)  # 5 periods = a year
    assert P.max_drawdown(r) == pytest.approx(0.88 / 1.1 - 1)
    d = P.max_drawdown_details(r)
    assert (d.peak, d.trough, d.recovery, d.duration) == (r.index[0], r.index[1], None, 4)
    assert P.win_rate(r) == pytest.approx(3 / 4)  # the zero is neither
    assert P.profit_factor(r) == pytest.approx(0.30 / 0.20)
    assert P.omega(r) == pytest.approx(0.30 / 0.20)
    dd = math.sqrt((0.2 ** 2) / 5) * math.sqrt(252)
    assert P.downside_deviation(r) == pytest.approx(dd)
    assert P.sortino(r) == pytest.approx(r.mean() * 252 / dd)
    assert P.log_returns(pd.Series([100.0, 110.0, 99.0])).tolist() == pytest.approx([math.log(1.1), math.log(0.9)])
    assert P.cumulative_returns(r).iloc[-1] == pytest.approx(wealth[-1] - 1)


def test_recovery_date_and_duration():
    r = pd.Series([0.1, -0.1, 0.05, 0.1, 0.01], index=pd.bdate_range("2024-01-01", periods=5))
    d = P.max_drawdown_details(r)  # 1.1 peak, 0.99 trough, back above 1.1 at the 4th return
    assert (d.peak, d.trough, d.recovery, d.duration) == (r.index[0], r.index[1], r.index[3], 3)


@pytest.mark.parametrize("bad", [pd.Series([], dtype=float), pd.Series([np.nan, np.nan])])
def test_empty_input_gives_nan(bad):
    s = P.summary(bad)
    assert s["periods"] == 0
    assert all(math.isnan(v) for k, v in s.items() if k != "periods")
    assert P.max_drawdown_details(bad) is None


def test_zero_variance_and_single_period():
    flat = pd.Series([0.001] * 10)
    assert math.isnan(P.sharpe(flat)) and P.annual_volatility(flat) == pytest.approx(0.0, abs=1e-12)
    one = pd.Series([0.05])
    assert math.isnan(P.sharpe(one)) and P.total_return(one) == pytest.approx(0.05)
    assert math.isnan(P.sortino(pd.Series([0.01, 0.02])))  # no downside: undefined
    assert P.max_drawdown(pd.Series([0.01, 0.02])) == 0.0
    s = P.summary(pd.Series([0.01, 0.02, 0.03]))
    assert all(v is not None and not (isinstance(v, float) and math.isinf(v)) for v in s.values())


def test_non_monotonic_index_is_an_error():
    r = pd.Series([0.01, 0.02], index=pd.to_datetime(["2024-01-02", "2024-01-01"]))
    with pytest.raises(ValueError, match="index must increase"):
        P.sharpe(r)


@given(st.lists(st.floats(-0.5, 0.5, allow_nan=False), min_size=2, max_size=200))
def test_drawdown_properties(values):
    r = pd.Series(values)
    mdd = P.max_drawdown(r)
    assert -1.0 <= mdd <= 0.0
    assert mdd == pytest.approx(P.drawdown(r).min() if P.drawdown(r).min() < 0 else 0.0)
    assert P.cagr(r) >= -1.0


def test_summary_has_the_documented_keys():
    s = P.summary(series(1))
    for key in ("cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown", "calmar", "omega",
                "tail_ratio", "var_95", "cvar_95"):
        assert key in s and math.isfinite(s[key])


def test_monthly_returns_compound_within_months():
    idx = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-02-01"])
    table = monthly_returns(pd.Series([0.1, 0.1, -0.05], index=idx))
    assert table.loc[2024, "Jan"] == pytest.approx(0.21) and table.loc[2024, "Feb"] == pytest.approx(-0.05)
    assert math.isnan(table.loc[2024, "Mar"])


def test_exposure_and_turnover():
    idx = pd.bdate_range("2024-01-01", periods=4)
    equity = pd.Series([100.0, 100.0, 200.0, 100.0], index=idx)
    pos = pd.DataFrame({"A": [50.0, -50.0, 100.0, 0.0], "B": [50.0, 0.0, 0.0, 0.0]}, index=idx)
    assert P.exposure(pos, equity).tolist() == [1.0, 0.5, 0.5, 0.0]
    traded = pd.Series([100.0, 0.0, 0.0, 0.0], index=idx)
    assert P.turnover(traded, equity, periods_per_year=4) == pytest.approx(1.0)


def test_round_trips_and_their_stats_by_hand():
    fills = pd.DataFrame({
        "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-08", "2024-01-09"], utc=True),
        "symbol": ["X"] * 5,
        "side": ["buy", "buy", "sell", "sell", "buy"],
        "quantity": [10, 10, 25, 5, 10],
        "price": [100.0, 110.0, 120.0, 90.0, 95.0],
        "commission": [1.0, 1.0, 1.0, 1.0, 1.0],
    })
    trips = round_trips(fills)
    assert trips["direction"].tolist() == ["long", "short"]
    long_, short = trips.iloc[0], trips.iloc[1]
    assert (long_["quantity"], long_["entry_price"], long_["exit_price"]) == (20.0, 105.0, 120.0)
    assert long_["pnl"] == pytest.approx(20 * 15 - (1 + 1 + 0.8))
    # Short: 5 at 120 (from the crossing fill) and 5 at 90, covered at 95.
    assert short["quantity"] == 10.0 and short["entry_price"] == pytest.approx(105.0)
    assert short["pnl"] == pytest.approx(10 * (105 - 95) - (0.2 + 1 + 1))
    stats = trade_stats(trips)
    assert stats["trades"] == 2 and stats["win_rate"] == 1.0 and math.isnan(stats["profit_factor"])
    assert stats["avg_holding_days"] == pytest.approx((4 + 4) / 2)
    assert trips["entry_time"].tolist() == [fills["time"][0], fills["time"][2]]
    assert trips["exit_time"].tolist() == [fills["time"][2], fills["time"][4]]
    # times as objects (Timestamps in an object column) come out as datetimes all the same
    as_objects = round_trips(fills.assign(time=fills["time"].astype(object)))
    pd.testing.assert_frame_equal(as_objects, trips, check_dtype=False)
    assert str(as_objects["entry_time"].dtype).startswith("datetime64")


def test_a_closing_fill_with_float_residue_closes_the_trip_and_opens_none():
    # Fractional units (a fractional-lot instrument): the closing sell is a hair more than the
    # position summed from the buys; the difference (~1e-16) is float residue, not a new short
    # trip (it was one, of zero units bought, and its entry price divided by zero).
    buys = [0.1, 0.7]
    position = buys[0] + buys[1]
    close = 0.8
    assert close > position and close - position < 1e-12  # the residue the test is about
    fills = pd.DataFrame({
        "time": pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC"), "symbol": ["X"] * 3,
        "side": ["buy", "buy", "sell"], "quantity": [*buys, close], "price": [10.0, 12.0, 13.0],
    })
    trips = round_trips(fills)
    assert len(trips) == 1 and trips["direction"].tolist() == ["long"]
    assert trips["quantity"].iloc[0] == pytest.approx(0.8)
    assert trips["exit_price"].iloc[0] == 13.0


def test_a_fill_of_under_1e_12_units_within_a_trip_keeps_its_commission():
    # The 1e-12 rule is for the rest a closing fill leaves (float residue): a fill that is
    # itself that small (fills from elsewhere than the broker, whose own are above 1e-9) is
    # still part of the open trip, its commission with it (as before the rule: 3.0, not 2.0).
    fills = pd.DataFrame({
        "time": pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC"), "symbol": ["A"] * 3,
        "side": ["buy", "buy", "sell"], "quantity": [1.0, 1e-13, 1.0], "price": [10.0, 11.0, 12.0],
        "commission": [1.0, 1.0, 1.0],
    })
    trips = round_trips(fills)
    assert len(trips) == 1
    assert trips["commission"].iloc[0] == 3.0
    assert trips["quantity"].iloc[0] == 1.0 + 1e-13


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_fill_without_a_finite_quantity_is_named(bad):
    fills = pd.DataFrame({
        "time": pd.date_range("2024-01-01", periods=2, freq="h", tz="UTC"), "symbol": ["A"] * 2,
        "side": ["buy", "sell"], "quantity": [1.0, bad], "price": [10.0, 12.0],
    })
    with pytest.raises(ValueError, match=r"fill 1 \(A sell\) has quantity"):
        round_trips(fills)
