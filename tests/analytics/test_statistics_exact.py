"""The run statistics (``equity_statistics``/``daily_statistics``, shared by the backtest
summary and the optimizer's fast path) against the plain composition of empyrical calls
they replaced, bit for bit: computing each pass once must not move a single bit."""

import math
import struct

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from workbench.analytics import performance as P
from workbench.feed import load_dataset_bars
from workbench.optimize import fastpath
from workbench.strategies import SmaCross


def reference(daily, final, cash):
    """The statistics as first written: each one its own empyrical call (and guard)."""
    values = np.concatenate([[float(cash)], np.asarray(daily, dtype=float)])
    with np.errstate(divide="ignore", invalid="ignore"):
        r = values[1:] / values[:-1] - 1.0
    r = r[~np.isnan(r)]

    def finite(x):
        x = float(x)
        return x if math.isfinite(x) else math.nan

    def ratio(num, den):
        return float(num / den) if den != 0 and math.isfinite(den) and math.isfinite(num) else math.nan

    if not r.size:
        growth = math.nan
    elif ep.cum_returns_final(r, starting_value=1.0) <= 0:
        growth = -1.0
    else:
        growth = float(ep.cagr(r, annualization=252))
    if r.size < 2 or not float(np.std(r - 0.0, ddof=1)) > 1e-15:
        sharpe = math.nan
    else:
        sharpe = finite(ep.sharpe_ratio(r, 0.0, annualization=252))
    dd = float(ep.downside_risk(r, 0.0, annualization=252))
    if not dd > 0:
        sortino = math.nan
    elif r.size == 1:
        sortino = ratio(float(r[0] - 0.0) * 252, dd)
    else:
        sortino = finite(ep.sortino_ratio(r, 0.0, annualization=252))
    draw = ep.stats.drawdown_series(r) if r.size else np.empty(0)
    mdd = float(min(draw.min(), 0.0)) if len(draw) else math.nan
    return {"final_equity": final, "total_return": final / float(cash) - 1.0, "cagr": growth,
            "annual_volatility": float(ep.annual_volatility(r, annualization=252)), "sharpe": sharpe,
            "sortino": sortino, "max_drawdown": mdd, "calmar": ratio(growth, abs(mdd)) if mdd and mdd < 0 else math.nan}


def bits(stats):
    return {k: struct.pack("<d", v) for k, v in stats.items()}


def curves():
    """Equity curves of every kind the statistics meet: random walks, long flat stretches
    (a strategy out of the market), flat throughout, wiped out, negative (a margin account),
    from and through zero (infinite and undefined returns), and the short lengths where the
    guards decide (0-3 days; 126 and 252 days, where CAGR's exponent is a whole number)."""
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 3, 4, 5, 20, 126, 252, 253, 1000):
        for sd in (0.0, 1e-18, 1e-16, 0.01, 0.2):
            yield 1e6 * np.cumprod(1 + rng.normal(0.0003, sd, n))
    for n in (1, 2, 126, 252, 500):
        walk = 1e6 * np.cumprod(1 + rng.normal(0.0, 0.02, n))
        walk[rng.random(n) < 0.7] = np.nan
        yield pd.Series(walk).ffill().fillna(1e6).to_numpy()  # flat for most days
        yield np.full(n, 1e6)
        yield np.full(n, 1e6 + 1e-9)
        down = walk.copy()
        down[n // 2:] = 0.0  # wiped out: a -100 % day, then 0 / 0
        yield down
        yield np.linspace(1e6, -5e5, n)  # through zero into debt
        yield np.concatenate([[0.0], np.abs(walk[1:])])  # from zero: an infinite return
        yield -np.abs(walk)
    yield np.array([1e6 * 1.5] * 252)
    yield np.array([1e6 * 0.5, 1e6 * 0.25] * 63)
    yield np.array([1e6 * (1 + 1e-15)] * 10)


@pytest.mark.parametrize("cash", [1e6, 250_000.0])
def test_daily_statistics_are_the_empyrical_calls_bit_for_bit(cash):
    seen = 0
    with np.errstate(all="ignore"):
        for daily in curves():
            final = float(daily[-1]) if len(daily) else cash
            want = reference(daily, final, cash)
            assert bits(P.daily_statistics(daily, final, cash)) == bits(want), (len(daily), daily[:3])
            seen += 1
    assert seen > 90


def test_a_sweeps_statistics_are_the_empyrical_calls_bit_for_bit():
    """The curves of a real sweep (sp500, an sma_cross grid), each figure through both."""
    bars = load_dataset_bars("sp500")
    with fastpath.shared_frames():
        for fast in (2, 9, 30):
            for slow in (40, 110, 250):
                strategy = SmaCross(fast=fast, slow=slow, quantity=100)
                result = fastpath.run(strategy, bars)
                equity = result.equity
                got = P.equity_statistics(equity, 1e6)
                assert bits(got) == bits(reference(equity.to_numpy(), float(equity.iloc[-1]), 1e6))
                score = fastpath.score(strategy, bars)
                assert bits({k: score[k] for k in got}) == bits(got)


def test_the_drawdown_series_is_empyricals_bit_for_bit():
    """drawdown's compiled pass against ``empyrical.stats.drawdown_series``: calm and wild
    returns, total losses (-100 %), below -100 % (negative wealth), infinities."""
    rng = np.random.default_rng(3)
    with np.errstate(all="ignore"):
        for n in (1, 2, 3, 10, 252, 5031):
            for sd in (0.0, 1e-3, 0.02, 0.5, 3.0):
                r = rng.normal(0.0003, sd, n)
                if sd == 3.0:
                    r[rng.random(n) < 0.05] = -1.0
                if n > 3:
                    r[1], r[2], r[0] = (np.inf, -np.inf, -2.5) if sd == 0.5 else (r[1], r[2], r[0])
                want = ep.stats.drawdown_series(r)
                assert P.drawdown(r).tobytes() == want.tobytes()
                assert P.drawdown(pd.Series(r)).to_numpy().tobytes() == want.tobytes()
