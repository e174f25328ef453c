"""Compiled (numba) twins of strategies' per-bar arithmetic, for the optimizer's fast path.

Each kernel repeats its strategy's ``on_bar`` operation by operation (same running sums,
same order of additions, same comparisons), so that its targets are bit-for-bit the
engine's. numba earns its place here: a sweep runs a kernel thousands of times, and a
Python loop would be as slow as the engine itself.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def sma_cross_targets(close: np.ndarray, fast: int, slow: int, quantity: float) -> np.ndarray:
    """Target position after each close: ``SmaCross.on_bar``'s ring buffer and sums."""
    n = close.size
    out = np.zeros(n)
    ring = np.zeros(slow)
    count = 0
    fast_sum = 0.0
    slow_sum = 0.0
    # on_bar's ring positions count % slow and (count - fast) % slow, kept as running
    # positions (an integer division a bar costs more than the sums themselves)
    head = 0
    tail = 0
    for t in range(n):
        c = close[t]
        if count >= slow:
            slow_sum -= ring[head]
        if count >= fast:
            fast_sum -= ring[tail]
            tail += 1
            if tail == slow:
                tail = 0
        ring[head] = c
        count += 1
        head += 1
        if head == slow:  # count % slow == 0
            head = 0
            slow_sum = 0.0
            for i in range(slow):
                slow_sum += ring[i]
            fast_sum = 0.0
            for i in range(fast):
                fast_sum += ring[(count - fast + i) % slow]
        else:
            slow_sum += c
            fast_sum += c
        if count >= slow:
            out[t] = quantity if fast_sum / fast > slow_sum / slow else 0.0
    return out
