"""A wall clock that moves only when someone sleeps: paced sessions without waiting.

Pass ``clock=c, sleep=c.sleep`` to an :class:`~workbench.engine.Engine` (and ``clock=c``
to a :class:`~workbench.monitor.Monitor`) and a paper session over an hour of data runs in
a moment, with every pacing wait, monitor sample and alert timestamp exactly as on the
real clock. Used by the tests, the certification and the monitoring notebook.
"""

from __future__ import annotations


class ManualClock:
    """Seconds since the epoch, starting at ``start``; ``sleep`` advances it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
