"""5. Error handling and recovery: bad files and bad orders change nothing, an acknowledged
event is on disk, a killed run recovers with nothing lost, a feed gap is survived."""

from __future__ import annotations

import gzip
import random
import sqlite3

import pandas as pd

from workbench.certify import scenarios
from workbench.certify.context import Context
from workbench.certify.report import Check, same, within

T0 = pd.Timestamp("2024-01-02", tz="UTC")
HEADER = "time,symbol,open,high,low,close,volume\n"


def corrupt_files_are_rejected(ctx: Context) -> Check:
    """Empty, wrong columns, ragged, bad times, broken Parquet, a truncated gzip: each is a
    DataError naming the file and its rule, and nothing reaches the cache."""
    from workbench.errors import DataError
    from workbench.feed import load_file

    folder = ctx.subdir("corrupt")
    lines = [f"2024-01-{d:02d},X,10,11,9,10.5,100\n" for d in range(2, 30)]
    cases = {
        "empty.csv": (b"", "empty"),
        "columns.csv": (b"time,symbol,price\n2024-01-02,X,1\n", "columns"),
        "ragged.csv": ((HEADER + "".join(lines[:2]) + "2024-01-30,X,1,1,1,1,1,1\n" + "".join(lines[2:])).encode(),
                       "format"),
        "times.csv": ((HEADER + "not-a-time,X,1,1,1,1,1\n").encode(), "time_parse"),
        "broken.parquet": (b"PAR1 this is not parquet", "format"),
        "truncated.csv.gz": (_truncated_gzip(), "format"),
    }
    measured, expected = [], []
    for name, (content, rule) in cases.items():
        path = folder / name
        path.write_bytes(content)
        try:
            load_file(path, cache_dir=folder / "cache")
            measured.append((name, "accepted"))
        except DataError as exc:
            measured.append((name, exc.rule if name in str(exc) else f"{exc.rule}, file not named"))
        expected.append((name, rule))
    cached = sorted(p.name for p in (folder / "cache").glob("*")) if (folder / "cache").exists() else []
    measured.append(("cache entries", len(cached)))
    expected.append(("cache entries", 0))
    ctx.record("recovery.corrupt_files", measured)
    return same(measured, expected, what="(file, rule) of six corrupt files, and what they left in the cache")


def _truncated_gzip() -> bytes:
    """The first half of a gzipped CSV of 3,000 daily bars (a copy cut short)."""
    days = pd.bdate_range("2000-01-03", periods=3000)
    text = HEADER + "".join(f"{d.date()},X,{10 + i % 7},{20 + i % 7},{5 + i % 3},{11 + i % 5},{100 + i}\n"
                            for i, d in enumerate(days))
    whole = gzip.compress(text.encode())
    return whole[: len(whole) // 2]


def rejected_requests_change_nothing(ctx: Context) -> Check:
    """Invalid orders, replacements and cancels are rejected with their reason codes; the
    cash, positions, orders and open orders are exactly as before."""
    from workbench.broker import RejectReason as R
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar

    b = SimulatedBroker(cash=10_000, instruments=["X"])
    b.on_bar(Bar(T0, "X", 100.0, 101.0, 99.0, 100.0, 1e6))
    resting = b.place_order("X", "buy", 10, "limit", limit_price=95.0).order_id
    before = (b.state(), b.account(), b.open_orders())
    cases = [  # (method, arguments, keywords, the reason it must give)
        ("place_order", ("X", "buy", float("nan")), {}, R.INVALID_QUANTITY),
        ("place_order", ("X", "buy", -5), {}, R.INVALID_QUANTITY),
        ("place_order", ("X", "buy", 1e9), {}, R.INSUFFICIENT_BUYING_POWER),
        ("place_order", ("X", "buy", 1, "limit"), {}, R.MISSING_PRICE),
        ("place_order", ("X", "buy", 1, "limit"), {"limit_price": 100.003}, R.OFF_TICK),
        ("place_order", ("NOPE", "buy", 1), {}, R.UNKNOWN_SYMBOL),
        ("place_order", ("X", "sell", 1), {}, R.SHORT_NEEDS_MARGIN),
        ("replace_order", (resting,), {"limit_price": 95.003}, R.OFF_TICK),
        ("replace_order", (resting,), {"quantity": 10_000}, R.INSUFFICIENT_BUYING_POWER),
        ("cancel_order", ("O999",), {}, R.UNKNOWN_ORDER),
    ]
    replies = [getattr(b, method)(*args, **kwargs) for method, args, kwargs, _ in cases]
    measured = [(i, r.accepted, r.reason.value if r.reason else None) for i, r in enumerate(replies)]
    expected = [(i, False, reason.value) for i, (*_, reason) in enumerate(cases)]
    measured.append(("state, account and open orders unchanged", (b.state(), b.account(), b.open_orders()) == before))
    expected.append(("state, account and open orders unchanged", True))
    ctx.record("recovery.rejections", measured)
    return same(measured, expected, what="(request, accepted, reason) of 10 invalid requests, then the state")


def acknowledged_events_are_on_disk(ctx: Context) -> Check:
    """With the fully synced journal, every acknowledged order, cancel, replacement and fill
    is in the journal file, read by another connection, when the call returns."""
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar

    path = ctx.subdir("durable") / "journal.sqlite"
    b = SimulatedBroker(cash=1e6, instruments=["X"], account_type="margin", journal=path, durability="sync")
    reader = sqlite3.connect(path)
    rng = random.Random(ctx.seed)
    lagging, calls = [], 0
    try:
        for i in range(60):
            b.on_bar(Bar(T0 + pd.Timedelta(minutes=i), "X", 100.0, 100.5, 99.5, 100.0, 1e6))
            for reply in (b.place_order("X", rng.choice(["buy", "sell"]), 10),
                          b.place_order("X", "buy", 10, "limit", limit_price=99.0)):
                calls += 1
                on_disk = reader.execute("SELECT MAX(seq) FROM events").fetchone()[0]
                if on_disk is None or on_disk < b.last_seq:
                    lagging.append((calls, b.last_seq, on_disk))
            if i % 3 == 0 and b.open_orders():
                b.cancel_order(b.open_orders()[0].id)
                calls += 1
    finally:
        reader.close()
        b.close()
    check = same(lagging[:5], [], what=f"(call, acknowledged sequence number, sequence on disk) of the {calls} calls "
                                       f"whose acknowledgement was not yet on disk")
    check.measured, check.expected, check.unit = calls - len(lagging), calls, "calls"
    return check


def recovery_replays_every_event(ctx: Context) -> Check:
    """A session of orders, fills, cancels and replacements: the journal recovers to the
    state after every one of a dozen acknowledged points, and to the final state."""
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar

    path = ctx.subdir("replayed") / "journal.sqlite"
    b = SimulatedBroker(cash=1e6, instruments=["X"], account_type="margin", journal=path, durability="batched",
                        commission="ibkr-fixed")
    rng = random.Random(ctx.seed + 1)
    points, price = [], 100.0
    for i in range(120):
        price = round(price * (1 + rng.gauss(0, 0.01)), 2)
        b.on_bar(Bar(T0 + pd.Timedelta(days=i), "X", price, round(price * 1.01, 2), round(price * 0.99, 2), price, 1e4))
        kind = rng.choice(["market", "limit", "stop"])
        ref = round(price * rng.uniform(0.98, 1.02), 2)
        b.place_order("X", rng.choice(["buy", "sell"]), float(rng.choice([10, 100])), kind,
                      limit_price=ref if kind == "limit" else None, stop_price=ref if kind == "stop" else None,
                      tif="gtc")
        if i % 7 == 3 and b.open_orders():
            b.cancel_order(b.open_orders()[0].id)
        if i % 10 == 0:
            points.append((b.last_seq, b.state_digest()))
    final = (b.last_seq, b.state_digest())
    b.close()
    measured = [(seq, SimulatedBroker.recover(path, upto_seq=seq).state_digest()) for seq, _ in points]
    recovered = SimulatedBroker.recover(path)
    measured.append((recovered.last_seq, recovered.state_digest()))
    recovered.close()
    ctx.record("recovery.replayed_states", [d for _, d in measured])
    return same(measured, [*points, final],
                what="(sequence number, state digest) recovered at 12 points and at the end")


def sigkill_recovery(ctx: Context) -> Check:
    """Paper-trading children killed with SIGKILL at random moments: every acknowledged
    event is recovered, and the state at acknowledged points is exactly what the child saw."""
    from workbench.broker.crash import crash_trial

    n = int(ctx.params["crash_trials"])
    folder = ctx.subdir("crash")
    trials = [crash_trial(folder, ctx.seed * 1000 + i) for i in range(n)]
    passed = sum(t.passed for t in trials)
    acks = sum(t.acknowledged for t in trials)
    bad = [t for t in trials if not t.passed]
    ctx.record("recovery.crash_kill_points", [t.kill_after for t in trials])
    spec = ctx.bound("crash_trials_recovered")
    return within(passed / n, lo=spec["min"], unit=spec["unit"],
                  what=f"{passed}/{n} children killed with SIGKILL recovered all of their {acks:,} acknowledgements"
                       + (f"; first failure {bad[0]}" if bad else ""))


def feed_gap_is_survived(ctx: Context) -> Check:
    """The paper session with a three-minute feed gap handles every quote after it and keeps
    trading."""
    s = ctx.once(scenarios.stalled_session)
    fills = s.result.fills
    after = int((pd.to_datetime(fills["time"]).map(lambda t: t.timestamp()) >= s.resume).sum()) if len(fills) else 0
    measured = [s.result.quotes, after > 0, s.result.stopped_early]
    return same(measured, [len(s.quotes), True, False],
                what="[quotes handled, fills after the gap, stopped early]")


CHECKS = [corrupt_files_are_rejected, rejected_requests_change_nothing, acknowledged_events_are_on_disk,
          recovery_replays_every_event, sigkill_recovery, feed_gap_is_survived]
