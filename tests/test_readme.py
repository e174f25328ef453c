"""The README's Python tour runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_tour_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README lost its Python tour"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_bars.csv").write_text(
        "time,symbol,open,high,low,close,volume\n"
        "2024-01-02,X,10,11,9,10.5,100\n2024-01-03,X,10,9.5,9,10.5,100\n"
    )
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "high_ge_open_close" in out and "events_replayed" in out
    assert "INSUFFICIENT_BUYING_POWER" in out and "avg_cost=4735.0" in out


def test_the_fault_table_is_the_library():
    from workbench.certify import FAULTS
    from workbench.certify.report import TITLES

    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \| (\w+) \|$", README.read_text(), flags=re.M)
    assert [r[0] for r in rows] == [f.name for f in FAULTS]
    assert all(expected.strip() == TITLES[f.category] and caught == "yes" for f, (_, expected, _, caught)
               in zip(FAULTS, rows))
    assert f"{len(FAULTS)} of {len(FAULTS)} faults caught" in README.read_text()


def test_the_certification_page_names_every_check():
    from workbench.certify import CHECKS

    page = (README.parent / "docs" / "certification.md").read_text()
    missing = [fn.__name__ for fns in CHECKS.values() for fn in fns if f"`{fn.__name__}`" not in page]
    assert not missing
