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


def broken_links(pages, root):
    """Links of ``pages`` that leave ``root`` (URLs, ``../`` out of it) or name no file."""
    bad = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
            path = (page.parent / target).resolve()
            if re.match(r"[a-z]+:", target) or not path.is_relative_to(root.resolve()) or not path.exists():
                bad.append(f"{page.name}: {target}")
    return bad


def test_the_readme_and_docs_link_only_to_files_in_the_repository(tmp_path):
    root = README.parent
    assert broken_links([README, *sorted((root / "docs").glob("*.md"))], root) == []
    assert "docs/architecture.md" in README.read_text()
    (tmp_path / "repo").mkdir()
    page = tmp_path / "repo" / "README.md"
    page.write_text("[a](../shared/DESIGN.md) [b](https://example.org/x) [c](missing.md) [d](README.md)")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "DESIGN.md").write_text("outside")
    assert broken_links([page], tmp_path / "repo") == [
        "README.md: ../shared/DESIGN.md", "README.md: https://example.org/x", "README.md: missing.md"]


def test_the_architecture_page_names_only_paths_that_exist():
    root = README.parent
    page = (root / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`((?:workbench|notebooks|tests|benchmarks)/[\w/.]*)`", page))
    assert len(named) > 10
    missing = sorted(p for p in named if not (root / p).exists())
    assert not missing, missing


def certify_transcript_problems(readme: str) -> list[str]:
    """What the README's ``workbench certify`` transcript and its check count say that the
    library does not: each category's checks, and the total."""
    from workbench.certify import CHECKS
    from workbench.certify.report import TITLES

    shown = dict(re.findall(r"^PASS  (.+?)\s+(\d+/\d+) checks", readme, re.M))
    want = {TITLES[c]: f"{len(CHECKS[c])}/{len(CHECKS[c])}" for c in TITLES}
    problems = [f"{title}: README {shown.get(title)}, library {n}" for title, n in want.items() if shown.get(title) != n]
    total = re.search(r"Each of its\s+(\d+) checks", readme)
    if total is None or int(total.group(1)) != sum(len(fns) for fns in CHECKS.values()):
        problems.append(f"total: README {total and total.group(1)}, library {sum(len(f) for f in CHECKS.values())}")
    return problems


def test_the_certification_transcript_has_the_librarys_checks():
    readme = README.read_text()
    assert certify_transcript_problems(readme) == []
    # red: a transcript from before a check was added
    stale = readme.replace("9/9 checks", "8/8 checks", 1)
    assert certify_transcript_problems(stale) == ["Trading execution workflow: README 8/8, library 9/9"]
