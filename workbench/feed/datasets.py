"""Bundled real market data: daily OHLCV of the S&P 500 and NASDAQ Composite indices.

The data is the ``arch`` package's own (``arch.data.sp500`` and ``arch.data.nasdaq``,
Yahoo Finance daily bars from 1999-01-04 to 2018-12-31, 5,031 bars each); ``arch`` is a
dependency anyway for volatility models, so nothing is downloaded.

A dataset frame is indexed by ``time`` (the trading date at 00:00 UTC) with the columns
``open, high, low, close, adj_close, volume`` (float64). It passes the bar rules of
:mod:`workbench.feed.validate`; loading checks that, so a changed upstream file fails loudly.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pandas as pd

from workbench.errors import DataError
from workbench.feed.files import validate_frame


@dataclass(frozen=True)
class Dataset:
    """One bundled dataset: its name, the symbol its bars carry and where it comes from."""

    name: str
    symbol: str
    description: str
    module: str


DATASETS: dict[str, Dataset] = {
    "sp500": Dataset("sp500", "SP500", "S&P 500 index, daily, 1999-2018", "arch.data.sp500"),
    "nasdaq": Dataset("nasdaq", "NASDAQ", "NASDAQ Composite index, daily, 1999-2018", "arch.data.nasdaq"),
}
COLUMNS = ("open", "high", "low", "close", "adj_close", "volume")


def dataset_names() -> list[str]:
    """Names of the bundled datasets."""
    return list(DATASETS)


def load_dataset(name: str) -> pd.DataFrame:
    """Daily bars of a bundled dataset (see the module docstring for the layout)."""
    ds = _lookup(name)
    raw = _read_source(ds)
    frame = raw.rename(columns=lambda c: c.strip().lower().replace(" ", "_"))
    frame = frame[list(COLUMNS)].astype("float64")
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC").as_unit("ns")
    frame.index.name = "time"
    # Same rules as any file: a changed upstream file must fail here, not downstream.
    validate_frame(frame, kind="bars", symbol=ds.symbol, source=f"dataset {name}")
    return frame


def load_dataset_bars(name: str) -> pd.DataFrame:
    """A dataset as a canonical long frame (with a ``symbol`` column), ready for replay."""
    frame = load_dataset(name)
    frame.insert(0, "symbol", _lookup(name).symbol)
    return frame


def _read_source(ds: Dataset) -> pd.DataFrame:
    """The dataset as its package ships it."""
    return importlib.import_module(ds.module).load()


def _lookup(name: str) -> Dataset:
    if not isinstance(name, str) or name not in DATASETS:
        raise DataError(
            f"unknown dataset {name!r}; bundled datasets are {', '.join(DATASETS)}",
            rule="dataset",
        )
    return DATASETS[name]
