"""A session run by the command line closes its journal when it ends, also when ``main`` is
called in-process (a test, a notebook): the file then holds every event by itself. Left
open, the last events stayed in the ``-wal`` file until the garbage collector reached the
broker, and a copy of the journal file alone (the reliability tests damage such copies)
missed them."""

import shutil
import sqlite3

from workbench.broker.journal import verify
from workbench.cli import main


def test_a_finished_paper_session_leaves_one_self_contained_journal_file(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["paper", "every_bar", "--data", "sp500", "--end", "2001-06-30", "--speed", "1e9", "--out",
                 str(out)]) == 0
    journal = out / "journal.sqlite"
    assert not (out / "journal.sqlite-wal").exists()  # checkpointed and closed
    alone = tmp_path / "copy.sqlite"
    shutil.copyfile(journal, alone)  # the file without its -wal or -shm
    with sqlite3.connect(alone) as db:
        rows = db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert rows == len(verify(journal).events) > 100
