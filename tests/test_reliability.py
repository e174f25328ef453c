"""Nothing lost, nothing silently wrong: a paper session killed anywhere resumes to exactly
the uninterrupted run, a resume of another run is refused, a half-created run folder is
recognized, and a damaged journal is always reported with its first bad event."""

import json
import random
import subprocess
import sys
import time

import pytest

from workbench.broker import SimulatedBroker
from workbench.broker.journal import Journal, JournalCorrupted, JournalLocked, started, verify
from workbench.cli import main
from workbench.reliability import CORRUPTIONS, PAPER, corruption_trial, paper_run, resume_trial

from tests.broker.conftest import bar


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run: its fills' hash, the time a warm run takes, its journal."""
    folder = tmp_path_factory.mktemp("reference")
    paper_run(folder / "warm-up")
    t0 = time.perf_counter()
    sha = paper_run(folder / "ref")
    return sha, time.perf_counter() - t0, folder / "ref" / "journal.sqlite"


def test_a_session_killed_anywhere_resumes_to_the_uninterrupted_run(reference, tmp_path):
    sha, seconds, journal = reference
    total = verify(journal).head_seq + 1
    # At random moments (starting up, inside a slice, inside a commit: wherever the delay lands)...
    trials = [resume_trial(tmp_path, seed, sha, seconds) for seed in range(8)]
    assert all(t.passed for t in trials), [t for t in trials if not t.passed]
    # ...and right after random journal commits, so that kills land inside the run however
    # loaded the machine is (a random delay may all fall before the run starts under load).
    rng = random.Random(17)
    inside = [resume_trial(tmp_path, 100 + k, sha, seconds, at_event=("any", rng.randrange(1, total)))
              for k in range(6)]
    assert all(t.passed for t in inside), [t for t in inside if not t.passed]
    assert all(0 < t.events_at_kill < total for t in inside), [t.events_at_kill for t in inside]


def test_without_atomic_slices_a_killed_session_resumes_wrong(reference, tmp_path, monkeypatch):
    """The check above can fail: with each event committed on its own (no slice steps), a
    kill between a slice's order and its slice marker makes the resumed run differ (the
    slice is handled again and places its order twice)."""
    sha, seconds, _ = reference
    monkeypatch.setattr(Journal, "begin_step", lambda self: None)
    monkeypatch.setattr(Journal, "end_step", lambda self: self.flush())
    # Killed right after an order is committed, before its slice's marker (at a chosen event,
    # not after a random delay: a loaded machine must not decide whether the check runs).
    trials = [resume_trial(tmp_path, n, sha, seconds, at_event=("accepted", n)) for n in (1, 7, 300)]
    assert all(0 < t.events_at_kill for t in trials), trials
    assert all(not t.passed for t in trials), trials


def test_a_session_killed_right_after_an_order_resumes_to_the_uninterrupted_run(reference, tmp_path):
    """The kills above, with atomic slices: every resumed run is the uninterrupted one."""
    sha, seconds, _ = reference
    trials = [resume_trial(tmp_path, n, sha, seconds, at_event=("accepted", n)) for n in (1, 7, 300)]
    assert all(0 < t.events_at_kill for t in trials), trials
    assert all(t.passed for t in trials), trials


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_resume_refuses_another_run_naming_what_differs(reference, tmp_path, capsys):
    out = tmp_path / "run"
    assert paper_run(out) == reference[0]
    for flags, words in [(["--data", "nasdaq"], "data SP500"),
                         (["--cash", "500000"], "--cash 1,000,000.00 in the journal, 500,000.00 now"),
                         (["--commission", "ibkr-fixed"], "--commission"),
                         (["-p", "quantity=20"], "parameters"),
                         (["--end", "2004-12-31"], "--end")]:
        args = [*PAPER, "--out", str(out), "--resume", *flags]
        if "--data" in flags:
            args[args.index("sp500")] = "nasdaq"
            flags = []
        code, _, err = run(capsys, "paper", *args)
        assert code == 2 and words in err and err.count("\n") == 1, (flags, err)
    assert verify(out / "journal.sqlite").ok  # nothing was written by the refused resumes


def test_a_half_created_run_folder_is_recognized_and_resumed_afresh(reference, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    SimulatedBroker(instruments=["SP500"], journal=out / "journal.sqlite").close()  # killed before any event
    assert not started(out / "journal.sqlite")
    code, _, err = run(capsys, "paper", *PAPER, "--out", str(out))
    assert code == 2 and "killed before its first event" in err and "journal clear" in err
    assert paper_run(out, ("--resume",)) == reference[0]
    code, _, err = run(capsys, "paper", *PAPER, "--out", str(tmp_path / "none"), "--resume")
    assert code == 2 and "no run to resume" in err


def test_journal_clear_removes_a_run_that_never_started_and_needs_force_otherwise(reference, tmp_path, capsys):
    half = tmp_path / "half"
    half.mkdir()
    SimulatedBroker(instruments=["X"], journal=half / "journal.sqlite").close()
    code, out, _ = run(capsys, "journal", "clear", str(half))
    assert code == 0 and "removed" in out and not (half / "journal.sqlite").exists()
    full = tmp_path / "full"
    paper_run(full)
    code, _, err = run(capsys, "journal", "clear", str(full))
    assert code == 2 and "--force" in err and (full / "journal.sqlite").exists()


def test_a_second_writer_is_refused_at_once_with_the_holders_pid(tmp_path):
    path = tmp_path / "journal.sqlite"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from workbench.broker import SimulatedBroker\n"
        f"b = SimulatedBroker(instruments=['X'], journal={str(path)!r})\n"
        "print('open', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(JournalLocked, match=f"open for writing by process {holder.pid}"):
            SimulatedBroker(instruments=["X"], journal=path)
        assert verify(path).ok  # readers need no lock
    finally:
        holder.kill()
        holder.wait()
    SimulatedBroker.recover(path).close()  # the lock died with its holder


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_every_kind_of_damage_is_reported_with_its_first_bad_event(reference, tmp_path, kind):
    for seed in range(3):
        trial = corruption_trial(reference[2], tmp_path, seed, kind)
        assert trial.passed, trial


def test_journal_verify_names_the_first_bad_sequence(reference, tmp_path, capsys):
    trial = corruption_trial(reference[2], tmp_path, 1, "price")
    code, out, _ = run(capsys, "journal", "verify", str(tmp_path / "corrupt-1.sqlite"))
    assert code == 1 and f"CORRUPTED at sequence {trial.damaged_seq}" in out
    code, out, _ = run(capsys, "journal", "verify", str(reference[2]), "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    with pytest.raises(JournalCorrupted, match=f"sequence {trial.damaged_seq}"):
        SimulatedBroker.recover(tmp_path / "corrupt-1.sqlite")


def _session_with_a_fill(path):
    b = SimulatedBroker(cash=100_000, instruments=["X"], journal=path)
    b.on_bar(bar(0, 100, 101, 99, 100))
    b.place_order("X", "buy", 10)
    b.on_bar(bar(1, 100, 102, 98, 101))
    b.close()


def test_recovery_holds_the_broker_to_its_invariants(tmp_path):
    from workbench.broker.journal import Event

    # A well-chained journal (written through the journal itself) with an impossible fill.
    for name, payload in [("overfill", {"quantity": 10.0, "price": 100.0, "commission": 0.0, "slippage": 0.0}),
                          ("range", None)]:
        path = tmp_path / f"{name}.sqlite"
        _session_with_a_fill(path)
        journal = Journal(path)
        last = journal.last_seq()
        events = list(journal.events())
        fill = next(e for e in events if e.kind == "fill")
        if name == "range":  # a second order whose fill lies outside its bar's range
            accepted = next(e for e in events if e.kind == "accepted")
            journal.append(Event(last + 1, fill.time_ns, "accepted", "O2", accepted.payload))
            journal.append(Event(last + 2, fill.time_ns, "fill", "O2", {**fill.payload, "price": 150.0}))
            bad = last + 2
        else:
            journal.append(Event(last + 1, fill.time_ns, "fill", "O1", payload))
            bad = last + 1
        journal.close()
        assert verify(path).ok  # the chain is intact: only the replay can tell
        with pytest.raises(JournalCorrupted, match=f"sequence {bad}"):
            SimulatedBroker.recover(path)


def test_recovery_checks_cash_against_the_fills(tmp_path, monkeypatch):
    from workbench.broker.account import Account

    path = tmp_path / "j.sqlite"
    _session_with_a_fill(path)
    original = Account.apply_fill

    def charged_twice(self, symbol, side, quantity, price, commission):
        original(self, symbol, side, quantity, price, commission + 1.0)

    monkeypatch.setattr(Account, "apply_fill", charged_twice)
    with pytest.raises(JournalCorrupted, match="cash"):
        SimulatedBroker.recover(path)
