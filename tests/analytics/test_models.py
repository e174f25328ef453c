"""Trend, anomalies, forecasts and their measured accuracy; tear sheets; the CLI."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from workbench.analytics import Analytics, component
from workbench.analytics import forecast as F
from workbench.analytics import timeseries as T
from workbench.analytics.tearsheet import save_tearsheet, tearsheet
from workbench.cli import main
from workbench.feed import load_dataset

IDX = pd.bdate_range("2000-01-03", periods=5000, tz="UTC")


def random_walk(seed, n=5000, drift=0.0, sd=0.01, start=100.0):
    steps = np.random.default_rng(seed).normal(drift, sd, n)
    return pd.Series(start * np.exp(np.cumsum(steps)), index=IDX[:n])


def test_drift_test_finds_a_drift_and_not_a_phantom():
    rng = np.random.default_rng(1)
    with_drift = pd.Series(rng.normal(0.002, 0.01, 5000))
    none = pd.Series(rng.normal(0.0, 0.01, 5000))
    d, z = T.drift_test(with_drift), T.drift_test(none)
    assert d.significant and d.mean == pytest.approx(0.002, abs=0.0005)
    assert not z.significant
    assert d.lags == math.floor(4 * (5000 / 100) ** (2 / 9))
    # The HAC error is larger than the naive one when returns are autocorrelated.
    ar = np.zeros(5000)
    e = rng.normal(0, 0.01, 5000)
    for t in range(1, 5000):
        ar[t] = 0.5 * ar[t - 1] + e[t]
    naive_se = np.std(ar, ddof=1) / math.sqrt(5000)
    assert T.drift_test(pd.Series(ar)).stderr > 1.5 * naive_se
    with pytest.raises(ValueError, match="at least 3"):
        T.drift_test(pd.Series([0.1, 0.2]))


def test_stl_recovers_a_seasonal_cycle():
    t = np.arange(24 * 30)
    cycle = 5 * np.sin(2 * np.pi * t / 24)
    s = pd.Series(100 + 0.01 * t + cycle + np.random.default_rng(2).normal(0, 0.3, t.size))
    parts = T.decompose(s, period=24)
    assert np.corrcoef(parts["seasonal"], cycle)[0, 1] > 0.98
    assert parts["resid"].std() < 0.5
    with pytest.raises(ValueError, match="two periods"):
        T.decompose(s.iloc[:30], period=24)


def test_anomalies_find_injected_spikes_with_timestamps():
    x = pd.Series(np.random.default_rng(3).normal(0, 1, 2000), index=IDX[:2000])
    x.iloc[[500, 1500]] = [15.0, -12.0]
    found = T.anomalies(x, threshold=6.0)
    assert list(found.index) == [IDX[500], IDX[1500]]
    assert found["direction"].tolist() == ["high", "low"] and found["z"].iloc[0] > 6
    trailing = T.anomalies(x, threshold=6.0, window=250)
    assert set(trailing.index) == {IDX[500], IDX[1500]}
    # A burst of outliers does not hide itself by inflating the scale.
    burst = x.copy()
    burst.iloc[100:110] = 20.0
    assert len(T.anomalies(burst, threshold=6.0)) >= 10


@pytest.mark.parametrize("model", F.MODELS)
def test_forecasts_have_ordered_intervals_on_business_days(model):
    prices = random_walk(4, n=1500)
    f = F.forecast(prices, horizon=7, model=model)
    frame = f.frame
    assert len(frame) == 7 and (frame["lower"] < frame["mean"]).all() and (frame["mean"] < frame["upper"]).all()
    assert (frame.index.day_of_week < 5).all() and frame.index[0] > prices.index[-1]
    widths = (frame["upper"] - frame["lower"]).to_numpy()
    assert widths[-1] > widths[0]  # uncertainty grows with the horizon


def test_on_a_random_walk_nothing_beats_naive_by_much_and_coverage_is_honest():
    prices = random_walk(5)
    for model in ("arima", "ets"):
        acc = F.evaluate(prices, model, horizon=5, origins=40)
        assert acc["points"] == 200 and abs(acc["skill_vs_naive"]) < 0.1
        assert 0.85 <= acc["naive_coverage"] <= 1.0 and 0.8 <= acc["model_coverage"] <= 1.0


def test_theta_intervals_are_statsmodels_and_a_warm_started_fit_finds_the_same_variance(monkeypatch):
    # forecast.py computes the Theta method's intervals itself (so that a rolling evaluation
    # can start each origin's variance fit from the last one's): given statsmodels' variance
    # they must be statsmodels' own, its variance (fitted x 100) must be the same maximum
    # likelihood, found at least as well, and a warm start must land on the same estimate.
    import warnings

    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = np.log(random_walk(8, n=900).to_numpy())
    window = y[-F.THETA_WINDOW:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = F._fit("theta", window)
        theirs = np.asarray(res.prediction_intervals(6, alpha=0.1))
        cold = res.sigma2
        model = SARIMAX(window, order=(0, 1, 1), trend="c")
        theirs_llf = model.loglike(model.fit(disp=False).params)
    ours_sigma2 = F._theta_sigma2(window, warm := {})
    assert ours_sigma2 == pytest.approx(cold, rel=1e-2)
    scaled = warm["theta"] / np.array([F.THETA_SCALE, 1.0, F.THETA_SCALE**2])  # back to log prices
    assert model.loglike(scaled) >= theirs_llf - 1e-9
    monkeypatch.setattr(F, "_theta_sigma2", lambda y, warm: cold)
    ours = F._predict("theta", None, y, 6, 0.9)
    np.testing.assert_allclose(ours[:, 1:], theirs, rtol=0, atol=1e-12)
    monkeypatch.undo()
    warm = {}
    F._theta_sigma2(y[-F.THETA_WINDOW - 50:-50], warm)  # the previous origin's estimates
    assert F._theta_sigma2(window, warm) == pytest.approx(cold, rel=1e-2)


def test_on_a_trending_series_a_model_beats_naive():
    rng = np.random.default_rng(6)
    y = np.zeros(3000)
    for t in range(1, 3000):  # strongly autocorrelated log returns: predictable
        y[t] = y[t - 1] + 0.9 * (y[t - 1] - y[t - 2] if t > 1 else 0) + rng.normal(0, 0.002)
    prices = pd.Series(100 * np.exp(y), index=IDX[:3000])
    acc = F.evaluate(prices, "arima", horizon=5, origins=30)
    assert acc["skill_vs_naive"] > 0.2


def test_garch_volatility_forecast():
    r = pd.Series(np.random.default_rng(7).normal(0, 0.01, 2000), index=IDX[:2000])
    vol = F.volatility_forecast(r, horizon=5)
    assert len(vol) == 5 and ((vol["annual_volatility"] > 0.1) & (vol["annual_volatility"] < 0.25)).all()


def test_forecast_input_errors():
    with pytest.raises(ValueError, match="at least 30"):
        F.forecast(random_walk(1, n=10))
    with pytest.raises(ValueError, match="horizon"):
        F.forecast(random_walk(1, n=100), horizon=0)
    with pytest.raises(ValueError, match="model"):
        F.forecast(random_walk(1, n=100), model="prophet")
    with pytest.raises(ValueError, match="not enough data"):
        F.evaluate(random_walk(1, n=100), horizon=10, origins=20)


def test_tearsheet_html_and_png(tmp_path):
    r = load_dataset("sp500")["close"].pct_change().dropna()
    layout = tearsheet(r, title="SP500")
    html = save_tearsheet(layout, tmp_path / "t.html")
    png = save_tearsheet(layout, tmp_path / "t.png")
    assert "Monthly returns" in html.read_text() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=".html or .png"):
        save_tearsheet(layout, tmp_path / "t.pdf")


def test_analyze_cli_contract(capsys, tmp_path):
    assert main(["analyze", "--data", "sp500", "--json", "--forecast", "5"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown", "calmar", "omega",
                "tail_ratio", "var_95", "cvar_95"):
        assert report["summary"][key] is not None
    assert report["periods"] == 5030 and len(report["forecast"]["steps"]) == 5
    assert report["forecast"]["accuracy"]["naive_mae"] > 0
    run_dir = tmp_path / "run"
    assert main(["backtest", "sma_cross", "--data", "sp500", "--out", str(run_dir)]) == 0
    capsys.readouterr()
    assert main(["analyze", "--run", str(run_dir), "--tearsheet", str(tmp_path / "t.html")]) == 0
    out = capsys.readouterr().out
    assert "round trips        88" in out and (tmp_path / "t.html").is_file()
    assert main(["analyze", "--data", "sp500", "--column", "vwap"]) == 2
    assert "no column 'vwap'" in capsys.readouterr().err


def test_component_api_and_a_self_test_that_can_fail(monkeypatch):
    a = Analytics()
    a.run("summary", lambda: 1)
    assert a.stats()["summary_runs"] == 1 and a.info()["name"] == "analytics"
    assert all(r.passed for r in a.self_test())
    import workbench.analytics.performance as perf

    monkeypatch.setattr(perf, "sharpe", lambda r, *a, **k: 1.0)
    assert not {r.name: r for r in component.Analytics().self_test()}["sharpe_by_hand"].passed
