"""The one way workbench opens SQLite and writes a transaction (journal, monitor, trials)."""

from __future__ import annotations

import sqlite3


class transaction:  # noqa: N801 - used as the function it was: ``with transaction(db):``
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection;
    taking the write lock up front makes a second writer wait (busy timeout), not fail.
    (A class, not a ``@contextmanager`` generator: a synced journal pays this on every event.)"""

    __slots__ = ("_db",)

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self._db.execute("ROLLBACK")
            return False  # the error goes on
        self._db.execute("COMMIT")
        return False
