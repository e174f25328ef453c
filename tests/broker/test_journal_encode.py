"""The journal's encoding: one C encoder built once gives what a fresh ``JSONEncoder`` call
gives, and a failed call leaves nothing behind for the next; an event's line and the head are
the bytes json.dumps made them; a transaction commits, or rolls back and lets the error through."""

import json
import math
import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.broker import journal
from workbench.sqlite import transaction

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
payloads = st.dictionaries(st.text(), st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                                                   | st.dictionaries(st.text(), inner, max_size=3), max_leaves=8))


@given(payloads)
@settings(max_examples=300, deadline=None)
def test_encode_gives_the_bytes_of_a_fresh_encoder(payload):
    assert journal.encode(payload) == journal._ENCODER.encode(payload)


@pytest.mark.parametrize("bad", [math.nan, math.inf, object()])
def test_a_failed_encode_leaves_no_markers_behind(bad):
    """A payload JSON cannot hold is refused as before; the same dict, mended, then encodes
    (markers left by the failed call would report it as a circular reference)."""
    payload = {"request": {"price": bad}, "kind": "x"}
    with pytest.raises((ValueError, TypeError)) as failed:
        journal.encode(payload)
    with pytest.raises(type(failed.value)) as fresh:
        journal._ENCODER.encode(payload)
    assert str(failed.value) == str(fresh.value)
    payload["request"]["price"] = 1.5
    assert journal.encode(payload) == '{"kind":"x","request":{"price":1.5}}'


def test_a_circular_payload_is_refused_as_before():
    payload = {"a": 1}
    payload["self"] = payload
    with pytest.raises(ValueError, match="Circular reference detected"):
        journal.encode(payload)
    assert journal.encode({"a": 1}) == '{"a":1}'


def _line_as_it_was(seq, time_ns, kind, order_id, payload):
    return (f'{{"seq":{seq},"time_ns":{time_ns},"kind":{json.dumps(kind)},'
            f'"order_id":{json.dumps(order_id)},"payload":{payload}}}\n')


class Tag(str):
    pass


@given(st.integers(), st.integers(), st.text() | st.builds(Tag, st.text()),
       st.none() | st.text() | st.builds(Tag, st.text()), st.text())
@settings(max_examples=300, deadline=None)
def test_an_event_line_is_what_json_dumps_made_it(seq, time_ns, kind, order_id, payload):
    assert journal._line(seq, time_ns, kind, order_id, payload) == \
        _line_as_it_was(seq, time_ns, kind, order_id, payload)


@given(st.integers() | st.booleans() | st.floats(allow_nan=False), st.text() | st.builds(Tag, st.text()))
@settings(max_examples=300, deadline=None)
def test_the_head_is_what_json_dumps_made_it(seq, chain):
    assert journal._head(seq, chain) == json.dumps({"seq": seq, "chain": chain})


def test_the_head_refuses_what_json_dumps_refuses():
    with pytest.raises(TypeError) as mine:
        journal._head(np.int64(3), "ab")
    with pytest.raises(TypeError) as theirs:
        json.dumps({"seq": np.int64(3), "chain": "ab"})
    assert str(mine.value) == str(theirs.value)


def test_a_transaction_commits_or_rolls_back_and_lets_the_error_through(tmp_path):
    db = sqlite3.connect(tmp_path / "t.sqlite", isolation_level=None)
    db.execute("CREATE TABLE t (x INTEGER)")
    with transaction(db):
        db.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(KeyError, match="boom"):
        with transaction(db):
            db.execute("INSERT INTO t VALUES (2)")
            raise KeyError("boom")
    assert not db.in_transaction
    assert db.execute("SELECT x FROM t").fetchall() == [(1,)]
    db.execute("BEGIN")  # a transaction open already: BEGIN IMMEDIATE fails, nothing is rolled back
    with pytest.raises(sqlite3.OperationalError):
        with transaction(db):
            pass
    assert db.in_transaction
    db.execute("ROLLBACK")
    db.close()


def test_threads_encode_apart():
    """Each thread has its own encoder (markers): payloads encoded at once in several threads,
    some failing, come out as a fresh encoder makes them."""
    import threading

    payloads = [{"i": i, "nested": {"x": float(i), "bad": math.nan if i % 7 == 0 else 1.0}} for i in range(2000)]
    problems = []

    def work():
        for p in payloads:
            try:
                got = journal.encode(p)
            except ValueError:
                got = None
            try:
                want = journal._ENCODER.encode(p)
            except ValueError:
                want = None
            if got != want:
                problems.append((p, got, want))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not problems
