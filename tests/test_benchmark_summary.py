"""Every run beside the buy-and-hold of its own universe (equal weight), with alpha, beta
and the information ratio against it; buy_and_hold fully invested by default."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from workbench.engine import backtest
from workbench.feed import load_dataset_bars, synthetic_bars
from workbench.strategies import BuyAndHold, SmaCross, Strategy


def test_the_benchmark_is_the_equal_weight_buy_and_hold_of_the_universe():
    sp, nq = load_dataset_bars("sp500"), load_dataset_bars("nasdaq")
    run = backtest(SmaCross(), sp, nq)
    b = run.benchmark()
    expected = np.mean([sp["close"].iloc[-1] / sp["close"].iloc[0], nq["close"].iloc[-1] / nq["close"].iloc[0]]) - 1
    assert b["symbols"] == ["NASDAQ", "SP500"]
    assert b["total_return"] == pytest.approx(expected, rel=1e-9)
    assert b["max_drawdown"] < -0.5  # 2000-2002 and 2008 were in it


def test_holding_nothing_has_no_beta_and_falls_behind_a_rising_market():
    class Idle(Strategy):
        pass

    bars = synthetic_bars(["AAA"], periods=500, seed=1)
    b = backtest(Idle(), bars).benchmark()
    assert b["beta"] == 0 and b["alpha"] == 0
    rising = b["total_return"] > 0
    assert (b["information_ratio"] < 0) == rising


def test_buy_and_hold_is_fully_invested_and_tracks_its_benchmark():
    sp = load_dataset_bars("sp500")
    run = backtest(BuyAndHold(), sp)
    held = run.positions["SP500"].iloc[-1]
    assert held == math.floor(1_000_000 / sp["close"].iloc[0])  # the equity at the first close, whole shares
    b = run.benchmark()
    assert b["beta"] == pytest.approx(1.0, abs=0.01)
    assert run.summary()["total_return"] == pytest.approx(b["total_return"], abs=0.02)
    fixed = backtest(BuyAndHold(quantity=100), sp)
    assert fixed.positions["SP500"].iloc[-1] == 100 and fixed.benchmark()["beta"] < 0.2


def test_the_command_line_shows_it():
    run = subprocess.run([sys.executable, "-m", "workbench", "backtest", "sma_cross", "--data", "sp500", "--json"],
                         capture_output=True, text=True, timeout=300)
    out = json.loads(run.stdout)
    assert set(out["benchmark"]) == {"symbols", "total_return", "cagr", "sharpe", "max_drawdown", "beta", "alpha",
                                     "information_ratio"}
    text = subprocess.run([sys.executable, "-m", "workbench", "backtest", "sma_cross", "--data", "sp500"],
                          capture_output=True, text=True, timeout=300).stdout
    assert "buy and hold" in text and "information ratio" in text


def test_turnover_and_cash_share():
    from workbench.strategies import Rebalance

    sp, nq = load_dataset_bars("sp500"), load_dataset_bars("nasdaq")
    held = backtest(BuyAndHold(), sp).portfolio()
    years = len(sp) / 252
    assert held["turnover"] == pytest.approx(1 / years, rel=0.05)  # the book bought once
    assert held["cash_share"] < 0.01
    part = backtest(Rebalance(weights="SP500=0.3,NASDAQ=0.3"), sp, nq).portfolio()
    assert part["cash_share"] == pytest.approx(0.4, abs=0.03)  # 40 % kept in cash
    out = json.loads(subprocess.run([sys.executable, "-m", "workbench", "backtest", "buy_and_hold", "--data", "sp500",
                                     "--json"], capture_output=True, text=True, timeout=300).stdout)
    assert set(out["portfolio"]) == {"turnover", "cash_share"}
