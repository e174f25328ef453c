"""The whole certification with every fault of the library injected, end to end (a file of
its own: the longest test, so that make test's workers share it out with the rest)."""

import json
from pathlib import Path

from workbench.certify import CHECKS, FAULTS
from workbench.certify.report import TITLES
from workbench.certify.reproducibility import load_goldens
from workbench.cli import main


def test_certify_with_every_fault_end_to_end(tmp_path, capsys):
    """The healthy run passes all seven categories, equal to the shipped goldens; each fault
    of the library is caught by its own category; every check goes red under some fault."""
    runs = tmp_path / "runs"
    code = main(["certify", "--faults", "--out", str(runs / "a")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "7 of 7 categories passed" in out and f"{len(FAULTS)} of {len(FAULTS)} faults caught" in out
    report = json.loads((runs / "a" / "report.json").read_text())
    assert report["schema"] == "workbench.certify/2" and report["passed"]
    assert [c["name"] for c in report["categories"]] == list(TITLES)
    for c in report["categories"]:
        for check in c["checks"]:
            assert set(check) == {"name", "passed", "measured", "expected", "bounds", "unit", "detail", "figures",
                                  "duration_s"}
    # reproducible: every output equals the golden shipped for quick/seed=7
    goldens = load_goldens({"profile": "quick", "seed": 7})
    assert {k: v["sha256"] for k, v in report["outputs"].items()} == {k: v["sha256"] for k, v in goldens.items()}
    # every fault caught by its own category, and every check shown red by at least one fault
    rows = report["faults"]["rows"]
    assert [r["fault"] for r in rows] == [f.name for f in FAULTS]
    assert all(r["caught"] for r in rows), [r for r in rows if not r["caught"]]
    assert report["faults"]["rate"] == 1.0
    red = {name for r in rows for name in r["checks_red"]}
    assert red == {fn.__name__ for fns in CHECKS.values() for fn in fns}
    # provenance: the kernel that ran, the checkout, the data
    inputs = report["inputs"]
    assert inputs["kernel"]["name"] == "workbench" and inputs["kernel"]["same_environment"] is True
    assert Path(inputs["kernel"]["executable"]).exists() and inputs["kernel"]["pid"] > 0
    assert isinstance(inputs["git"]["dirty"], bool) and len(inputs["git"]["commit"]) == 40
    assert (inputs["git"]["diff_sha256"] is None) == (not inputs["git"]["dirty"])
    assert inputs["packages"]["pandas"] and set(inputs["data"]) == {"sp500", "nasdaq"}
    assert (runs / "a" / "faults.md").read_text().startswith("| fault | category expected red | categories red")
    assert (runs / "a" / "certification.html").stat().st_size > 10_000
    index = [json.loads(line) for line in (runs / "index.jsonl").read_text().splitlines()]
    assert index[-1]["faults"] == f"{len(FAULTS)}/{len(FAULTS)}" and index[-1]["passed"]
