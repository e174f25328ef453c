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
    with pytest.raises(report.ReportError, match=f"not one.*{odd.stem}"):
        report.load(tmp_path)
    done = run_report("--results", tmp_path, "--readme", tmp_path / "README.md")
    assert done.returncode == 2 and "2 runs" in done.stderr


def copied_results(tmp_path):
    for path in (ROOT / "benchmarks" / "results").glob("bench_*.json"):
        shutil.copy(path, tmp_path / path.name)
    report.load(tmp_path)  # the committed results themselves pass
    return tmp_path


def tamper(folder, bench, change):
    path = folder / f"{bench}.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("bench, change, reason", [
    ("bench_feed", lambda d: d["targets"][0].update(met=not d["targets"][0]["met"]), "its measure gives"),
    ("bench_broker", lambda d: d.update(defaults=False, args={"orders": 500}), "not the default sizes"),
    ("bench_monitor", lambda d: d["machine"].update(dirty=True), "not committed"),
    ("bench_optimize", lambda d: d["machine"].update(commit="0000000"), "2 commits"),
])
def test_results_that_do_not_make_one_honest_table_are_refused(tmp_path, bench, change, reason):
    folder = copied_results(tmp_path)
    path = tamper(folder, bench, change)
    with pytest.raises(report.ReportError, match=reason) as caught:
        report.load(folder)
    assert path.name in str(caught.value) or "commits" in str(caught.value)


def first_row(d):
    return d["targets"][0]


@pytest.mark.parametrize("change, reason", [
    (lambda d: first_row(d).update(op=None, met=None), "no op, yet a target"),  # a failing row made "measured"
    (lambda d: first_row(d).update(bound=float("inf")), "not a finite number"),
    (lambda d: first_row(d).update(measure="fast"), "is not a number"),
    (lambda d: first_row(d).update(op="<"), "op '<' is not one of"),
    (lambda d: first_row(d).update(value="0.9x\n\n<!--"), "comment marker"),
    (lambda d: d.update(targets=[]), "no figures"),
    (lambda d: d.update(bench="bench_monitor"), "not its file's name"),
    (lambda d: d.update(defaults="no"), "not the default sizes"),
    (lambda d: d["machine"].update(run=None), "machine run"),
    (lambda d: d["machine"].update(load_average=[]), "not three numbers"),
    (lambda d: d["machine"].update(cpu="another CPU"), "2 machines"),
    (lambda d: d.update(machine=[1, 2]), "no machine"),
])
def test_malformed_or_misleading_results_are_refused_in_one_line(tmp_path, change, reason):
    folder = copied_results(tmp_path)
    tamper(folder, "bench_feed", change)
    done = run_report("--results", folder, "--readme", ROOT / "README.md", "--check")
    assert done.returncode == 2 and reason in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_unknown_or_unreadable_result_files_are_refused(tmp_path):
    folder = copied_results(tmp_path)
    (folder / "bench_vs_nautilus.json").write_text((folder / "bench_feed.json").read_text())
    with pytest.raises(report.ReportError, match="bench_vs_nautilus.json: its bench"):
        report.load(folder)
    (folder / "bench_vs_nautilus.json").unlink()
    (folder / "bench_feed.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(report.ReportError, match="bench_feed.json: not a benchmark result"):
        report.load(folder)
    (folder / "bench_feed.json").write_text("[" * 100_000)
    with pytest.raises(report.ReportError, match="not a benchmark result"):
        report.load(folder)


def test_a_benchmark_row_outside_the_generated_table_is_refused(tmp_path):
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    readme.write_text(text.replace(report.BEGIN, "| `bench_feed.py` | typed by hand | 9x | >= 0.8x | yes |\n\n"
                                   + report.BEGIN))
    done = run_report("--check", "--readme", readme)
    assert done.returncode == 2 and "outside the generated table" in done.stderr


def test_code_not_committed_is_seen_by_the_benchmarks(tmp_path):
    """In a clone: clean, then a new module, a changed file, only the benchmarks' own outputs."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)

    def dirty():
        code = "import sys; sys.path.insert(0, 'benchmarks'); import harness; print(harness.machine()['dirty'])"
        return subprocess.run([sys.executable, "-c", code], cwd=clone, capture_output=True, text=True,
                              timeout=60).stdout.strip()

    assert dirty() == "False"
    (clone / "benchmarks" / "results" / "bench_feed.json").write_text("{}")  # what make bench rewrites
    (clone / "README.md").write_text("table")
    assert dirty() == "False"
    (clone / "workbench" / "optimize" / "shadow.py").write_text("")  # new, not committed
    assert dirty() == "True"
    (clone / "workbench" / "optimize" / "shadow.py").unlink()
    with open(clone / "pyproject.toml", "a") as f:  # a tracked file outside benchmarks/
        f.write("\n")
    assert dirty() == "True"


def test_a_missing_benchmark_or_a_standalone_run_is_refused(tmp_path):
    folder = copied_results(tmp_path)
    (folder / "bench_dashboard.json").unlink()
    with pytest.raises(report.ReportError, match="no results of bench_dashboard"):
        report.load(folder)
    for path in folder.glob("bench_*.json"):
        tamper(folder, path.stem, lambda d: d["machine"].update(run="standalone 2026-12-03 12:00 UTC"))
    with pytest.raises(report.ReportError, match="standalone"):
        report.load(folder)


def test_make_bench_runs_every_benchmark_the_table_needs():
    makefile = (ROOT / "Makefile").read_text()
    listed = makefile.split("BENCHES =", 1)[1].split("\n\n", 1)[0].replace("\\", " ").split()
    assert listed == list(report.ORDER)
    assert sorted(listed) == sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py"))


def test_a_verdict_is_its_measure_against_its_bound():
    out = harness.Targets("bench_x")
    out.add("a", "0.5x", ">= 2x", 0.5, ">=", 2)
    out.add("b", "3/3", "all", 3, "==", 3)
    out.add("c", "nan", "<= 1", float("nan"), "<=", 1)
    out.add("d", "12 s", "measured")
    assert [r["met"] for r in out.rows] == [False, True, False, None]
    with pytest.raises(ValueError, match="op must be"):
        out.add("e", "1", "?", 1, "<", 2)


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


def test_nautilus_decisions_are_the_engines_orders_and_a_moved_one_is_caught():
    """NautilusTrader's fills are compared as decisions (it fills at the deciding bar's close):
    derived from the engine's own fills here, they equal the bare loop's; one moved by a bar,
    one with another price, or one missing is caught; one on a symbol's last bar is left out."""
    import bench_backtest as bb

    from workbench.feed import synthetic_bars

    bars = synthetic_bars(2, periods=400, freq="1D", seed=11, start="1900-01-01", drift=0.0, tick_size=1e-6)
    result = bb.backtest(bb.SmaCross(fast=bb.FAST, slow=bb.SLOW, quantity=bb.QTY), bars, cash=bb.CASH)
    per_symbol = {s: frame.reset_index(drop=True) for s, frame in bars.groupby("symbol", observed=True)}
    peer = []  # what a peer filling at the deciding bar's close reports
    for f in result.fills.itertuples():
        rows = per_symbol[f.symbol]
        at = rows.index[rows["open"] == f.price][0] - 1  # the bar before the one whose open filled it
        peer.append((f.symbol, int(at), f.quantity if f.side == "buy" else -f.quantity, round(rows["close"][at], 6)))
    last = max(per_symbol)
    peer.append((last, len(per_symbol[last]) - 1, bb.QTY, 1.0))  # decided on the last bar: no fill elsewhere
    want = bb.decisions(bars)
    assert len(want) > 10
    harness.same("decisions", want, bb.filled_decisions(sorted(peer), bars))
    for broken in ([(s, i + 1, q, p) if k == 3 else (s, i, q, p) for k, (s, i, q, p) in enumerate(sorted(peer))],
                   [(s, i, q, p + 0.01) if k == 3 else (s, i, q, p) for k, (s, i, q, p) in enumerate(sorted(peer))],
                   sorted(peer)[1:]):
        with pytest.raises(harness.NotEquivalent):
            harness.same("decisions", want, bb.filled_decisions(sorted(broken), bars))


def test_a_dashboard_page_that_stopped_updating_is_counted_though_it_has_no_gap():
    import bench_dashboard

    healthy = [list(range(100, 120)), list(range(7, 27))]  # 20 each: 2 a second over 10 s
    counted = bench_dashboard.update_counts(healthy, 10.0, 500)
    assert counted["sessions_stalled"] == 0 and counted["received_share_min"] == 1.0
    assert counted["updates_lost_per_session"] == [0, 0]
    # The second page stopped after two updates: no gap between the numbers it saw, so the
    # gap count alone says nothing was lost; the count against those due catches it.
    stalled = bench_dashboard.update_counts([list(range(100, 120)), [7, 8]], 10.0, 500)
    assert stalled["updates_lost_per_session"] == [0, 0]
    assert stalled["sessions_stalled"] == 1 and stalled["received_share_min"] == 0.1
    # and a page that saw every other update has gaps, and is under the 90 % target
    halved = bench_dashboard.update_counts([list(range(100, 140, 2))], 20.0, 500)
    assert halved["updates_lost_per_session"] == [19] and halved["received_share_min"] == 0.5
    assert bench_dashboard.TARGETS["received_share_min"] > halved["received_share_min"]


def test_the_table_says_how_many_targets_were_met_and_where_the_others_are():
    benches = report.load(ROOT / "benchmarks" / "results")
    rows = [r for b in benches for r in b["rows"] if r["met"] is not None]
    for b in benches:
        for r in b["rows"]:
            if r["met"] is not None:
                r["met"] = True
    assert f"**{len(rows)} of {len(rows)} targets met in this run.**" in report.render(benches)
    first = next(b for b in benches if any(r["met"] is not None for r in b["rows"]))
    next(r for r in first["rows"] if r["met"] is not None)["met"] = False
    assert (f"**{len(rows) - 1} of {len(rows)} targets met in this run**; the 1 not met (marked **no**) are in "
            f"`{first['bench']}.py` (1)." in report.render(benches))


def test_the_dashboard_benchmark_installs_chromium_or_says_it_cannot(monkeypatch, capsys, tmp_path):
    # make bench on a fresh machine: bench_dashboard went straight to Playwright, which failed
    # with a traceback where the browser tests install Debian's chromium first
    import bench_dashboard

    import workbench.browser as browser

    missing = tmp_path / "no-chromium"
    monkeypatch.setattr(browser, "CHROMIUM", str(missing))
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)  # not root: apt-get is not tried
    assert bench_dashboard.main(["--sessions", "1", "--seconds", "1"]) == 1
    assert f"chromium is not installed at {missing}" in capsys.readouterr().err
