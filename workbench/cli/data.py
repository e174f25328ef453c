"""``workbench data list|show|validate|synth``: the bundled datasets, files and synthetic data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.cli.common import (
    add_layout_options,
    duration,
    interactive,
    layout_options,
    positive_int,
    print_json,
    with_actions,
)
from workbench.errors import ConfigError, DataError
from workbench.feed import SyntheticMarket, catalog, load, write_frame
from workbench.feed.sources import dropped_note, output_format
from workbench.feed.synthetic import SESSION_SECONDS
from workbench.paths import check_writable


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    actions = with_actions(sub, "data", "market data: list, show, validate, synthesize", common, "data commands")

    p = actions.add_parser("list", help="bundled datasets with symbol, rows, first and last time", parents=[common])
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=data_list)

    p = actions.add_parser("show", help="the first rows of a dataset or file", parents=[common])
    p.add_argument("name", help="dataset name (see `workbench data list`) or a CSV/Parquet file")
    p.add_argument("--head", type=positive_int, default=10, metavar="N", help="rows to show (10)")
    add_layout_options(p)
    p.set_defaults(func=data_show)

    p = actions.add_parser("validate", help="check a file (or dataset) against the data rules; exit 1 on errors",
                           parents=[common])
    p.add_argument("file", help="a CSV/Parquet file of bars or quotes, or a dataset name")
    p.add_argument("--kind", choices=["bars", "quotes"], help="expected kind (detected otherwise)")
    p.add_argument("--symbol", help="symbol of a single-symbol file without a symbol column")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--calendar", metavar="NAME", help="also count the bars outside this exchange's sessions (XNYS)")
    add_layout_options(p)
    p.set_defaults(func=data_validate)

    p = actions.add_parser("synth", help="write seeded synthetic quotes or bars to Parquet", parents=[common])
    p.add_argument("--symbols", type=positive_int, default=3, help="number of symbols (3)")
    p.add_argument("--days", type=positive_int, default=1, help="trading days (1)")
    p.add_argument("--freq", type=duration, default=1.0, help="step: quotes every FREQ, or the bar length: 1s, 5m, "
                   "1h, 1d (1s)")
    p.add_argument("--kind", choices=["quotes", "bars"], default="quotes", help="what to write (quotes)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--out", required=True, type=Path, help="output file, .parquet or .csv")
    p.set_defaults(func=data_synth)


def data_list(args: argparse.Namespace) -> int:
    table = catalog()
    if args.json:
        print_json(table.to_dict(orient="records"))
    else:
        print(table.to_string(index=False))
    return 0


def data_show(args: argparse.Namespace) -> int:
    """The first good rows; a file's bad rows are left out and counted in a warning (a file
    is often shown because something is wrong with it; `data validate` is the check)."""
    loaded = load(args.name, on_error="drop", **layout_options(args))
    frame, report = loaded.frame, loaded.report
    for note in report.notes:
        print(f"note: {note}")
    if report.hint:
        print(f"hint: {report.hint}")
    if frame.empty:
        print(f"[no good rows: all {report.rows:,} {report.line_label}s are bad]")
    else:
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            print(frame.head(args.head).to_string())
        print(f"[{len(frame):,} rows x {frame.shape[1]} columns]")
    if report.bad_rows:
        print(f"warning: {dropped_note(args.name, report, layout_options(args))}", file=sys.stderr)
    return 0


def data_validate(args: argparse.Namespace) -> int:
    try:
        report = load(args.file, on_error="drop", cache=False, kind=args.kind, symbol=args.symbol,
                      progress=interactive(), **layout_options(args)).report
    except DataError as exc:  # the whole file is unusable (unreadable, empty, wrong columns): a finding
        if args.json:
            print_json({"source": args.file, "ok": False, "error": str(exc), "rule": exc.rule})
        else:
            print(f"{args.file}: INVALID: {exc}")
        return 1
    if args.calendar and report.kind == "bars":
        from workbench import calendars

        frame = load(args.file, kind=args.kind, symbol=args.symbol, on_error="drop", cache=False,
                     **layout_options(args)).frame
        off = calendars.outside(pd.DatetimeIndex(frame.index), calendars.check(args.calendar, "--calendar"))
        report.notes.append(f"{int(off.sum()):,} bar(s) outside {args.calendar} sessions"
                            + (f" (the first at {frame.index[int(np.flatnonzero(off)[0])]})" if off.any() else ""))
    if args.json:
        print_json(report.to_dict())
    else:
        print(report)
    return 0 if report.ok else 1


MAX_SYNTH_ROWS = 200_000_000  # ~10 GB of quotes in memory: a larger request is refused, not attempted


def data_synth(args: argparse.Namespace) -> int:
    per_day = max(1, int(SESSION_SECONDS // args.freq))
    rows = args.symbols * args.days * per_day
    if rows > MAX_SYNTH_ROWS:
        raise ConfigError(f"data synth: {args.symbols:,} symbols x {args.days:,} days x {per_day:,} steps a day = "
                          f"{rows:,} rows, over the {MAX_SYNTH_ROWS:,} this command makes at once (fewer "
                          "--symbols or --days, or a longer --freq)")
    output_format(args.out)  # a bad name or folder is refused before the data is made
    check_writable(args.out.parent)
    market = SyntheticMarket(symbols=args.symbols, seed=args.seed)
    make = market.quotes if args.kind == "quotes" else market.bars
    frame = make(args.days, args.freq, progress=interactive())
    out = write_frame(frame, args.out)
    print(f"wrote {len(frame):,} {args.kind} for {args.symbols} symbol(s), {frame.index[0]} .. {frame.index[-1]}, "
          f"to {out}")
    return 0
