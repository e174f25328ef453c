"""The six certification categories: real runs of the real components, measured.

Each function runs one category and returns its :class:`~workbench.certify.report.Category`;
deterministic trading outputs (fills, states, objectives) go into ``report.outputs`` for
the run's ``results_sha256``. Timings and memory are measured but never hashed.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.certify.report import Category, Recorder, Report

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"crash_trials": 10, "perf_events": 200_000, "perf_orders": 20_000, "sweep_fast": [5, 10, 20],
              "sweep_slow": [30, 60, 120]},
    "full": {"crash_trials": 50, "perf_events": 1_000_000, "perf_orders": 100_000, "sweep_fast": [5, 10, 15, 20, 30],
             "sweep_slow": [40, 60, 90, 120, 200]},
}


def _hash_frame(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()).hexdigest()


# --- 1. market data ----------------------------------------------------------------------------


def market_data(params: dict, report: Report, workdir: Path) -> Category:
    from workbench.errors import DataError
    from workbench.feed import Replay, load_dataset, load_file, synthetic_bars, synthetic_quotes

    rec = Recorder("market_data", report.thresholds)

    def datasets():
        shapes = {}
        for name in ("sp500", "nasdaq"):
            f = load_dataset(name)
            shapes[name] = (len(f), str(f.index[0].date()), str(f.index[-1].date()))
            report.data[name] = _hash_frame(f)
        want = (5031, "1999-01-04", "2018-12-31")
        return all(v == want for v in shapes.values()), len(shapes), f"bundled datasets {shapes}, expected {want} each"

    rec.check("datasets_load_and_validate", datasets, unit="datasets")

    def bad_file():
        path = workdir / "bad_bars.csv"
        path.write_text("time,symbol,open,high,low,close,volume\n2024-01-02,X,10,11,9,10.5,100\n"
                        "2024-01-03,X,10,9.5,9,10.5,100\n2024-01-04,X,10,11,9,10.5,-5\n")
        try:
            load_file(path, cache=False)
        except DataError as exc:
            ok = (exc.line, exc.column, exc.rule) == (3, "high", "high_ge_open_close")
            dropped = load_file(path, cache=False, on_error="drop").report
            ok = ok and dropped.bad_rows == 2 and dropped.counts() == {"high_ge_open_close": 1, "volume_nonneg": 1}
            return ok, dropped.bad_rows, f"DataError at line {exc.line} column {exc.column} rule {exc.rule}; " \
                                         f"drop mode found {dropped.counts()} (2 injected)"
        return False, 0, "a file with a high below the close was accepted"

    rec.check("bad_rows_located_and_counted", bad_file, unit="rows")

    def determinism():
        a = synthetic_quotes(3, days=1, freq="1s", seed=params["seed"])
        b = synthetic_quotes(3, days=1, freq="1s", seed=params["seed"])
        ha, hb = _hash_frame(a), _hash_frame(b)
        report.outputs.append(f"synthetic {ha}")
        return ha == hb, len(a), f"two generations with seed {params['seed']}: {ha[:12]} vs {hb[:12]}"

    rec.check("synthetic_byte_identical", determinism, unit="rows")

    def replay_order():
        bars = synthetic_bars(3, days=5, freq="5min", seed=params["seed"])
        quotes = synthetic_quotes(2, days=5, freq="1min", seed=params["seed"] + 1)
        times = np.array([pd.Timestamp(e.time).value for e in Replay(quotes, bars)])
        ok = times.size == len(bars) + len(quotes) and bool(np.all(np.diff(times) >= 0))
        return ok, int(times.size), f"{times.size:,} merged events, times non-decreasing: {ok}"

    rec.check("replay_merges_in_time_order", replay_order, unit="events")

    def cache():
        path = workdir / "quotes.csv"
        synthetic_quotes(4, days=2, freq="1s", seed=params["seed"]).to_csv(path)
        t0 = time.perf_counter()
        first = load_file(path, cache_dir=workdir / "cache")
        t1 = time.perf_counter()
        second = load_file(path, cache_dir=workdir / "cache")
        t2 = time.perf_counter()
        if first.from_cache or not second.from_cache or not first.frame.equals(second.frame):
            raise AssertionError("the second load did not come, equal, from the cache")
        return (t1 - t0) / (t2 - t1), f"{len(first.frame):,}-row CSV parse+validate {t1 - t0:.3f} s vs cached {t2 - t1:.3f} s"

    rec.measure("csv_cache_speedup", "cache_speedup", cache)
    return rec.done()


# --- 2. trading execution ----------------------------------------------------------------------

# (order, bar after it, expected status, expected price) under the documented bar rules;
# the market opens at 100 and the bar before every order closed at 100.
SCENARIOS = [
    ({"side": "buy", "type": "market"}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "sell", "type": "market"}, (99, 100, 97, 98), "filled", 99.0),
    ({"side": "buy", "type": "limit", "limit_price": 102.0}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "buy", "type": "limit", "limit_price": 99.5}, (101, 103, 99, 102), "filled", 99.5),
    ({"side": "buy", "type": "limit", "limit_price": 98.0}, (101, 103, 99, 102), "accepted", 0.0),
    ({"side": "sell", "type": "limit", "limit_price": 102.5}, (101, 103, 99, 102), "filled", 102.5),
    ({"side": "buy", "type": "stop", "stop_price": 102.0}, (101, 103, 99, 102), "filled", 102.0),
    ({"side": "buy", "type": "stop", "stop_price": 100.5}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "sell", "type": "stop", "stop_price": 99.5}, (101, 103, 99, 102), "filled", 99.5),
    ({"side": "buy", "type": "stop_limit", "stop_price": 102.0, "limit_price": 102.5}, (101, 103, 99, 102),
     "filled", 102.0),
    ({"side": "buy", "type": "stop_limit", "stop_price": 102.0, "limit_price": 103.0}, (104, 105, 103.5, 104),
     "accepted", 0.0),
    ({"side": "buy", "type": "market", "tif": "ioc"}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "buy", "type": "limit", "limit_price": 98.0, "tif": "ioc"}, (101, 103, 99, 102), "cancelled", 0.0),
    ({"side": "buy", "type": "limit", "limit_price": 102.0, "tif": "fok"}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "buy", "type": "limit", "limit_price": 98.0, "tif": "gtc"}, (101, 103, 99, 102), "accepted", 0.0),
]


def trading_execution(params: dict, report: Report, workdir: Path) -> Category:
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar, Quote

    rec = Recorder("trading_execution", report.thresholds)
    t0 = pd.Timestamp("2024-01-02", tz="UTC")

    def bar_rules():
        wrong = []
        for i, (order, nxt, status, price) in enumerate(SCENARIOS):
            b = SimulatedBroker(cash=1e6, instruments=["X"], account_type="margin")
            b.on_bar(Bar(t0, "X", 100.0, 100.5, 99.5, 100.0, 1e6))
            reply = b.place_order("X", quantity=10, **order)
            if not reply.accepted:
                wrong.append(f"#{i} {order} rejected: {reply.reason}")
                continue
            b.on_bar(Bar(t0 + pd.Timedelta(days=1), "X", *map(float, nxt), 1e6))
            o = b.order(reply.order_id)
            got = (o.status.value, round(o.avg_fill_price, 9))
            report.outputs.append(f"scenario {i} {got}")
            if got != (status, price):
                wrong.append(f"#{i} {order['type']} {order['side']} {order.get('tif', 'day')}: "
                             f"measured {got}, expected {(status, price)}")
        return not wrong, len(SCENARIOS) - len(wrong), \
            ("; ".join(wrong) if wrong else f"all {len(SCENARIOS)} order type / time-in-force cases fill as documented")

    rec.check("bar_fill_rules_every_type_and_tif", bar_rules, unit="cases")

    def quote_rules():
        b = SimulatedBroker(cash=1e6, instruments=["X"], account_type="margin")
        b.on_quote(Quote(t0, "X", 99.9, 100.1, 300.0, 200.0))
        cases = [
            (b.place_order("X", "buy", 250), ("partially_filled", 100.1, 200.0)),  # up to displayed size
            (b.place_order("X", "sell", 100, "limit", limit_price=99.5), ("filled", 99.9, 100.0)),  # improvement
            (b.place_order("X", "sell", 500, tif="fok"), ("cancelled", 0.0, 0.0)),
            (b.place_order("X", "sell", 250, tif="ioc"), ("cancelled", 99.9, 200.0)),
        ]
        wrong = []
        for reply, want in cases:
            o = b.order(reply.order_id)
            got = (o.status.value, round(o.avg_fill_price, 9), o.filled_quantity)
            report.outputs.append(f"quote {got}")
            if got != want:
                wrong.append(f"{reply.order_id}: measured {got}, expected {want}")
        return not wrong, len(cases) - len(wrong), "; ".join(wrong) or "ask/bid, displayed size, IOC and FOK as documented"

    rec.check("quote_fill_rules", quote_rules, unit="cases")

    def journal_round_trip():
        from workbench.engine import backtest
        from workbench.feed import load_dataset_bars
        from workbench.strategies import SmaCross

        path = workdir / "journal.sqlite"
        result = backtest(SmaCross(), load_dataset_bars("sp500"), journal=path, commission="ibkr-fixed")
        state, seq = result.broker.state(), result.broker.last_seq
        result.broker.close()
        recovered = SimulatedBroker.recover(path)
        report.outputs.append(f"sma_cross sp500 fills {result.summary()['fills_sha256']}")
        ok = recovered.state() == state and recovered.last_seq == seq
        return ok, seq + 1, f"{seq + 1} journaled events of a 5,031-bar backtest recovered to " \
                            f"{'the same' if ok else 'a DIFFERENT'} state"

    rec.check("journal_round_trip", journal_round_trip, unit="events")
    return rec.done()


# --- 3. optimization ---------------------------------------------------------------------------


def optimization(params: dict, report: Report, workdir: Path) -> Category:
    from workbench.engine import backtest
    from workbench.feed import load_dataset_bars
    from workbench.optimize import deflated_sharpe, pbo, sweep, walk_forward
    from workbench.optimize import fastpath
    from workbench.strategies import SmaCross

    rec = Recorder("optimization", report.thresholds)
    bars = load_dataset_bars("sp500")
    profile = PROFILES[params["profile"]]
    points = [{"fast": f, "slow": s} for f in profile["sweep_fast"] for s in profile["sweep_slow"]]
    state: dict[str, Any] = {}

    def small_sweep():
        fastpath.run(SmaCross(), bars)  # compile the numba kernel first: JIT time is not sweep time
        t0 = time.perf_counter()
        result = sweep("sma_cross", [bars], points, jobs=1, store=workdir / "trials.sqlite")
        state["sweep"] = result
        seconds = time.perf_counter() - t0
        for row in result.trials.itertuples():
            report.outputs.append(f"trial {row.fast} {row.slow} {row.objective!r}")
        return len(points) / seconds, f"{len(points)} trials in {seconds:.2f} s (kernel compiled beforehand), " \
                                      f"best {result.best['params']}"

    rec.measure("grid_sweep", "sweep_trials_per_s", small_sweep)

    def fast_equals_engine():
        mismatches = 0
        for p in points[:: max(1, len(points) // 4)]:
            s = SmaCross(**p)
            if fastpath.run(s, bars).summary() != backtest(s, bars).summary():
                mismatches += 1
        return float(mismatches), "fast path against the event-driven engine, every figure"

    rec.measure("fast_path_equals_engine", "fast_path_mismatches", fast_equals_engine)

    def walk():
        wf = walk_forward("sma_cross", bars, points, folds=3, jobs=1)
        s = wf.summary()
        report.outputs.append(f"walk-forward {s['oos_sharpe']!r}")
        ok = s["folds"] == 3 and len(wf.oos_returns) > 1000 and math.isfinite(s["oos_sharpe"])
        return ok, s["folds"], f"3 rolling folds: in-sample Sharpe {s['is_mean']:.3f}, out-of-sample " \
                               f"{s['oos_mean']:.3f}, {len(wf.oos_returns)} stitched out-of-sample days"

    rec.check("walk_forward", walk, unit="folds")

    def overfitting():
        result = state["sweep"]
        ok_rows = result.trials[result.trials["status"] == "ok"]
        from workbench.analytics.performance import daily_equity, simple_returns

        matrix = {}
        for row in ok_rows.itertuples():
            r = fastpath.run(SmaCross(fast=int(row.fast), slow=int(row.slow)), bars)
            matrix[(row.fast, row.slow)] = simple_returns(daily_equity(r.equity))
        m = pd.DataFrame(matrix).dropna()
        best = result.best["params"]
        variance = float((ok_rows["sharpe"] / math.sqrt(252)).var(ddof=1))
        d = deflated_sharpe(m[(best["fast"], best["slow"])], len(ok_rows), variance)
        p = pbo(m.to_numpy(), blocks=8)
        ok = 0 <= d.dsr <= 1 and 0 <= p.pbo <= 1
        return ok, round(p.pbo, 6), f"deflated Sharpe {d.dsr:.3f} of the best of {len(ok_rows)} trials; " \
                                    f"PBO {p.pbo:.2%} over {p.splits} CSCV splits"

    rec.check("overfitting_statistics", overfitting, unit="PBO")
    return rec.done()


# --- 4. monitoring and analytics ---------------------------------------------------------------


def _stalled_session(seed: int, store: Path | None = None):
    """A paper session over quotes with a three-minute gap, on a fake wall clock, watched
    by a monitor with the default FeedStalled rule."""
    from workbench.engine import Engine
    from workbench.feed import synthetic_quotes
    from workbench.monitor import Monitor, load_rules
    from workbench.clock import ManualClock
    from workbench.strategies import QuoteTaker

    quotes = synthetic_quotes(1, days=1, freq="1s", seed=seed).iloc[:600]
    t0 = quotes.index[0]
    gap = (t0 + pd.Timedelta(minutes=3), t0 + pd.Timedelta(minutes=6))
    stalled = quotes[(quotes.index < gap[0]) | (quotes.index >= gap[1])]
    clock = ManualClock()
    monitor = Monitor(store=store, rules=[r for r in load_rules() if r.name == "FeedStalled"], clock=clock, log=False)
    wall0 = clock.now
    engine = Engine(QuoteTaker(), stalled, mode="paper", speed=1.0, clock=clock, sleep=clock.sleep, monitor=monitor,
                    account_type="margin")
    result = engine.run()
    last_before = (stalled.index[stalled.index < gap[0]][-1] - t0).total_seconds()
    resume = (gap[1] - t0).total_seconds()
    return monitor, result, wall0, last_before, resume


def monitoring_analytics(params: dict, report: Report, workdir: Path) -> Category:
    from workbench.analytics import performance, summary
    from workbench.monitor import MetricStore

    rec = Recorder("monitoring_analytics", report.thresholds)
    store_path = workdir / "monitor.sqlite"
    session: dict[str, Any] = {}

    def metrics_reach_the_store():
        monitor, result, wall0, last_before, resume = _stalled_session(params["seed"], store_path)
        session.update(monitor=monitor, result=result, wall0=wall0, last_before=last_before, resume=resume)
        stored = MetricStore(store_path).series("workbench_broker_fills_total")
        fills = len(result.fills)
        ok = len(stored) > 100 and stored["value"].iloc[-1] == fills
        report.outputs.append(f"paper session fills {fills}")
        return ok, len(stored), f"{len(stored)} samples of the fill counter stored, last {stored['value'].iloc[-1]:.0f}" \
                                f" = {fills} fills of the session"

    rec.check("metrics_reach_the_store", metrics_reach_the_store, unit="samples")

    def analytics_of_the_session():
        result = session["result"]
        returns = performance.simple_returns(result.equity).dropna()
        s = summary(returns, periods_per_year=252 * 6.5 * 3600)
        ok = s["periods"] == len(returns) and all(
            v is None or not (isinstance(v, float) and math.isinf(v)) for v in s.values())
        return ok, s["periods"], f"summary of {s['periods']} per-second session returns: " \
                                 f"max drawdown {s['max_drawdown']:.4%}"

    rec.check("analytics_of_a_live_session", analytics_of_the_session, unit="returns")

    def alert():
        monitor = session["monitor"]
        (inst,) = monitor.alerts.instances.values()
        if inst.state != "resolved" or inst.fired_at is None:
            raise AssertionError(f"the feed-stall alert ended {inst.state}, expected fired and resolved")
        session["inst"] = inst
        delay = inst.fired_at - session["wall0"] - session["last_before"]
        return delay, "seconds from the last quote before a 3-minute gap to the FeedStalled alert firing " \
                      "(rule: age > 30 s for 10 s)"

    rec.measure("injected_feed_stall_fires", "alert_fire_delay_s", alert)

    def resolves():
        inst = session["inst"]
        return inst.resolved_at - session["wall0"] - session["resume"], \
            "seconds from the feed resuming to the alert resolving"

    rec.measure("alert_resolves_after_the_fault", "alert_resolve_delay_s", resolves)
    return rec.done()


# --- 5. error handling and recovery ------------------------------------------------------------


def error_handling(params: dict, report: Report, workdir: Path) -> Category:
    from workbench.broker import RejectReason, SimulatedBroker
    from workbench.broker.crash import crash_trial
    from workbench.errors import DataError
    from workbench.feed import load_file
    from workbench.model import Bar

    rec = Recorder("error_handling", report.thresholds)

    def corrupt_files():
        cases = {
            "empty.csv": ("", "empty"),
            "columns.csv": ("time,symbol,price\n2024-01-02,X,1\n", "columns"),
            "ragged.csv": ("time,symbol,open,high,low,close,volume\n2024-01-02,X,1,1,1,1,1,1\n", "format"),
            "times.csv": ("time,symbol,open,high,low,close,volume\nnot-a-time,X,1,1,1,1,1\n", "time_parse"),
            "broken.parquet": ("PAR1 this is not parquet", "format"),
        }
        wrong = []
        for name, (text, rule) in cases.items():
            path = workdir / name
            path.write_text(text)
            try:
                load_file(path, cache=False)
                wrong.append(f"{name} accepted")
            except DataError as exc:
                if exc.rule != rule or name not in str(exc):
                    wrong.append(f"{name}: rule {exc.rule}, expected {rule}")
        return not wrong, len(cases) - len(wrong), "; ".join(wrong) or \
            f"all {len(cases)} corrupt files rejected with the file named and the right rule"

    rec.check("corrupt_data_files", corrupt_files, unit="files")

    def invalid_orders():
        b = SimulatedBroker(cash=10_000, instruments=["X"])
        b.on_bar(Bar(pd.Timestamp("2024-01-02", tz="UTC"), "X", 100.0, 101.0, 99.0, 100.0, 1e6))
        before = (b.state(), b.account())
        cases = [
            (dict(quantity=float("nan")), RejectReason.INVALID_QUANTITY),
            (dict(quantity=-5), RejectReason.INVALID_QUANTITY),
            (dict(quantity=1e9), RejectReason.INSUFFICIENT_BUYING_POWER),
            (dict(type="limit"), RejectReason.MISSING_PRICE),
            (dict(type="limit", limit_price=100.003), RejectReason.OFF_TICK),
            (dict(symbol="NOPE"), RejectReason.UNKNOWN_SYMBOL),
            (dict(side="sell"), RejectReason.SHORT_NEEDS_MARGIN),
        ]
        wrong = []
        for change, reason in cases:
            args = {"symbol": "X", "side": "buy", "quantity": 1, **change}
            reply = b.place_order(**args)
            if reply.accepted or reply.reason is not reason:
                wrong.append(f"{change}: {reply.reason}, expected {reason.value}")
        if (b.state(), b.account()) != before:
            wrong.append("a rejected order changed the account or the order book")
        return not wrong, len(cases) - len(wrong), "; ".join(wrong) or \
            f"{len(cases)} invalid orders rejected with their reason codes; cash, positions and orders unchanged"

    rec.check("invalid_orders", invalid_orders, unit="orders")

    def feed_stall():
        monitor, result, wall0, last_before, resume = _stalled_session(params["seed"] + 7)
        (inst,) = monitor.alerts.instances.values()
        ok = inst.state == "resolved" and result.bars == 0 and len(result.fills) > 0
        return ok, inst.state, f"a three-minute gap in a paper session: alert {inst.state}, the session carried on" \
                               f" to {result.quotes} quotes and {len(result.fills)} fills"

    rec.check("feed_stall_survived", feed_stall, unit="state")

    def crash():
        n = int(params["crash_trials"])
        trials = [crash_trial(workdir, params["seed"] * 1000 + i) for i in range(n)]
        passed = sum(t.passed for t in trials)
        acks = sum(t.acknowledged for t in trials)
        bad = [t for t in trials if not t.passed]
        return passed / n, f"{passed}/{n} paper-trading children killed with SIGKILL recovered every one of " \
                           f"{acks:,} acknowledgements" + (f"; first failure {bad[0]}" if bad else "")

    rec.measure("sigkill_recovery", "crash_trials_recovered", crash)
    return rec.done()


# --- 6. performance ----------------------------------------------------------------------------


def performance(params: dict, report: Report, workdir: Path) -> Category:
    import psutil

    from workbench.broker import SimulatedBroker
    from workbench.engine import backtest
    from workbench.feed import Replay, synthetic_bars, synthetic_quotes
    from workbench.model import Bar
    from workbench.strategies import SmaCross

    rec = Recorder("performance", report.thresholds)
    profile = PROFILES[params["profile"]]
    proc = psutil.Process()
    peak = [proc.memory_info().rss]

    def replay():
        symbols = 4
        days = max(1, profile["perf_events"] // (symbols * 23_400))
        quotes = synthetic_quotes(symbols, days=days, freq="1s", seed=params["seed"])
        t0 = time.perf_counter()
        n = sum(1 for _ in Replay(quotes))
        rate = n / (time.perf_counter() - t0)
        peak[0] = max(peak[0], proc.memory_info().rss)
        return rate, f"{n:,} quote events replayed as objects"

    rec.measure("replay_throughput", "replay_events_per_s", replay)

    def backtest_rate():
        bars = synthetic_bars(5, periods=max(profile["perf_events"] // 5, 100), freq="1D", seed=params["seed"],
                              start="1950-01-02")
        t0 = time.perf_counter()
        backtest(SmaCross(), bars)
        rate = len(bars) / (time.perf_counter() - t0)
        peak[0] = max(peak[0], proc.memory_info().rss)
        return rate, f"sma_cross over {len(bars):,} bars (5 symbols), event-driven engine"

    rec.measure("backtest_throughput", "backtest_bars_per_s", backtest_rate)

    def latency():
        b = SimulatedBroker(cash=1e15, instruments=["X"], account_type="margin", journal=workdir / "lat.sqlite",
                            durability="batched")
        t = pd.Timestamp("2000-01-03", tz="UTC")
        for i in range(profile["perf_orders"]):
            b.on_bar(Bar(t + pd.Timedelta(minutes=i), "X", 100.0, 100.1, 99.9, 100.0, 1e9))
            b.place_order("X", "buy" if i % 2 == 0 else "sell", 100.0)
        p99 = b.stats()["place_order_p99_us"]
        b.close()
        return p99, f"place_order -> acknowledgement p99 over {profile['perf_orders']:,} orders (batched journal)"

    rec.measure("order_latency_p99", "place_order_p99_us", latency)

    def memory():
        peak[0] = max(peak[0], proc.memory_info().rss)
        return peak[0] / 1e6, "peak resident memory of the certification process during the load tests"

    rec.measure("peak_memory", "peak_rss_mb", memory)
    return rec.done()


CATEGORY_FUNCTIONS = {
    "market_data": market_data,
    "trading_execution": trading_execution,
    "optimization": optimization,
    "monitoring_analytics": monitoring_analytics,
    "error_handling": error_handling,
    "performance": performance,
}


def run_category(name: str, params: dict, report: Report, workdir: str | Path | None = None) -> Category:
    """Run one category and add it to ``report``."""
    own = None
    if workdir is None:
        own = tempfile.TemporaryDirectory()
        workdir = own.name
    try:
        category = CATEGORY_FUNCTIONS[name](params, report, Path(workdir))
    finally:
        if own is not None:
            own.cleanup()
    report.categories.append(category)
    return category
