"""Certification: parameter validation, checks that fail when a component breaks, the
papermill run end to end (twice: the same trading outputs hash the same)."""

import json
from pathlib import Path

import papermill
import pytest

from workbench.broker import fills
from workbench.certify import Report, load_thresholds, run_category, validate
from workbench.certify.runner import summary_lines
from workbench.cli import main
from workbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "params, profile, words",
    [
        ({"colour": "red"}, "quick", "unknown parameter 'colour'"),
        ({"seed": "abc"}, "quick", "parameter seed"),
        ({"seed": -1}, "quick", "parameter seed"),
        ({"crash_trials": 0}, "quick", "parameter crash_trials"),
        ({"threshold.warp_speed": 3}, "quick", "threshold 'warp_speed' is unknown"),
        ({"threshold.peak_rss_mb": "lots"}, "quick", "not a number"),
        ({}, "medium", "--profile"),
    ],
)
def test_parameters_are_validated_before_any_kernel_starts(params, profile, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        validate(params, profile)


def test_validated_parameters_and_overrides():
    p = validate({"seed": "3", "threshold.peak_rss_mb": "100"}, "full")
    assert p == {"profile": "full", "seed": 3, "crash_trials": 50, "thresholds": {"peak_rss_mb": 100.0}}
    assert load_thresholds(overrides=p["thresholds"])["peak_rss_mb"] == {"max": 100.0, "unit": "MB"}


def test_a_broker_that_ignores_limit_prices_fails_trading_execution(monkeypatch, tmp_path):
    real = fills.bar_fill

    def ignore_limits(side, type, limit, stop, triggered, bar):
        price, trig, slips = real(side, type, None if type.value == "limit" else limit, stop, triggered, bar) \
            if type.value != "limit" else (bar.open, triggered, False)
        return price, trig, slips

    monkeypatch.setattr(fills, "bar_fill", ignore_limits)
    params = validate({}, "quick")
    report = Report(parameters=params, thresholds=load_thresholds())
    category = run_category("trading_execution", params, report, tmp_path)
    assert not category.passed
    bad = next(c for c in category.checks if c.name == "bar_fill_rules_every_type_and_tif")
    assert not bad.passed and "measured ('filled', 101.0), expected ('accepted', 0.0)" in bad.detail
    lines = summary_lines({"categories": [category.to_dict()]})
    assert lines[0].startswith("FAIL  Trading execution workflow") and "measured" in lines[1]


def test_certify_end_to_end_twice(tmp_path, capsys):
    runs = tmp_path / "runs"
    code = main(["certify", "--out", str(runs / "a"), "-p", "seed=11"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "6 of 6 categories passed" in out
    report = json.loads((runs / "a" / "report.json").read_text())
    assert report["schema"] == "workbench.certify/1" and report["passed"]
    assert [c["name"] for c in report["categories"]] == [
        "market_data", "trading_execution", "optimization", "monitoring_analytics", "error_handling", "performance"]
    for c in report["categories"]:
        for check in c["checks"]:
            assert set(check) == {"name", "passed", "measured", "threshold", "unit", "duration_s", "detail"}
    inputs = report["inputs"]
    assert inputs["parameters"]["seed"] == 11 and inputs["kernel"] == "workbench"
    assert inputs["packages"]["pandas"] and inputs["data"]["sp500"]
    assert (runs / "a" / "certification.html").stat().st_size > 10_000
    # Again, with a threshold nobody can meet: it fails in its category, naming the figures,
    # and the trading outputs hash exactly as before.
    code = main(["certify", "--out", str(runs / "b"), "-p", "seed=11", "-p", "threshold.backtest_bars_per_s=1e12"])
    out = capsys.readouterr().out
    again = json.loads((runs / "b" / "report.json").read_text())
    assert code == 1 and not again["passed"]
    assert "FAIL  Performance under load" in out and "x backtest_throughput" in out
    assert "expected >= 1,000,000,000,000" in out
    assert again["results_sha256"] == report["results_sha256"]
    passed = {c["name"]: c["passed"] for c in again["categories"]}
    assert passed.pop("performance") is False and all(passed.values())


def test_certify_errors_before_work(capsys, tmp_path):
    assert main(["certify", "--out", str(tmp_path / "x"), "-p", "crash_trials=zero"]) == 2
    assert "parameter crash_trials" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_papermill_injects_parameters(tmp_path):
    out = tmp_path / "quickstart.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "00_quickstart.ipynb"), str(out),
                               parameters={"fast": 5, "slow": 15}, kernel_name="workbench", progress_bar=False)
    nb = json.loads(out.read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "fast = 5" in "".join(injected[0]["source"])
    summary = next(c for c in nb["cells"] if "result.summary()" in "".join(c["source"]))
    text = "".join(summary["outputs"][0]["data"]["text/plain"])
    assert "'fast': 5" in text and "'slow': 15" in text


def test_every_notebook_has_one_parameters_cell_and_no_outputs():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        tagged = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1, path.name
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), path.name
        assert all(": " in line and "#" in line for line in "".join(tagged[0]["source"]).splitlines()[1:]), path.name
