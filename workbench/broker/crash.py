"""Crash trials: a child process paper-trades, is killed with SIGKILL, and is recovered.

The child trades a seeded random session (bars, orders of every type, cancels, replaces,
session closes) against a broker with a fully synced journal. After every call returns,
it reports the journal sequence number and the digest of its state to the parent through
a pipe: those are the acknowledgements. The parent kills the child with SIGKILL after a
random number of them, wherever it is (possibly inside a journal write), then recovers a
broker from the journal and checks that

* nothing acknowledged is lost: the journal reaches at least the last acknowledged event;
* the state at each checked acknowledgement is exactly what the child reported (the
  last one, and a few earlier ones picked at random).

Used by the test suite (50 trials), the broker benchmark (more) and certification.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import signal
import traceback
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workbench.model import Bar

SYMBOLS = ("AAA", "BBB")
T0 = pd.Timestamp("2024-01-02", tz="UTC")


@dataclass(frozen=True)
class CrashTrial:
    """The outcome of one trial."""

    seed: int
    kill_after: int  # acknowledgements the parent waited for before SIGKILL
    acknowledged: int  # acknowledgements received
    acknowledged_seq: int  # journal sequence number of the last one (-1: none)
    recovered_seq: int  # last sequence number in the recovered journal
    checked: int  # acknowledgements whose state was compared
    mismatches: tuple[int, ...]  # sequence numbers whose recovered state differed
    killed: bool  # False when the child had already finished
    child_error: str = ""

    @property
    def passed(self) -> bool:
        return (
            not self.child_error
            and not self.mismatches
            and self.recovered_seq >= self.acknowledged_seq
        )


def _child(path: str, seed: int, steps: int, fd: int) -> None:  # pragma: no cover (child)
    from workbench.broker.broker import SimulatedBroker

    try:
        rng = random.Random(seed)
        broker = SimulatedBroker(
            cash=1_000_000, instruments=SYMBOLS, account_type="margin", participation=0.25,
            commission="ibkr-fixed", slippage="bps:1", journal=path,
        )
        price = {s: 100.0 for s in SYMBOLS}
        day = 0
        for _ in range(steps):
            r = rng.random()
            symbol = rng.choice(SYMBOLS)
            if r < 0.35:
                day += 1
                o = price[symbol]
                c = round(o * math.exp(rng.gauss(0, 0.02)), 2)
                h = round(max(o, c) * (1 + abs(rng.gauss(0, 0.01))), 2)
                lo = round(min(o, c) * (1 - abs(rng.gauss(0, 0.01))), 2)
                broker.on_bar(Bar(T0 + pd.Timedelta(days=day), symbol, o, h, lo, c, 2_000.0))
                price[symbol] = c
            elif r < 0.85:
                kind = rng.choice(["market", "limit", "stop", "stop_limit"])
                ref = round(price[symbol] * (1 + rng.uniform(-0.03, 0.03)), 2)
                broker.place_order(
                    symbol, rng.choice(["buy", "sell"]), float(rng.choice([1, 10, 100, 500])), kind,
                    limit_price=ref if kind in ("limit", "stop_limit") else None,
                    stop_price=ref if kind in ("stop", "stop_limit") else None,
                    tif=rng.choice(["day", "gtc", "gtc", "ioc", "fok"]),
                )
            elif r < 0.93:
                working = broker.open_orders()
                if working:
                    broker.cancel_order(rng.choice(working).id)
            elif r < 0.97:
                working = [o for o in broker.open_orders() if o.limit_price is not None]
                if working:
                    o = rng.choice(working)
                    broker.replace_order(o.id, limit_price=round(o.limit_price * 1.01, 2))
            else:
                broker.end_session()
            os.write(fd, f"{broker.last_seq} {broker.state_digest()}\n".encode())
        os.write(fd, b"DONE\n")
    except BaseException:
        os.write(fd, ("ERR " + traceback.format_exc().replace("\n", " | ") + "\n").encode())
    finally:
        os._exit(0)


def crash_trial(directory: str | os.PathLike, seed: int, *, steps: int = 300,
                kill_after: int | None = None, spot_checks: int = 3) -> CrashTrial:
    """Run one trial in ``directory`` (see the module docstring)."""
    from workbench.broker.broker import SimulatedBroker

    rng = random.Random(seed * 7919 + 1)
    if kill_after is None:
        kill_after = rng.randint(1, steps)
    path = Path(directory) / f"crash-{seed}.sqlite"
    read_fd, write_fd = os.pipe()
    proc = multiprocessing.get_context("fork").Process(
        target=_child, args=(str(path), seed, steps, write_fd), daemon=True
    )
    proc.start()
    os.close(write_fd)
    acks: list[tuple[int, str]] = []
    error = ""
    killed = False
    with os.fdopen(read_fd, "rb") as reader:
        for raw in reader:
            line = raw.decode().strip()
            if line == "DONE":
                break
            if line.startswith("ERR "):
                error = line[4:]
                break
            seq, digest = line.split()
            acks.append((int(seq), digest))
            if len(acks) >= kill_after:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
    proc.join(timeout=30)
    if proc.is_alive():  # pragma: no cover (a hung child is a failure, not a hang)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        error = error or "child did not finish"

    recovered = SimulatedBroker.recover(path)
    recovered_seq = recovered.last_seq
    recovered.close()
    last_seq = acks[-1][0] if acks else -1
    picks = [acks[-1]] if acks else []
    picks += rng.sample(acks[:-1], min(spot_checks - 1, max(len(acks) - 1, 0)))
    mismatches = []
    for seq, digest in picks:
        at = SimulatedBroker.recover(path, upto_seq=seq)
        if at.state_digest() != digest:
            mismatches.append(seq)
        at.close()
    return CrashTrial(
        seed=seed, kill_after=kill_after, acknowledged=len(acks), acknowledged_seq=last_seq,
        recovered_seq=recovered_seq, checked=len(picks), mismatches=tuple(sorted(mismatches)),
        killed=killed, child_error=error,
    )
