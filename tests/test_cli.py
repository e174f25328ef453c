"""The `workbench` command's contract: output, exit status, one-line errors."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from workbench.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_data_list(capsys):
    code, out, _ = run(capsys, "data", "list")
    assert code == 0
    assert "sp500" in out and "SP500" in out and "5031" in out and "1999-01-04" in out and "2018-12-31" in out
    code, out, _ = run(capsys, "data", "list", "--json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["sp500", "nasdaq"] and rows[1]["rows"] == 5031


def test_data_show_head(capsys):
    code, out, _ = run(capsys, "data", "show", "nasdaq", "--head", "2")
    assert code == 0 and "1999-01-05" in out and "1999-01-06" not in out and "[5,031 rows" in out


def test_synth_then_validate_then_show(capsys, tmp_path):
    out_file = tmp_path / "q.parquet"
    code, out, _ = run(capsys, "data", "synth", "--symbols", "2", "--days", "1", "--freq", "1min",
                       "--seed", "4", "--out", str(out_file))
    assert code == 0 and "wrote 780 quotes" in out
    frame = pd.read_parquet(out_file)
    assert len(frame) == 780
    code, out, _ = run(capsys, "data", "validate", str(out_file))
    assert code == 0 and "OK" in out
    code, out, _ = run(capsys, "data", "synth", "--kind", "bars", "--days", "3", "--freq", "1D",
                       "--out", str(tmp_path / "b.csv"))
    assert code == 0 and "wrote 9 bars" in out


def test_validate_exit_status_and_report(capsys, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time,symbol,bid,ask,bid_size,ask_size\n"
                    "2024-01-02T14:30:00Z,X,10.05,10.01,1,1\n2024-01-02T14:30:01Z,X,10,10.01,-1,1\n")
    code, out, _ = run(capsys, "data", "validate", str(path))
    assert code == 1 and "bid_le_ask" in out and "size_nonneg" in out and "2 bad row(s)" in out
    code, out, _ = run(capsys, "data", "validate", str(path), "--json")
    report = json.loads(out)
    assert code == 1 and report["bad_rows"] == 2
    assert {v["rule"]: v["first_lines"] for v in report["violations"]} == {"bid_le_ask": [2], "size_nonneg": [3]}
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, out, _ = run(capsys, "data", "validate", str(empty))
    assert code == 1 and "INVALID" in out and "file is empty" in out


def test_errors_are_one_line_and_debug_shows_the_traceback(capsys, tmp_path):
    code, out, err = run(capsys, "data", "show", "no-such-dataset")
    assert code == 2 and err.count("\n") == 1 and err.startswith("workbench: error:")
    with pytest.raises(Exception):
        main(["data", "show", "no-such-dataset", "--debug"])
    code, _, err = run(capsys, "data", "synth", "--out", str(tmp_path / "x.txt"), "--freq", "1h")
    assert code == 2 and ".parquet or .csv" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["data", "synth", "--symbols", "0", "--out", "x.parquet"])
    assert info.value.code == 2 and "must be >= 1" in capsys.readouterr().err


def test_console_script_runs_as_a_module():
    proc = subprocess.run([sys.executable, "-m", "workbench", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("workbench ")


def test_selftest_passes_and_fails_loudly(capsys, monkeypatch):
    code, out, _ = run(capsys, "selftest")
    assert code == 0 and "PASS  feed" in out and "0 failed" in out
    from workbench.feed import component

    monkeypatch.setattr(component, "_check_cache", lambda: (_ for _ in ()).throw(AssertionError("cache broken")))
    code, out, _ = run(capsys, "selftest", "--json")
    results = {r["name"]: r for r in json.loads(out)}
    assert code == 1 and not results["csv_cache"]["passed"] and "cache broken" in results["csv_cache"]["detail"]


def test_backtest_json_contract(capsys):
    code, out, _ = run(capsys, "backtest", "sma_cross", "--data", "sp500", "-p", "fast=10", "-p", "slow=30", "--json")
    summary = json.loads(out)
    assert code == 0 and set(summary) == {
        "strategy", "params", "symbols", "bars", "orders", "fills", "final_equity", "total_return",
        "cagr", "sharpe", "max_drawdown", "fills_sha256", "benchmark", "portfolio",
    }
    assert summary["params"] == {"fast": 10, "slow": 30, "quantity": 100.0} and summary["bars"] == 5031
    from workbench.engine import backtest
    from workbench.feed import load_dataset_bars
    from workbench.strategies import SmaCross

    run_ = backtest(SmaCross(), load_dataset_bars("sp500"))
    benchmark, _ = summary.pop("benchmark"), summary.pop("portfolio")
    assert summary == run_.summary() and benchmark == json.loads(json.dumps(run_.benchmark()))


def test_backtest_out_dir_and_options(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, _ = run(capsys, "backtest", "buy_and_hold", "-p", "quantity=100", "--data", "sp500,nasdaq", "--symbols", "NASDAQ",
                       "--start", "2010-01-01", "--end", "2010-12-31", "--commission", "ibkr-fixed",
                       "--slippage", "bps:5", "--cash", "500000", "--out", str(out_dir))
    assert code == 0 and "NASDAQ" in out and "results in" in out
    for name in ("orders.csv", "fills.csv", "equity.csv", "journal.sqlite", "summary.json"):
        assert (out_dir / name).is_file(), name
    fills = pd.read_csv(out_dir / "fills.csv")
    assert fills["symbol"].unique().tolist() == ["NASDAQ"] and fills["commission"].iloc[0] == 1.0
    assert fills["time"].iloc[0].startswith("2010-01-05")  # first bar 2010-01-04, filled next open
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["bars"] == 252
    # what --json prints of the run's benchmark and portfolio is in the file too
    code, printed, _ = run(capsys, "backtest", "buy_and_hold", "-p", "quantity=100", "--data", "sp500,nasdaq",
                           "--symbols", "NASDAQ", "--start", "2010-01-01", "--end", "2010-12-31", "--commission",
                           "ibkr-fixed", "--slippage", "bps:5", "--cash", "500000", "--json")
    printed = json.loads(printed)
    assert code == 0 and summary["benchmark"] == printed["benchmark"] and summary["portfolio"] == printed["portfolio"]
    assert summary["benchmark"]["symbols"] == ["NASDAQ"] and summary["fills_sha256"] == printed["fills_sha256"]
    code, _, err = run(capsys, "backtest", "buy_and_hold", "--data", "sp500", "--out", str(out_dir))
    assert code == 2 and "exists" in err


@pytest.mark.parametrize(
    "argv, words",
    [
        (["backtest", "nope", "--data", "sp500"], "unknown strategy 'nope'"),
        (["backtest", "sma_cross", "--data", "sp500", "-p", "fast=x"], "parameter fast"),
        (["backtest", "sma_cross", "--data", "sp500", "-p", "colour=red"], "unknown parameter"),
        (["backtest", "sma_cross", "--data", "sp500", "-p", "fast"], "KEY=VALUE"),
        (["backtest", "sma_cross", "--data", "sp500", "--start", "yesterday-ish"], "--start: not a date"),
        (["backtest", "sma_cross", "--data", "sp500", "--start", "2010-01-01", "--end", "2009-01-01"], "after --end"),
        (["backtest", "sma_cross", "--data", "sp500", "--commission", "cheap"], "commission"),
        (["backtest", "sma_cross", "--data", "sp500", "--symbols", "SPX"], "not in the data"),
        (["backtest", "sma_cross", "--data", "sp500", "--start", "2030-01-01"], "no data left"),
        (["backtest", "sma_cross", "--data", "missing.csv"], "no such file"),
    ],
)
def test_backtest_errors_before_any_work(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2 and words in err and out == "" and err.count("\n") == 1


def test_paper_stop_and_resume(capsys, tmp_path):
    out_dir = tmp_path / "paper"
    code, out, _ = run(capsys, "paper", "sma_cross", "--data", "sp500", "--speed", "5e8", "--duration", "0.3s",
                       "--out", str(out_dir), "--json")
    first = json.loads(out)
    assert code == 0 and 0 < first["bars"] < 5031
    code, out, _ = run(capsys, "paper", "sma_cross", "--data", "sp500", "--speed", "1e12",
                       "--out", str(out_dir), "--resume", "--json")
    resumed = json.loads(out)
    code, out, _ = run(capsys, "backtest", "sma_cross", "--data", "sp500", "--json")
    assert resumed["fills_sha256"] == json.loads(out)["fills_sha256"]


def test_serve_on_a_port_in_use_is_refused_in_one_line_before_it_says_serving(capsys, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run(capsys, "serve", "--port", str(port), "--runs", str(tmp_path / "runs"))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err and "serving" not in out
    assert len(err.strip().splitlines()) == 1


BAD_ROWS = ("time,symbol,open,high,low,close,volume\n" + "".join(  # line 3: close x; line 6: volume -5
    f"2024-01-{d:02d},SPY,{100 + d},{101 + d},{99 + d},{'x' if d == 3 else 100 + d},{-5 if d == 6 else 1000}\n"
    for d in range(2, 12)))


def test_data_show_leaves_bad_rows_out_and_counts_them(capsys, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_ROWS)
    code, out, err = run(capsys, "data", "show", str(path), "--head", "3")
    assert code == 0 and "2024-01-02" in out and "2024-01-03" not in out and "2024-01-04" in out
    assert "[8 rows x 6 columns]" in out
    assert "2 bad row(s) of 10 left out: number_parse in close x1 (line 3); volume_nonneg in volume x1 (line 6)" \
        in err and f"workbench data validate {path}" in err
    every = tmp_path / "all.csv"
    every.write_text("time,symbol,close\n2024-01-02,X,x\n")
    code, out, err = run(capsys, "data", "show", str(every))
    assert code == 0 and "no good rows: all 1 lines are bad" in out and "1 bad row(s) of 1 left out" in err


def test_on_error_drop_runs_on_the_good_rows_and_says_what_it_left_out(capsys, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_ROWS)
    code, out, err = run(capsys, "backtest", "buy_and_hold", "--data", str(path))
    assert code == 2 and "line 3, column 'close'" in err and "--on-error drop" in err
    code, out, err = run(capsys, "backtest", "buy_and_hold", "--data", str(path), "--on-error", "drop", "--json",
                         "--out", str(tmp_path / "run"))
    assert code == 0 and json.loads(out)["bars"] == 8
    assert "warning: " + str(path) + ": 2 bad row(s) of 10 left out" in err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert any("2 bad row(s) of 10 left out" in w for w in summary["warnings"])
    every = tmp_path / "all.csv"
    every.write_text("time,symbol,close\n2024-01-02,X,x\n")
    code, out, err = run(capsys, "backtest", "buy_and_hold", "--data", str(every), "--on-error", "drop")
    assert code == 2 and "every line is bad (1): nothing left to run on" in err


def test_on_error_drop_names_the_options_to_list_them_with_and_optimize_keeps_the_warning(capsys, tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("Datum;AAA;BBB\n" + "".join(f"{d:02d}.01.2024;{100 + d},5;{'x' if d == 5 else 50 + d},5\n"
                                                 for d in range(2, 28)))
    layout = ["--wide", "--columns", "Datum=time", "--decimal", ","]
    code, out, err = run(capsys, "optimize", "sma_cross", "--data", str(path), *layout, "--on-error", "drop",
                         "--grid", "fast=2", "--grid", "slow=4", "--jobs", "1", "--json", "--out", str(tmp_path / "o"))
    note = (f"1 bad row(s) of 26 left out (a bad price leaves out that symbol's bar, the line's others kept): "
            f"number_parse in close x1 (line 5) (`workbench data validate {path} --columns Datum=time --decimal , "
            f"--wide` lists them)")
    assert code == 0 and note in err
    assert any(note in w for w in json.loads(out)["warnings"])
    assert any(note in w for w in json.loads((tmp_path / "o" / "summary.json").read_text())["warnings"])
    code, out, err = run(capsys, "backtest", "buy_and_hold", "--data", str(path), *layout, "--on-error", "drop",
                         "--symbols", "CCC")
    assert code == 2 and "not in the data" in err and "(--on-error drop: " in err
