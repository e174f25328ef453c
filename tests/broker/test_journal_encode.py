"""The journal's payload encoding: one C encoder built once gives what a fresh
``JSONEncoder`` call gives, and a failed call leaves nothing behind for the next."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.broker import journal

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
