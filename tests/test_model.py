import math
import pickle
from datetime import datetime, timezone

import pandas as pd
import pytest

from workbench.model import (
    AssetClass,
    Bar,
    Instrument,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    TimeInForce,
)

T = pd.Timestamp("2024-01-02 14:30", tz="UTC")


def bar(**kw):
    args = dict(time=T, symbol="X", open=10.0, high=11.0, low=9.0, close=10.5, volume=100.0)
    args.update(kw)
    return Bar(**args)


def quote(**kw):
    args = dict(time=T, symbol="X", bid=10.0, ask=10.02, bid_size=100.0, ask_size=200.0)
    args.update(kw)
    return Quote(**args)


def test_valid_objects_are_frozen_values():
    b = bar()
    assert b == bar() and hash(b) == hash(bar())
    with pytest.raises(AttributeError):
        b.close = 1.0
    assert pickle.loads(pickle.dumps(b)) == b and b.time == T and b.ns == T.value
    assert repr(b).startswith("Bar(time=") and "close=10.5" in repr(b)
    q = quote()
    assert q.mid == pytest.approx(10.01) and q.spread == pytest.approx(0.02)


@pytest.mark.parametrize(
    "field, value, error, words",
    [
        ("open", math.nan, ValueError, "Bar.open must be finite"),
        ("close", math.inf, ValueError, "Bar.close must be finite"),
        ("low", 0.0, ValueError, "Bar.low must be > 0"),
        ("high", -1.0, ValueError, "Bar.high must be > 0"),
        ("volume", -1.0, ValueError, "Bar.volume must be >= 0"),
        ("high", 10.2, ValueError, "below max(open, close)"),
        ("low", 10.1, ValueError, "above min(open, close)"),
        ("open", "10", TypeError, "Bar.open must be a number"),
        ("open", True, TypeError, "Bar.open must be a number"),
        ("symbol", "", ValueError, "Bar.symbol"),
        ("time", "2024-01-02", TypeError, "Bar.time must be a datetime"),
        ("time", pd.Timestamp("2024-01-02"), ValueError, "timezone-aware"),
    ],
)
def test_bar_rejects(field, value, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        bar(**{field: value})


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("bid", 10.05, "above ask"),
        ("ask", math.nan, "Quote.ask must be finite"),
        ("bid", 0.0, "Quote.bid must be > 0"),
        ("bid_size", -5.0, "Quote.bid_size must be >= 0"),
    ],
)
def test_quote_rejects(field, value, words):
    with pytest.raises(ValueError, match=words):
        quote(**{field: value})


def test_instrument_validation_and_enum_coercion():
    inst = Instrument("ES", asset_class="future", tick_size=0.25, lot_size=1)
    assert inst.asset_class is AssetClass.FUTURE
    with pytest.raises(ValueError, match="tick_size must be > 0"):
        Instrument("X", tick_size=0)
    with pytest.raises(ValueError, match="currency"):
        Instrument("X", currency="dollars")
    with pytest.raises(ValueError):
        Instrument("X", asset_class="stocks")


def test_enums():
    assert Side.BUY.sign == 1 and Side.SELL.sign == -1
    assert {t.value for t in OrderType} == {"market", "limit", "stop", "stop_limit"}
    assert {t.value for t in TimeInForce} == {"day", "gtc", "ioc", "fok"}
    terminal = {s for s in OrderStatus if s.is_terminal}
    assert terminal == {
        OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED
    }


def test_events_are_checked_values_in_utc():
    b = bar()
    with pytest.raises(ValueError, match="Bar.close must be > 0"):
        b._replace(close=-5.0)  # a copy is checked like a new bar
    with pytest.raises(ValueError, match="below max"):
        Bar._make((b.ns, "X", 10.0, 9.0, 9.0, 10.5, 1.0))
    moved = b._replace(time=T + pd.Timedelta(days=1), close=10.8)
    assert moved.time == T + pd.Timedelta(days=1) and moved.close == 10.8 and moved.symbol == "X"
    assert b._replace(ns=b.ns + 1).time.value == T.value + 1
    new_york = Bar(T.tz_convert("America/New_York"), "X", 10.0, 11.0, 9.0, 10.5, 100.0)
    assert new_york == b and type(new_york.time) is pd.Timestamp and str(new_york.time.tz) == "UTC"
    with pytest.raises(ValueError, match="nanosecond range"):
        bar(time=pd.Timestamp("2300-01-01", tz="UTC"))
    with pytest.raises(ValueError, match="nanosecond range"):
        bar(time=datetime(1600, 1, 1, tzinfo=timezone.utc))


def test_unchecked_constructors_build_equal_objects_without_checks():
    from workbench.model import unchecked_bar, unchecked_quote

    assert unchecked_bar(T, "X", 10.0, 11.0, 9.0, 10.5, 100.0) == bar()
    assert unchecked_quote(T, "X", 10.0, 10.02, 100.0, 200.0) == quote()
    # No validation: this is for data validated as a whole, never for user input.
    assert unchecked_bar(T, "X", 10.0, 1.0, 9.0, 10.5, 100.0).high == 1.0


@pytest.mark.parametrize("ns", [0, 1, -1, 1_600_000_000_123_456_789, -8_520_336_000_000_000_000,
                                pd.Timestamp.min.value, pd.Timestamp.max.value, 2**63 - 1])
def test_time_of_is_the_constructors_timestamp(ns):
    # time_of rebuilds the Timestamp the way pandas unpickles one (not through the
    # constructor): the same value, unit, zone, type and text as pd.Timestamp(ns, tz="UTC")
    from workbench.model import time_of

    got, want = time_of.__wrapped__(ns), pd.Timestamp(ns, tz="UTC")
    assert type(got) is type(want) and got == want and got.value == want.value
    assert got.unit == want.unit == "ns" and got.tz is want.tz and str(got.tz) == "UTC"
    assert repr(got) == repr(want) and hash(got) == hash(want)
    assert pickle.loads(pickle.dumps(got)) == want


def test_time_of_other_inputs_take_the_constructor():
    import numpy as np

    from workbench.model import time_of

    assert time_of.__wrapped__(np.int64(5)) == pd.Timestamp(5, tz="UTC")
    with pytest.raises((OverflowError, ValueError)):  # pandas' own error, as before
        time_of.__wrapped__(2**64)
    with pytest.raises(TypeError, match="Cannot convert input"):  # (the rebuild would take a bool as 1)
        time_of.__wrapped__(True)


def test_fill_sets_each_field_from_its_argument():
    # Fill's __init__ writes through the slots' setters: each argument lands in its own field
    import dataclasses

    from workbench.model import Fill

    values = (7, "O3", T, "X", Side.SELL, 5.0, 10.25, 0.5, -0.125)
    f = Fill(*values)
    assert dataclasses.astuple(f) == values
    assert tuple(getattr(f, fl.name) for fl in dataclasses.fields(Fill)) == values
    assert Fill(**{fl.name: v for fl, v in zip(dataclasses.fields(Fill), values)}) == f
    assert Fill(*values[:7]) == dataclasses.replace(f, commission=0.0, slippage=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.price = 1.0
    with pytest.raises(TypeError):
        Fill(*values[:6])
