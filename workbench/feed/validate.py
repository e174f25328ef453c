"""Data-quality rules for bars and quotes, vectorized over whole frames.

Rules (the names appear in ``DataError.rule`` and in quality reports):

=================== ======= ===========================================================
rule                applies meaning
=================== ======= ===========================================================
missing_value       both    a required field is empty
time_parse          both    the timestamp cannot be parsed
number_parse        both    a numeric field is not a number
price_finite        both    a price is NaN or infinite
price_positive      both    a price is zero or negative
volume_nonneg       bars    volume is negative or not finite
size_nonneg         quotes  a size is negative or not finite
high_ge_open_close  bars    high < max(open, close)
low_le_open_close   bars    low > min(open, close)
bid_le_ask          quotes  bid > ask (a crossed quote)
duplicate_time      bars    the same symbol has an earlier bar at the same time
time_order          both    time is earlier than an earlier row of the same symbol
=================== ======= ===========================================================

Bar times must be strictly increasing per symbol; quote times non-decreasing per symbol
(several quotes may share a timestamp; replay keeps their file order). The order rules
compare each row with the latest time seen before it for its symbol (a running maximum),
so dropping the rows they flag always leaves a correctly ordered frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.feed.schema import Kind

FIRST_LINES = 5  # offending lines listed per rule in a report

RULES: dict[str, str] = {
    "missing_value": "required field is empty",
    "time_parse": "timestamp cannot be parsed",
    "number_parse": "value is not a number",
    "price_finite": "price is NaN or infinite",
    "price_positive": "price must be > 0",
    "volume_nonneg": "volume must be finite and >= 0",
    "size_nonneg": "size must be finite and >= 0",
    "high_ge_open_close": "high must be >= max(open, close)",
    "low_le_open_close": "low must be <= min(open, close)",
    "bid_le_ask": "bid must be <= ask",
    "duplicate_time": "duplicate time for the symbol (bar times must strictly increase)",
    "time_order": "time goes backwards for the symbol",
}


@dataclass
class RuleResult:
    """How many rows broke one rule in one column, and the first few line numbers."""

    rule: str
    column: str
    count: int
    first_lines: list[int]

    @property
    def description(self) -> str:
        return RULES[self.rule]


@dataclass
class QualityReport:
    """The outcome of validating one input: counts per rule and first offending lines.

    ``line_label`` is ``"line"`` for CSV files (physical line, header = 1) and ``"row"``
    (1-based) for Parquet files and frames.
    """

    source: str
    kind: Kind
    rows: int
    bad_rows: int = 0
    violations: list[RuleResult] = field(default_factory=list)
    line_label: str = "line"
    symbols: list[str] = field(default_factory=list)
    first_time: pd.Timestamp | None = None
    last_time: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)  # how the file was read: a detected delimiter, a close-only layout
    hint: str = ""  # what the first bad row suggests (a decimal comma?), as its error would say it
    wide: bool = False  # rows are lines, each a bar per symbol (a wide file, a yfinance download)

    @property
    def ok(self) -> bool:
        """True when no row broke any rule."""
        return self.bad_rows == 0

    def counts(self) -> dict[str, int]:
        """Rows flagged per rule (a row breaking a rule in two columns counts twice)."""
        out: dict[str, int] = {}
        for v in self.violations:
            out[v.rule] = out.get(v.rule, 0) + v.count
        return out

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "source": self.source,
            "kind": self.kind,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "ok": self.ok,
            "symbols": list(self.symbols),
            "first_time": None if self.first_time is None else self.first_time.isoformat(),
            "last_time": None if self.last_time is None else self.last_time.isoformat(),
            "line_label": self.line_label,
            "notes": list(self.notes),
            "hint": self.hint,
            "wide": self.wide,
            "violations": [
                {
                    "rule": v.rule,
                    "column": v.column,
                    "count": v.count,
                    "first_lines": v.first_lines,
                    "description": v.description,
                }
                for v in self.violations
            ],
        }

    @classmethod
    def from_dict(cls, d: dict) -> QualityReport:
        """Inverse of :meth:`to_dict`."""
        return cls(
            source=d["source"],
            kind=d["kind"],
            rows=d["rows"],
            bad_rows=d["bad_rows"],
            violations=[
                RuleResult(v["rule"], v["column"], v["count"], list(v["first_lines"]))
                for v in d["violations"]
            ],
            line_label=d["line_label"],
            notes=list(d.get("notes", [])),
            hint=d.get("hint", ""),
            wide=bool(d.get("wide", False)),
            symbols=list(d["symbols"]),
            first_time=None if d["first_time"] is None else pd.Timestamp(d["first_time"]),
            last_time=None if d["last_time"] is None else pd.Timestamp(d["last_time"]),
        )

    def __str__(self) -> str:
        head = (
            f"{self.source}: {self.kind}, {self.rows:,} rows, {len(self.symbols)} symbol(s)"
            + (f", {self.first_time} .. {self.last_time}" if self.first_time is not None else "")
        )
        head += "".join(f"\nnote: {n}" for n in self.notes)
        head += f"\nhint: {self.hint}" if self.hint else ""
        if self.ok:
            return head + "\nOK: no rule broken"
        lines = [head, f"ERRORS: {self.bad_rows:,} bad row(s)"]
        lines.append(f"  {'rule':<20} {'column':<10} {'rows':>8}  first {self.line_label}s")
        for v in self.violations:
            first = ", ".join(str(n) for n in v.first_lines)
            lines.append(f"  {v.rule:<20} {v.column:<10} {v.count:>8,}  {first}")
        return "\n".join(lines)


class Findings:
    """Accumulates boolean masks of broken rules over the rows of one frame."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.masks: list[tuple[str, str, np.ndarray]] = []

    def add(self, rule: str, column: str, mask: np.ndarray) -> None:
        if rule not in RULES:  # a programming error, not a data error
            raise KeyError(rule)
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.masks.append((rule, column, mask))

    def bad(self) -> np.ndarray | None:
        """Rows that broke at least one rule; ``None`` when none did."""
        if not self.masks:
            return None
        out = np.zeros(self.n, dtype=bool)
        for _, _, m in self.masks:
            out |= m
        return out

    def first(self, at: np.ndarray | None = None) -> tuple[str, str, int] | None:
        """(rule, column, row position) of the earliest offending row in the input: the row
        of the smallest ``at`` (each row's place in the input, where rows are not in its
        order: a file read from its last line), else the first row."""
        best: tuple[str, str, int] | None = None
        for rule, column, m in self.masks:
            if at is None:
                pos = int(np.argmax(m))
            else:
                rows = np.flatnonzero(m)  # (never empty: add keeps only masks with a row)
                pos = int(rows[np.argmin(at[rows])])
            if best is None or (pos < best[2] if at is None else at[pos] < at[best[2]]):
                best = (rule, column, pos)
        return best

    def results(self, line_of, lines: np.ndarray | None = None, at: np.ndarray | None = None) -> list[RuleResult]:
        """Each rule's count and first lines. ``lines``: the input line of each row where a
        line holds several rows (a wide file: a bar per symbol); rules then count lines.
        ``at``: each row's place in the input where rows are not in its order (:meth:`first`)."""
        out = []
        for rule, column, m in self.masks:
            idx = np.flatnonzero(m)
            if lines is not None:  # the first row of each line (in the order of the lines)
                idx = idx[np.unique(lines[idx], return_index=True)[1]]
            elif at is not None:
                idx = idx[np.argsort(at[idx], kind="stable")]
            out.append(
                RuleResult(rule, column, int(idx.size), [line_of(int(i)) for i in idx[:FIRST_LINES]])
            )
        return out


def check_values(frame: pd.DataFrame, kind: Kind, findings: Findings, skip: np.ndarray,
                 bounds: dict[str, tuple[float, float]] | None = None, clean: frozenset[str] = frozenset()) -> None:
    """Value rules on a frame whose data columns are float64 (NaN where unparseable).

    ``skip`` marks rows already flagged as missing or unparseable, so a row is not
    counted twice for one bad cell. ``bounds`` holds columns' (min, max) where already
    known (NaN where a value is NaN); ``clean``, the pair rules already known to hold on
    every row (their masks are not built).
    """
    bounds = bounds or {}
    if kind == "bars":
        prices = ("open", "high", "low", "close")
        sizes: tuple[str, ...] = ("volume",)
        size_rule = "volume_nonneg"
    else:
        prices = ("bid", "ask")
        sizes = ("bid_size", "ask_size")
        size_rule = "size_nonneg"
    arrays = {c: frame[c].to_numpy(dtype=np.float64, copy=False) for c in prices + sizes}
    # Each column is first checked in one pass; the masks per rule are only built for a
    # column that has a bad value (the common, clean case stays cheap on large files).
    with np.errstate(invalid="ignore"):
        for c in prices:
            a = arrays[c]
            lo, hi = bounds.get(c) or ((a.min(), a.max()) if a.size else (1.0, 1.0))
            if a.size == 0 or (lo > 0 and hi < np.inf):  # NaN fails both
                continue
            finite = np.isfinite(a)
            findings.add("price_finite", c, ~finite & ~skip)
            findings.add("price_positive", c, finite & (a <= 0))
        for c in sizes:
            a = arrays[c]
            lo, hi = bounds.get(c) or ((a.min(), a.max()) if a.size else (0.0, 0.0))
            if a.size == 0 or (lo >= 0 and hi < np.inf):
                continue
            ok = (a >= 0) & (a < np.inf)  # NaN compares False
            findings.add(size_rule, c, ~ok & ~skip)
        if kind == "bars":
            o, h, lo, c = arrays["open"], arrays["high"], arrays["low"], arrays["close"]
            if "high_ge_open_close" not in clean:
                findings.add("high_ge_open_close", "high", h < np.maximum(o, c))
            if "low_le_open_close" not in clean:
                findings.add("low_le_open_close", "low", lo > np.minimum(o, c))
        elif "bid_le_ask" not in clean:
            findings.add("bid_le_ask", "bid", arrays["bid"] > arrays["ask"])


def check_order(
    times: np.ndarray,
    symbols: pd.Series,
    kind: Kind,
    findings: Findings,
    valid: np.ndarray | None = None,
    ordered: bool | None = None,
) -> None:
    """Per-symbol time-order rules over rows marked ``valid`` (all rows if ``None``),
    with int64 ns times; ``ordered``: whether all the times are known never to decrease
    (``None``: not known).

    Each row is compared with the running maximum of the earlier valid rows of its symbol.
    """
    n = times.size
    if valid is None:
        idx, t = None, times
    else:
        idx = np.flatnonzero(valid)
        t = times[idx]
    if t.size < 2:
        return
    # Fast path: globally non-decreasing times imply per-symbol non-decreasing times.
    globally_sorted = ordered or bool(np.all(t[1:] >= t[:-1]))  # (the rows of times in order are in order)
    if globally_sorted and kind == "quotes":
        return
    codes = pd.factorize(symbols)[0]
    if idx is not None:
        codes = codes[idx]
    if globally_sorted:
        # Only ties can break strict order: look for a repeated (time, symbol) pair, by one
        # int64 key (the time's rank among the sorted times, then the symbol) in a stable
        # sort: each repeat after the first is marked, as DataFrame.duplicated marks them,
        # with temporaries of two int64 arrays (the frame's hash table took four times that).
        key = np.zeros(t.size, dtype=np.int64)
        np.cumsum(t[1:] != t[:-1], out=key[1:])
        key *= int(codes.max()) + 2
        key += codes + 1  # a missing symbol (-1) is a symbol of its own, as in duplicated()
        order = np.argsort(key, kind="stable")
        ranked = key[order]
        dup = np.zeros(t.size, dtype=bool)
        dup[order[1:][ranked[1:] == ranked[:-1]]] = True
        findings.add("duplicate_time", "time", _scatter(n, idx, dup))
        return
    # Running maximum per symbol, then each row's predecessor in its symbol's sequence.
    cummax = pd.Series(t).groupby(codes, sort=False).cummax().to_numpy()
    order = np.argsort(codes, kind="stable")
    c_sorted, t_sorted, m_sorted = codes[order], t[order], cummax[order]
    has_prev = np.zeros(t.size, dtype=bool)
    has_prev[1:] = c_sorted[1:] == c_sorted[:-1]
    prev = np.zeros_like(m_sorted)
    prev[1:] = m_sorted[:-1]
    back = np.zeros(t.size, dtype=bool)
    back[order] = has_prev & (t_sorted < prev)
    findings.add("time_order", "time", _scatter(n, idx, back))
    if kind == "bars":
        same = np.zeros(t.size, dtype=bool)
        same[order] = has_prev & (t_sorted == prev)
        findings.add("duplicate_time", "time", _scatter(n, idx, same))


def _scatter(n: int, idx: np.ndarray | None, sub_mask: np.ndarray) -> np.ndarray:
    """A length-``n`` mask that is ``sub_mask`` at positions ``idx`` (all if ``None``)."""
    if idx is None:
        return sub_mask
    out = np.zeros(n, dtype=bool)
    out[idx[sub_mask]] = True
    return out
