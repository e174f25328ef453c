"""6. Performance under load: throughput, latency and memory as ratios against calibration
workloads timed in the same run (:mod:`workbench.certify.calibration`), so that the bounds
hold on a slow laptop and on a busy machine alike, while a component that got twice as slow
(or needs twice the memory) fails. Raw figures are reported beside each ratio."""

from __future__ import annotations

import time
from functools import partial

import numpy as np
import pandas as pd

from workbench.broker.costs import CommissionModel
from workbench.certify import calibration, reference
from workbench.certify.context import Context
from workbench.certify.report import Check, same, within

SPIKE_S = 300e-6  # the injected slow call of the latency-truth check
SPIKE_EVERY = 10


def _ratio_check(ctx: Context, key: str, figures: dict[str, float], what: str, unit_name: str) -> Check:
    spec = ctx.bound(key)
    rates = (f"{figures['component_per_s']:,.0f} {unit_name}/s against the calibration's "
             f"{figures['calibration_per_s']:,.0f}/s (best of {figures['repeats']}, interleaved)")
    return within(figures["ratio"], lo=spec.get("min"), hi=spec.get("max"), unit=spec["unit"], what=f"{what}: {rates}",
                  figures=figures)


def replay_throughput(ctx: Context) -> Check:
    """Quote events replayed as objects, against a loop building one tuple per row."""
    from workbench.feed import synthetic_quotes

    days = max(1, ctx.profile["perf_events"] // (4 * 23_400))
    quotes = synthetic_quotes(4, days=days, freq="1s", seed=ctx.seed)
    columns = [quotes.index.to_pydatetime().tolist(), quotes["symbol"].astype(str).tolist(),
               *(quotes[c].tolist() for c in ("bid", "ask", "bid_size", "ask_size"))]
    figures = calibration.compare(partial(_replay_events, quotes),
                                  partial(calibration.cpu_timed, calibration.tuple_loop, columns, 10),
                                  ctx.profile["repeats"])
    figures["events"] = len(quotes)
    return _ratio_check(ctx, "replay_vs_calibration", figures, f"{len(quotes):,} quote events", "events")


def _replay_events(quotes: pd.DataFrame) -> tuple[float, float]:
    from workbench.feed import Replay

    replay = Replay(quotes)  # validation on entry is not replay time
    return calibration.cpu_timed(_count, replay)


def _count(events) -> float:
    return float(sum(1 for _ in events))


def backtest_throughput(ctx: Context) -> Check:
    """sma_cross on the event-driven engine over five symbols, against the same rules in a
    bare loop (same bars)."""
    from workbench.feed import synthetic_bars

    bars = synthetic_bars(5, periods=ctx.profile["perf_bars"] // 5, freq="1D", seed=ctx.seed, start="1950-01-02")
    lists = (bars["symbol"].astype(str).tolist(), bars["open"].tolist(), bars["close"].tolist())
    figures = calibration.compare(partial(calibration.cpu_timed, _engine_bars, bars),
                                  partial(calibration.cpu_timed, _bare_loops, lists, 8), ctx.profile["repeats"])
    figures["bars"] = len(bars)
    return _ratio_check(ctx, "backtest_vs_calibration", figures, f"sma_cross over {len(bars):,} bars (5 symbols)",
                        "bars")


def _engine_bars(bars: pd.DataFrame) -> float:
    from workbench.engine import backtest
    from workbench.strategies import SmaCross

    return float(backtest(SmaCross(), bars, fast_path=False).bars)  # the event loop, every bar


def _bare_loops(lists: tuple[list, list, list], passes: int) -> float:
    for _ in range(passes):
        reference.sma_cross_loop(*lists, 10, 30, 100.0)
    return float(passes * len(lists[0]))


def order_latency(ctx: Context) -> Check:
    """place_order -> acknowledgement with the batched journal, against a function that
    checks, encodes and logs the same request: CPU time per order (the journal's periodic
    commits included), with the wall-clock median and 99th percentile reported beside."""
    n = ctx.profile["perf_orders"]
    walls: dict[str, list[dict]] = {"component": [], "calibration": []}
    rates = calibration.compare(partial(_broker_orders, n, ctx.subdir("latency"), walls["component"]),
                                partial(_logged_orders, 5 * n, walls["calibration"]), ctx.profile["repeats"])
    figures = {"place_order_cpu_us": 1e6 / rates["component_per_s"],
               "calibration_cpu_us": 1e6 / rates["calibration_per_s"],
               "place_order_p50_us": 1e6 * min(w["p50"] for w in walls["component"]),
               "place_order_p99_us": 1e6 * min(w["p99"] for w in walls["component"]),
               "calibration_p50_us": 1e6 * min(w["p50"] for w in walls["calibration"]),
               "ratio": rates["ratio"], "orders": n, "repeats": rates["repeats"]}
    # The batched journal's transactions: at most one per batch_size events, plus one (a count
    # that load cannot move, beside the timing that it can).
    commits = max(w["commits"] for w in walls["component"])
    events = max(w["events"] for w in walls["component"])
    allowed = events // walls["component"][0]["batch_size"] + 1
    figures.update(journal_commits=commits, journal_events=events, journal_commits_allowed=allowed)
    spec = ctx.bound("order_latency_vs_calibration")
    check = within(rates["ratio"], lo=spec.get("min"), unit=spec["unit"],
                   what=f"place_order {figures['place_order_cpu_us']:.1f} us of CPU an order (wall p50 "
                        f"{figures['place_order_p50_us']:.1f} us, p99 {figures['place_order_p99_us']:.1f} us) against "
                        f"the calibration's {figures['calibration_cpu_us']:.2f} us, {n:,} orders, best of "
                        f"{figures['repeats']}", figures=figures)
    check.detail += f"; the batched journal committed {commits:,} transactions for {events:,} events"
    if commits > allowed:
        check.passed = False
        check.detail += f", more than the {allowed:,} its batches allow"
    return check


def _broker_orders(n: int, folder, walls: list[dict]) -> tuple[float, float]:
    """``n`` market orders, buys and sells in turn, into a margin account with a batched
    journal: (orders, CPU seconds); their wall-clock percentiles go to ``walls``."""
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar

    t0 = pd.Timestamp("2000-01-03", tz="UTC").to_pydatetime()
    b = SimulatedBroker(cash=1e15, instruments=["X"], account_type="margin", durability="batched",
                        journal=folder / f"latency-{len(walls)}.sqlite")
    for i in range(64):  # a market to trade against
        b.on_bar(Bar(t0 + pd.Timedelta(minutes=i), "X", 100.0, 100.1, 99.9, 100.0, 1e9))
    writes, seq = b.journal.writes, b.journal.last_seq()
    stats = calibration.per_call_latency(partial(_alternate, b.place_order), n)
    # what the journal did meanwhile: transactions committed for the events written (a count,
    # not a time: the same on a loaded machine as on an idle one)
    stats.update(commits=b.journal.writes - writes, events=b.journal.last_seq() - seq,
                 batch_size=b.journal.batch_size)
    b.close()
    walls.append(stats)
    return float(n), stats["cpu"]


def _logged_orders(n: int, walls: list[dict]) -> tuple[float, float]:
    book, log = {"X": 1}, []
    stats = calibration.per_call_latency(partial(_alternate, partial(calibration.order_log, book=book, log=log)), n)
    walls.append(stats)
    return float(n), stats["cpu"]


def _alternate(place, i: int):
    return place("X", "buy" if i % 2 == 0 else "sell", 100.0)


def sweep_throughput(ctx: Context) -> Check:
    """A grid sweep of sma_cross over the S&P 500 on one process (fast path, numba kernel
    compiled beforehand), against the same trials in plain numpy."""
    from workbench.feed import load_dataset_bars
    from workbench.optimize import fastpath
    from workbench.strategies import SmaCross

    bars = load_dataset_bars("sp500")
    # 60 trials a repeat (the grid with quantities 10..60): enough CPU time to time well
    points = [{"fast": f, "slow": s, "quantity": float(q)} for q in range(10, 70, 10)
              for f in (5, 10, 20, 40, 60) for s in (80, 120)]
    close = bars["close"].to_numpy()
    fastpath.run(SmaCross(), bars)  # compile the kernel: JIT time is not sweep time
    figures = calibration.compare(partial(calibration.cpu_timed, _sweep_trials, bars, points),
                                  partial(calibration.cpu_timed, _numpy_trials, close, points, 20),
                                  ctx.profile["repeats"])
    figures["trials"] = len(points)
    return _ratio_check(ctx, "sweep_vs_calibration", figures, f"{len(points)} sma_cross trials over 5,031 bars",
                        "trials")


def _sweep_trials(bars: pd.DataFrame, points: list[dict]) -> float:
    from workbench.optimize import sweep

    return float(len(sweep("sma_cross", [bars], points, jobs=1).trials))


def _numpy_trials(close, points: list[dict], passes: int) -> float:
    return sum(calibration.numpy_sweep(close, points) for _ in range(passes))


class SlowEvery(CommissionModel):
    """A commission model (free) that spins ``SPIKE_S`` on every ``SPIKE_EVERY``-th call: a
    known latency inside place_order (a cash account prices every buy with it)."""

    def __init__(self) -> None:
        self.calls = 0

    def commission(self, order, quantity, price) -> float:
        self.calls += 1
        if self.calls % SPIKE_EVERY == 0:
            end = time.perf_counter() + SPIKE_S
            while time.perf_counter() < end:
                pass
        return 0.0

    def to_dict(self) -> dict:
        return {"model": "certify-slow-every"}


def latency_is_measured_truthfully(ctx: Context) -> Check:
    """The broker's own place_order latencies (what the monitor and its alerts see) against
    the same calls timed from outside, with a 300 us delay injected into every tenth: each
    recorded latency is within the outside one, every delayed call is recorded as >= 300 us,
    and the typical call is not under-reported by more than half."""
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar

    n = 400
    slow_model = SlowEvery()
    b = SimulatedBroker(cash=1e12, instruments=["X"], commission=slow_model)
    b.on_bar(Bar(pd.Timestamp("2000-01-03", tz="UTC"), "X", 100.0, 100.1, 99.9, 100.0, 1e9))
    outside = np.empty(n)
    clock = time.perf_counter
    for i in range(n):
        t0 = clock()
        b.place_order("X", "buy", 1.0)
        outside[i] = clock() - t0
    _, inside = b.latencies_since(0)
    inside = np.asarray(inside[-n:])
    if slow_model.calls != n:
        raise AssertionError(f"the commission model was called {slow_model.calls} times for {n} orders")
    slow = np.arange(n) % SPIKE_EVERY == SPIKE_EVERY - 1  # the commission's 10th, 20th, ... call
    normal = ~slow
    measured = [bool(np.all(inside <= outside + 1e-6)), bool(np.all(inside[slow] >= SPIKE_S)),
                bool(np.median(inside[normal]) >= 0.5 * np.median(outside[normal]))]
    check = same(measured, [True, True, True],
                 what=f"[recorded <= outside for all {n} calls, all {int(slow.sum())} delayed calls recorded >= "
                      f"{SPIKE_S * 1e6:.0f} us (min {inside[slow].min() * 1e6:.0f} us), recorded median "
                      f"{np.median(inside[normal]) * 1e6:.1f} us >= half of outside "
                      f"{np.median(outside[normal]) * 1e6:.1f} us]")
    check.figures = {"recorded_p50_us": float(np.median(inside) * 1e6),
                     "outside_p50_us": float(np.median(outside) * 1e6)}
    return check


def peak_memory(ctx: Context) -> Check:
    """Load and validate a Parquet file of quotes and replay it as objects: the peak of what
    it allocates (every Python object and array, counted by tracemalloc) per byte of the
    loaded frame. The certification process's own peak resident memory is reported beside."""
    from workbench.feed import synthetic_quotes

    rows = ctx.profile["memory_rows"]
    path = ctx.subdir("memory") / "quotes.parquet"
    synthetic_quotes(4, days=max(1, rows // (4 * 23_400)), freq="1s", seed=ctx.seed).to_parquet(path)
    load_and_replay(path)  # warm: what the libraries set up once is not the workload's
    peak, data = calibration.traced_peak(partial(load_and_replay, path))
    spec = ctx.bound("memory_per_data_byte")
    figures = {"peak_mb": peak / 1e6, "data_mb": data / 1e6,
               "certification_peak_rss_mb": calibration.process_peak_bytes() / 1e6}
    return within(peak / data, hi=spec["max"], unit=spec["unit"],
                  what=f"peak {figures['peak_mb']:.0f} MB allocated for a {figures['data_mb']:.0f} MB frame (this "
                       f"certification's own peak resident memory: {figures['certification_peak_rss_mb']:.0f} MB)",
                  figures=figures)


def load_and_replay(path) -> float:
    """The memory workload: load and validate a Parquet file of quotes, replay it as objects;
    returns the bytes of the loaded frame."""
    from workbench.feed import Replay, load_file

    frame = load_file(path).frame
    n = sum(1 for _ in Replay(frame))
    if n != len(frame):
        raise AssertionError(f"replayed {n} of {len(frame)} events")
    return float(frame.memory_usage(index=True, deep=True).sum())


def chain_pricing(ctx: Context) -> Check:
    """A 10,000-contract option chain priced with its greeks by ``price_chain`` (vectorized),
    against the Black-Scholes formula evaluated contract by contract in plain Python (price
    and delta only); contracts a second, CPU time."""
    from workbench.options import pricing

    price_chain = pricing.price_chain  # looked up now: the function in force (a fault replaces it)
    rng = np.random.default_rng(ctx.seed)
    n = 10_000
    chain = pd.DataFrame({"spot": 100.0, "strike": rng.uniform(60, 140, n), "days": rng.uniform(1, 400, n),
                          "rate": 0.03, "dividend": 0.0, "vol": rng.uniform(0.08, 0.8, n),
                          "right": np.where(rng.random(n) < 0.5, "call", "put")})
    rows = list(zip(chain["spot"], chain["strike"], chain["days"] / 365.0, chain["rate"], chain["vol"],
                    chain["right"] == "call"))
    figures = calibration.compare(partial(calibration.cpu_timed, _priced, price_chain, chain),
                                  partial(calibration.cpu_timed, calibration.scalar_black_scholes, rows),
                                  ctx.profile["repeats"])
    figures["contracts"] = n
    return _ratio_check(ctx, "chain_pricing_vs_calibration", figures, f"{n:,} contracts with greeks", "contracts")


def _priced(price_chain, chain: pd.DataFrame) -> float:
    out = price_chain(chain)
    return float(np.isfinite(out["price"].to_numpy()).sum())


CHECKS = [replay_throughput, backtest_throughput, order_latency, sweep_throughput, latency_is_measured_truthfully,
          peak_memory, chain_pricing]
