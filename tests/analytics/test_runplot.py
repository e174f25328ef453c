"""Seeing a run: the plot's markers sit at the fills, its panels are the run's own figures,
and the command line writes the files (bad names refused before the run)."""

import numpy as np
import pytest

from workbench.analytics.runplot import panels, run_figure
from workbench.cli import main
from workbench.engine import backtest
from workbench.errors import ConfigError
from workbench.feed import load_dataset_bars, synthetic_quotes
from workbench.strategies import QuoteTaker, SmaCross


@pytest.fixture(scope="module")
def result():
    return backtest(SmaCross(fast=10, slow=30), load_dataset_bars("sp500").loc["2010":"2012"])


def test_the_panels_are_the_runs_figures(result):
    p = panels(result)
    fills = result.fills
    assert len(p["buys"]) == (fills["side"] == "buy").sum() > 0 and len(p["sells"]) == (fills["side"] == "sell").sum()
    assert np.allclose(p["buys"]["price"], fills.loc[fills["side"] == "buy", "price"])
    assert np.allclose(p["sells"]["price"], fills.loc[fills["side"] == "sell", "price"])
    assert p["prices"].index[0] == result.equity.index[0].tz_convert(None)  # the run's span, not the file's
    assert len(p["prices"]) == result.bars
    dd = p["drawdown"].to_numpy()
    assert dd.max() <= 0 and np.isclose(dd.min(), result.summary()["max_drawdown"])
    assert np.array_equal(p["position"].to_numpy(), result.positions["SP500"].to_numpy())


def test_the_figure_draws_a_marker_per_fill_on_one_time_axis(result):
    layout = run_figure(result)
    top, *rest = layout.children
    scatters = [r.data_source.data for r in top.renderers if type(r.glyph).__name__ == "Scatter"]
    assert sorted(len(d["price"]) for d in scatters) == sorted([(result.fills["side"] == s).sum()
                                                                 for s in ("buy", "sell")])
    assert len(rest) == 3 and all(f.x_range is top.x_range for f in rest)


def test_a_quote_run_plots_the_mid(tmp_path):
    quotes = synthetic_quotes(1, days=1, freq="10s", seed=3)
    r = backtest(QuoteTaker(), quotes)
    p = panels(r)
    q = quotes[quotes["symbol"] == r.symbols[0]]
    assert list(p["prices"].columns) == ["close"]
    assert np.allclose(p["prices"]["close"].iloc[:5], ((q["bid"] + q["ask"]) / 2).iloc[:5])
    assert r.plot(tmp_path / "q.png").stat().st_size > 10_000


def test_an_unknown_symbol_or_file_kind_is_named(result, tmp_path):
    with pytest.raises(ConfigError, match="'NOPE' is not in this run .*SP500"):
        panels(result, "NOPE")
    with pytest.raises(ConfigError, match=r"must end in \.html or \.png"):
        result.plot(tmp_path / "x.svg")


def test_backtest_plot_writes_html_and_png(tmp_path, capsys):
    for name in ("run.html", "run.png"):
        assert main(["backtest", "sma_cross", "--data", "sp500", "--end", "2001-12-31",
                     "--plot", str(tmp_path / name)]) == 0
        assert f"plot            {tmp_path / name}" in capsys.readouterr().out
    html = (tmp_path / "run.html").read_text()
    assert "Bokeh" in html and "cdn.bokeh.org" not in html
    assert (tmp_path / "run.png").read_bytes()[:4] == b"\x89PNG"
