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
