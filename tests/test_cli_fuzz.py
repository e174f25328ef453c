"""Every bad value of every flag is refused before any work starts, with exit status 2 and
one line that names the flag: a table of known bad values, and hypothesis drawing any text
for the flags (a value is then either refused that way or the command reaches its work).

"Work" is the engine's run, a sweep, the certification, making synthetic data, serving,
an analysis: each is replaced here by a function that raises :class:`Reached`, so a bad
value that slipped through to the work is seen at once."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.cli import main


class Reached(Exception):
    """The command got past its checks to its work."""


def reached(*args, **kwargs):
    raise Reached


@pytest.fixture(autouse=True)
def no_work(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # a relative --out the fuzz draws lands here, not in the checkout
    import workbench.analytics.report
    import workbench.apps.app
    import workbench.certify.runner
    import workbench.cli.analyze
    import workbench.monitor.export
    import workbench.optimize.studies
    from workbench.engine import Engine
    from workbench.feed.synthetic import SyntheticMarket

    monkeypatch.setattr(Engine, "run", reached)
    monkeypatch.setattr(workbench.optimize.studies, "sweep", reached)
    monkeypatch.setattr(workbench.optimize.studies, "search", reached)
    monkeypatch.setattr(workbench.certify.runner, "certify", reached)
    monkeypatch.setattr(SyntheticMarket, "quotes", reached)
    monkeypatch.setattr(SyntheticMarket, "bars", reached)
    monkeypatch.setattr(workbench.apps.app, "serve", reached)
    monkeypatch.setattr(workbench.monitor.export, "serve_store", reached)
    monkeypatch.setattr(workbench.cli.analyze, "analyze", reached)


def outcome(capsys, args, allow_done=False):
    """("refused", the message), ("reached", None), or with ``allow_done`` ("done", status)
    for a command without heavy work that simply ran (exit 0, or 1 for a finding)."""
    try:
        code = main(args)
    except Reached:
        capsys.readouterr()
        return "reached", None
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    if allow_done and code in (0, 1) and "error" not in err:
        return "done", code
    assert code == 2, (args, code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in err, (args, err)
    return "refused", lines[0]


def commands(tmp_path):
    """(base command, {flag: [bad values]}) for each command that takes values."""
    store = tmp_path / "m.sqlite"
    if not store.exists():
        from workbench.monitor import MetricStore

        MetricStore(store).close()
    bad_number = ["abc", "", "1e400x"]
    (tmp_path / "adir.html").mkdir(exist_ok=True)
    return {
        "backtest": (["backtest", "sma_cross", "--data", "sp500"], {
            "--cash": ["abc", "-5", "0", "inf", "nan"],
            "--commission": ["bogus", "bps:x", "{", '{"model": "nope"}'],
            "--slippage": ["bogus", "spread:", '{"model": "fixed_bps", "bps": "x"}'],
            "--start": ["yesterday-ish", "2024-13-45"],
            "--end": ["not a date"],
            "--symbols": ["NOPE"],
            "--data": ["missing.csv", str(tmp_path)],
            "-p": ["fast", "fast=abc", "nope=1", "fast=0", "fast=40"],
            "--metrics-port": ["0", "99999", *bad_number],
            "--sample-every": ["0", "-1s", "abc", "1y"],
            "--account": ["gold"],
            "--out": ["/proc/workbench-x"],
            "--plot": ["run.svg", "run", "/proc/workbench-x/run.html", str(tmp_path)  + "/adir.html"],
        }),
        "paper": (["paper", "sma_cross", "--data", "sp500", "--out", str(tmp_path / "paper")], {
            "--speed": ["0", "-1", "inf", "nan", "abc"],
            "--duration": ["0", "abc", "-5m", "1y"],
        }),
        "optimize": (["optimize", "sma_cross", "--data", "sp500", "--grid", "fast=5,10", "--grid", "slow=30,60",
                      "--jobs", "1"], {
            "--grid": ["fast=1:100000000:1", "fast=5:1", "nope=1,2", "fast=abc:x", "fast=5,10", "fast=", "fast=1:10:0"],
            "--min-trades": ["-5", "abc"],
            "--max-trials": ["0", "-1"],
            "--jobs": ["0", "abc"],
            "--objective": ["profit"],
            "--walk-forward": ["0"],
            "--random": ["0"],
            "--out": ["/proc/workbench-x"],
            "--dask": ["local:zero", "ftp://x"],
        }),
        "synth": (["data", "synth", "--out", str(tmp_path / "q.parquet")], {
            "--freq": ["abc", "0s", "-1s", "1y"],
            "--symbols": ["0", "abc", "99999999999"],  # a huge count once asked for 24 GB
            "--days": ["0", "10000000"],
            "--out": [str(tmp_path / "q.txt"), "/proc/workbench-x/q.parquet"],
        }),
        "show": (["data", "show", "sp500"], {"--head": ["0", "x"], "--tz": ["Not/AZone"]}),
        "validate": (["data", "validate", "sp500"], {"--kind": ["ticks"], "--tz": ["Mars/Olympus"]}),
        "alerts": (["monitor", "alerts", "--store", str(store)], {"--since": ["abc", "-1h", "1y"]}),
        "status": (["monitor", "status", "--store", str(store)], {"--stale-after": ["abc"]}),
        "monitor serve": (["monitor", "serve", "--store", str(store)], {"--port": ["99999", "0", "abc"],
                                                                        "--store": [str(tmp_path / "none.sqlite")]}),
        "serve": (["serve"], {"--port": ["99999", "-1", "abc"], "--runs": ["/proc/workbench-x", "/etc/hostname"]}),
        "analyze": (["analyze", "--data", "sp500"], {"--forecast": ["0", "x"], "--model": ["prophet"],
                                                     "--symbol": ["NOPE"], "--column": ["bogus"]}),
        "certify": (["certify"], {"-p": ["seed=-1", "nope=1", "threshold.nope=1", "crash_trials=x", "faults=nope"],
                                  "--fault": ["nope", ""], "--profile": ["slow"]}),
        "journal": (["journal", "show", str(tmp_path / "no-run")], {"--last": ["0"]}),
    }


def test_every_known_bad_value_is_refused_before_work_in_one_line(tmp_path, capsys):
    refused = 0
    for name, (base, flags) in commands(tmp_path).items():
        for flag, values in flags.items():
            for value in values:
                verdict, message = outcome(capsys, [*base, flag, value])
                assert verdict == "refused", (name, flag, value)
                refused += 1
    assert refused > 80


def test_the_commands_reach_their_work_with_good_values(tmp_path, capsys):
    """The same harness lets a good command through (so a refusal above means something)."""
    for base in (["backtest", "sma_cross", "--data", "sp500"], ["data", "synth", "--out", str(tmp_path / "q.parquet")],
                 ["optimize", "sma_cross", "--data", "sp500", "--grid", "fast=5,10", "--grid", "slow=30,60"],
                 ["certify"], ["serve", "--port", "5999"], ["analyze", "--data", "sp500"]):
        assert outcome(capsys, base) == ("reached", None), base


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_text_for_any_flag_is_refused_in_one_line_or_accepted(tmp_path, capsys, data):
    table = commands(tmp_path)
    name = data.draw(st.sampled_from(sorted(table)))
    base, flags = table[name]
    flag = data.draw(st.sampled_from(sorted(flags)))
    value = data.draw(st.one_of(st.text(max_size=12), st.floats().map(repr), st.integers().map(str)))
    if value.startswith("-") and not value.lstrip("-")[:1].isdigit():
        value = " " + value  # not a flag of its own
    outcome(capsys, [*base, flag, value], allow_done=True)
