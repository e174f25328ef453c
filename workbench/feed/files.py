"""Load bars and quotes from CSV and Parquet files (or DataFrames) into canonical frames.

Accepted layouts (column names are matched case-insensitively; ``Adj Close`` is read as
``adj_close``, and ``date``/``datetime``/``timestamp`` as ``time``):

* bars:   ``time,symbol,open,high,low,close,volume`` (optional ``adj_close``)
* quotes: ``time,symbol,bid,ask,bid_size,ask_size``

``symbol`` may be left out of a single-symbol file; the ``symbol`` argument names it, or
else the file's stem in upper case (``spy.csv`` -> ``SPY``). Any other column is an error.

Other layouts, said how to read: ``columns={"dt": "time", "ticker": "symbol", "o": "open"}``
renames a file's own columns (each named one must be in the file); ``sep=";"`` and
``decimal=","`` read European CSV (the delimiter is detected when not given: the one of
``, ; TAB |`` that splits the header and the first lines into the same number of fields, more
than one; two candidates that both do are refused, asking for ``sep``); a close-only file
(``time[,symbol],close[,volume]``) loads as bars with ``open = high = low = close`` (volume 0
when absent); ``wide=True`` reads one column of closes per symbol (``time,SPY,QQQ``), an
empty cell meaning no bar for that symbol at that time. What was detected or filled in is in
the report's ``notes``.

Timezones: a timestamp with an offset (``2024-01-02T09:30:00-05:00`` or ``...Z``) is
converted to UTC; a timestamp without one is read as local time in ``tz`` (default
``"UTC"``) and then converted. Ambiguous or nonexistent local times (DST changes) break
the ``time_parse`` rule. Parquet datetime columns follow the same rule (naive means
``tz``). Canonical frames hold ``datetime64[ns, UTC]``.

Reading: a plain CSV file is read by pyarrow's streaming CSV reader where that reads it as
pandas' reader does (:func:`_read_csv_arrow` says when), else by pandas; the two give the same
frame, report and errors. Compressed files and decimal commas are pandas'.

Line numbers in errors: for CSV the physical line in the file (the header is line 1;
blank lines are skipped but counted); for Parquet files and frames the 1-based row.
A quoted field that spans lines shifts CSV numbering; such files are rare in market data.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shlex
import tempfile
import warnings
import zlib
from lzma import LZMAError as _LZMAError
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from collections.abc import Callable

import numpy as np
import pandas as pd

from workbench import __version__
from workbench.errors import ConfigError, DataError
from workbench.feed.schema import (
    FIELDS,
    OPTIONAL,
    TIME_ALIASES,
    Kind,
    detect_kind,
    normalize_name,
)
from workbench.feed.validate import QualityReport, Findings, RULES, check_order, check_values
from workbench.hashing import canonical_json, sha256_bytes, sha256_file
from workbench.provenance import code_hash

OnError = Literal["raise", "drop"]

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz")
TEXT_SUFFIXES = (".tsv", ".txt", ".tsv.gz", ".txt.gz")  # read as CSV too (the delimiter detected or --sep)
PARQUET_SUFFIXES = (".parquet", ".pq")

# an offset at the end of a time: Z, +HH:MM, +HHMM, or +HH after the time's minutes, fraction,
# hour or basic-format clock (T09, T1200, T120000), a space before it allowed
_OFFSET = re.compile(r"(?:Z|\s*[+-]\d{2}:?\d{2}|\d:\d{2}\s*[+-]\d{2}|\.\d+\s*[+-]\d{2}|[T ]\d{2}(?:\d{2}){0,2}\s*[+-]\d{2})\s*$")
# the same for pyarrow's RE2, whose \s is narrower than Python's on ASCII text (no \v, \x1c-\x1f)
_OFFSET_RE2 = _OFFSET.pattern.replace(r"\s", r"[\t\n\v\f\r \x1c-\x1f]")
_CLOCK_WORDS = ("now", "today")  # what pandas reads as the time of the load: no time of a market event


@dataclass
class Loaded:
    """A canonical frame, its quality report, and whether it came from the Parquet cache."""

    frame: pd.DataFrame
    report: QualityReport
    from_cache: bool = False


def file_format(path: Path) -> Literal["csv", "parquet"]:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES + TEXT_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise DataError(
        f"unsupported file type; expected one of {', '.join(CSV_SUFFIXES + TEXT_SUFFIXES + PARQUET_SUFFIXES)}",
        file=str(path),
        rule="format",
    )


def default_cache_dir() -> Path:
    """``$WORKBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/workbench/feed`` (~/.cache)."""
    env = os.environ.get("WORKBENCH_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "workbench" / "feed"


def load_file(
    path: str | os.PathLike,
    *,
    kind: Kind | None = None,
    symbol: str | None = None,
    tz: str = "UTC",
    on_error: OnError = "raise",
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    columns: dict[str, str] | None = None,
    sep: str | None = None,
    decimal: str = ".",
    wide: bool = False,
    progress: bool = False,
) -> Loaded:
    """Load and validate a CSV or Parquet file of bars or quotes.

    ``columns``, ``sep``, ``decimal`` and ``wide``: other layouts (module docstring).
    ``progress``: a progress bar while a long plain CSV file (:data:`PROGRESS_BYTES`) is read.

    ``on_error="raise"`` raises :class:`DataError` for the first offending line and
    returns nothing; ``on_error="drop"`` drops every bad row and reports them. CSV loads
    are cached as Parquet keyed by the file's SHA-256, these options and the version of the
    code that reads them (``cache=False`` turns that off); a hit skips parsing and validation.
    """
    if on_error not in ("raise", "drop"):
        raise ValueError(f"on_error must be 'raise' or 'drop', got {on_error!r}")
    if kind not in (None, "bars", "quotes"):
        raise ValueError(f"kind must be 'bars', 'quotes' or None, got {kind!r}")
    p = Path(path)
    source = str(path)
    if not p.is_file():
        raise DataError("a directory, not a file" if p.is_dir() else "no such file", file=source, rule="format")
    check_timezone(tz)
    layout = _check_layout(columns, sep, decimal, wide)
    fmt = file_format(p)
    if fmt == "parquet":
        raw = _read_parquet(p, source)
        return _shaped(raw, source, "row", kind, symbol or _stem_symbol(p), tz, on_error, layout, [], file=True)

    key = None
    if cache:
        directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        # Everything that shapes the loaded frame and its report is in the key: the content,
        # the options, and the symbol and source name a file's own name gives.
        key = _cache_key(p, kind=kind, symbol=symbol or _stem_symbol(p), tz=tz, on_error=on_error, source=source,
                         **layout)
        hit = _cache_get(directory, key, source)
        if hit is not None:
            return hit
    notes: list[str] = []
    raw = _read_csv(p, source, layout["sep"], layout["decimal"], notes, progress=progress, columns=layout["columns"])
    loaded = _shaped(raw, source, "line", kind, symbol or _stem_symbol(p), tz, on_error, layout, notes, file=True)
    if key is not None:
        _cache_put(directory, key, loaded)
    return loaded


def check_timezone(tz: str, where: str = "--tz") -> str:
    """``tz`` if it names a time zone (IANA, e.g. ``America/New_York``, or ``UTC``); a
    :class:`ConfigError` naming it otherwise."""
    import zoneinfo

    if tz != "UTC":
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfigError(f"{where}: unknown time zone {tz!r} (an IANA name such as America/New_York, or UTC)") \
                from None
    return tz


def read_file(path: str | os.PathLike, **options) -> pd.DataFrame:
    """The canonical frame of :func:`load_file` (same options), without the report."""
    return load_file(path, **options).frame


def validate_file(path: str | os.PathLike, **options) -> QualityReport:
    """The quality report of a file; never raises for bad rows (only for unreadable files)."""
    options = {**options, "on_error": "drop", "cache": False}
    return load_file(path, **options).report


def validate_frame(
    frame: pd.DataFrame,
    *,
    kind: Kind | None = None,
    symbol: str | None = None,
    tz: str = "UTC",
    on_error: OnError = "raise",
    source: str = "<frame>",
    columns: dict[str, str] | None = None,
    wide: bool = False,
) -> Loaded:
    """Canonicalize and validate an in-memory frame (``time`` as a column or the index;
    ``columns`` and ``wide`` as :func:`load_file`)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas.DataFrame, got {type(frame).__name__}")
    check_timezone(tz, "tz")
    layout = _check_layout(columns, None, ".", wide)
    if layout["columns"] is None and not wide:
        return _canonical(frame, source, "row", kind, symbol, tz, on_error)
    return _shaped(frame, source, "row", kind, symbol, tz, on_error, layout, [])


# --- reading -----------------------------------------------------------------------------


def _stem_symbol(p: Path) -> str:
    name = p.name
    for suffix in CSV_SUFFIXES + TEXT_SUFFIXES + PARQUET_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.upper()


PROGRESS_BYTES = 16 * 2**20  # a plain CSV file this large shows a progress bar while it is read (progress=True)


class _Counted:
    """A binary file whose reads advance a progress bar (``bar``, if any; pandas and pyarrow
    read through it), noting whether its bytes hold ``0x`` or ``0X`` (``hex``)."""

    def __init__(self, f, bar) -> None:
        self._f, self._bar, self._last, self.hex = f, bar, b"", False

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        if self._bar is not None:
            self._bar.update(len(data))
        if not self.hex and data:
            self.hex = b"0x" in data or b"0X" in data or (self._last == b"0" and data[:1] in (b"x", b"X"))
            self._last = data[-1:]
        return data

    def __iter__(self):
        return iter(self._f)

    def __getattr__(self, name):
        return getattr(self._f, name)


def _read_csv(p: Path, source: str, sep: str | None = None, decimal: str = ".",
              notes: list[str] | None = None, progress: bool = False,
              columns: dict[str, str] | None = None) -> pd.DataFrame:
    if sep is None:
        sep = _detect_sep(p, source)
        if sep != "," and notes is not None:
            notes.append(f"delimiter {_SEP_NAMES.get(sep, repr(sep))} detected")
    try:
        header = pd.read_csv(p, nrows=0, sep=sep)
    except pd.errors.EmptyDataError:
        raise DataError("file is empty (no header line)", file=source, rule="empty") from None
    except UnicodeDecodeError:
        raise _not_utf8(p, source) from None
    except (pd.errors.ParserError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read CSV: {exc}", file=source, rule="format") from None
    mapped = {k.strip().lower(): normalize_name(v) for k, v in (columns or {}).items()}
    text = TIME_ALIASES + ("symbol",)  # read as text: parsed by their own rules (a decimal mark is not theirs)
    text_cols = {c: str for c in header.columns
                 if normalize_name(c) in text or mapped.get(str(c).strip().lower()) in text}
    if decimal == ",":
        if sep == ",":
            raise ConfigError(f"{source}: decimal=',' (--decimal ,), but the file's delimiter is ',' too: its numbers "
                              "cannot hold decimal commas (read it without --decimal)")
        left = {k.strip().lower() for k, v in (columns or {}).items() if not v.strip()}  # (NAME=: not read)
        _check_decimal_comma(p, source, sep, [str(c) for c in header.columns],
                             set(text_cols) | {c for c in header.columns if str(c).strip().lower() in left})
    if decimal == "." and p.name.lower().endswith(_PLAIN_SUFFIXES):
        fast = _read_csv_arrow(p, sep, [str(c) for c in header.columns], set(text_cols), progress)
        if fast is not None:
            return fast
    try:
        with warnings.catch_warnings():
            # index_col=False: pandas would otherwise turn a file whose rows all carry one
            # field too many into an index, and only warn about it.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)  # (a column of mixed types: the rules name its cells)
            size = p.stat().st_size if progress and p.name.lower().endswith(".csv") else 0
            handle = bar = None
            if size >= PROGRESS_BYTES:  # a long plain file: a progress bar by bytes read
                from tqdm.auto import tqdm

                bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"reading {p.name}", leave=False)
                handle = _Counted(open(p, "rb"), bar)  # noqa: SIM115 (closed below)
            try:
                raw = pd.read_csv(
                    handle if handle is not None else p,
                    sep=sep,
                    decimal=decimal,
                    thousands="." if decimal == "," else None,  # 4.750,5: a dot groups thousands there
                    dtype=text_cols,
                    index_col=False,
                    keep_default_na=False,  # only an empty cell is missing; "nan" is a value
                    na_values=[""],
                    skip_blank_lines=False,  # keeps row positions equal to line numbers - 2
                )
            finally:
                if handle is not None:
                    handle.close()
                    bar.close()
        if decimal == ",":  # a column pandas left as text (one bad cell in it): its good cells read as numbers
            for c in raw.columns:
                if c not in text_cols and (raw[c].dtype == object or pd.api.types.is_string_dtype(raw[c].dtype)):
                    raw[c] = raw[c].astype("string").str.replace(".", "", regex=False).str.replace(",", ".",
                                                                                                 regex=False)
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        # pandas says e.g. "Expected 7 fields in line 5, saw 8", or only warns.
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) if m else _first_ragged_line(p, len(header.columns), sep)
        raise DataError(
            f"malformed CSV: a line has more fields than the header's {len(header.columns)}",
            file=source,
            line=line,
            rule="format",
        ) from None
    except UnicodeDecodeError:
        raise _not_utf8(p, source) from None
    except (OSError, ValueError, EOFError, zlib.error) as exc:  # EOFError: a truncated .gz
        raise DataError(f"cannot read CSV: {exc}", file=source, rule="format") from None
    return raw


def _holds_hex(p: Path, block: int = 8 * 2**20) -> bool:
    """Whether the bytes of ``p`` hold ``0x`` or ``0X`` (read a block at a time)."""
    with open(p, "rb") as f:
        counted = _Counted(f, None)
        while counted.read(block) and not counted.hex:
            pass
    return counted.hex


def _check_decimal_comma(p: Path, source: str, sep: str, names: list[str], text: set[str]) -> None:
    """With ``decimal=","`` a dot groups thousands (4.750,5): a ``ConfigError`` where the first
    lines' numbers have no decimal comma but a dot that groups no thousands (451.23), which
    would be read as 45,123."""
    numbers: list[int] = []
    lines = _head_lines(p, 50, numbers)[1:]
    cells = [(number, cell) for number, row in zip(numbers[1:], csv.reader(lines, delimiter=sep))
             for name, cell in zip(names, row) if name not in text]
    if any(re.fullmatch(r"\s*[-+]?[\d.]*\d,\d+\s*", cell) for _, cell in cells):
        return
    dotted = next(((n, c) for n, c in cells if re.fullmatch(r"\s*[-+]?\d+(\.\d{3})*\.(\d{1,2}|\d{4,})\s*", c)), None)
    if dotted:
        raise ConfigError(f"{source}: decimal=',' (--decimal ,), but its numbers are written with a decimal point "
                          f"({dotted[1].strip()}, line {dotted[0]}) and no decimal comma: read it without --decimal")


def _not_utf8(p: Path, source: str) -> DataError:
    """The error for a file that is not UTF-8, naming its first such line (error path only)."""
    line = None
    try:
        if p.name.lower().endswith(".zip"):  # (pandas opens it)
            raise OSError
        with _opener(p)(p, "rb") as f:
            for number, raw in enumerate(f, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    line = number
                    break
    except (OSError, EOFError, zlib.error, _LZMAError):
        pass
    return DataError("the file is not UTF-8 text (a spreadsheet's Windows-1252 or Latin-1?): save it as UTF-8 "
                     "(in Excel: CSV UTF-8)", file=source, line=line, rule="format")


_PLAIN_SUFFIXES = (".csv", ".tsv", ".txt")  # uncompressed: read by pyarrow where it reads them as pandas would
ARROW_BLOCK = 8 * 2**20  # bytes of a CSV file pyarrow parses at a time


def _read_csv_arrow(p: Path, sep: str, names: list[str], text: set[str], progress: bool) -> pd.DataFrame | None:
    """The file as pandas' reader (below) reads it, read by pyarrow's streaming CSV reader:
    blocks of :data:`ARROW_BLOCK` bytes parsed on threads, the text columns (``text``) kept as
    Arrow strings and every other column read as integers or floats as pandas would: about
    pandas' time, with a lower peak of memory on a long file (no Python object per text cell,
    and a block at a time). ``None`` wherever
    pyarrow would read the file otherwise: header names that pandas changes (a repeated or
    empty name), a column that is not all numbers (pandas keeps it as text for the rules to
    name), integers in a first block and decimals later, a spelled-out NaN (a value to pandas,
    a missing cell to pyarrow), a line of another length, text that is not UTF-8; ``0x`` anywhere
    (pyarrow reads 0x10 as 16; pandas, as text); a number beyond int64 (pandas keeps such a
    column as uint64 or Python integers). pandas then reads the whole file, so that its reading
    and its errors stay the rule."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in names if c in text},
                                   null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True)
    parse = pacsv.ParseOptions(delimiter=sep, ignore_empty_lines=False)  # a blank line: an all-missing row, as pandas
    size = p.stat().st_size
    bar = None
    try:
        with open(p, "rb") as f:
            if progress and size >= PROGRESS_BYTES:  # a long file: a progress bar by bytes read
                from tqdm.auto import tqdm

                bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"reading {p.name}", leave=False)
            # (read through Python only for the bar: pyarrow reads a file of its own with less memory)
            stream = _Counted(f, bar) if bar is not None else f
            reader = pacsv.open_csv(stream, read_options=pacsv.ReadOptions(block_size=ARROW_BLOCK),
                                    parse_options=parse, convert_options=convert)
            if reader.schema.names != names:
                return None
            table = reader.read_all()
            ints = any(pa.types.is_int64(table[c].type) for c in names if c not in text)
            if ints and (stream.hex if bar is not None else _holds_hex(p)):  # (pyarrow reads 0x10 as 16)
                return None
    except (pa.ArrowException, ValueError, OSError):  # ArrowInvalid: a cell or line pyarrow does not read
        return None
    finally:
        if bar is not None:
            bar.close()
    for c in names:
        kind = table[c].type
        if c in text:
            continue
        if not (pa.types.is_int64(kind) or pa.types.is_float64(kind)):
            return None
        if pa.types.is_float64(kind):
            if pc.any(pc.is_nan(table[c])).as_py():
                return None
            if pc.any(pc.and_(pc.is_finite(table[c]), pc.greater_equal(pc.abs(table[c]), 2.0 ** 63))).as_py():
                return None
    return table.to_pandas()


def _first_ragged_line(p: Path, fields: int, sep: str = ",") -> int | None:
    """The first physical line with more fields than the header (error path only)."""
    if p.name.lower().endswith(".zip"):
        return None
    with _opener(p)(p, "rt", newline="") as f:
        for number, row in enumerate(csv.reader(f, delimiter=sep), start=1):
            if len(row) > fields:
                return number
    return None


def _read_parquet(p: Path, source: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(p)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"cannot read Parquet: {exc}", file=source, rule="format") from None


# --- canonical form ----------------------------------------------------------------------


def _canonical(
    raw: pd.DataFrame,
    source: str,
    line_label: str,
    kind: Kind | None,
    symbol: str | None,
    tz: str,
    on_error: OnError,
    notes: list[str] | None = None,
    rows_at: np.ndarray | None = None,
    close_only: bool = False,
    theirs: list[str] | None = None,
    file: bool = False,
    by_symbol: bool = False,
) -> Loaded:
    theirs = theirs or [str(c).strip() for c in raw.columns]
    raw = _columns(raw, source, theirs)
    named = dict(zip(raw.columns, _as_theirs(raw, theirs)))  # our name -> the input's, for messages
    try:
        found = detect_kind(list(raw.columns), source=source)
    except DataError:
        raise DataError(f"cannot tell bars from quotes; columns are {_as_theirs(raw, theirs)}; expected "
                        f"time,symbol,{','.join(FIELDS['bars'])} or time,symbol,{','.join(FIELDS['quotes'])}"
                        + _layout_hint(raw, theirs), file=source, rule="columns") from None
    if kind is not None and kind != found:
        raise DataError(
            f"expected {kind} but the columns are those of {found}: {list(raw.columns)}",
            file=source,
            rule="columns",
        )
    kind = found
    required = ("time", "symbol") + FIELDS[kind]
    allowed = set(required) | set(OPTIONAL[kind])
    # Blank CSV lines come back as all-empty rows: skip them, keep their line numbers (found
    # before a symbol-less file is given its symbol, which would make them look filled).
    blank = raw.isna().all(axis=1).to_numpy() if line_label == "line" else None
    if "symbol" not in raw.columns:
        if symbol is None:
            raise DataError(
                "missing column 'symbol' (pass symbol=... for a single-symbol frame)",
                file=source,
                rule="columns",
            )
        raw = raw.assign(symbol=symbol)
    missing = [c for c in required if c not in raw.columns]
    if missing:
        guessed = [f"{named.get(c, c)}={_GUESS[c]}" for c in raw.columns if _GUESS.get(c) in missing]
        raise DataError(
            f"missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"{kind} need {','.join(required)}"
            + (f" (say which column is which: --columns {shlex.quote(','.join(guessed))})" if guessed else ""),
            file=source,
            rule="columns",
        )
    extra = [c for c in raw.columns if c not in allowed]
    if extra:
        own = set(named)  # the input's own columns (a symbol given by the file's name is not one)
        named = {c: named.get(c, c) for c in extra}
        guessed = [f"{named[c]}={_GUESS[c]}" for c in extra if c in _GUESS and _GUESS[c] not in own]
        raise DataError(
            f"unexpected column(s) {', '.join(repr(named[c]) for c in extra)}"
            + (" (a column without a name: an index that DataFrame.to_csv wrote?)"
               if any(named[c].startswith("Unnamed: ") for c in extra) else "") + "; "
            f"{kind} take {','.join(required + OPTIONAL[kind])} (leave a column out with --columns "
            f"{shlex.quote(named[extra[0]] + '=')} (columns={{{named[extra[0]]!r}: ''}})"
            + (f"; or say what it is: --columns {','.join(guessed)}" if guessed else "") + ")",
            file=source,
            rule="columns",
        )

    positions = np.flatnonzero(~blank) if blank is not None and blank.any() else None
    if positions is not None:
        raw = raw.iloc[positions]
    if rows_at is not None:  # a wide file's rows: the line each came from
        positions = rows_at if positions is None else rows_at[positions]
    n = len(raw)
    if n == 0:
        raise DataError("no data rows", file=source, rule="empty")
    offset = 2 if line_label == "line" else 1

    def line_of(i: int) -> int:
        return int(positions[i] if positions is not None else i) + offset

    findings = Findings(n)
    skip = np.zeros(n, dtype=bool)

    notes = list(notes or [])
    times, t_missing, t_bad = _parse_times(raw["time"], tz, notes)
    if _newest_first(times.asi8):  # (a download from many sites): read oldest first, the lines still the file's
        order = np.arange(n - 1, -1, -1)
        raw, times, t_missing, t_bad = raw.iloc[order], times[order], t_missing[order], t_bad[order]
        positions = order if positions is None else positions[order]
        notes.append(f"newest first: the {line_label}s read from the last to the first")
    findings.add("missing_value", "time", t_missing)
    findings.add("time_parse", "time", t_bad)

    sym = _symbols(raw["symbol"])
    if isinstance(sym.dtype, pd.CategoricalDtype):  # missing is code -1: one cheap pass in the clean case
        codes = sym.array.codes  # a view (.cat.codes copies them into a Series)
        if codes.size and codes.min() < 0:
            findings.add("missing_value", "symbol", codes < 0)
    else:
        findings.add("missing_value", "symbol", sym.isna().to_numpy())

    data: dict[str, np.ndarray] = {}
    numeric = FIELDS[kind] + tuple(c for c in OPTIONAL[kind] if c in raw.columns)
    bounds, clean, ordered = _scan([raw[c] for c in numeric], kind, times.asi8)
    for col in numeric:
        if close_only and col in ("open", "high", "low"):  # copies of the close, parsed (and named) once
            continue
        values, c_missing, c_bad = _parse_numbers(raw[col], bounds)
        if col in FIELDS[kind] and c_missing is not None:
            findings.add("missing_value", col, c_missing)
            skip |= c_missing
        if c_bad is not None:
            findings.add("number_parse", col, c_bad)
            skip |= c_bad
        data[col] = values
    if close_only:
        data = {c: data["close"].copy() if c in ("open", "high", "low") else data[c] for c in numeric}
    frame = pd.DataFrame(
        {"symbol": sym.array, **data}, index=pd.DatetimeIndex(times, name="time"), copy=False
    )

    check_values(frame, kind, findings, skip, bounds, clean)
    if close_only:  # open, high and low are the close here: a broken rule is the close's, counted once
        merged: dict[tuple[str, str], np.ndarray] = {}
        for rule, col, mask in findings.masks:
            key = (rule, "close" if col in ("open", "high", "low") else col)
            merged[key] = mask if key not in merged else merged[key] | mask
        findings.masks = [(rule, col, mask) for (rule, col), mask in merged.items()]
    # Order rules only over rows that are otherwise fine, so that a dropped row never
    # makes its neighbours look out of order.
    bad = findings.bad()
    check_order(times.asi8, sym, kind, findings, None if bad is None else ~bad, ordered=ordered)

    bad = findings.bad()
    # A wide file's line holds a bar of each symbol: its report counts lines, as the file has them
    lines = None if rows_at is None else positions
    report = QualityReport(
        source=source,
        kind=kind,
        rows=n if lines is None else int(np.unique(lines).size),
        bad_rows=0 if bad is None else int(bad.sum()) if lines is None else int(np.unique(lines[bad]).size),
        violations=findings.results(line_of, lines, positions),
        line_label=line_label,
        notes=list(notes or []),
        wide=rows_at is not None,
    )
    if report.bad_rows and on_error == "raise":
        rule, column, pos = findings.first(positions)
        more = report.bad_rows - 1
        cell, hint = _cell(raw, pos, column, kind), _hint(raw, pos, column, rule, tz)
        if by_symbol and column == "close":  # a wide file: the price is in its symbol's column
            column = str(raw["symbol"].iloc[pos])
            cell = f"{column}={raw['close'].iloc[pos]}"
        elif rows_at is not None and "symbol=" not in cell:  # a line of several symbols' bars: whose
            cell += f", symbol={raw['symbol'].iloc[pos]}"
        raise DataError(
            f"{RULES[rule]} ({cell})" + hint
            + (f"; {more:,} more bad row(s)" if more else "")
            # where to see them all, and how to load the rest (the exception's report holds them too)
            + ("; every row is bad" if bool(bad.all()) else
               "; validate_frame(..., on_error='drop') lists every bad row and keeps the rest"
               if not (file or source.startswith("dataset ")) else  # a frame's source is only a name
               "; `workbench data validate` lists every bad row, --on-error drop (on_error='drop') loads the rest"),
            file=source,
            **{"line" if line_label == "line" else "row": line_of(pos)},
            column=column,
            rule=rule,
            report=report,
        )
    if report.bad_rows:
        rule, column, pos = findings.first(positions)
        hint = _hint(raw, pos, column, rule, tz)
        if hint:  # what the first bad row suggests, for the report (its error would have said it)
            report.hint = f"{line_label} {line_of(pos)}: {hint.strip()[1:-1]}"
        frame = frame[~bad]
        if frame.empty:
            report.symbols = []
            return Loaded(frame, report)
    report.symbols = _present_symbols(frame["symbol"])
    stamps = frame.index.asi8
    first, last = (stamps[0], stamps[-1]) if ordered else (stamps.min(), stamps.max())  # rows kept stay in order
    report.first_time = pd.Timestamp(int(first), tz="UTC")
    report.last_time = pd.Timestamp(int(last), tz="UTC")
    return Loaded(frame, report)


def _levels_as_columns(raw: pd.DataFrame, source: str = "<frame>") -> pd.DataFrame:
    """A frame indexed by several named levels (pandas' (symbol, date) MultiIndex) with the
    levels as columns; ``yf.download``'s frame (its columns in two levels, Price and Ticker)
    as long rows, each ticker's a symbol; any other frame as it is (columns in
    levels otherwise: a :class:`DataError`)."""
    if isinstance(raw.columns, pd.MultiIndex):
        names = [str(n).lower() for n in raw.columns.names]
        if raw.columns.nlevels != 2 or "ticker" not in names:
            raise DataError(f"columns in {raw.columns.nlevels} levels ({raw.columns.names}); workbench reads one "
                            "level of names (yf.download's Price and Ticker levels it reads too)", file=source,
                            rule="columns")
        level = raw.columns.names[names.index("ticker")]
        raw = raw.stack(level=level, future_stack=True)
        raw = raw.rename_axis([("symbol" if n == level else n) if n is not None else "time"
                               for n in raw.index.names]).reset_index()
        raw.columns = [str(c) for c in raw.columns]
        return raw
    if isinstance(raw.index, pd.MultiIndex) and all(n is not None for n in raw.index.names) and not (
            set(map(str, raw.index.names)) & set(map(str, raw.columns))):
        return raw.reset_index()
    return raw


def _newest_first(stamps: np.ndarray) -> bool:
    """Whether times (NaT left out) never increase and decrease at least twice: a file written
    newest first (two rows, the second earlier, are a time out of order, as the rules say)."""
    nat = np.iinfo(np.int64).min
    if stamps.size and nat not in (stamps[0], stamps[-1]) and stamps[0] <= stamps[-1]:
        return False  # (the usual file, oldest first: no pass over its times)
    s = stamps[stamps != nat]
    steps = np.diff(s)
    return bool(s.size > 2 and np.all(steps <= 0) and np.count_nonzero(steps) >= 2)


def _columns(raw: pd.DataFrame, source: str, theirs: list[str] | None = None) -> pd.DataFrame:
    """Normalize column names; move a time index into a ``time`` column. (``theirs``: the
    names as the input has them, for a hint.)"""
    raw = _levels_as_columns(raw, source).rename(columns=normalize_name)
    if not any(c in TIME_ALIASES for c in raw.columns):
        index_name = normalize_name(raw.index.name) if raw.index.name is not None else None
        if index_name in TIME_ALIASES or isinstance(raw.index, pd.DatetimeIndex):
            # reset_index(names="time") without its copy of every column (10 ms on 10M rows);
            # by name, so names must be unique first
            _refuse_duplicates(raw, source)
            rows = pd.RangeIndex(len(raw))
            raw = pd.DataFrame({"time": pd.Series(raw.index, index=rows, copy=False),
                                **{c: raw[c].reset_index(drop=True) for c in raw.columns}}, copy=False)
    aliases = [c for c in raw.columns if c in TIME_ALIASES]
    if len(aliases) > 1:
        raise DataError(
            f"more than one time column: {aliases}", file=source, column=aliases[1], rule="columns"
        )
    if aliases and aliases[0] != "time":
        raw = raw.rename(columns={aliases[0]: "time"})
    if "time" not in raw.columns:
        raise DataError(
            f"missing column 'time' (or date/datetime/timestamp); columns are {_as_theirs(raw, theirs)}"
            + _layout_hint(raw, theirs),
            file=source,
            rule="columns",
        )
    _refuse_duplicates(raw, source)
    return raw


def _refuse_duplicates(raw: pd.DataFrame, source: str) -> None:
    dupes = raw.columns[raw.columns.duplicated()].tolist()
    if dupes:
        raise DataError(f"duplicate column(s) {dupes}", file=source, rule="columns")


def _symbols(col: pd.Series) -> pd.Series:
    """Symbols without surrounding spaces; categorical columns stay categorical (cheap)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        stripped = cats.astype("string").str.strip()
        if stripped.equals(cats.astype("string")):
            return col
        if stripped.is_unique:
            return col.cat.rename_categories(stripped)
    text = col.astype("string").str.strip()
    return text.mask(text == "")  # a blank symbol is a missing one


def _present_symbols(col: pd.Series) -> list[str]:
    """Sorted distinct symbols (for categoricals, from the codes: no string work; a first
    block of rows that already holds every category settles it without reading the rest)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.array.codes  # a view (.cat.codes copies)
        used = np.zeros(len(col.cat.categories) + 1, dtype=bool)  # the last: missing (code -1)
        for lo, hi in ((0, min(codes.size, 65_536)), (min(codes.size, 65_536), codes.size)):
            used[codes[lo:hi]] = True
            if used[:-1].all():
                break
        return sorted(col.cat.categories[used[:-1]].tolist())
    return sorted(pd.unique(col.dropna()).tolist())


def _parse_times(col: pd.Series, tz: str, notes: list[str] | None = None) -> tuple[pd.DatetimeIndex, np.ndarray,
                                                                                   np.ndarray]:
    """(UTC times with NaT where bad, missing mask, unparseable mask); how dates were read
    where their form is ambiguous, in ``notes``."""
    if isinstance(col.dtype, pd.DatetimeTZDtype) and col.dtype.unit == "ns":  # Parquet's usual: nothing to parse
        times = pd.DatetimeIndex(col).tz_convert("UTC")
        stamps = times.asi8
        none = np.zeros(len(col), dtype=bool)
        has_nat = stamps.size and stamps.min() == np.iinfo(np.int64).min  # NaT is the smallest int64
        return times, (stamps == np.iinfo(np.int64).min) if has_nat else none, none
    missing = col.isna().to_numpy()
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        times = pd.DatetimeIndex(col).tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(col.dtype):
        times = _localize(pd.DatetimeIndex(col), tz)
    elif pd.api.types.is_numeric_dtype(col.dtype):
        # Epoch numbers are ambiguous (s? ms? ns?): refuse rather than guess.
        times = pd.DatetimeIndex(np.full(len(col), np.datetime64("NaT"), "datetime64[ns]"), tz="UTC")
    else:
        times = _parse_text_times(col.astype("string"), missing, tz, notes)
    times = pd.DatetimeIndex(_in_ns_range(pd.Series(times))).as_unit("ns")
    bad = np.asarray(times.isna()) & ~missing
    return times, missing, bad


TIME_SLICE = 1 << 18  # text times are parsed this many at a time: the parse's temporaries stay this size


def _parse_text_times(text: pd.Series, missing: np.ndarray, tz: str,
                      notes: list[str] | None = None) -> pd.DatetimeIndex:
    """Text times as UTC (NaT where bad): with an offset, converted; without, local in
    ``tz``. ISO 8601 is parsed :data:`TIME_SLICE` rows at a time (row by row, so the same
    as all at once, with temporaries of a slice's size, not the file's); a set (with or
    without an offset) of which no row is an ISO 8601 time within 1677..2262 is then read as
    :func:`_to_datetime` reads it, all at once (day-first dotted dates, or a format pandas
    infers). ``now`` and ``today`` are not times of the data: they break ``time_parse``."""
    n = len(text)
    nat = np.iinfo(np.int64).min
    stamps = np.full(n, nat, dtype=np.int64)
    aware = np.zeros(n, dtype=bool)
    iso_any = {True: False, False: False}  # whether any row with (True) or without an offset is ISO 8601

    def put(rows: np.ndarray, utc: bool, parsed: pd.Series) -> None:  # (parsed: in the ns range)
        values = pd.DatetimeIndex(parsed) if utc else _localize(pd.DatetimeIndex(parsed), tz)
        stamps[rows] = values.as_unit("ns").asi8

    words = text.isin(_CLOCK_WORDS).to_numpy()  # never parsed: they stay NaT, a time_parse
    offsets = _has_offset(text)
    for lo in range(0, n, TIME_SLICE):
        part = text.iloc[lo:lo + TIME_SLICE]
        a = offsets[lo:lo + len(part)]
        aware[lo:lo + len(part)] = a
        other = missing[lo:lo + len(part)] | words[lo:lo + len(part)]
        for utc, sel in ((True, a & ~other), (False, ~a & ~other)):
            if sel.any():
                # (in the ns range: pandas picks each call's unit from its rows, so a year
                # beyond 2262 parses or not with its neighbours; out of the range it never counts)
                parsed = _iso_times(part[sel], utc)
                iso_any[utc] = iso_any[utc] or bool(parsed.notna().any())
                put(lo + np.flatnonzero(sel), utc, parsed)
    order: list[bool | None] = []  # slashed dates' order, decided once for the column
    for utc, sel in ((True, aware & ~words), (False, ~aware & ~missing & ~words)):
        if sel.any() and not iso_any[utc]:
            if not order:
                order.append(_slashed_order(text[~missing & ~words], notes))
            put(np.flatnonzero(sel), utc, _to_datetime(text[sel], utc=utc, dayfirst=order[0]))
    return pd.DatetimeIndex(stamps.view("datetime64[ns]")).tz_localize("UTC")


def _iso_times(text: pd.Series, utc: bool) -> pd.Series:
    """ISO 8601 times in nanoseconds, NaT where a text is not one (in the ns range: UTC when
    ``utc``, else naive). pyarrow's cast reads a slice's Arrow strings twenty times faster than
    pandas, but knows fewer forms (``T0930``, ``2024-1-2``, years past 2262): it answers only
    when it reads every text of the slice, and pandas otherwise, whose reading is the rule."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if text.dtype == "string" and text.dtype.storage == "pyarrow" and len(text):
        try:
            cast = pc.cast(pa.array(text.array), pa.timestamp("ns", tz="UTC" if utc else None))
        except (pa.ArrowException, ValueError):  # ArrowInvalid: a text it does not read
            cast = None
        if cast is not None:
            return cast.to_pandas()
    return _in_ns_range(_naive_or_not(lambda t: pd.to_datetime(t, format="ISO8601", errors="coerce", utc=utc), text,
                                      utc))


def _naive_or_not(parse: Callable[[pd.Series], pd.Series], text: pd.Series, utc: bool) -> pd.Series:
    """``parse(text)``; for texts without an offset (``utc`` false) of which pandas finds one in
    some (a form :data:`_OFFSET` does not know, mixed with naive times: pandas refuses the
    mix), those that pandas reads as aware on their own become NaT and so break
    ``time_parse``, the others parsed; where pandas, reading a column's format from its first
    text, still finds a mix, every text of it is NaT."""
    try:
        return parse(text)
    except ValueError:
        if utc:
            raise
    aware = text.map(lambda one: _has_zone(parse, one), na_action="ignore").fillna(False).astype(bool)
    try:
        return parse(text.where(~aware))
    except ValueError:
        return parse(text.where(pd.Series(False, index=text.index)))


def _has_zone(parse: Callable[[pd.Series], pd.Series], one: str) -> bool:
    try:
        return parse(pd.Series([one])).dt.tz is not None
    except ValueError:
        return False


def _has_offset(text: pd.Series) -> np.ndarray:
    """Which times end in an offset (:data:`_OFFSET`). pyarrow's regex engine (RE2) reads an
    ASCII column in one pass, twenty times faster than Python's ``re`` row by row (pandas' way
    with a compiled pattern); it reads ``\\d`` as ASCII, so other text goes to ``re``, and
    :data:`_OFFSET_RE2` spells out the whitespace that ``\\s`` is to ``re``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if text.dtype == "string" and text.dtype.storage == "pyarrow":
        arr = pa.array(text.array)
        if pc.all(pc.string_is_ascii(arr)).as_py() is not False:
            found = pc.match_substring_regex(arr, _OFFSET_RE2)
            return found.fill_null(False).to_numpy(zero_copy_only=False)
    return text.str.contains(_OFFSET, na=False).to_numpy(dtype=bool)


_DOTTED = re.compile(r"^\s*\d{1,2}\.\d{1,2}\.\d{4}")  # 02.01.2024: the European day-first form
_SLASHED = r"^\s*(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\b"  # 02/01/2024, 02/01/24: day first in Europe, month first in the US


def _slashed_order(text: pd.Series, notes: list[str] | None = None) -> bool | None:
    """Whether slashed dates (``NN/NN/YYYY`` or ``NN/NN/YY``) are day first, decided once for
    a column (its rows with and without an offset alike), said in ``notes``; ``None`` when
    its first date is not slashed. Day first when a first field above 12 says so and no
    second field does; month first when a second field does; both: the first such date's
    order (the rows of the other order then break ``time_parse``); neither: month first,
    said to be a guess."""
    first = text.dropna()
    if not len(first) or not re.match(_SLASHED, str(first.iloc[0])):
        return None
    fields = first.str.extract(_SLASHED)[[0, 1]].astype("float64")
    day, month = (fields[0] > 12).to_numpy(), (fields[1] > 12).to_numpy()
    if day.any() and month.any():
        dayfirst = bool(np.flatnonzero(day)[0] < np.flatnonzero(month)[0])
        why = (f"dates in both orders ({first.iloc[int(np.flatnonzero(day)[0])]} and "
               f"{first.iloc[int(np.flatnonzero(month)[0])]}): read {'day' if dayfirst else 'month'} first as the "
               f"first of them, the others break time_parse")
    elif day.any():
        dayfirst, why = True, "dates read day first (DD/MM/YYYY): a first field is above 12"
    elif month.any():
        dayfirst, why = False, "dates read month first (MM/DD/YYYY): a second field is above 12"
    else:
        dayfirst, why = False, ("dates read month first (MM/DD/YYYY): no field above 12 tells the order; a file of "
                                "DD/MM/YYYY dates is read wrongly (write them as YYYY-MM-DD)")
    if notes is not None and why not in notes:
        notes.append(why)
    return dayfirst


def _to_datetime(text: pd.Series, *, utc: bool, dayfirst: bool | None = None) -> pd.Series:
    """ISO 8601 first; if nothing parses that way, dotted dates (``DD.MM.YYYY``) day first,
    slashed dates in the order ``dayfirst`` gives (:func:`_slashed_order`), else the one
    format pandas infers from the first."""
    parsed = _naive_or_not(lambda t: pd.to_datetime(t, format="ISO8601", errors="coerce", utc=utc), text, utc)
    if parsed.isna().all():
        first = text.dropna()
        head = str(first.iloc[0]) if len(first) else ""
        if dayfirst is None:
            dayfirst = bool(_DOTTED.match(head))
        with warnings.catch_warnings():  # ("could not infer format": the rows it does not fit break time_parse)
            warnings.simplefilter("ignore", UserWarning)
            parsed = _naive_or_not(lambda t: pd.to_datetime(t, errors="coerce", utc=utc, dayfirst=dayfirst), text, utc)
    return _in_ns_range(parsed)


def _in_ns_range(times: pd.Series) -> pd.Series:
    """Times in nanoseconds; a time pandas read in a coarser unit that lies outside the
    years 1677..2262 becomes NaT (so ``time_parse`` names its line) instead of overflowing."""
    if times.dt.unit == "ns":
        return times
    first, last = pd.Timestamp.min, pd.Timestamp.max
    if times.dt.tz is not None:
        first, last = first.tz_localize("UTC"), last.tz_localize("UTC")
    low, high = times.min(), times.max()  # (NaT skipped) every time in the range: no mask (a tenth of the time)
    if pd.isna(low) or (low >= first and high <= last):
        return times.dt.as_unit("ns")
    return times.where((times >= first) & (times <= last)).dt.as_unit("ns")


def _localize(times: pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    if times.tz is not None:
        return times.tz_convert("UTC")
    # DST: ambiguous or nonexistent local times become NaT and so break time_parse.
    return times.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")


_POOL: tuple[int, ThreadPoolExecutor] | None = None  # (the process that made it: a forked child has none of its threads)
_POOL_FROM = 1_000_000  # rows from which a column's reductions run on two threads


def _scan(cols: list[pd.Series], kind: Kind, stamps: np.ndarray) -> tuple[dict[str, tuple[float, float]],
                                                                          frozenset[str], bool]:
    """One pass of the whole-column facts a clean file's rules need, so that they build no
    per-row mask: (min, max) of each float64 column (NaN when it holds a NaN: min and max
    propagate it); the pair rules (``bid_le_ask``, ``high_ge_open_close``,
    ``low_le_open_close``) no row breaks, by the very comparison :func:`check_values` makes;
    and whether the times never decrease. On large files the passes run on two threads:
    numpy releases the GIL in them, and these passes over memory are what validating a clean
    file costs."""
    global _POOL
    arrays = {c.name: c.to_numpy(copy=False) for c in cols if c.dtype == np.float64 and len(c)}
    jobs = [a.min for a in arrays.values()] + [a.max for a in arrays.values()]
    pairs: dict[str, Callable[[], bool]] = {}
    if kind == "quotes" and {"bid", "ask"} <= arrays.keys():
        bid, ask = arrays["bid"], arrays["ask"]
        pairs["bid_le_ask"] = lambda: bool(np.any(bid > ask))
    elif kind == "bars" and {"open", "high", "low", "close"} <= arrays.keys():
        o, h, lo, c = arrays["open"], arrays["high"], arrays["low"], arrays["close"]
        pairs["high_ge_open_close"] = lambda: bool(np.any(h < np.maximum(o, c)))
        pairs["low_le_open_close"] = lambda: bool(np.any(lo > np.minimum(o, c)))
    jobs += pairs.values()
    jobs.append(lambda: bool(np.all(stamps[1:] >= stamps[:-1])))
    if sum(a.size for a in arrays.values()) < _POOL_FROM or (os.cpu_count() or 1) < 2:
        done = [job() for job in jobs]
    else:
        if _POOL is None or _POOL[0] != os.getpid():
            _POOL = (os.getpid(), ThreadPoolExecutor(2, thread_name_prefix="workbench-validate"))
        done = list(_POOL[1].map(lambda job: job(), jobs))
    k = len(arrays)
    bounds = {name: (done[i], done[k + i]) for i, name in enumerate(arrays)}
    clean = frozenset(rule for rule, broken in zip(pairs, done[2 * k:]) if not broken)
    return bounds, clean, done[-1]


def _parse_numbers(col: pd.Series, bounds: dict | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(float64 values with NaN where bad, missing mask, unparseable mask); a mask is
    ``None`` where no row has that problem. ``bounds``: the columns' (min, max) where known."""
    if col.dtype == np.float64:  # the common case: no copy, no temporary unless needed
        values = col.to_numpy(copy=False)
        # (the scan's bound where known: a default of values.min() would be a pass of its own)
        lo = bounds[col.name][0] if bounds and col.name in bounds else (values.min() if values.size else 0.0)
        has_nan = values.size and np.isnan(lo)  # min propagates NaN
        return values, np.isnan(values) if has_nan else None, None
    missing = col.isna().to_numpy()
    if pd.api.types.is_bool_dtype(col.dtype):
        return np.full(len(col), np.nan), missing, ~missing
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan), missing, None
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    text = col.astype("string").str.strip().str.lower()
    spelled_nan = text.isin(["nan", "+nan", "-nan"]).to_numpy()
    bad = np.isnan(values) & ~missing & ~spelled_nan
    return values, missing, bad


def _hint(raw: pd.DataFrame, pos: int, column: str, rule: str, tz: str = "UTC") -> str:
    """A likely cause of a broken rule, when the cell says it: a decimal comma; a local time
    that a daylight-saving change skips or repeats in ``tz``."""
    if column not in raw.columns:
        return ""
    value = str(raw[column].iloc[pos])
    if rule == "number_parse" and re.fullmatch(r"\s*-?\d{1,3},\d{3}\s*", value):  # 1,234: either
        return (" (commas grouping thousands (write the numbers without them), or a decimal comma (read the file "
                "with decimal=',', --decimal ,, its delimiter not a comma)?)")
    if rule == "number_parse" and re.fullmatch(r"\s*-?[\d.]*\d,\d+\s*", value):
        return " (a decimal comma? read the file with decimal=',', --decimal ,)"
    if rule == "number_parse" and re.fullmatch(r"\s*-?[$€£¥]\s*-?[\d.,]+\s*|\s*-?[\d.,]+\s*[$€£¥]\s*", value):
        return " (a currency sign: write the numbers without it)"
    if rule == "number_parse" and re.fullmatch(r"\s*-?\d{1,3}(,\d{3})+(\.\d+)?\s*", value):
        return " (commas grouping thousands: write the numbers without them)"
    if rule == "time_parse" and re.fullmatch(r"\s*\d{9,19}(\.\d*)?\s*", value):
        return (" (a number, not a time: seconds or milliseconds since 1970? workbench does not guess the unit; "
                "write the times as ISO 8601, e.g. pd.to_datetime(df['time'], unit='s', utc=True))")
    if rule == "time_parse" and tz != "UTC" and not _OFFSET.search(value):
        local = pd.to_datetime(pd.Series([value]), format="ISO8601", errors="coerce")
        if local.notna().all():
            times = pd.DatetimeIndex(local)
            if times.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").isna().all():
                if times.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").isna().all():
                    return f" (in {tz} this local time is ambiguous: the clocks repeat it at a daylight-saving change)"
                return f" (in {tz} this local time does not exist: the clocks skip it at a daylight-saving change)"
    return ""


def _cell(raw: pd.DataFrame, pos: int, column: str, kind: Kind) -> str:
    """The offending row's relevant values, for an error message."""
    row = raw.iloc[pos]
    cols = [column]
    if column in ("high", "low"):
        cols = ["open", "high", "low", "close"]
    elif column in ("bid", "ask"):
        cols = ["bid", "ask"]
    elif column == "time":
        cols = ["time", "symbol"]
    return ", ".join(f"{c}={row[c]}" for c in cols if c in row.index)



# --- other layouts -----------------------------------------------------------------------

_SEPS = (",", ";", "\t", "|")
_SEP_NAMES = {",": "','", ";": "';'", "\t": "TAB", "|": "'|'"}
_TARGETS = TIME_ALIASES + ("symbol",) + FIELDS["bars"] + OPTIONAL["bars"] + FIELDS["quotes"]


# Column names often seen in others' files, for the example a hint gives
_GUESS = {"dt": "time", "ts": "time", "ticker": "symbol", "sym": "symbol", "instrument": "symbol", "o": "open",
          "h": "high", "l": "low", "c": "close", "v": "volume", "vol": "volume", "price": "close", "px": "close",
          "last": "close", "px_last": "close", "bid_price": "bid", "ask_price": "ask", "bid_qty": "bid_size",
          "ask_qty": "ask_size", "adj_close": "close",
          # as European sites and spreadsheets name them (German, French, Spanish, Italian, Portuguese)
          "eröffnung": "open", "eröffn.": "open", "erster": "open", "ouverture": "open", "ouv.": "open",
          "apertura": "open", "abertura": "open", "hoch": "high", "haut": "high", "plus_haut": "high",
          "máximo": "high", "máx.": "high", "massimo": "high", "max": "high", "tief": "low", "bas": "low",
          "plus_bas": "low", "mínimo": "low", "mín.": "low", "minimo": "low", "min": "low", "schluss": "close",
          "schlusskurs": "close", "zuletzt": "close", "letzter": "close", "clôture": "close", "cloture": "close",
          "dernier": "close", "cierre": "close", "último": "close", "ultimo": "close", "chiusura": "close",
          "fechamento": "close", "volumen": "volume", "vol.": "volume", "umsatz": "volume", "volumes": "volume"}


def _as_theirs(raw: pd.DataFrame, theirs: list[str] | None) -> list[str]:
    """The column names as the input has them, where known (else ours)."""
    return theirs if theirs is not None and len(theirs) == len(raw.columns) else [str(c) for c in raw.columns]


def _layout_hint(raw: pd.DataFrame, theirs: list[str] | None) -> str:
    """What to try when the columns name neither bars nor quotes, or no time: a time column
    (found by its values where none is named) and one column of numbers per symbol suggest
    ``wide``; otherwise ``columns``, with an example from the names. ``theirs``: the names as
    the input has them (same order)."""
    columns = [str(c) for c in raw.columns]
    name = dict(zip(columns, _as_theirs(raw, theirs)))
    if len(columns) == 1:  # one column whose name holds the others: read with another delimiter
        split = [sep for sep in _SEPS if sep in name[columns[0]]]
        if split:
            return (f" (one column named {name[columns[0]]!r}: is the delimiter {_SEP_NAMES[split[0]]}? say "
                    f"sep={split[0]!r} (--sep {'tab' if split[0] == chr(9) else shlex.quote(split[0])}), or leave the "
                    "delimiter out to detect it)")
    head = {}  # each name's first values (by position: a frame may repeat a name)
    for i, c in enumerate(columns[:50]):  # (a few columns tell; a file of thousands is not read through)
        head.setdefault(c, raw.iloc[:20, i])
    looked = list(head)
    time_col = "time" if "time" in columns else next(
        (c for c in looked if c not in _TARGETS and _mostly(head[c], _times)), None)
    map_time = [] if time_col in (None, "time") else [f"{name[time_col]}=time"]
    # a column without a name (an index that DataFrame.to_csv wrote): left out
    leave = [f"{name[c]}=" for c in columns if name[c].startswith("Unnamed: ") and c != time_col]
    guessed = [f"{name[c]}={_GUESS[c]}" for c in columns if c in _GUESS and c != time_col and _GUESS[c] not in columns]
    others = [c for c in columns if c != time_col and c not in _TARGETS and not name[c].startswith("Unnamed: ")]
    # pandas reads a repeated name as NAME.1: one symbol's column twice is no wide file
    repeated = sorted({m.group(1) for c in others if (m := re.fullmatch(r"(.+)\.\d+", name[c]))
                       and m.group(1) in {name[o] for o in others}} | {c for c in others if others.count(c) > 1})
    if (time_col and not guessed and others and len(others) == len(columns) - 1 - len(leave)
            and all(_mostly(head[c], _numbers) for c in others if c in looked and head[c].notna().any())
            and any(head[c].notna().any() for c in others if c in looked)):  # (a symbol's first rows may be empty)
        if repeated:
            return f" (one column of prices per symbol? the file names {repeated[0]} twice: give each column its own name)"
        names = ", ".join(name[c] for c in others[:3]) + (", ..." if len(others) > 3 else "")
        told = ",".join(map_time + leave)
        return (f" (one column of prices per symbol ({names})? read it with wide=True, --wide"
                + (f" --columns {shlex.quote(told)}" if told else "") + ")")
    guessed = map_time + leave + guessed
    example = ",".join(guessed) if guessed else "dt=time,ticker=symbol,c=close"
    commas = any(head[c].astype("string").str.fullmatch(r"\s*-?[\d.]*\d,\d+\s*").any() for c in others if c in looked)
    return (f" (say which column is which with columns={{...}}, --columns THEIRS=OURS,...: e.g. --columns "
            f"{shlex.quote(example)}" + ("; and its numbers have decimal commas: --decimal ," if commas else "") + ")")


def _numbers(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").notna()


def _times(text: pd.Series) -> pd.Series:
    """Dates or times, and not numbers (pandas' parser would read "1" as a day of this month)."""
    dated = text.str.contains(r"\d[-/.:]\d", regex=True, na=False) & ~_numbers(text)
    return dated & _to_datetime(text.where(dated), utc=True).notna()


def _mostly(col: pd.Series, test) -> bool:
    """At least half of the column's values pass ``test`` (a bad cell or two is for the rules)."""
    values = col.dropna().astype("string")
    return bool(len(values)) and 2 * int(test(values).sum()) >= len(values)


def _check_layout(columns, sep, decimal, wide) -> dict:
    """The layout options, checked before any reading (a :class:`ConfigError` naming the option)."""
    if columns is not None:
        if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in columns.items()):
            raise ConfigError(f"columns: a mapping of the file's column names to ours, got {columns!r}")
        bad = [v for v in columns.values() if v.strip() and normalize_name(v) not in _TARGETS]
        if bad:
            raise ConfigError(f"columns: {bad[0]!r} is not a column workbench reads; map to one of "
                              f"{', '.join(_TARGETS)}, or to nothing (NAME=) to leave it out")
        targets = [normalize_name(v) for v in columns.values() if v.strip()]
        twice = sorted({t for t in targets if targets.count(t) > 1})
        if twice:
            raise ConfigError(f"columns: two of the file's columns are mapped to {twice[0]!r}")
        columns = dict(columns) or None
    if sep is not None:
        sep = {"tab": "\t", "\\t": "\t"}.get(sep.lower() if isinstance(sep, str) else sep, sep)
        if sep not in _SEPS:
            raise ConfigError(f"sep: {sep!r} is not a delimiter workbench reads; use one of , ; | or tab")
    if decimal not in (".", ","):
        raise ConfigError(f"decimal: {decimal!r}; use '.' or ','")
    if decimal == sep:
        raise ConfigError("decimal: ',' cannot also be the delimiter (sep); European files use sep=';'")
    if not isinstance(wide, bool):
        raise ConfigError(f"wide: True or False, got {wide!r}")
    return {"columns": columns, "sep": sep, "decimal": decimal, "wide": wide}


def _opener(p: Path):
    """``open`` for a plain file, else the opener of its compression (.gz, .bz2, .xz);
    a .zip is pandas' to open."""
    import bz2
    import lzma

    return {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(Path(p.name.lower()).suffix, open)


def _head_lines(p: Path, n: int = 20, numbers: list[int] | None = None) -> list[str]:
    """The first ``n`` non-blank lines of a (possibly compressed) text file (their line
    numbers appended to ``numbers``, if given)."""
    if p.name.lower().endswith(".zip"):
        return []  # read by pandas; the comma is assumed
    out: list[str] = []
    try:
        with _opener(p)(p, "rt", newline="", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    out.append(line)
                    if numbers is not None:
                        numbers.append(number)
                if len(out) >= n:
                    break
    except (OSError, EOFError, zlib.error, _LZMAError):
        return []  # the reader will say what is wrong with the file
    return out


def _detect_sep(p: Path, source: str) -> str:
    """The delimiter of ``p``: the one of ``, ; TAB |`` that splits the header and the first
    lines into the same number of fields, more than one. Hand-written: ``csv.Sniffer``
    guesses from character frequencies and takes a decimal comma for a delimiter."""
    lines = _head_lines(p)
    if not lines:
        return ","
    fits = []
    for sep in _SEPS:
        counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
        if len(counts) == 1 and counts.pop() > 1:
            fits.append(sep)
    if len(fits) > 1:
        raise DataError(f"cannot tell the delimiter: {' and '.join(_SEP_NAMES[f] for f in fits)} both split every "
                        "line into the same number of fields; say which (sep=..., --sep)", file=source, rule="format")
    return fits[0] if fits else ","


def _shaped(raw: pd.DataFrame, source: str, line_label: str, kind: Kind | None, symbol: str | None, tz: str,
            on_error: OnError, layout: dict, notes: list[str], file: bool = False) -> Loaded:
    """:func:`_canonical` after the layout options: renamed columns, a wide file made long,
    a close-only file given its open, high and low."""
    raw = _levels_as_columns(raw, source)
    raw, rows_at = _yfinance(raw, source, notes)
    unnamed = [c for c in raw.columns if str(c).startswith("Unnamed: ") and raw[c].isna().all()]
    if unnamed and len(unnamed) < len(raw.columns):  # a delimiter at the end of every line (a spreadsheet's)
        raw = raw.drop(columns=unnamed)
        notes.append(f"{len(unnamed)} empty column(s) without a name left out (a delimiter at the end of the lines?)")
    if layout["columns"]:
        raw = _map_columns(raw, layout["columns"], source)
    if layout["wide"]:
        raw, rows_at = _melt_wide(raw, source, notes)
    theirs = [str(c).strip() for c in raw.columns]  # (for a hint: the names as the file has them)
    raw = _columns(raw, source, theirs)
    named = dict(zip(raw.columns, _as_theirs(raw, theirs)))  # (before a close-only file gains columns)
    filled = _close_only(raw, notes)
    shaped = raw if filled is None else filled
    return _canonical(shaped, source, line_label, kind, symbol, tz, on_error, notes=notes, rows_at=rows_at,
                      close_only=filled is not None, theirs=[named.get(c, str(c)) for c in shaped.columns], file=file,
                      by_symbol=layout["wide"] and rows_at is not None)


def _yfinance(raw: pd.DataFrame, source: str, notes: list[str]) -> tuple[pd.DataFrame, np.ndarray | None]:
    """A yfinance download written by ``DataFrame.to_csv``: a header line of fields (``Price,
    Close,High,...``), a line of tickers (``Ticker,SPY,...``) and one naming the index
    (``Date``), then one line per time with each ticker's fields. Read as long bars, time by
    time and ticker by ticker, with the line each came from (a ticker's all-empty cells: no
    bar for it then); any other frame as it is (and ``None``)."""
    cols = [str(c).strip() for c in raw.columns]
    heads = (cols[0].lower() if cols else "", str(raw.iloc[0, 0]).strip().lower() if len(raw) else "")
    if not (len(raw) >= 2 and len(cols) >= 2 and heads in (("price", "ticker"), ("ticker", "price"))
            and str(raw.iloc[1, 0]).strip().lower() in ("date", "datetime") and raw.iloc[1, 1:].isna().all()):
        return raw, None
    names = [re.sub(r"\.\d+$", "", c) for c in cols[1:]]  # (pandas numbers a repeated name: Close.1)
    row = [str(t).strip() if pd.notna(t) else "" for t in raw.iloc[0, 1:]]
    fields, tickers = (names, row) if heads[0] == "price" else (row, names)  # (group_by='ticker': tickers first)
    if "" in tickers or "" in fields:
        raise DataError(f"a yfinance download's {'ticker' if '' in tickers else 'field'} line has an empty cell "
                        f"(column {1 + (tickers if '' in tickers else fields).index('') + 1})", file=source,
                        rule="columns")
    pairs = list(zip(fields, tickers))
    twice = next((pair for pair in pairs if pairs.count(pair) > 1), None)
    if twice:
        raise DataError(f"a yfinance download has {twice[0]} of {twice[1]} twice", file=source, rule="columns")
    symbols = list(dict.fromkeys(tickers))
    data = raw.iloc[2:]
    n, k = len(data), len(symbols)
    at = {(f, t): i + 1 for i, (f, t) in enumerate(zip(fields, tickers))}
    long = {str(raw.iloc[1, 0]).strip(): np.repeat(data.iloc[:, 0].to_numpy(dtype=object), k),
            "symbol": np.tile(np.array(symbols, dtype=object), n)}
    for field in dict.fromkeys(fields):
        cells = np.full((n, k), None, dtype=object)
        for j, symbol in enumerate(symbols):
            if (field, symbol) in at:
                cells[:, j] = data.iloc[:, at[(field, symbol)]].to_numpy(dtype=object)
        long[field] = cells.reshape(-1)
    frame = pd.DataFrame(long)
    rows_at = np.repeat(np.arange(2, n + 2), k)  # (raw row 2 is the file's 4th line)
    empty = frame[list(dict.fromkeys(fields))].isna().all(axis=1).to_numpy()
    notes.append(f"yfinance download: {k} ticker(s) ({', '.join(symbols[:5])}{', ...' if k > 5 else ''}) read as bars")
    lacking = [f"{symbol} has no {field}" for field in dict.fromkeys(fields) for symbol in symbols
               if (field, symbol) not in at]
    if lacking:
        notes.append("yfinance download: " + "; ".join(lacking[:5]) + ("; ..." if len(lacking) > 5 else ""))
    if empty.any():
        notes.append(f"yfinance download: {int(empty.sum()):,} time(s) of a ticker with no prices skipped")
        frame, rows_at = frame[~empty].reset_index(drop=True), rows_at[~empty]
    return frame, rows_at


def _map_columns(raw: pd.DataFrame, mapping: dict[str, str], source: str) -> pd.DataFrame:
    """The file's columns renamed by ``mapping`` (a name matched exactly, else trimmed and
    case-insensitively); a mapped name the file lacks is an error listing its columns."""
    names = [str(c) for c in raw.columns]
    if raw.index.name is not None:
        names.append(str(raw.index.name))
    rename, index_name, leave = {}, None, []
    for key, target in mapping.items():
        found = key if key in names else next((c for c in names if c.strip().lower() == key.strip().lower()), None)
        if found is None:
            raise DataError(f"columns: {key!r} is not a column of the file; its columns are {names}", file=source,
                            column=key, rule="columns")
        if not target.strip():  # NAME= : a column not read
            leave += [c for c in raw.columns if str(c) == found]
            continue
        if found == (str(raw.index.name) if raw.index.name is not None else None) and found not in raw.columns:
            index_name = normalize_name(target)
        else:
            rename[found] = normalize_name(target)
    raw = raw.drop(columns=leave).rename(columns=rename)
    if index_name is not None:
        raw = raw.rename_axis(index_name)
    return raw


def _melt_wide(raw: pd.DataFrame, source: str, notes: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """A wide frame (a time column and one column of closes per symbol) as long close-only
    rows, time by time and symbol by symbol in column order; and the file row of each."""
    if not any(normalize_name(c) in TIME_ALIASES for c in raw.columns) and (
            isinstance(raw.index, pd.DatetimeIndex) or normalize_name(raw.index.name or "") in TIME_ALIASES):
        raw = raw.reset_index(names="time")
    times = [c for c in raw.columns if normalize_name(c) in TIME_ALIASES]
    if len(times) != 1:
        raise DataError(f"a wide file needs one time column (time, date, datetime or timestamp) and one column per "
                        f"symbol; columns are {[str(c) for c in raw.columns]}", file=source, rule="columns")
    symbols = [c for c in raw.columns if c != times[0]]
    names = [str(c).strip() for c in symbols]
    ours = [n for n in names if normalize_name(n) in _TARGETS]
    if ours:
        raise DataError(f"a wide file has a column of closes per symbol, but this one has {', '.join(ours)}: "
                        "a long file (read it without wide / --wide)", file=source, column=ours[0], rule="columns")
    bad = [n for n in names if not n or n.startswith("Unnamed:")
           or (re.fullmatch(r"(.+)\.\d+", n) and re.fullmatch(r"(.+)\.\d+", n).group(1) in names)]
    if bad:
        raise DataError(f"a wide file's symbol columns need distinct names; {bad[0]!r} is empty or a repeated name",
                        file=source, column=bad[0], rule="columns")
    if not symbols:
        raise DataError("a wide file needs a column of closes per symbol beside its time column", file=source,
                        rule="columns")
    n, k = len(raw), len(symbols)
    closes = raw[symbols].to_numpy(dtype=object).reshape(-1)
    long = pd.DataFrame({"time": np.repeat(raw[times[0]].to_numpy(dtype=object), k),
                         "symbol": np.tile(np.array([str(c).strip() for c in symbols], dtype=object), n),
                         "close": closes})
    rows_at = np.repeat(np.arange(n), k)
    empty = pd.isna(closes) | np.array([isinstance(v, str) and not v.strip() for v in closes], dtype=bool)
    notes.append(f"wide file: {k} symbol column(s) read as close-only bars")
    if empty.any():
        notes.append(f"wide file: {int(empty.sum()):,} empty cell(s) skipped (no bar for that symbol then)")
        long, rows_at = long[~empty].reset_index(drop=True), rows_at[~empty]
    return long, rows_at


def _close_only(raw: pd.DataFrame, notes: list[str]) -> pd.DataFrame | None:
    """A bars frame with a close but no open, high or low: those set to the close (and a
    volume of 0 when it has none), said in ``notes``; ``None`` for any other frame (a full
    OHLC frame without a volume is given a volume of 0 in place, said)."""
    cols = set(raw.columns)

    def volume() -> np.ndarray:  # 0, but a blank line stays blank (skipped); an empty close is the close's alone
        return np.where(raw.isna().all(axis=1).to_numpy(), np.nan, 0.0)

    if {"open", "high", "low", "close"} <= cols and "volume" not in cols and not cols & {"bid", "ask"}:
        raw["volume"] = volume()
        notes.append("no volume column: volume set to 0")
        return None
    if "close" not in cols or cols & {"open", "high", "low", "bid", "ask"}:
        return None
    close = raw["close"]
    zero = volume() if "volume" not in cols else None  # (of the file's own columns)
    raw = raw.assign(open=close, high=close, low=close)
    filled = "open, high and low set to the close"
    if zero is not None:
        raw = raw.assign(volume=zero)
        filled += ", volume to 0"
    notes.append(f"close-only prices: {filled}")
    return raw


# --- cache -------------------------------------------------------------------------------


def _cache_key(p: Path, **options) -> str:
    digest = sha256_file(p)
    # A cached entry is the output of feed/ (parsing, schema, validation and the report) and
    # of the errors and value objects it uses; any change to that source is a new key, so
    # entries written by older code are never served.
    code = code_hash("feed", "errors.py", "model.py")
    opts = canonical_json({**options, "workbench": __version__, "code": code, "pandas": pd.__version__})
    return sha256_bytes(f"{digest}:{opts}")[:32]


def _cache_get(directory: Path, key: str, source: str) -> Loaded | None:
    data, meta = directory / f"{key}.parquet", directory / f"{key}.json"
    if not (data.is_file() and meta.is_file()):
        return None
    try:
        frame = pd.read_parquet(data)
        info = json.loads(meta.read_text())
    except Exception:  # a damaged cache entry is a miss, not an error
        return None
    report = QualityReport.from_dict(info)
    report.source = source
    return Loaded(frame, report, from_cache=True)


def _cache_put(directory: Path, key: str, loaded: Loaded) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    # Write to temporary names and rename, so a crash never leaves half an entry.
    for suffix, write in (
        (".parquet", lambda f: loaded.frame.to_parquet(f)),
        (".json", lambda f: f.write(json.dumps(loaded.report.to_dict()).encode())),
    ):
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.replace(tmp, directory / f"{key}{suffix}")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
