"""Every default alert rule driven through pending -> firing -> resolved by a real fault in a
paper session run with the command line (``workbench paper ... --monitor``), read back with
``workbench monitor alerts``: a slowed broker, a stalled order, rejected orders, a hung
engine, a locked journal, a memory spike, a drawdown. The monitor samples in its own thread
on the wall clock, so a hung engine or a stalled order is seen while it lasts.

Each rule keeps its default metric, aggregation and comparison; windows, ``for`` and
thresholds are scaled down so a session lasts seconds, not minutes."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from workbench.monitor.rules import DEFAULT_RULES

BARS = 600  # daily bars, 10 ms apart at the session's speed
SPEED = 86_400 / 0.010  # data seconds per wall second: one daily bar every 10 ms
FAULT = (100, 200)  # the bars during which the fault is on
# A paced replay that fell behind during a fault catches up at once (its schedule is the
# data's): the bars after the fault leave a few seconds of paced session to resolve in.

# A strategy and a cost model that break on purpose while the fault is on, registered by
# the script that runs the command line in a child process.
FAULTS = textwrap.dedent('''
    import os, sqlite3, sys, time
    from workbench.broker.costs import COMMISSIONS, CommissionModel
    from workbench.strategies import register
    from workbench.strategies.base import Param, Strategy

    STATE = {"bar": 0}
    FROM, TO = %d, %d

    class Slow(CommissionModel):
        """Free, but slow while the fault is on: 15 ms a call, or one 2.5 s stall of an
        order being placed (a cash buy's check asks for its commission)."""
        def __init__(self, mode="slow"):
            self.mode = mode
        def commission(self, order, quantity, price):
            if FROM <= STATE["bar"] < TO:
                if self.mode == "slow":
                    time.sleep(0.015)
                elif self.mode == "stall" and STATE.get("placing") and not STATE.get("stalled"):
                    STATE["stalled"] = True
                    time.sleep(2.5)
            return 0.0
    COMMISSIONS["slow"] = Slow

    @register
    class Faulty(Strategy):
        """Trades every bar; while the fault is on, does what ``mode`` says."""
        name = "faulty"
        parameters = {"mode": Param(str, "none"), "out": Param(str, "")}
        def on_bar(self, bar):
            STATE["bar"] = n = len(self.history(bar.symbol))
            on = FROM <= n < TO
            mode = self.params["mode"]
            if mode == "reject" and on:
                self.order("NOPE", "buy", 1)
            if mode == "hang" and n == FROM:
                time.sleep(2.0)
            if mode == "memory":
                if n == FROM:
                    STATE["ballast"] = bytearray(1_200_000_000)
                    STATE["ballast"][::4096] = b"x" * len(range(0, 1_200_000_000, 4096))
                    STATE["since"] = time.monotonic()
                elif n >= TO and "ballast" in STATE and time.monotonic() - STATE["since"] > 1.0:
                    del STATE["ballast"]  # held a second of wall time: the replay may be catching up
            if mode == "lock" and n == FROM:
                db = sqlite3.connect(os.path.join(self.params["out"], "journal.sqlite"), timeout=0)
                db.execute("BEGIN EXCLUSIVE")
                STATE["locker"] = db
            if mode == "drawdown":
                if n == 1:
                    self.order(bar.symbol, "buy", 9000)
                return
            side = "sell" if self.exposure(bar.symbol) > 0 else "buy"
            STATE["placing"] = True
            self.order(bar.symbol, side, 1)
            STATE["placing"] = False
''' % FAULT)


def rules_file(tmp_path: Path, name: str, **changes) -> Path:
    """The default rule ``name`` with its window, for and threshold scaled down."""
    (rule,) = [r for r in yaml.safe_load(DEFAULT_RULES.read_text())["rules"] if r["name"] == name]
    rule.update({"window": "0.5s", "for": "0.2s", "keep_firing_for": "0s", **changes})
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"rules": [rule]}))
    return path


def bars_file(tmp_path: Path, drawdown: bool = False) -> Path:
    """400 daily bars: a gentle drift, or for the drawdown rule a 10 % fall over the fault's
    bars and a recovery to a new high after them."""
    t = np.arange(BARS)
    close = 100 + 0.01 * t
    if drawdown:
        close = np.where(t < FAULT[0], 100.0, np.where(t < FAULT[1], 100 - 10 * (t - FAULT[0]) / 100, 90 + 0.5 * (t - FAULT[1])))
    frame = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=BARS, freq="D"), "symbol": "X",
                          "open": close, "high": close + 0.5, "low": close - 0.5, "close": close, "volume": 1e6})
    path = tmp_path / ("drawdown.csv" if drawdown else "bars.csv")
    frame.to_csv(path, index=False)
    return path


def session(tmp_path: Path, rules: Path, mode: str, *extra: str, data: Path | None = None) -> tuple[int, str, Path]:
    """``workbench paper faulty -p mode=MODE ... --monitor STORE`` in a child process."""
    store, out = tmp_path / "monitor.sqlite", tmp_path / "run"
    script = tmp_path / "run_faulty.py"
    script.write_text(FAULTS + "\nfrom workbench.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    cmd = [sys.executable, str(script), "paper", "faulty", "--data", str(data or bars_file(tmp_path)),
           "-p", f"mode={mode}", "-p", f"out={out}", "--speed", str(SPEED), "--out", str(out),
           "--monitor", str(store), "--rules", str(rules), "--sample-every", "0.1s", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stderr, store


def alerts(store: Path) -> list[dict]:
    """``workbench monitor alerts --json`` of the store."""
    done = subprocess.run([sys.executable, "-m", "workbench", "monitor", "alerts", "--store", str(store), "--since",
                           "1h", "--json"], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def went_through_firing(rows: list[dict], rule: str) -> dict:
    """The one alert of ``rule``: pending, then firing, then resolved, in that order."""
    (alert,) = [a for a in rows if a["rule"] == rule]
    assert alert["state"] == "resolved", alert
    t = {k: pd.Timestamp(alert[k]) for k in ("active_since", "fired_at", "resolved_at")}
    assert t["active_since"] <= t["fired_at"] <= t["resolved_at"], alert
    return alert


@pytest.mark.parametrize("rule, mode, changes, extra", [
    ("OrderLatencyP99High", "none", {}, ("--commission", "{\"model\": \"slow\", \"mode\": \"slow\"}")),
    ("OrderStalled", "none", {}, ("--commission", "{\"model\": \"slow\", \"mode\": \"stall\"}")),
    ("RejectionRateHigh", "reject", {"threshold": 10.0}, ()),
    ("FeedStalled", "hang", {"threshold": 1.0}, ()),
], ids=["slowed broker", "stalled order", "rejected orders", "hung engine"])
def test_a_fault_fires_its_rule_which_resolves_when_it_passes(tmp_path, rule, mode, changes, extra):
    code, err, store = session(tmp_path, rules_file(tmp_path, rule, **changes), mode, *extra)
    assert code == 0, err
    alert = went_through_firing(alerts(store), rule)
    assert "note" not in alert["annotations"]  # resolved because the fault passed, not because the run ended


def test_a_locked_journal_fires_journal_write_errors_and_the_end_of_the_session_resolves_it(tmp_path):
    code, err, store = session(tmp_path, rules_file(tmp_path, "JournalWriteErrors", **{"for": "0s"}), "lock")
    last = err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("workbench: error:") and "journal write failed" in last
    assert "Traceback" not in err and "FIRING critical JournalWriteErrors" in err  # logged as it fired
    alert = went_through_firing(alerts(store), "JournalWriteErrors")
    assert alert["annotations"]["note"] == "session ended"


def test_a_memory_spike_fires_rss_above_budget(tmp_path):
    # A session of this size holds about 0.2 GB; the fault adds 1.2 GB for a second.
    code, err, store = session(tmp_path, rules_file(tmp_path, "RSSAboveBudget", threshold=1e9, window="0.2s"),
                               "memory")
    assert code == 0, err
    went_through_firing(alerts(store), "RSSAboveBudget")


def test_a_drawdown_fires_drawdown_beyond_limit_until_a_new_high(tmp_path):
    code, err, store = session(tmp_path, rules_file(tmp_path, "DrawdownBeyondLimit", threshold=-0.05, window="0.2s",
                                                    **{"for": "0s"}), "drawdown", data=bars_file(tmp_path, True))
    assert code == 0, err
    alert = went_through_firing(alerts(store), "DrawdownBeyondLimit")
    assert "note" not in alert["annotations"]


def test_the_rules_cover_the_default_pack():
    names = [r["name"] for r in yaml.safe_load(DEFAULT_RULES.read_text())["rules"]]
    tested = {"OrderLatencyP99High", "OrderStalled", "RejectionRateHigh", "FeedStalled", "JournalWriteErrors",
              "RSSAboveBudget", "DrawdownBeyondLimit"}
    assert set(names) == tested


@pytest.mark.parametrize("watchdog", [True, False])
def test_only_a_watchdog_sees_a_hung_engine(tmp_path, watchdog):
    """In process: the engine hangs 1.5 s in a strategy. Sampling in its own thread, the
    monitor sees the feed age grow and fires FeedStalled; sampling in the engine's loop (as
    before the watchdog) it cannot, since no slice ends while the engine hangs."""
    import time

    from workbench.engine import Engine
    from workbench.feed import synthetic_bars
    from workbench.monitor import Monitor, load_rules
    from workbench.strategies import Strategy

    class Hang(Strategy):
        name = "hang"

        def on_bar(self, bar):
            if len(self.history(bar.symbol)) == 20:
                time.sleep(1.5)

    rules = load_rules(rules_file(tmp_path, "FeedStalled", threshold=0.5))
    monitor = Monitor(rules=rules, interval=0.05, log=False, watchdog=watchdog)
    Engine(Hang(), synthetic_bars(1, days=60, seed=1), mode="paper", speed=86_400 / 0.01, monitor=monitor).run()
    fired = [n for n in monitor.notifications.items if n["state"] == "firing"]
    assert bool(fired) is watchdog
    if watchdog:
        ages = [v for _, v in monitor.series("workbench_feed_last_event_age_seconds")]
        assert max(ages) > 1.0  # it grew while the engine hung


def test_an_alert_of_a_killed_session_is_shown_stale_not_firing(tmp_path):
    """A session killed with SIGKILL while FeedStalled fires cannot resolve it: ``monitor
    status`` says it is stale once no sample has come for --stale-after."""
    import signal
    import time

    rules = rules_file(tmp_path, "FeedStalled", threshold=0.3)
    store, out = tmp_path / "monitor.sqlite", tmp_path / "run"
    script = tmp_path / "run_faulty.py"
    script.write_text(FAULTS.replace("time.sleep(2.0)", "time.sleep(60)")
                      + "\nfrom workbench.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, str(script), "paper", "faulty", "--data", str(bars_file(tmp_path)),
                             "-p", "mode=hang", "--speed", str(SPEED), "--out", str(out), "--monitor", str(store),
                             "--rules", str(rules), "--sample-every", "0.1s"], stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()  # where the session takes commands
        assert first.startswith("commands: "), first
        assert "FIRING critical FeedStalled" in proc.stderr.readline()  # logged when it fires
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    status = lambda *more: subprocess.run([sys.executable, "-m", "workbench", "monitor", "status", "--store",  # noqa: E731
                                           str(store), *more], capture_output=True, text=True, check=True).stdout
    assert "firing alerts: 1" in status("--stale-after", "1h")  # samples are recent enough: still firing
    time.sleep(1.2)
    text = status("--stale-after", "1s")
    assert "firing alerts: 0 (and 1 stale" in text and "STALE CRITICAL FeedStalled" in text
