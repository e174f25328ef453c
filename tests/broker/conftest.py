import pandas as pd
import pytest

from workbench.broker import SimulatedBroker
from workbench.model import Bar, Quote

T0 = pd.Timestamp("2024-01-02", tz="UTC")


def bar(day, o, h, lo, c, v=1_000_000.0, symbol="X"):
    return Bar(T0 + pd.Timedelta(days=day), symbol, float(o), float(h), float(lo), float(c), float(v))


def quote(second, bid, ask, bid_size=100.0, ask_size=100.0, symbol="X"):
    return Quote(T0 + pd.Timedelta(seconds=second), symbol, float(bid), float(ask), float(bid_size), float(ask_size))


@pytest.fixture
def broker():
    """A cash account with 1,000,000 that has seen one bar of X at 100."""
    b = SimulatedBroker(cash=1_000_000, instruments=["X", "Y"])
    b.on_bar(bar(0, 100, 101, 99, 100))
    return b
