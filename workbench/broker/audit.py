"""Is this journal what its broker wrote? Its hash chain, then its replay.

:func:`check` is ``workbench journal verify``: :func:`~workbench.broker.journal.verify`
(sequence numbers, the hash chain, the head), then a replay in memory that must keep the
broker's invariants (no fill beyond an order's quantity, every bar fill inside its bar's
range, cash equal to the starting cash less what the fills cost). The first bad sequence
number is named either way; the file is only read.
"""

from __future__ import annotations

import dataclasses
import os

from workbench.broker.broker import SimulatedBroker
from workbench.broker.journal import JournalCorrupted, Verification, journal_file, verify


def check(run: str | os.PathLike) -> Verification:
    """Verify the journal of ``run`` (a run folder or a journal file), then replay it."""
    path = journal_file(run)
    found = verify(path)
    if not found.ok:
        return found
    try:
        SimulatedBroker.inspect(path)
    except JournalCorrupted as exc:
        return dataclasses.replace(found, events=[e for e in found.events if e.seq < exc.first_bad_seq],
                                   first_bad_seq=exc.first_bad_seq, problem=exc.problem)
    return found
