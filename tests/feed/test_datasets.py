"""The bundled datasets, checked against arch's shipped CSV read independently (csv module)."""

import csv
import gzip
import importlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from workbench.feed import DATASETS, DataError, dataset_names, load_dataset, load_dataset_bars


def raw_rows(name):
    module = importlib.import_module(DATASETS[name].module)
    path = Path(module.__file__).parent / f"{name}.csv.gz"
    with gzip.open(path, "rt", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("name", ["sp500", "nasdaq"])
def test_shape_dates_and_values(name):
    frame = load_dataset(name)
    assert list(frame.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert frame.index.name == "time" and str(frame.index.dtype) == "datetime64[ns, UTC]"
    assert len(frame) == 5031
    assert frame.index[0].strftime("%Y-%m-%d") == "1999-01-04"
    assert frame.index[-1].strftime("%Y-%m-%d") == "2018-12-31"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique

    rows = raw_rows(name)
    assert len(rows) == len(frame)
    dates = [datetime.strptime(r["Date"], "%m/%d/%Y").date() for r in rows]
    assert [t.date() for t in frame.index] == dates
    for ours, theirs in (("open", "Open"), ("high", "High"), ("low", "Low"), ("close", "Close"),
                         ("adj_close", "Adj Close"), ("volume", "Volume")):
        np.testing.assert_allclose(frame[ours].to_numpy(), [float(r[theirs]) for r in rows], rtol=1e-12)


def test_long_frame_carries_the_symbol():
    assert dataset_names() == ["sp500", "nasdaq"]
    bars = load_dataset_bars("nasdaq")
    assert bars["symbol"].unique().tolist() == ["NASDAQ"]
    assert list(bars.columns[:1]) == ["symbol"]


def test_unknown_dataset_names_the_choices():
    with pytest.raises(DataError, match="unknown dataset 'sp600'; bundled datasets are sp500, nasdaq"):
        load_dataset("sp600")
