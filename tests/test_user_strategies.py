"""A user's own strategies: typed class fields as parameters, classes loaded from a file or a
module on backtest, paper and optimize, their errors said in one line, the `workbench new
strategy` template, and the warnings a short or silent run gives."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from workbench.engine import backtest
from workbench.errors import ConfigError, StrategyError
from workbench.feed import synthetic_bars
from workbench.session import SessionConfig, run_session
from workbench.strategies import Strategy, load_strategy, strategy_class

BREAKOUT = textwrap.dedent('''
    from workbench.strategies import Strategy


    class Breakout(Strategy):
        """Long after a close at the highest of the last `lookback`, flat after one at the lowest."""

        lookback: int = 20
        quantity: float = 100

        def warmup(self):
            return self.lookback

        def on_bar(self, bar):
            closes = self.history(bar.symbol, "close", self.lookback)
            if len(closes) < self.lookback:
                return
            if bar.close >= closes.max():
                self.target_position(bar.symbol, self.quantity)
            elif bar.close <= closes.min():
                self.target_position(bar.symbol, 0)
''')


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd)


@pytest.fixture
def breakout_file(tmp_path):
    path = tmp_path / "breakout.py"
    path.write_text(BREAKOUT)
    return path


def test_typed_class_fields_are_checked_parameters_read_from_the_run():
    class MyThing(Strategy):
        lookback: int = 20
        band: float = 1
        note: str = "x"

    assert MyThing.name == "my_thing"
    assert {k: (p.type, p.default) for k, p in MyThing.parameters.items()} == {
        "lookback": (int, 20), "band": (float, 1.0), "note": (str, "x")}
    s = MyThing(lookback="30")
    assert (s.lookback, s.band, s.note) == (30, 1.0, "x")  # the run's value, not the class default
    with pytest.raises(ConfigError, match="parameter lookback: 'x' is not an int"):
        MyThing(lookback="x")
    with pytest.raises(ConfigError, match="unknown parameter"):
        MyThing(lookbak=3)
    with pytest.raises(TypeError, match="needs a default"):
        type("NoDefault", (Strategy,), {"__annotations__": {"n": int}})
    with pytest.raises(TypeError, match="not both"):
        type("Both", (Strategy,), {"__annotations__": {"n": int}, "n": 1, "parameters": {}})


def test_a_class_from_a_file_and_from_a_module(breakout_file, tmp_path, monkeypatch):
    cls = load_strategy(f"{breakout_file}:Breakout")
    assert cls.name == "breakout" and set(cls.parameters) == {"lookback", "quantity"}
    assert strategy_class(f"{breakout_file}:Breakout") is cls  # imported once while the file is unchanged
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rules.py").write_text(BREAKOUT)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert strategy_class("mypkg.rules:Breakout").parameters["lookback"].default == 20


@pytest.mark.parametrize("text, spec, says", [
    (None, "nowhere.py:X", "no such file nowhere.py"),
    (BREAKOUT, "{f}:Nope", "has no Nope; its strategies: Breakout"),
    ("from workbench.strategies import Strategy\nclass X(Strategy)\n    pass\n", "{f}:X",
     "SyntaxError: expected ':' (line 2)"),
    ("x = 1\nimport no_such_module_here\n", "{f}:X", "ModuleNotFoundError: No module named 'no_such_module_here' "
                                                     "(line 2)"),
    ("class X:\n    pass\n", "{f}:X", "X is not a subclass of workbench.strategies.Strategy"),
    (None, "no_such_pkg.mod:X", "no module 'no_such_pkg' on the Python path"),
    (None, "{f}", "unknown strategy"),
    (None, "{f}:", "expected path/to/file.py:Class"),
])
def test_what_is_wrong_with_a_strategy_file_is_said(tmp_path, text, spec, says):
    f = tmp_path / "mine.py"
    if text is not None:
        f.write_text(text)
    with pytest.raises(ConfigError) as info:
        strategy_class(spec.format(f=f))
    assert says in str(info.value)


def test_the_command_line_runs_a_strategy_file_as_python_does(breakout_file, tmp_path):
    bars = synthetic_bars(["AAA", "BBB"], periods=400, seed=3)
    data = tmp_path / "bars.parquet"
    bars.to_parquet(data)
    expected = backtest(load_strategy(f"{breakout_file}:Breakout")(lookback=30), bars)
    for how in (["--strategy-file", f"{breakout_file}:Breakout"], [f"{breakout_file}:Breakout"]):
        run = cli("backtest", *how, "--data", str(data), "-p", "lookback=30", "--json")
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout)
        assert out["strategy"] == "breakout" and out["fills"] == len(expected.fills) > 0
        assert out["fills_sha256"] == expected.summary()["fills_sha256"]
    bad = cli("backtest", "--strategy-file", f"{breakout_file}:Breakout", "--data", str(data), "-p", "lookbak=3")
    assert bad.returncode == 2 and "unknown parameter(s) ['lookbak']" in bad.stderr
    both = cli("backtest", "sma_cross", "--strategy-file", f"{breakout_file}:Breakout", "--data", str(data))
    assert both.returncode == 2 and "not both" in both.stderr
    neither = cli("backtest", "--data", str(data))
    assert neither.returncode == 2 and "no strategy" in neither.stderr


def test_the_optimizer_runs_a_strategy_file_in_worker_processes(breakout_file, tmp_path):
    bars = synthetic_bars(["AAA"], periods=400, seed=4)
    data = tmp_path / "bars.parquet"
    bars.to_parquet(data)
    run = cli("optimize", "--strategy-file", f"{breakout_file}:Breakout", "--data", str(data),
              "--grid", "lookback=10:40:10", "--jobs", "2", "--out", str(tmp_path / "study"), "--json")
    assert run.returncode == 0, run.stderr
    trials = pd.read_csv(tmp_path / "study" / "trials.csv")
    cls = load_strategy(f"{breakout_file}:Breakout")
    for _, row in trials.iterrows():
        alone = backtest(cls(lookback=int(row["lookback"])), bars)
        assert row["trades"] == len(alone.trades), row.to_dict()
    bad = cli("optimize", "--strategy-file", f"{breakout_file}:Breakout", "--data", str(data), "--grid", "lookbak=1:3")
    assert bad.returncode == 2 and "lookbak" in bad.stderr and "Traceback" not in bad.stderr


def test_an_error_in_the_strategys_own_code_is_one_line_naming_its_file_line_and_time(tmp_path):
    f = tmp_path / "buggy.py"
    f.write_text("from workbench.strategies import Strategy\n\n\nclass Buggy(Strategy):\n    after: int = 50\n\n"
                 "    def on_bar(self, bar):\n        if len(self.history(bar.symbol)) > self.after:\n"
                 "            return 1 / 0\n")
    bars = synthetic_bars(["AAA"], periods=100, seed=1)
    with pytest.raises(StrategyError) as info:
        backtest(load_strategy(f"{f}:Buggy")(), bars)
    message = str(info.value)
    assert "ZeroDivisionError: division by zero in on_bar (buggy.py line 9)" in message
    assert str(bars.index[50]) in message  # the 51st bar is the first with more than 50 seen
    data = tmp_path / "bars.parquet"
    bars.to_parquet(data)
    run = cli("backtest", f"{f}:Buggy", "--data", str(data))
    assert run.returncode == 2 and "Traceback" not in run.stderr and "buggy.py line 9" in run.stderr


def test_new_strategy_writes_a_file_whose_test_passes_and_which_the_cli_runs(tmp_path):
    made = cli("new", "strategy", "my_breakout", "--dir", str(tmp_path / "mine"))
    assert made.returncode == 0, made.stderr
    source = tmp_path / "mine" / "my_breakout.py"
    assert "class MyBreakout(Strategy)" in source.read_text()
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_breakout.py"],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path / "mine")
    assert tests.returncode == 0 and "3 passed" in tests.stdout, tests.stdout + tests.stderr
    run = cli("backtest", "--strategy-file", f"{source}:MyBreakout", "--data", "sp500", "-p", "lookback=50", "--json")
    assert run.returncode == 0 and json.loads(run.stdout)["fills"] > 0, run.stderr
    again = cli("new", "strategy", "my_breakout", "--dir", str(tmp_path / "mine"))
    assert again.returncode == 2 and "already exist" in again.stderr
    assert cli("new", "strategy", "My-Thing").returncode == 2


def test_a_run_shorter_than_the_warm_up_says_so_and_strict_refuses_it(tmp_path):
    data = tmp_path / "three.csv"
    data.write_text("time,open,high,low,close,volume\n" + "".join(
        f"2024-01-0{d},1,1,1,1,1\n" for d in (2, 3, 4)))
    run = cli("backtest", "sma_cross", "--data", str(data), "--json")
    assert run.returncode == 0
    warnings = json.loads(run.stdout)["warnings"]
    assert warnings[0].startswith("THREE has 3 bar(s) in this run; sma_cross") and "seen 30" in warnings[0]
    assert warnings[-1] == "no orders: the data is shorter than sma_cross's warm-up (30 bars)"
    assert warnings[1].startswith("the run has data on 3 of 3 calendar day(s) (UTC dates)")
    assert "warning: THREE has 3 bar(s)" in run.stderr
    strict = cli("backtest", "sma_cross", "--data", str(data), "--strict")
    assert strict.returncode == 2 and "--strict: THREE has 3 bar(s)" in strict.stderr
    # one bar more than the warm-up: no warning about it
    ok = run_session(SessionConfig("sma_cross", (str(data),), params={"fast": 1, "slow": 2}))
    assert not any("warm-up" in w or "decides only" in w for w in ok.warnings)


def test_a_run_with_enough_data_and_no_order_says_the_rules_never_fired(tmp_path):
    data = tmp_path / "flat.csv"
    days = pd.bdate_range("2024-01-02", periods=80)
    data.write_text("time,open,high,low,close,volume\n" + "".join(f"{d:%Y-%m-%d},5,5,5,5,1\n" for d in days))
    result = run_session(SessionConfig("sma_cross", (str(data),)))
    assert len(result.orders) == 0
    assert result.warnings[0].startswith("the run has data on 80 of ")  # (under a year)
    assert result.warnings[1:] == [f"no orders: sma_cross {result.params} saw 80 bar(s) and 0 quote(s) and its rules "
                               "never asked for one (try other parameters, or check the data's symbols and dates)"]
    traded = run_session(SessionConfig("buy_and_hold", (str(data),)))
    assert len(traded.orders) == 1 and not any(w.startswith("no orders") for w in traded.warnings)
    assert np.isfinite(traded.equity.iloc[-1])


def test_a_subclass_default_a_parents_bounds_and_strategy_names():
    class Mom(Strategy):
        lookback: int = 20

    class SlowMom(Mom):
        lookback = 100

    assert SlowMom().lookback == 100 and SlowMom(lookback=10).lookback == 10  # -p still reaches it

    from workbench.strategies import SmaCross

    with pytest.raises(ConfigError, match="below the minimum 1"):
        type("Zero", (SmaCross,), {"__annotations__": {"fast": int}, "fast": 0})
    with pytest.raises(TypeError, match="the name of a Strategy attribute"):
        type("Cash", (Strategy,), {"__annotations__": {"cash": float}, "cash": 5000.0})


def test_exit_at_import_and_errors_in_on_stop_or_warmup_are_strategy_errors(tmp_path):
    f = tmp_path / "quits.py"
    f.write_text("import sys\nsys.exit()\n")
    with pytest.raises(ConfigError, match="importing .* failed: SystemExit"):
        load_strategy(f"{f}:X")
    (tmp_path / "helper.py").write_text("N = 7\n")
    (tmp_path / "uses.py").write_text("from helper import N\nfrom workbench.strategies import Strategy\n\n\n"
                                      "class Uses(Strategy):\n    n: int = N\n")
    assert load_strategy(f"{tmp_path / 'uses.py'}:Uses")().n == 7  # a module beside the file imports
    (tmp_path / "stops.py").write_text("from workbench.strategies import Strategy\n\n\nclass Stops(Strategy):\n"
                                       "    def on_stop(self):\n        raise KeyError('x')\n\n"
                                       "    def warmup(self):\n        return 1\n")
    bars = synthetic_bars(["AAA"], periods=20, seed=1)
    with pytest.raises(StrategyError, match=r"KeyError: 'x' in on_stop \(stops.py line 6\)"):
        backtest(load_strategy(f"{tmp_path / 'stops.py'}:Stops")(), bars)
    (tmp_path / "warm.py").write_text("from workbench.strategies import Strategy\n\n\nclass Warm(Strategy):\n"
                                      "    def warmup(self):\n        return 1 / 0\n")
    data = tmp_path / "bars.parquet"
    bars.to_parquet(data)
    run = cli("backtest", f"{tmp_path / 'warm.py'}:Warm", "--data", str(data))
    assert run.returncode == 2 and "ZeroDivisionError" in run.stderr and "Traceback" not in run.stderr


def test_a_run_whose_orders_were_all_refused_says_so(tmp_path):
    bars = synthetic_bars(["AAA"], periods=30, seed=1)
    data = tmp_path / "bars.parquet"
    bars.to_parquet(data)
    result = run_session(SessionConfig("rebalance", (str(data),), params={"fractional": True}))
    assert result.warnings and result.warnings[-1].startswith("no orders: the broker refused all")
    assert "OFF_LOT" in result.warnings[-1]


def test_a_resume_with_the_strategy_file_changed_is_refused(tmp_path):
    made = cli("new", "strategy", "idea", "--dir", str(tmp_path))
    assert made.returncode == 0
    spec = f"{tmp_path / 'idea.py'}:Idea"
    args = ["paper", "--strategy-file", spec, "--data", "sp500", "--speed", "2e8", "--out", str(tmp_path / "run"),
            "--no-control"]
    first = cli(*args, "--duration", "1s")
    assert first.returncode == 0, first.stderr
    source = tmp_path / "idea.py"
    source.write_text(source.read_text().replace("quantity: float = 100.0", "quantity: float = 100.0  # edited"))
    refused = cli(*args, "--resume")
    assert refused.returncode == 2 and "the strategy file's SHA-256" in refused.stderr
    for bad, says in (("class", "a Python keyword"), ("test_x", "collected by pytest")):
        run = cli("new", "strategy", bad, "--dir", str(tmp_path))
        assert run.returncode == 2 and says in run.stderr
    with pytest.raises(ConfigError, match="the base class itself"):
        load_strategy(f"{source}:Strategy")


def test_a_run_shorter_than_a_year_says_its_yearly_figures_are_annualized(tmp_path):
    bars = synthetic_bars(["AAA"], periods=60, seed=1)
    data = tmp_path / "bars.parquet"
    bars.to_parquet(data)
    short = run_session(SessionConfig("buy_and_hold", (str(data),))).warnings
    assert any(w.startswith("the run has data on 60 of ") and "as if a year were 252 of them" in w
               for w in short), short
    year = run_session(SessionConfig("buy_and_hold", ("sp500",), start="2010-01-01", end="2011-01-05")).warnings
    assert not any("annualized" in w for w in year), year
