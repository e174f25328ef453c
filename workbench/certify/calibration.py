"""Calibration workloads and timing for the performance checks.

A throughput or latency figure alone says as much about the machine as about the code, so
each is set against a calibration workload of the same shape, timed in the same run:

* replay of quote events as objects  <->  a plain loop building one tuple per row;
* the event-driven sma_cross backtest  <->  the same rules in a bare Python loop
  (:func:`workbench.certify.reference.sma_cross_loop`);
* ``place_order`` -> acknowledgement  <->  a function that checks a request, encodes it as
  JSON and appends it to a log;
* a parameter sweep  <->  the same trials in plain numpy (moving averages by cumulative sums,
  positions, returns, Sharpe).

Both sides are warmed once, then run alternately (component, calibration, component, ...)
``repeats`` times; each side's best repeat counts, so a slow moment of the machine costs a
repeat, not the figure. Times are CPU seconds of this process (``time.process_time``), so
another process taking the core costs nothing; each side runs for a tenth of a second or
more a repeat, so the clock's resolution does not matter. The ratio ``component rate /
calibration rate`` is what thresholds.yaml bounds; the raw rates (and wall-clock latency
percentiles) are reported beside it.
"""

from __future__ import annotations

import gc
import json
import math
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np

Timed = Callable[[], tuple[float, float]]  # one repetition: (units of work, seconds)


def compare(component: Timed, calibration: Timed, repeats: int, budget_s: float = 8.0) -> dict[str, float]:
    """Best rate (units per second) of each side over ``repeats`` interleaved runs, after one
    warm-up run each; ``ratio`` = component / calibration. Past ``budget_s`` of CPU time the
    repeats stop early (at least two run): a component many times too slow is not timed at
    length to find that out."""
    t_start = time.process_time()
    component()
    calibration()
    best = {"component": 0.0, "calibration": 0.0}
    done = 0
    for i in range(repeats):
        done = i + 1
        for side, fn in (("component", component), ("calibration", calibration)):
            gc.collect()
            units, seconds = fn()
            if seconds > 0:
                best[side] = max(best[side], units / seconds)
        if i >= 1 and time.process_time() - t_start > budget_s:
            break
    ratio = best["component"] / best["calibration"] if best["calibration"] > 0 else math.nan
    return {"component_per_s": best["component"], "calibration_per_s": best["calibration"], "ratio": ratio,
            "repeats": done}


def cpu_timed(fn: Callable[..., float], *args: Any) -> tuple[float, float]:
    """``(fn(*args), CPU seconds it took)``; ``fn`` returns its units of work."""
    t0 = time.process_time()
    units = fn(*args)
    return units, time.process_time() - t0


# --- calibration workloads -------------------------------------------------------------------


def _row(t, s, a, b, c, d):
    return (t, s, a, b, c, d)


def tuple_loop(columns: list[list], passes: int = 1) -> float:
    """One tuple per row of six columns, built by a Python function, and counted."""
    n = 0
    for _ in range(passes):
        for _ in map(_row, *columns):
            n += 1
    return float(n)


def order_log(symbol: str, side: str, quantity: float, book: dict, log: list) -> int | None:
    """An order in its simplest form: check the request, encode it, append it."""
    request = {"symbol": symbol, "side": side, "quantity": float(quantity), "type": "market", "limit_price": None,
               "stop_price": None, "tif": "day"}
    if not (math.isfinite(request["quantity"]) and request["quantity"] > 0) or symbol not in book:
        return None
    log.append((len(log), json.dumps(request, sort_keys=True, separators=(",", ":"))))
    return len(log)


def per_call_latency(call: Callable[[int], Any], n: int) -> dict[str, float]:
    """``n`` calls ``call(i)``: the CPU seconds of them all (``cpu``), and the median and
    99th percentile of each call's wall time (``p50``, ``p99``)."""
    clock = time.perf_counter
    lat = np.empty(n)
    t_cpu = time.process_time()
    for i in range(n):
        t0 = clock()
        call(i)
        lat[i] = clock() - t0
    cpu = time.process_time() - t_cpu
    return {"cpu": cpu, "p50": float(np.median(lat)), "p99": float(np.percentile(lat, 99)), "n": float(n)}


def scalar_black_scholes(rows: list[tuple[float, float, float, float, float, bool]]) -> float:
    """Each option of ``rows`` (spot, strike, years, rate, vol, call) priced with its delta by
    the Black-Scholes formula one at a time, in plain Python (``math``): the per-contract loop
    a vectorized chain pricer is measured against."""
    n = 0
    for s, k, t, r, v, call in rows:
        sd = v * math.sqrt(t)
        d1 = (math.log(s / k) + (r + 0.5 * v * v) * t) / sd
        d2 = d1 - sd
        n1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
        n2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
        disc = math.exp(-r * t)
        price = s * n1 - k * disc * n2 if call else k * disc * (1 - n2) - s * (1 - n1)
        delta = n1 if call else n1 - 1.0
        n += price == price and delta == delta  # both computed (and not NaN)
    return float(n)


def numpy_sweep(close: np.ndarray, points: list[dict[str, int]], quantity: float = 100.0,
                cash: float = 1_000_000.0) -> float:
    """The trials of an sma_cross sweep in plain numpy: both moving averages from one
    cumulative sum, long while fast > slow, filled at the next close, daily returns, Sharpe."""
    csum = np.concatenate([[0.0], np.cumsum(close)])
    for p in points:
        fast = (csum[p["fast"]:] - csum[:-p["fast"]]) / p["fast"]
        slow = (csum[p["slow"]:] - csum[:-p["slow"]]) / p["slow"]
        target = np.zeros(close.size)
        target[p["slow"] - 1:] = np.where(fast[p["slow"] - p["fast"]:] > slow, quantity, 0.0)
        held = np.concatenate([[0.0], target[:-1]])
        flows = -np.diff(np.concatenate([[0.0], held])) * close
        equity = cash + np.cumsum(flows) + held * close
        returns = np.diff(np.concatenate([[cash], equity])) / np.concatenate([[cash], equity[:-1]])
        sd = returns.std(ddof=1)
        _ = returns.mean() / sd * math.sqrt(252) if sd > 0 else math.nan
    return float(len(points))


# --- memory ----------------------------------------------------------------------------------


def traced_peak(work: Callable[[], Any]) -> tuple[float, Any]:
    """(peak bytes allocated above the start while ``work()`` ran, its result), counted by
    ``tracemalloc``: every allocation of Python objects and of numpy and pandas arrays, the
    exact high-water mark rather than a few samples.

    Why not the resident set size: for the same workload it moved between 5.3 and 8.9 times
    the data in a fresh process, with what the allocator had kept, which shared-library
    pages were in the page cache and how many threads Arrow started; an allocation count
    does not move. What it leaves out (Arrow's own buffers while a Parquet file is decoded,
    memory of C libraries) is reported beside it as the process's ``ru_maxrss``."""
    import tracemalloc

    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        gc.collect()
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        result = work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    return float(peak - base), result


def process_peak_bytes() -> float:
    """This process's peak resident memory since it started (``ru_maxrss``), in bytes."""
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
