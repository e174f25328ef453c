"""The journal: written before acknowledgement, recovered exactly, deterministic bytes."""

import sqlite3

import pytest

from workbench.broker import Journal, JournalError, SimulatedBroker
from workbench.errors import ConfigError

from .conftest import bar, quote


def session(broker):
    """A little of everything: fills, partials, cancels, expiry, kill switch, rejections."""
    broker.on_bar(bar(0, 100, 101, 99, 100, v=1000))
    broker.place_order("X", "buy", 150)
    broker.place_order("X", "buy", 10, "limit", limit_price=95.0, tif="gtc")
    broker.place_order("X", "sell", 5, "stop", stop_price=90.0, tif="gtc")
    broker.place_order("X", "buy", 1e9)  # rejected
    broker.on_bar(bar(1, 100, 102, 94, 101, v=1000))
    day = broker.place_order("X", "buy", 3, "limit", limit_price=80.0)
    broker.end_session()
    broker.place_order("X", "buy", 7, "stop_limit", stop_price=105.0, limit_price=106.0, tif="gtc")
    broker.on_bar(bar(2, 104, 107, 103, 106, v=1000))
    broker.kill_switch("test")
    broker.reset_kill_switch()
    broker.on_quote(quote(3 * 86400, 105.9, 106.1))
    broker.place_order("X", "sell", 20, tif="ioc")
    return day


def test_every_event_is_journaled_before_the_reply(tmp_path):
    path = tmp_path / "j.sqlite"
    b = SimulatedBroker(cash=1_000_000, instruments=["X"], journal=path)
    b.on_bar(bar(0, 100, 101, 99, 100))
    reply = b.place_order("X", "buy", 10)
    # Read the file through another connection while the broker is open.
    with sqlite3.connect(path) as other:
        rows = other.execute("SELECT seq, kind, order_id FROM events ORDER BY seq").fetchall()
    assert rows == [(reply.seq, "accepted", reply.order_id)]


def test_recovery_rebuilds_exactly_the_live_state(tmp_path):
    path = tmp_path / "j.sqlite"
    live = SimulatedBroker(cash=1_000_000, instruments=["X"], participation=0.1,
                           commission="ibkr-fixed", slippage="bps:2", journal=path)
    session(live)
    state, seq, fills = live.state(), live.last_seq, live.fills()
    live.close()
    rec = SimulatedBroker.recover(path)
    assert rec.state() == state and rec.last_seq == seq and rec.fills() == fills
    assert rec.config() == live.config() and rec.stats()["rejected_INSUFFICIENT_BUYING_POWER"] == 1
    # It carries on, appending to the same journal with the next sequence numbers.
    rec.on_bar(bar(4, 100, 101, 99, 100, v=1000))
    reply = rec.place_order("X", "buy", 1)
    assert reply.seq == seq + 1 and reply.order_id == f"O{len(state['orders']) + 1}"
    rec.close()
    assert SimulatedBroker.recover(path).last_seq == seq + 1


def test_recover_upto_seq_leaves_the_file_alone(tmp_path):
    path = tmp_path / "j.sqlite"
    live = SimulatedBroker(cash=1_000_000, instruments=["X"], journal=path)
    live.on_bar(bar(0, 100, 101, 99, 100))
    first = live.place_order("X", "buy", 10)
    mid_state = live.state()
    live.place_order("X", "buy", 20)
    live.close()
    past = SimulatedBroker.recover(path, upto_seq=first.seq)
    assert past.state() == mid_state and past.last_seq == first.seq
    assert SimulatedBroker.recover(path).last_seq == first.seq + 1


def test_same_event_stream_gives_byte_identical_journals(tmp_path):
    dumps = []
    for i in range(2):
        b = SimulatedBroker(cash=1_000_000, instruments=["X"], participation=0.1,
                            commission="ibkr-fixed", journal=tmp_path / f"j{i}.sqlite")
        session(b)
        dumps.append(b.journal.dump())
        b.close()
    assert dumps[0] == dumps[1] and len(dumps[0]) > 1000
    assert dumps[0].count(b"\n") == SimulatedBroker.recover(tmp_path / "j0.sqlite").last_seq + 1


def test_batched_mode_writes_on_flush_and_loses_only_the_unflushed(tmp_path):
    path = tmp_path / "j.sqlite"
    b = SimulatedBroker(cash=1_000_000, instruments=["X"], journal=path, durability="batched", batch_size=3)
    b.on_bar(bar(0, 100, 101, 99, 100))
    for _ in range(4):
        b.place_order("X", "buy", 1)
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 3  # one batch
    b.journal.flush()
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 4


def test_a_journal_is_not_reused_by_a_new_broker(tmp_path):
    path = tmp_path / "j.sqlite"
    SimulatedBroker(instruments=["X"], journal=path).close()
    with pytest.raises(ConfigError, match="recover"):
        SimulatedBroker(instruments=["X"], journal=path)


def test_bad_journal_files(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="not a usable SQLite journal"):
        Journal(junk)
    with pytest.raises(ConfigError, match="no journal"):
        SimulatedBroker.recover(tmp_path / "absent.sqlite")
    other = tmp_path / "other.sqlite"
    Journal(other).close()
    with pytest.raises(ConfigError, match="not a workbench broker journal"):
        SimulatedBroker.recover(other)
