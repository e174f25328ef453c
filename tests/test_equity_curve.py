"""``engine.equity_curve`` against the plain statement of it: positions and cash summed over
the union of the marks' and the fills' times, each mark time taking the sums up to it."""

import numpy as np
import pandas as pd
import pytest

from workbench.engine import equity_curve


def reference(marks: pd.DataFrame, fills: pd.DataFrame, cash0: float, multipliers=None):
    multipliers = multipliers or {}
    times = marks.index
    sign = np.where(fills["side"] == "buy", 1.0, -1.0)
    ft = pd.DatetimeIndex(pd.to_datetime(fills["time"], utc=True))
    signed = pd.DataFrame({"symbol": fills["symbol"].to_numpy(), "q": sign * fills["quantity"].to_numpy()}, index=ft)
    pos = signed.groupby([pd.Grouper(level=0), "symbol"])["q"].sum().unstack("symbol")
    pos = pos.reindex(times.union(pos.index)).fillna(0.0).cumsum().reindex(times).ffill().fillna(0.0)
    trade = sign * fills["quantity"].to_numpy() * fills["price"].to_numpy()
    if multipliers:
        trade = trade * fills["symbol"].astype(str).map(multipliers).fillna(1.0).to_numpy()
    per_time = pd.Series(-trade - fills["commission"].to_numpy(), index=ft).groupby(level=0).sum()
    cash = cash0 + per_time.reindex(times.union(per_time.index)).fillna(0.0).cumsum().reindex(times)
    pos = pos.reindex(columns=marks.columns, fill_value=0.0)
    values = marks.fillna(0.0)
    if multipliers:
        values = values * pd.Series([multipliers.get(str(c), 1.0) for c in values.columns], index=values.columns)
    return cash + (pos * values).sum(axis=1), pos


def case(seed: int):
    rng = np.random.default_rng(seed)
    times = pd.date_range("2020-01-01", periods=60, freq="D", tz="UTC", name="time")
    symbols = ["AAA", "BBB", "CCC"]
    marks = pd.DataFrame(rng.uniform(10, 200, (60, 3)).round(2), index=times,
                         columns=pd.Index(symbols, name="symbol"))
    marks.iloc[:5, 2] = np.nan  # a symbol that starts later
    n = 40
    # fills at mark times, several at one time, and some between mark times (an expiry's)
    at = np.sort(rng.integers(3, 58, n))
    ft = times[at] + pd.to_timedelta(np.where(rng.random(n) < 0.2, 3600, 0), unit="s")
    fills = pd.DataFrame({
        "time": ft, "symbol": rng.choice(symbols[:2], n), "side": rng.choice(["buy", "sell"], n),
        "quantity": rng.integers(1, 50, n).astype(float) / 3, "price": rng.uniform(10, 200, n),
        "commission": rng.uniform(0, 2, n),
    })
    return marks, fills


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("multipliers", [None, {"BBB": 100.0}])
def test_the_equity_curve_is_the_sums_over_both_time_axes_bit_for_bit(seed, multipliers):
    marks, fills = case(seed)
    equity, positions = equity_curve(marks, fills, 1e6, multipliers)
    want_equity, want_positions = reference(marks, fills, 1e6, multipliers)
    assert equity.index.equals(marks.index) and positions.index.equals(marks.index)
    assert np.array_equal(equity.to_numpy(), want_equity.to_numpy())  # exact: the same sums in the same order
    assert np.array_equal(positions.to_numpy(), want_positions.to_numpy())
    assert list(positions.columns) == list(marks.columns)
    assert positions.iloc[:3].eq(0.0).all().all()  # before the first fill: flat, starting cash
    assert (equity.iloc[:3] == 1e6 + 0.0).all()
