"""The feed as a component: one object that loads, synthesizes and replays, and counts.

The functions in :mod:`workbench.feed` are the pure API; :class:`Feed` calls them and
keeps this instance's figures for ``stats()`` (no module-level state).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import workbench
from workbench.component import CheckResult, run_check
from workbench.hashing import sha256_frames
from workbench.errors import DataError
from workbench.feed import datasets, files, synthetic
from workbench.feed.replay import Replay


class Feed:
    """Market data for the rest of workbench: datasets, files, synthetic data, replay."""

    name = "feed"

    def __init__(self, *, cache: bool = True, cache_dir: str | os.PathLike | None = None) -> None:
        self.cache = cache
        self.cache_dir = Path(cache_dir) if cache_dir is not None else files.default_cache_dir()
        self._rows_loaded = 0
        self._load_seconds = 0.0
        self._cache_hits = 0
        self._cache_misses = 0
        self._rows_rejected = 0
        self._replays: list[Replay] = []

    # --- data ----------------------------------------------------------------------------

    def dataset(self, name: str) -> pd.DataFrame:
        """A bundled dataset as a canonical long frame (see :mod:`workbench.feed.datasets`)."""
        t0 = time.perf_counter()
        frame = datasets.load_dataset_bars(name)
        self._loaded(len(frame), t0)
        return frame

    def load(self, path: str | os.PathLike, **options: Any) -> files.Loaded:
        """:func:`workbench.feed.load_file` with this feed's cache settings."""
        options.setdefault("cache", self.cache)
        options.setdefault("cache_dir", self.cache_dir)
        t0 = time.perf_counter()
        loaded = files.load_file(path, **options)
        self._loaded(len(loaded.frame), t0)
        self._rows_rejected += loaded.report.bad_rows
        if files.file_format(Path(path)) == "csv" and options["cache"]:
            if loaded.from_cache:
                self._cache_hits += 1
            else:
                self._cache_misses += 1
        return loaded

    def read(self, path: str | os.PathLike, **options: Any) -> pd.DataFrame:
        """The canonical frame of :meth:`load`."""
        return self.load(path, **options).frame

    def synthetic_quotes(self, symbols: int = 3, **options: Any) -> pd.DataFrame:
        """:func:`workbench.feed.synthetic_quotes`, counted."""
        t0 = time.perf_counter()
        frame = synthetic.synthetic_quotes(symbols, **options)
        self._loaded(len(frame), t0)
        return frame

    def synthetic_bars(self, symbols: int = 3, **options: Any) -> pd.DataFrame:
        """:func:`workbench.feed.synthetic_bars`, counted."""
        t0 = time.perf_counter()
        frame = synthetic.synthetic_bars(symbols, **options)
        self._loaded(len(frame), t0)
        return frame

    def replay(self, *frames: pd.DataFrame, **options: Any) -> Replay:
        """A :class:`Replay` over ``frames`` whose events count in ``stats()``."""
        replay = Replay(*frames, **options)
        self._replays.append(replay)
        return replay

    def _loaded(self, rows: int, t0: float) -> None:
        self._rows_loaded += rows
        self._load_seconds += time.perf_counter() - t0

    # --- component API -------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Name, version, capabilities and the configuration in force."""
        return {
            "name": self.name,
            "version": workbench.__version__,
            "capabilities": [
                "datasets:" + ",".join(datasets.dataset_names()),
                "files:csv,parquet",
                "kinds:bars,quotes",
                "synthetic:gbm+jumps+regimes",
                "replay:sync,async,paced,vectorized",
                "cache:parquet-by-sha256",
            ],
            "config": {"cache": self.cache, "cache_dir": str(self.cache_dir)},
        }

    def stats(self) -> dict[str, float | int]:
        """Measured figures of this instance: rows, events, rates, cache hits."""
        events = sum(r.stats.events for r in self._replays)
        seconds = sum(r.stats.seconds for r in self._replays)
        return {
            "rows_loaded": self._rows_loaded,
            "rows_rejected": self._rows_rejected,
            "load_seconds": self._load_seconds,
            "rows_per_second": self._rows_loaded / self._load_seconds if self._load_seconds else 0.0,
            "events_replayed": events,
            "replay_seconds": seconds,
            "events_per_second": events / seconds if seconds else 0.0,
            "cache_hits": self._cache_hits,
            "cache_misses": self._cache_misses,
        }

    def self_test(self) -> list[CheckResult]:
        """Quick functional checks of this component (a second or two)."""
        return [
            run_check(self.name, "datasets", _check_datasets),
            run_check(self.name, "bad_file_rejected", _check_bad_file),
            run_check(self.name, "synthetic_deterministic", _check_synthetic),
            run_check(self.name, "replay_ordered", _check_replay),
            run_check(self.name, "csv_cache", _check_cache),
        ]


def _check_datasets() -> str:
    out = []
    for name in datasets.dataset_names():
        frame = datasets.load_dataset(name)
        first, last = frame.index[0].date(), frame.index[-1].date()
        if len(frame) != 5031 or str(first) != "1999-01-04" or str(last) != "2018-12-31":
            raise AssertionError(f"{name}: {len(frame)} bars {first}..{last}")
        out.append(f"{name} {len(frame)} bars {first}..{last}")
    return "; ".join(out)


def _check_bad_file() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bad.csv"
        path.write_text(
            "time,symbol,open,high,low,close,volume\n"
            "2024-01-02,X,10,11,9,10.5,100\n"
            "2024-01-03,X,10,9.5,9,10.5,100\n"
        )
        try:
            files.load_file(path, cache=False)
        except DataError as exc:
            if (exc.line, exc.rule) != (3, "high_ge_open_close"):
                raise AssertionError(f"wrong location: {exc}") from None
            return str(exc)
        raise AssertionError("a bar with high < close was accepted")


def _check_synthetic() -> str:
    a = synthetic.synthetic_quotes(2, days=1, freq="1min", seed=7)
    b = synthetic.synthetic_quotes(2, days=1, freq="1min", seed=7)
    c = synthetic.synthetic_quotes(2, days=1, freq="1min", seed=8)
    ha, hb, hc = (sha256_frames(f) for f in (a, b, c))
    if ha != hb:
        raise AssertionError("same seed gave different quotes")
    if ha == hc:
        raise AssertionError("different seeds gave the same quotes")
    return f"{len(a)} quotes, same seed identical, other seed different"


def _check_replay() -> str:
    bars = synthetic.synthetic_bars(2, days=2, freq="30min", seed=1)
    quotes = synthetic.synthetic_quotes(2, days=2, freq="5min", seed=2)
    replay = Replay(quotes, bars)
    times = np.array([pd.Timestamp(e.time).value for e in replay])
    if times.size != len(bars) + len(quotes) or np.any(np.diff(times) < 0):
        raise AssertionError("merged stream out of order or incomplete")
    return f"{times.size} events in time order"


def _check_cache() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "q.csv"
        synthetic.synthetic_quotes(1, days=1, freq="1min", seed=3).to_csv(path)
        first = files.load_file(path, cache_dir=tmp)
        second = files.load_file(path, cache_dir=tmp)
        if first.from_cache or not second.from_cache:
            raise AssertionError("second load did not come from the cache")
        pd.testing.assert_frame_equal(first.frame, second.frame)
        return f"{len(first.frame)} rows, second load from cache and equal"
