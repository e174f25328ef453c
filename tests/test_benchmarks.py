"""The benchmarks' own guards: the README's performance table is the one the committed
results give, results from two runs are refused, a comparison between programs that did
different work is refused, the interleaving warms and alternates both sides, and the bare
loop that the engine is measured against trades exactly as the engine does."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import harness  # noqa: E402
import report  # noqa: E402


def run_report(*args):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "report.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def test_the_readme_table_is_the_one_the_committed_results_give():
    done = run_report("--check")
    assert done.returncode == 0, done.stderr


def test_a_figure_edited_by_hand_in_the_readme_is_caught(tmp_path):
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    begin = text.index(report.BEGIN)
    row = text.index("| `bench_", begin)  # the first row of figures
    cell = text.index(" | ", text.index(" | ", text.index(" | ", row) + 3) + 3) + 3  # its "measured" cell
    readme.write_text(text[:cell] + "9" + text[cell:])  # one digit added to a figure
    done = run_report("--check", "--readme", readme)
    assert done.returncode == 1 and "not the one" in done.stderr, done.stderr


def test_results_from_two_runs_make_no_table(tmp_path):
    for path in (ROOT / "benchmarks" / "results").glob("bench_*.json"):
        shutil.copy(path, tmp_path / path.name)
    odd = sorted(tmp_path.glob("bench_*.json"))[0]
    data = json.loads(odd.read_text())
    data["machine"]["run"] = "another run"
    odd.write_text(json.dumps(data))
    with pytest.raises(report.ReportError, match=f"not one.*{odd.name}"):
        report.load(tmp_path)
    done = run_report("--results", tmp_path, "--readme", tmp_path / "README.md")
    assert done.returncode == 2 and "2 runs" in done.stderr


def test_a_damaged_result_file_is_named(tmp_path):
    (tmp_path / "bench_feed.json").write_text("{not json")
    with pytest.raises(report.ReportError, match="bench_feed.json: not a benchmark result"):
        report.load(tmp_path)


def test_interleaved_warms_each_side_alike_and_rotates_the_order():
    calls = []
    timing, last = harness.interleaved({"a": lambda: calls.append("a") or 1, "b": lambda: calls.append("b") or 2},
                                       repeats=3, warmup=1, progress=False)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then rounds in rotating order
    assert last == {"a": 1, "b": 2}
    for t in timing.values():
        assert len(t["times"]) == 3 and t.best == min(t["times"]) and t.best <= t.median


def test_same_refuses_a_ratio_between_different_work():
    harness.same("fills", [(1.0, 100)], [(1.0, 100)])
    with pytest.raises(harness.NotEquivalent, match="fills differ: 1 vs 2"):
        harness.same("fills", [(1.0, 100)], [(1.0, 100), (2.0, -100)], "1 vs 2")


def test_the_bare_loop_trades_as_the_engine_does_and_a_broken_one_is_caught(monkeypatch):
    import bench_backtest as bb

    from workbench.feed import synthetic_bars

    bars = synthetic_bars(3, periods=600, freq="1D", seed=11, start="1900-01-01", drift=0.0, tick_size=1e-6)
    ours = bb.run_workbench(bars)
    assert sum(len(v) for v in ours.values()) > 20  # enough trades for the comparison to mean something
    harness.same("fills", ours, bb.run_bare(bars))
    monkeypatch.setattr(bb, "FAST", bb.FAST + 1)  # the floor computing a different average
    with pytest.raises(harness.NotEquivalent):
        harness.same("fills", ours, bb.run_bare(bars))
