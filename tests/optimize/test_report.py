"""One assembly of a sweep's overfitting statistics: ``workbench optimize`` prints the same
deflated Sharpe ratio and PBO that the certification writes for the same sweep."""

import json

from workbench.certify import Context, load_thresholds
from workbench.certify import optimization, scenarios
from workbench.certify.checks import run_check
from workbench.cli import main


def test_the_command_line_and_the_certification_report_the_same_dsr_and_pbo(tmp_path, capsys):
    ctx = Context(params={"profile": "quick", "seed": 7, "crash_trials": 2}, thresholds=load_thresholds(),
                  workdir=tmp_path / "cert")
    assert run_check(optimization.deflated_sharpe_matches_the_formula, ctx).passed
    assert run_check(optimization.pbo_matches_brute_force, ctx).passed
    certified = ctx.once(scenarios.sweep_report)
    written = {name: ctx.outputs[f"optimization.{name}"]["figures"] for name in ("deflated_sharpe", "pbo")}

    points = ctx.profile
    code = main(["optimize", "sma_cross", "--data", "sp500", "--jobs", "1", "--json",
                 "--grid", "fast=" + ",".join(map(str, points["sweep_fast"])),
                 "--grid", "slow=" + ",".join(map(str, points["sweep_slow"]))])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed["deflated_sharpe"] == certified["deflated_sharpe"]
    assert printed["pbo"] == certified["pbo"] and printed["pbo"]["blocks"] == 16
    # what the certification records (to 12 significant digits) is the printed figure
    assert abs(written["deflated_sharpe"]["dsr"] - printed["deflated_sharpe"]["dsr"]) < 1e-11
    assert abs(written["pbo"]["pbo"] - printed["pbo"]["pbo"]) < 1e-11
