"""Durations added by one thread and read by another lose none and repeat none."""

import sys
import threading
import time

from workbench.broker.timings import Timings


def test_a_reader_in_another_thread_gets_every_duration_once():
    # Threads switch every microsecond (not every 5 ms): a reader between an add's two
    # changes is then all but certain, and the two threads never wait long for each other.
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        _reader_and_writer()
    finally:
        sys.setswitchinterval(before)


def _reader_and_writer():
    t, n = Timings(1_000_000), 300_000
    got: list[float] = []
    stop = threading.Event()

    def read():
        seen = 0
        while not stop.is_set():
            seen, new = t.since(seen)
            got.extend(new)
            time.sleep(0)  # the writer gets the GIL back at once, as the watchdog's sleeps give it
        seen, new = t.since(seen)
        got.extend(new)

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(n):
        t.add(float(i))
    stop.set()
    reader.join()
    assert got == [float(i) for i in range(n)]
    assert t.count == n == len(t)


def test_only_the_last_kept_are_returned():
    t = Timings(3)
    for i in range(5):
        t.add(i / 10)
    assert t.since(0) == (5, [0.2, 0.3, 0.4]) and t.since(4) == (5, [0.4]) and t.since(5) == (5, [])
    assert t.values() == [0.2, 0.3, 0.4]
