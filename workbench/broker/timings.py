"""Durations recorded by one thread and read by another (the monitor's watchdog).

A plain deque and a counter, each changed on its own, can be read between the two changes:
the reader then takes one duration twice and loses another. Here both change under a lock
of their own, held for an append, never for the timed work, so a reader is never kept
waiting by a slow call (the broker's lock is held through a whole place_order)."""

from __future__ import annotations

import threading
from collections import deque
from itertools import islice


class Timings:
    """The last ``keep`` durations in seconds, and how many were ever added."""

    __slots__ = ("_kept", "_lock", "count")

    def __init__(self, keep: int) -> None:
        self._kept: deque[float] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.count = 0  # every duration ever added

    def add(self, seconds: float) -> None:
        with self._lock:
            self._kept.append(seconds)
            self.count += 1

    def since(self, seen: int) -> tuple[int, list[float]]:
        """(count so far, the durations added after the first ``seen``; at most the kept)."""
        with self._lock:
            total = self.count
            new = min(total - seen, len(self._kept))
            if new <= 0:
                return total, []
            newest_first = list(islice(reversed(self._kept), new))  # the new ones only
        newest_first.reverse()
        return total, newest_first

    def values(self) -> list[float]:
        """The kept durations, oldest first."""
        with self._lock:
            return list(self._kept)

    def __len__(self) -> int:
        return len(self._kept)
