"""A market-data source named the way users name it: a bundled dataset or a file path.

What the command line, notebooks and apps call when a user writes ``--data sp500`` or
``--data my_bars.csv``: :func:`load` (a source and its quality report), :func:`load_bars`
(several sources, optionally narrowed to some symbols), :func:`catalog` (the bundled
datasets) and :func:`write_frame` (a frame to Parquet or CSV by the file name).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import ConfigError, DataError
from workbench.feed import datasets, files


def is_dataset(name: str) -> bool:
    """True when ``name`` is a bundled dataset and no file of that name exists here."""
    return name in datasets.DATASETS and not Path(name).exists()


def load(name: str, flag: str = "", **options: Any) -> files.Loaded:
    """A dataset by name (rows that break a rule dropped and reported), or else a file
    (``options`` as :func:`~workbench.feed.files.load_file`; ``flag``: the option that named
    it, for an error, e.g. ``"--data "``)."""
    if is_dataset(name):
        frame = datasets.load_dataset_bars(name)
        return files.validate_frame(frame, source=f"dataset {name}", on_error="drop")
    return _file(name, files.load_file, flag, **options)


def _file(name: str, read, flag: str = "--data ", **options: Any):
    """``read(name)``; a name that is neither a file nor a bundled dataset says both (after
    ``flag``, the option that named it)."""
    if not Path(name).exists():
        raise ConfigError(f"{flag}{name}: no such file, and not a bundled dataset ({', '.join(datasets.DATASETS)}; "
                          f"`workbench data list`)")
    return read(name, **options)


def split_names(sources: Iterable[str]) -> list[str]:
    """``["sp500,nasdaq", "x.csv"]`` -> ``["sp500", "nasdaq", "x.csv"]``."""
    return [n.strip() for item in sources for n in str(item).split(",") if n.strip()]


def load_bars(sources: Iterable[str], symbols: Iterable[str] | None = None, progress: bool = False,
              dropped: list[str] | None = None, **layout: Any) -> list[pd.DataFrame]:
    """The canonical frames of ``sources`` (datasets or files; comma-separated names are
    several), keeping only ``symbols`` when given: an unknown symbol is an error that lists
    the available ones. ``layout``: how to read the files (``columns``, ``sep``, ``decimal``,
    ``wide``, ``tz``, ``on_error``: :func:`~workbench.feed.files.load_file`); ``progress``: a bar
    while a long file is read. With ``on_error="drop"``, a file's bad rows are left out and
    ``dropped`` (a list, when given) receives a line for each such file: how many, by rule."""
    names = split_names(sources)
    if not names:
        raise ConfigError("--data: no dataset or file given")
    frames, left_out = [], []
    for n in names:
        if is_dataset(n):
            frames.append(datasets.load_dataset_bars(n))
            continue
        loaded = _file(n, files.load_file, progress=progress, **layout)
        report = loaded.report
        if report.bad_rows:  # (only with on_error="drop": "raise" refuses the file)
            if loaded.frame.empty:
                hints = f" ({report.hint})" if report.hint else ""
                raise DataError(f"every {report.line_label} is bad ({report.bad_rows:,}): nothing left to run on"
                                f"{hints}; `workbench data validate {_command_options(n, layout)}` lists them",
                                file=n, rule="empty")
            left_out.append(dropped_note(n, report, layout))
        frames.append(loaded.frame)
    if dropped is not None:
        dropped += left_out
    if symbols:
        wanted = list(symbols)
        available = sorted({str(s) for f in frames for s in pd.unique(f["symbol"])})
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise ConfigError(f"--symbols: {unknown} not in the data; available: {available}"
                              + "".join(f" (--on-error drop: {note})" for note in left_out))
        frames = [f[f["symbol"].astype(str).isin(wanted)] for f in frames]
        frames = [f for f in frames if len(f)]
    return frames


def dropped_note(name: str, report, layout: dict[str, Any] | None = None) -> str:
    """One line on the bad rows a load left out: how many, by rule and column, the first
    lines, what the report suggests, and the command that lists them all (with the options
    ``layout`` read the file with)."""
    rules = "; ".join(f"{v.rule} in {v.column} x{v.count:,} ({report.line_label} "
                      f"{', '.join(str(n) for n in v.first_lines[:3])}{', ...' if v.count > 3 else ''})"
                      for v in report.violations)
    return (f"{name}: {report.bad_rows:,} bad row(s) of {report.rows:,} left out"
            + (" (a bad price leaves out that symbol's bar, the line's others kept)" if report.wide else "")
            + f": {rules}" + (f"; {report.hint}" if report.hint else "")
            + f" (`workbench data validate {_command_options(name, layout or {})}` lists them)")


def _command_options(name: str, layout: dict[str, Any]) -> str:
    """``name`` and the command-line options of ``layout`` (``columns``, ``sep``, ``decimal``,
    ``wide``, ``tz``), as a user would type them."""
    import shlex

    words = [name]
    if layout.get("columns"):
        words += ["--columns", ",".join(f"{k}={v}" for k, v in layout["columns"].items())]
    if layout.get("sep") is not None:
        words += ["--sep", {"\t": "tab"}.get(layout["sep"], layout["sep"])]
    if layout.get("decimal", ".") != ".":
        words += ["--decimal", layout["decimal"]]
    if layout.get("wide"):
        words.append("--wide")
    if layout.get("tz", "UTC") != "UTC":
        words += ["--tz", layout["tz"]]
    return " ".join(shlex.quote(w) for w in words)


def catalog() -> pd.DataFrame:
    """The bundled datasets: name, symbol, rows, first and last date, description."""
    rows = []
    for name, ds in datasets.DATASETS.items():
        frame = datasets.load_dataset(name)
        rows.append({"name": name, "symbol": ds.symbol, "rows": len(frame), "first": str(frame.index[0].date()),
                     "last": str(frame.index[-1].date()), "description": ds.description})
    return pd.DataFrame(rows, columns=["name", "symbol", "rows", "first", "last", "description"])


def output_format(path: str | os.PathLike) -> str:
    """``"parquet"`` or ``"csv"`` by the file name of an output; anything else is an error
    (checked before the work that makes the output)."""
    name = Path(path).name.lower()
    if name.endswith(files.PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(files.CSV_SUFFIXES):
        return "csv"
    raise ConfigError(f"--out: use a .parquet or .csv file name, got {path}")


def write_frame(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` as Parquet or CSV, chosen by the file name; the folder is created."""
    out = Path(path)
    fmt = output_format(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out) if fmt == "parquet" else frame.to_csv(out)
    return out
