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
