"""Synthetic market: determinism (byte-identical), validity, and the model's statistics."""

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.feed import SyntheticMarket, synthetic_bars, synthetic_quotes, validate_frame


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf)
    return buf.getvalue()


@given(
    seed=st.integers(0, 2**32 - 1),
    symbols=st.integers(1, 4),
    freq=st.sampled_from(["1s", "30s", "5min", "1h"]),
)
def test_same_seed_gives_byte_identical_quotes(seed, symbols, freq):
    a = synthetic_quotes(symbols, days=1, freq=freq, seed=seed)
    b = synthetic_quotes(symbols, days=1, freq=freq, seed=seed)
    assert parquet_bytes(a) == parquet_bytes(b)
    other = synthetic_quotes(symbols, days=1, freq=freq, seed=seed + 1)
    assert not np.array_equal(a["bid"].to_numpy(), other["bid"].to_numpy())


@given(
    seed=st.integers(0, 10_000),
    symbols=st.integers(1, 3),
    freq=st.sampled_from(["1D", "1min", "30min"]),
    days=st.integers(1, 4),
    ticks=st.integers(1, 20),
    correlation=st.floats(-0.3, 0.95),
    volatility=st.floats(0.01, 1.5),
)
def test_bars_are_valid_deterministic_and_on_the_tick_grid(seed, symbols, freq, days, ticks, correlation, volatility):
    kw = dict(days=days, freq=freq, seed=seed, ticks_per_bar=ticks, correlation=correlation, volatility=volatility)
    bars = synthetic_bars(symbols, **kw)
    assert parquet_bytes(bars) == parquet_bytes(synthetic_bars(symbols, **kw))
    loaded = validate_frame(bars)  # raises DataError on any broken rule
    assert loaded.report.ok
    prices = bars[["open", "high", "low", "close"]].to_numpy()
    np.testing.assert_allclose(prices * 100, np.round(prices * 100), atol=1e-6)
    assert (bars["volume"].to_numpy() % 100 == 0).all()


@given(seed=st.integers(0, 10_000), spread=st.floats(0.0, 50.0), tick=st.sampled_from([0.01, 0.05, 0.25]))
def test_quotes_are_valid_with_positive_spread_on_ticks(seed, spread, tick):
    q = synthetic_quotes(2, days=1, freq="1min", seed=seed, spread_bps=spread, tick_size=tick)
    assert validate_frame(q).report.ok
    spread_ticks = (q["ask"] - q["bid"]).to_numpy() / tick
    assert (spread_ticks > 0.999).all()
    np.testing.assert_allclose(q["bid"] / tick, np.round(q["bid"] / tick), atol=1e-6)
    assert (q["bid_size"] % 100 == 0).all() and (q["bid_size"] > 0).all()


def test_layout_and_session_times():
    q = synthetic_quotes(["AAA", "BBB"], days=2, freq="1s", seed=0)
    assert len(q) == 2 * 2 * 23_400
    first = q.index[0].tz_convert("America/New_York")
    last = q.index[-1].tz_convert("America/New_York")
    assert (first.strftime("%Y-%m-%d %H:%M:%S"), last.strftime("%Y-%m-%d %H:%M:%S")) == (
        "2024-01-02 09:30:00", "2024-01-03 15:59:59"
    )
    assert q["symbol"].iloc[:4].tolist() == ["AAA", "BBB", "AAA", "BBB"]
    bars = synthetic_bars(2, days=1, freq="1h", seed=0)
    ends = bars.index.unique().tz_convert("America/New_York").strftime("%H:%M").tolist()
    assert ends == ["10:30", "11:30", "12:30", "13:30", "14:30", "15:30"]
    assert len(synthetic_bars(1, periods=1000, freq="1min", seed=0)) == 1000


def log_returns(bars: pd.DataFrame) -> pd.DataFrame:
    close = bars.pivot_table(index=bars.index, columns="symbol", values="close", observed=True)
    return np.log(close).diff().dropna()


def test_volatility_and_correlation_match_the_parameters():
    calm = dict(jumps_per_year=0, stress_per_year=0, tick_size=0.0001, start_price=1000.0)
    bars = synthetic_bars(3, periods=5000, freq="1D", seed=42, volatility=0.2, correlation=0.6, **calm)
    r = log_returns(bars)
    annual_vol = r.std() * np.sqrt(252)
    # Per-symbol volatility is drawn from 0.7..1.3 times the parameter.
    assert ((annual_vol > 0.2 * 0.65) & (annual_vol < 0.2 * 1.35)).all(), annual_vol
    corr = r.corr().to_numpy()[np.triu_indices(3, 1)]
    assert np.all(np.abs(corr - 0.6) < 0.05), corr
    # Daily returns of a Gaussian model have no fat tails.
    assert np.all(np.abs(r.kurt()) < 0.5), r.kurt()


def test_jumps_and_stress_fatten_the_tails():
    bars = synthetic_bars(1, periods=5000, freq="1D", seed=7, jumps_per_year=25, jump_std=0.03)
    assert log_returns(bars).kurt().iloc[0] > 2.0


def test_stress_regime_raises_volatility_and_widens_spreads():
    market = SyntheticMarket(symbols=1, seed=3, stress_per_year=40, stress_days=5, jumps_per_year=0)
    q = market.quotes(days=20, freq="1min")
    spread = (q["ask"] - q["bid"]) / ((q["ask"] + q["bid"]) / 2) * 1e4
    # Spreads double in stress: both regimes show up as two clusters of spreads.
    assert spread.quantile(0.95) > 1.5 * spread.quantile(0.25)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(symbols=0), "symbols must be >= 1"),
        (dict(symbols=10**11), "at most 10,000"),  # not a list of 10**11 names first
        (dict(symbols=["A", "A"]), "unique"),
        (dict(volatility=-0.1), "volatility must be finite and > 0"),
        (dict(correlation=1.0), "correlation"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_parameters(kwargs, words):
    with pytest.raises(ValueError, match=words):
        SyntheticMarket(**kwargs).quotes(days=1, freq="1min")


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(days=1, freq="banana"), "freq"),
        (dict(days=1, freq="36h"), "whole days"),
        (dict(days=0), "days must be an integer >= 1"),
        (dict(days=1, periods=5), "exactly one of days and periods"),
        (dict(periods=2_000_000, freq="1D"), "past the year 2262"),
    ],
)
def test_bad_grids(kwargs, words):
    with pytest.raises(ValueError, match=words):
        synthetic_bars(1, **kwargs)
