"""The benchmarks still run (tiny sizes, peers left out where they are not installed; the
figures themselves are printed by `make bench`)."""

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def result(path):
    data = json.loads(path.read_text())
    assert data["machine"]["cores"] >= 1 and data["targets"], data
    return data["figures"], {r["figure"]: r for r in data["targets"]}


def test_bench_feed_runs_and_measures(tmp_path, capsys):
    out = tmp_path / "feed.json"
    code = load("bench_feed").main(
        ["--rows", "23400", "--event-rows", "5000", "--csv-rows", "20000", "--repeats", "1", "--json", str(out)]
    )
    assert code == 0
    figures, rows = result(out)
    assert figures["parquet_rows"] == 23_400  # one symbol, one session of 1 s quotes
    for key in ("load_validate_vs_bare", "replay_batches_events_per_s", "replay_objects_vs_tuples"):
        assert figures[key] > 0
    assert figures["cache_speedup"] > 0 and figures["csv_load_validate_vs_bare"] > 0
    assert figures["csv_frame_mb"] > 0 and figures["csv_peak_mb"] >= 0 and figures["read_csv_peak_mb"] >= 0
    text = capsys.readouterr().out
    assert "33,481" in text and "read_parquet" in text and "events/s" in text


def test_bench_broker_runs_and_measures(tmp_path, capsys):
    out = tmp_path / "broker.json"
    code = load("bench_broker").main(["--orders", "500", "--sync-orders", "50", "--repeats", "1", "--trials", "2",
                                      "--json", str(out)])
    figures, rows = result(out)
    assert code == 0 and figures["crash_trials_passed"] == 2
    assert figures["batched"]["fills"] == 500 and figures["batched"]["p99_us"] > 0
    assert figures["raw_sqlite"]["rows"] == 50 and figures["raw_sqlite"]["p99_us"] > 0
    # the machine's tail beside place_order's: the same number of calls, in the same rounds
    steady = figures["steady"]
    assert steady["calls"] == 500 and 1 < steady["p50_us"] <= steady["p99_us"]  # a sum over range(600): > 1 us
    assert figures["tail_ratio"]["steady"] == steady["p99_us"] / steady["p50_us"]
    assert any(f.startswith("the machine's tail") and r["met"] is None for f, r in rows.items())
    text = capsys.readouterr().out
    assert "15.5 ms" in text and "raw SQLite" in text and "fills/s" in text and "constant work" in text


def test_bench_backtest_runs_and_measures(tmp_path, capsys):
    out = tmp_path / "bt.json"
    code = load("bench_backtest").main(["--bars", "2000", "--symbols", "1", "2", "--repeats", "1", "--quotes", "46800",
                                        "--no-backtrader", "--no-nautilus", "--json", str(out)])  # (make test makes no .venv-nautilus)
    figures, rows = result(out)
    assert code == 0 and figures["symbols_2"]["bars"] == 2000 and figures["symbols_2"]["fills"] > 0
    # one symbol: backtest() takes the sparse route, and where its time goes is measured
    parts = figures["sparse_parts"]
    assert figures["symbols_1"]["fills"] > 0 and parts["loop"] > 0 and parts["frames"] > 0
    assert parts["budget_10x"] == figures["symbols_1"]["workbench"]["best"] / 10
    assert any(f.startswith("where the sparse route's time goes") and r["met"] is None for f, r in rows.items())
    for k in (1, 2):  # where the event loop's time goes: the orders' share is the difference of two runs
        loop = figures[f"loop_parts_{k}"]
        assert loop["no_orders"] > 0 and loop["frames"] > 0 and loop["loop"] > 0
        assert loop["orders"] == max(loop["loop"] - loop["no_orders"], 0.0)
        assert loop["placed"] >= figures[f"symbols_{k}"]["fills"] > 0  # orders placed (one may not fill)
        assert loop["allowed_033"] == figures[f"symbols_{k}"]["bare_loop"]["best"] / 0.33
        assert loop["whole"] == figures[f"symbols_{k}"]["workbench"]["best"]
        assert loop["left_for_orders"] == loop["allowed_033"] - (loop["whole"] - loop["orders"])
        assert loop["frames"] > 1e-4  # five frames built: not an empty stopwatch
    assert parts["frames"] > 1e-4
    assert all(("nothing left" in r["value"]) == (figures[f"loop_parts_{k}"]["left_for_orders"] <= 0)
               for k in (1, 2) for f, r in rows.items() if f.startswith(f"where the event loop's time goes, {k} "))
    assert figures["quote_events"] == 46800 and figures["quote_fills"] > 0
    assert any("bare Python loop" in f for f in rows) and "bars/s" in capsys.readouterr().out


def test_bench_analytics_runs_and_measures(tmp_path, capsys):
    out = tmp_path / "an.json"
    assert load("bench_analytics").main(["--json", str(out)]) == 0
    figures, rows = result(out)
    assert set(figures) == {"sp500", "nasdaq"}
    assert figures["sp500"]["accuracy"]["arima"]["naive_mae"] > 0
    assert "skill" in capsys.readouterr().out


def test_bench_monitor_runs_and_measures(tmp_path, capsys):
    out = tmp_path / "mon.json"
    assert load("bench_monitor").main(["--bars", "4000", "--repeats", "1", "--scrapers", "20", "--json", str(out)]) == 0
    figures, rows = result(out)
    assert figures["bars"] == 4000 and figures["samples_per_run"] >= 1
    assert figures["metrics"]["workbench"]["answered"] == 60
    assert "monitored" in capsys.readouterr().out


def test_bench_optimize_runs_and_measures(tmp_path, capsys):
    out = tmp_path / "opt.json"
    assert load("bench_optimize").main(["--jobs", "1", "--repeats", "1", "--no-vectorbt", "--json", str(out)]) == 0
    figures, rows = result(out)
    assert figures["trials"] == 1000 and figures["workbench_s"]["best"] > 0
    assert "trials/s" in capsys.readouterr().out


def test_bench_reliability_runs_and_measures(tmp_path, capsys):
    out = tmp_path / "rel.json"
    assert load("bench_reliability").main(["--kills", "3", "--corruptions", "7", "--json", str(out)]) == 0
    figures, rows = result(out)
    assert figures["crash"]["identical"] == 3 and figures["corruption"]["detected_with_first_bad_seq"] == 7
    assert "resumed runs identical" in capsys.readouterr().out


def test_the_csv_peak_is_the_childs_own_not_its_large_parents(tmp_path):
    """The peak memory of a CSV load is measured in a fresh process; a child keeps its
    parent's getrusage peak across exec, so a large parent (bench_feed holds 10M rows) once
    made the two loads' peaks its own size. With 400 MB held here, a small file's load peaks
    far below that."""
    from workbench.feed import synthetic_bars

    path = tmp_path / "small.csv"
    synthetic_bars(1, periods=2_000, seed=1).to_csv(path)
    held = bytearray(400 * 2**20)
    for i in range(0, len(held), 4096):
        held[i] = 1  # resident, not only reserved
    peaks = {how: load("bench_feed")._peak_mb(path, how)["peak_mb"] for how in ("load_file", "read_csv")}
    del held
    assert all(0 <= peak < 200 for peak in peaks.values()), peaks


def test_bench_backtest_with_no_fill_at_all(tmp_path, capsys):
    """32 bars: sma_cross decides twice and never buys; the rows that split the time per order
    say so instead of dividing by no orders."""
    out = tmp_path / "bt0.json"
    code = load("bench_backtest").main(["--bars", "32", "--symbols", "1", "--repeats", "1", "--quotes", "46800",
                                        "--no-backtrader", "--no-nautilus", "--json", str(out)])
    figures, rows = result(out)
    assert code == 0 and figures["symbols_1"]["fills"] == 0
    assert figures["loop_parts_1"]["orders"] >= 0 and "0 orders" in capsys.readouterr().out
