"""Market data: bundled datasets, CSV/Parquet files, seeded synthetic data, replay.

Every source gives *canonical frames* (see :mod:`workbench.feed.schema`): indexed by UTC
``time``, a ``symbol`` column, float64 data columns, validated by the rules of
:mod:`workbench.feed.validate`. :class:`Replay` merges frames into one (time, sequence)
ordered stream of :class:`~workbench.model.Bar` and :class:`~workbench.model.Quote`
events; :class:`Feed` is the component that does all of it and counts.
"""

from workbench.errors import DataError
from workbench.feed.component import Feed
from workbench.feed.datasets import DATASETS, dataset_names, load_dataset, load_dataset_bars
from workbench.feed.files import Loaded, load_file, read_file, validate_file, validate_frame
from workbench.feed.replay import Replay
from workbench.feed.sources import catalog, load, load_bars, write_frame
from workbench.feed.synthetic import SyntheticMarket, synthetic_bars, synthetic_quotes
from workbench.feed.validate import RULES, QualityReport

__all__ = [
    "DATASETS",
    "DataError",
    "Feed",
    "Loaded",
    "QualityReport",
    "RULES",
    "Replay",
    "SyntheticMarket",
    "catalog",
    "dataset_names",
    "load_dataset",
    "load",
    "load_bars",
    "load_dataset_bars",
    "load_file",
    "read_file",
    "synthetic_bars",
    "synthetic_quotes",
    "validate_file",
    "validate_frame",
    "write_frame",
]
