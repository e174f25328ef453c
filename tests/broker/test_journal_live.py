"""A journal read while its writer commits: every read is one consistent snapshot (the
dashboard and `workbench journal verify` read running sessions' journals)."""

import threading

from workbench.broker import SimulatedBroker
from workbench.broker.journal import verify


def test_a_journal_read_while_it_is_written_is_never_reported_damaged(tmp_path):
    path = tmp_path / "journal.sqlite"
    broker = SimulatedBroker(cash=1e9, instruments=["AAA"], journal=path)
    done = threading.Event()

    def write():
        while not done.is_set():
            broker.place_order("AAA", "buy", 1, "limit", limit_price=1.0, tif="gtc")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        reads = [verify(path) for _ in range(150)]
    finally:
        done.set()
        writer.join(10)
        broker.close()
    assert all(r.ok for r in reads), next(r.problem for r in reads if not r.ok)
    assert reads[-1].head_seq > reads[0].head_seq  # it was written while read


def test_a_lock_file_left_by_a_killed_writer_names_no_writer_even_if_its_pid_is_reused(tmp_path):
    """A SIGKILLed writer leaves its pid in the lock file; the kernel freed the lock. Another
    process that later has that pid is not the journal's writer (/proc/locks says who holds it)."""
    import os
    import subprocess

    from workbench.broker.journal import writer_pid

    path = tmp_path / "journal.sqlite"
    broker = SimulatedBroker(cash=1e6, instruments=["AAA"], journal=path)
    assert writer_pid(path) == os.getpid()  # held: named
    broker.close()
    other = subprocess.Popen(["sleep", "30"])
    try:
        path.with_name("journal.sqlite.lock").write_text(f"{other.pid}\n")  # as if the dead writer's pid were reused
        assert writer_pid(path) is None
    finally:
        other.kill()
        other.wait()
