"""Column schema of market-data frames, shared by files, validation, datasets and replay.

A *canonical frame* is a ``pandas.DataFrame`` indexed by ``time`` (``datetime64[ns, UTC]``,
not necessarily unique when several symbols share it), with a ``symbol`` column and
``float64`` data columns: ``open, high, low, close, volume`` (and optionally ``adj_close``)
for bars, or ``bid, ask, bid_size, ask_size`` for quotes. Rows keep file order; times
increase per symbol.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from workbench.errors import DataError

Kind = Literal["bars", "quotes"]

BAR_FIELDS = ("open", "high", "low", "close", "volume")
BAR_OPTIONAL = ("adj_close",)
QUOTE_FIELDS = ("bid", "ask", "bid_size", "ask_size")

FIELDS: dict[str, tuple[str, ...]] = {"bars": BAR_FIELDS, "quotes": QUOTE_FIELDS}
OPTIONAL: dict[str, tuple[str, ...]] = {"bars": BAR_OPTIONAL, "quotes": ()}

# Other spellings of the time column seen in the wild (Yahoo's "Date", vendors' "timestamp").
TIME_ALIASES = ("time", "date", "datetime", "timestamp")


def normalize_name(name: object) -> str:
    """'Adj Close' -> 'adj_close': lower case, trimmed, spaces and dashes to underscores."""
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def detect_kind(columns: list[str], *, source: str) -> Kind:
    """Tell bars from quotes by their columns (already normalized)."""
    cols = set(columns)
    if {"bid", "ask"} & cols:
        return "quotes"
    if {"open", "high", "low", "close"} & cols:
        return "bars"
    raise DataError(
        f"cannot tell bars from quotes; columns are {sorted(cols)}; expected "
        f"time,symbol,{','.join(BAR_FIELDS)} or time,symbol,{','.join(QUOTE_FIELDS)}",
        file=source,
        rule="columns",
    )


def kind_of(frame: pd.DataFrame) -> Kind:
    """The kind of a canonical frame."""
    return detect_kind(list(frame.columns), source="<frame>")
