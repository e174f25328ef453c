"""Provenance: the source hash, the git state of a checkout, package versions."""

import subprocess

import pytest

from workbench import provenance
from workbench.provenance import code_hash, git_state, package_versions


def test_code_hash_follows_the_source(tmp_path):
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "files.py").write_text("x = 1\n")
    (tmp_path / "model.py").write_text("y = 2\n")
    before = provenance._source_hash(tmp_path, ())
    assert len(before) == 64 and before == provenance._source_hash(tmp_path, ())
    model = provenance._source_hash(tmp_path, ("model.py",))
    assert model != before

    (tmp_path / "feed" / "__pycache__").mkdir()
    (tmp_path / "feed" / "__pycache__" / "files.py").write_text("stale")
    (tmp_path / "notes.txt").write_text("not source")
    assert provenance._source_hash(tmp_path, ()) == before

    (tmp_path / "feed" / "files.py").write_text("x = 3\n")
    edited = provenance._source_hash(tmp_path, ())
    assert edited != before
    assert provenance._source_hash(tmp_path, ("model.py",)) == model  # only the parts asked for
    (tmp_path / "feed" / "files.py").rename(tmp_path / "feed" / "load.py")
    assert provenance._source_hash(tmp_path, ()) not in (before, edited)
    with pytest.raises(ValueError, match="no file or folder 'nope'"):
        provenance._source_hash(tmp_path, ("nope",))


def test_code_hash_of_the_installed_package():
    whole = code_hash()
    assert len(whole) == 64 and code_hash() is whole  # cached
    assert code_hash("feed", "errors.py", "model.py") not in (whole, code_hash("feed"))


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                   check=True, capture_output=True)


def test_git_state_of_clean_and_dirty_trees(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "a.py").write_text("a = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "one")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    head = head.stdout.strip()

    clean = git_state(repo)
    assert clean == {"commit": head, "dirty": False, "diff_sha256": None}
    (repo / "run.log").write_text("ignored")
    assert git_state(repo) == clean

    (repo / "a.py").write_text("a = 2\n")
    edit_one = git_state(repo)
    (repo / "a.py").write_text("a = 3\n")
    edit_two = git_state(repo)
    assert edit_one["dirty"] and edit_two["dirty"] and edit_one["commit"] == head
    assert edit_one["diff_sha256"] != edit_two["diff_sha256"]

    (repo / "a.py").write_text("a = 1\n")
    (repo / "new.py").write_text("b = 1\n")
    untracked_one = git_state(repo)
    (repo / "new.py").write_text("b = 2\n")
    untracked_two = git_state(repo)
    assert untracked_one["dirty"] and untracked_two["dirty"]
    hashes = {s["diff_sha256"] for s in (edit_one, edit_two, untracked_one, untracked_two)}
    assert len(hashes) == 4 and all(len(h) == 64 for h in hashes)


def test_git_state_outside_a_checkout_or_without_git(tmp_path, monkeypatch):
    nothing = {"commit": None, "dirty": None, "diff_sha256": None}
    assert git_state(tmp_path) == nothing
    monkeypatch.setenv("PATH", str(tmp_path))  # no git to be found
    assert git_state() == nothing


def test_package_versions():
    versions = package_versions(["pandas", "no-such-distribution-here"])
    assert versions["no-such-distribution-here"] is None
    import pandas

    assert versions["pandas"] == pandas.__version__
