"""Search, the fast path (against the engine), executors (Dask included), resumption,
walk-forward and the overfitting statistics (against worked examples)."""

import json
import math
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from workbench.certify.reference import cscv_pbo
from workbench.cli import main
from workbench.engine import backtest
from workbench.errors import ConfigError
from workbench.feed import load_dataset_bars, synthetic_bars
from workbench.jsonsafe import jsonable
from workbench.optimize import (
    Choice,
    Float,
    Int,
    Optimizer,
    TrialStore,
    deflated_sharpe,
    fastpath,
    grid,
    parse_dimension,
    pbo,
    random_points,
    search,
    sweep,
    walk_forward,
)
from workbench.optimize.overfit import expected_max_sharpe, probabilistic_sharpe
from workbench.strategies import BuyAndHold, SmaCross

SP500 = load_dataset_bars("sp500")


def test_dimension_parsing():
    assert parse_dimension("fast=5:20:5") == ("fast", Int(5, 20, 5))
    assert Int(5, 20, 5).values() == [5, 10, 15, 20]
    assert parse_dimension("x=0.1:1.0:4")[1].values() == pytest.approx([0.1, 0.4, 0.7, 1.0])
    assert parse_dimension("x=0.001:1:log")[1] == Float(0.001, 1.0, log=True)
    assert parse_dimension("m=a,b,3") == ("m", Choice(("a", "b", 3)))
    for bad in ("fast", "fast=", "fast=10:5", "fast=5:10:0", "x=1.0:0.5", "x=0:1:log", "x=a:b"):
        with pytest.raises(ConfigError, match="--grid"):
            parse_dimension(bad)
    pts = grid({"a": Int(1, 2), "b": Choice(("x", "y"))})
    assert pts == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    assert random_points({"a": Int(1, 100)}, 5, seed=1) == random_points({"a": Int(1, 100)}, 5, seed=1)


@settings(max_examples=25, deadline=None)
@example(seed=380, fast=27, extra=34, tick=0.01, options={})  # no cross in 300 days: no Sharpe (found by hypothesis)
@given(seed=st.integers(0, 10_000), fast=st.integers(1, 30), extra=st.integers(1, 60),
       tick=st.sampled_from([0.01, 0.05, 1e-6]),
       options=st.sampled_from([{}, {"commission": "ibkr-fixed", "slippage": "bps:5"},
                                {"account_type": "margin", "cash": 50_000.0}, {"cash": 20_000.0}]))
def test_fast_path_reproduces_the_engine_exactly(seed, fast, extra, tick, options):
    bars = synthetic_bars(1, days=300, seed=seed, tick_size=tick)
    strategy = SmaCross(fast=fast, slow=fast + extra, quantity=100)
    fast_result = fastpath.run(strategy, bars, **options)
    engine = backtest(strategy, bars, **options)
    if fast_result is None:  # the engine must have refused an order, then
        assert engine.broker.stats()["orders_rejected"] > 0
        return
    assert engine.broker.stats()["orders_rejected"] == 0
    assert fast_result.summary() == engine.summary()
    score = fastpath.score(strategy, bars, **options)
    for key in ("final_equity", "total_return", "cagr", "sharpe", "max_drawdown"):
        assert jsonable(score[key]) == engine.summary()[key]  # (the summary says an undefined figure as None)
    assert score["trades"] == len(engine.trades)


def test_a_batch_converts_its_frame_once_and_a_frame_changed_outside_one_is_seen():
    bars = SP500.copy()
    strategy = SmaCross(fast=5, slow=20)
    alone = fastpath.score(strategy, bars)
    with fastpath.shared_frames():
        first = fastpath.score(strategy, bars)
        held = fastpath._arrays(bars)
        assert fastpath._arrays(bars) is held  # converted once for the batch
        assert not held[5].flags.writeable  # the shared closes cannot be changed by a trial
        with pytest.raises(ValueError):
            held[5][0] = 0.0
    assert first == alone == {**alone}
    assert fastpath._shared.frame is None  # the batch's frame is let go at its end
    seen = []  # another thread has its own: a batch there neither uses nor clears this one's
    with fastpath.shared_frames():
        mine = fastpath._arrays(bars)
        other = threading.Thread(target=lambda: seen.append((fastpath._shared.frame, fastpath._shared.depth)))
        other.start()
        other.join()
        assert fastpath._arrays(bars) is mine and seen == [(None, 0)]
    bars["open"] *= 1.01  # changed between two calls: a fresh conversion sees it (every fill 1 % dearer)
    assert fastpath.score(strategy, bars)["final_equity"] != alone["final_equity"]
    intraday = synthetic_bars(1, days=5, freq="1min", seed=3)
    with fastpath.shared_frames():
        many = fastpath.score(strategy, intraday)
    assert not fastpath._arrays(intraday)[-2]  # many bars a day: statistics from the daily closes
    assert many == fastpath.score(strategy, intraday)
    assert many["sharpe"] == backtest(strategy, intraday).summary()["sharpe"]


def test_fast_path_gives_way_to_the_engine_when_money_runs_out():
    strategy = SmaCross(fast=5, slow=20, quantity=1000)
    assert fastpath.run(strategy, SP500, cash=100_000.0) is None
    result = sweep("sma_cross", [SP500], [{"fast": 5, "slow": 20, "quantity": 1000.0}], options={"cash": 100_000.0},
                   jobs=1)
    assert result.trials["path"].iloc[0] == "engine"
    assert not fastpath.supports(strategy, (SP500, SP500), {})
    assert fastpath.supports(BuyAndHold(quantity=100), (SP500,), {})
    assert not fastpath.supports(BuyAndHold(), (SP500,), {})  # fully invested sizes from the equity: the engine


def test_intraday_bars_go_to_the_engine():
    """With intraday bars a DAY order decided on a day's last bar expires at the date change
    (the engine's session rule), which the fast path does not model: it answered with other
    fills (430 against the engine's 412 and 75 expired orders on this data) and the optimizer
    used them. Now such a sweep runs the engine, whose figures it reports."""
    hourly = synthetic_bars(1, periods=3000, freq="1h", seed=3)
    strategy = SmaCross(fast=3, slow=8, quantity=100)
    engine = backtest(strategy, hourly)
    assert (engine.orders["status"] == "expired").any()  # the case exists in this data
    assert len(fastpath.run(strategy, hourly).fills) != len(engine.fills)  # what the fast path would say
    assert not fastpath.supports(strategy, (hourly,), {})
    with fastpath.shared_frames():
        fastpath._arrays(hourly)
        assert not fastpath.supports(strategy, (hourly,), {})  # the batch's cached answer too
    result = sweep("sma_cross", [hourly], [{"fast": 3, "slow": 8, "quantity": 100.0}], jobs=1)
    assert result.trials["path"].iloc[0] == "engine"
    assert result.trials["fills"].iloc[0] == len(engine.fills)


POINTS = grid({"fast": Int(5, 45, 10), "slow": Int(20, 120, 25)})


def comparable(frame):
    return frame.drop(columns=["duration_s"]).reset_index(drop=True)


def test_same_sweep_on_every_executor_including_a_real_dask_cluster():
    base = sweep("sma_cross", [SP500], POINTS, jobs=1)
    procs = sweep("sma_cross", [SP500], POINTS, jobs=2)
    dask = sweep("sma_cross", [SP500], POINTS, dask="local:2")
    assert base.executor == "in-process" and procs.executor == "processes:2" and dask.executor == "dask:local:2"
    pd.testing.assert_frame_equal(comparable(base.trials), comparable(procs.trials))
    pd.testing.assert_frame_equal(comparable(base.trials), comparable(dask.trials))
    assert base.best == dask.best and base.best["params"]["slow"] >= base.best["params"]["fast"]


def test_sweeps_resume_from_the_store(tmp_path):
    store = tmp_path / "trials.sqlite"
    half = sweep("sma_cross", [SP500], POINTS[:12], store=store, jobs=1)
    assert half.cached == 0
    full = sweep("sma_cross", [SP500], POINTS, store=store, jobs=1)
    assert full.cached == 12 and len(full.trials) == len(POINTS)
    fresh = sweep("sma_cross", [SP500], POINTS, jobs=1)
    pd.testing.assert_frame_equal(comparable(full.trials), comparable(fresh.trials))
    assert TrialStore(store).count() == len(POINTS)
    other_data = sweep("sma_cross", [SP500.iloc[:2000]], POINTS[:3], store=store, jobs=1)
    assert other_data.cached == 0  # the data is part of the key


def test_a_store_serves_only_trials_of_the_same_code(tmp_path, monkeypatch):
    from workbench.optimize import trial as runner  # where trials are keyed

    store, points = tmp_path / "trials.sqlite", POINTS[:6]
    calls = []

    def code_hash(*parts):
        calls.append(parts)
        return "old code"

    monkeypatch.setattr(runner, "code_hash", code_hash)
    assert sweep("sma_cross", [SP500], points, store=store, jobs=1).cached == 0
    assert sweep("sma_cross", [SP500], points, store=store, jobs=1).cached == len(points)
    assert calls == [(), ()]  # the whole package, once per sweep (not per trial)
    monkeypatch.setattr(runner, "code_hash", lambda *parts: "new code")
    assert sweep("sma_cross", [SP500], points, store=store, jobs=1).cached == 0
    assert sweep("sma_cross", [SP500], points, store=store, jobs=1).cached == len(points)
    assert TrialStore(store).count() == 2 * len(points)


def test_invalid_and_infeasible_trials():
    result = sweep("sma_cross", [SP500], [{"fast": 30, "slow": 20}, {"fast": 5, "slow": 20}, {"fast": 100, "slow": 200}],
                   min_trades=20, jobs=1)
    assert result.trials["status"].tolist() == ["invalid", "ok", "infeasible"]
    assert "must be below slow" in result.trials["error"].iloc[0]
    assert result.best["params"] == {"fast": 5, "slow": 20}
    with pytest.raises(ConfigError, match="unknown parameter"):
        sweep("sma_cross", [SP500], [{"speed": 3}])
    with pytest.raises(ConfigError, match="objective"):
        sweep("sma_cross", [SP500], POINTS, objective="luck")


def test_random_and_bayesian_search():
    space = {"fast": Int(2, 40), "slow": Int(41, 200)}
    r = search("sma_cross", [SP500], space, method="random", n=12, seed=3, jobs=1)
    assert len(r.trials) == 12 and r.trials["status"].eq("ok").all()
    b = search("sma_cross", [SP500], space, method="bayes", n=10, seed=3)
    assert len(b.trials) == 10 and b.best is not None
    assert str(type(r.heatmap("fast", "slow")).__name__) == "HeatMap"


def test_walk_forward_windows_and_stitching():
    for mode in ("rolling", "anchored"):
        wf = walk_forward("sma_cross", SP500, POINTS, folds=4, mode=mode, jobs=1)
        f = wf.folds
        assert f["fold"].tolist() == [1, 2, 3, 4]
        assert (f["oos_start"].iloc[1:].to_numpy() > f["oos_end"].iloc[:-1].to_numpy()).all()  # no overlap
        assert (f["is_end"] < f["oos_start"]).all()  # never trained on what it trades
        if mode == "anchored":
            assert (f["is_start"] == SP500.index[0]).all()
        assert wf.oos_returns.index.is_monotonic_increasing and wf.oos_returns.index.is_unique
        assert wf.oos_returns.index[0] >= f["oos_start"].iloc[0]
        s = wf.summary()
        assert s["degradation"] == pytest.approx(s["is_mean"] - s["oos_mean"])
    with pytest.raises(ConfigError, match="too few"):
        walk_forward("sma_cross", SP500.iloc[:200], POINTS, folds=4)


def test_deflated_sharpe_worked_example():
    # Bailey and Lopez de Prado (2014), section on the DSR: SR 2.5 a year over 5 years of
    # daily returns, skew -3, kurtosis 10, 100 trials, variance of their Sharpe 0.5 a year.
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=1e-4)
    assert probabilistic_sharpe(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0) == pytest.approx(0.9004, abs=1e-4)
    # And from returns: the estimate equals the formula written out here independently.
    r = pd.Series(np.random.default_rng(1).normal(0.001, 0.01, 1000))
    d = deflated_sharpe(r, n_trials=50, sharpe_variance=0.0004)
    sr = r.mean() / r.std(ddof=1)
    z = stats.norm.ppf
    thr = math.sqrt(0.0004) * ((1 - np.euler_gamma) * z(1 - 1 / 50) + np.euler_gamma * z(1 - 1 / (50 * math.e)))
    g3, g4 = stats.skew(r), stats.kurtosis(r, fisher=False)
    want = stats.norm.cdf((sr - thr) * math.sqrt(999) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr * sr))
    assert (d.sharpe, d.threshold, d.dsr) == (pytest.approx(sr), pytest.approx(thr), pytest.approx(want))


def test_pbo_matches_a_brute_force_cscv_and_behaves():
    rng = np.random.default_rng(2)
    m = rng.normal(0, 0.01, (240, 6))
    got = pbo(m, blocks=6)
    want_pbo, want_logits = cscv_pbo(m, 6)  # CSCV written out plainly, the certification's reference
    assert got.pbo == pytest.approx(want_pbo) and np.allclose(got.logits, want_logits) and got.splits == 20
    noise = pbo(rng.normal(0, 0.01, (1600, 20)), blocks=16)
    assert 0.25 < noise.pbo < 0.75  # skill-free trials: the in-sample winner is a coin flip
    skilled = rng.normal(0, 0.01, (1600, 20))
    skilled[:, 7] += 0.004
    assert pbo(skilled, blocks=16).pbo < 0.05
    with pytest.raises(ValueError, match="even"):
        pbo(m, blocks=5)


def test_optimize_cli(capsys, tmp_path):
    out = tmp_path / "opt"
    argv = ["optimize", "sma_cross", "--data", "sp500", "--grid", "fast=5:45:10", "--grid", "slow=20:120:25",
            "--jobs", "1", "--out", str(out), "--json", "--walk-forward", "2"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["trials"] == len(POINTS) and report["best"]["params"]["fast"] in (5, 15, 25, 35, 45)
    assert 0 <= report["deflated_sharpe"]["dsr"] <= 1 and 0 <= report["pbo"]["pbo"] <= 1
    assert report["walk_forward"]["folds"] == 2
    for name in ("trials.csv", "summary.json", "heatmap.html", "trials.sqlite", "walkforward.csv"):
        assert (out / name).is_file(), name
    assert main(argv[:-2]) == 0  # again (no walk-forward): every trial comes from the store
    assert json.loads(capsys.readouterr().out)["cached"] == len(POINTS)


@pytest.mark.parametrize(
    "grid_args, words",
    [
        (["--grid", "fast=0:10"], "below the minimum"),
        (["--grid", "speed=1:3"], "no such parameter"),
        (["--grid", "fast=10:5"], "LOW <= HIGH"),
        ([], "at least one --grid"),
        (["--grid", "fast=5:10", "--objective", "luck"], "--objective"),
    ],
)
def test_optimize_cli_errors_before_work(capsys, grid_args, words):
    assert main(["optimize", "sma_cross", "--data", "sp500", *grid_args]) == 2
    assert words in capsys.readouterr().err


def test_optimizer_component():
    o = Optimizer()
    o.sweep("sma_cross", [SP500], POINTS[:4], jobs=1)
    assert o.stats()["trials"] == 4 and o.stats()["trials_per_second"] > 0
    assert all(r.passed for r in o.self_test())


def test_a_float_parameters_whole_number_range_is_floats():
    from workbench.optimize.space import Float, Int
    from workbench.optimize.studies import parse_space

    space = parse_space(["band=0:1:5", "lookback=10:50:10"], "rebalance")
    assert isinstance(space["band"], Float) and space["band"].num == 5
    assert isinstance(space["lookback"], Int)
