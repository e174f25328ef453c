"""The ``workbench`` command: a thin layer over the package's public functions.

Errors print one line (``workbench: error: ...``) and exit 2 (1 where a command defines a
failure outcome, such as ``data validate`` finding bad rows); ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from workbench import __version__
from workbench.errors import DataError, WorkbenchError
from workbench.feed import datasets, files, synthetic


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (WorkbenchError, ValueError, TypeError, OSError) as exc:
        if args.debug:
            raise
        print(f"workbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Research and operations workbench for market integration.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    data = sub.add_parser("data", help="market data: list, show, validate, synthesize", parents=[common])
    dsub = data.add_subparsers(title="data commands", metavar="ACTION")

    p = dsub.add_parser("list", help="bundled datasets with symbol, rows, first and last time", parents=[common])
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_data_list)

    p = dsub.add_parser("show", help="the first rows of a dataset or file", parents=[common])
    p.add_argument("name", help="dataset name (see `workbench data list`) or a CSV/Parquet file")
    p.add_argument("--head", type=_positive_int, default=10, metavar="N", help="rows to show (10)")
    p.add_argument("--tz", default="UTC", help="timezone of naive file timestamps (UTC)")
    p.set_defaults(func=_data_show)

    p = dsub.add_parser(
        "validate",
        help="check a file (or dataset) against the data rules; exit 1 on errors",
        parents=[common],
    )
    p.add_argument("file", help="a CSV/Parquet file of bars or quotes, or a dataset name")
    p.add_argument("--kind", choices=["bars", "quotes"], help="expected kind (detected otherwise)")
    p.add_argument("--symbol", help="symbol of a single-symbol file without a symbol column")
    p.add_argument("--tz", default="UTC", help="timezone of naive timestamps (UTC)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_data_validate)

    p = dsub.add_parser("synth", help="write seeded synthetic quotes or bars to Parquet", parents=[common])
    p.add_argument("--symbols", type=_positive_int, default=3, help="number of symbols (3)")
    p.add_argument("--days", type=_positive_int, default=1, help="trading days (1)")
    p.add_argument("--freq", default="1s", help="step: quotes every FREQ, or the bar length (1s)")
    p.add_argument("--kind", choices=["quotes", "bars"], default="quotes", help="what to write (quotes)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--out", required=True, type=Path, help="output file, .parquet or .csv")
    p.set_defaults(func=_data_synth)

    p = sub.add_parser("selftest", help="run every component's self-test; exit 1 on a failure", parents=[common])
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=_selftest)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _data_list(args: argparse.Namespace) -> int:
    rows = []
    for name, ds in datasets.DATASETS.items():
        frame = datasets.load_dataset(name)
        rows.append(
            {
                "name": name,
                "symbol": ds.symbol,
                "rows": len(frame),
                "first": str(frame.index[0].date()),
                "last": str(frame.index[-1].date()),
                "description": ds.description,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(pd.DataFrame(rows).to_string(index=False))
    return 0


def _load_any(name: str, **options) -> files.Loaded:
    """A dataset by name, or else a file."""
    if name in datasets.DATASETS and not Path(name).exists():
        frame = datasets.load_dataset_bars(name)
        return files.validate_frame(frame, source=f"dataset {name}", on_error="drop")
    return files.load_file(name, **options)


def _data_show(args: argparse.Namespace) -> int:
    loaded = _load_any(args.name, tz=args.tz)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(loaded.frame.head(args.head).to_string())
    print(f"[{len(loaded.frame):,} rows x {loaded.frame.shape[1]} columns]")
    return 0


def _data_validate(args: argparse.Namespace) -> int:
    options = {"on_error": "drop", "tz": args.tz, "kind": args.kind, "symbol": args.symbol}
    try:
        report = _load_any(args.file, cache=False, **options).report
    except DataError as exc:
        # The whole file is unusable (unreadable, empty, wrong columns): that is a finding.
        if args.json:
            print(json.dumps({"source": args.file, "ok": False, "error": str(exc), "rule": exc.rule}))
        else:
            print(f"{args.file}: INVALID: {exc}")
        return 1
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1


def _data_synth(args: argparse.Namespace) -> int:
    market = synthetic.SyntheticMarket(symbols=args.symbols, seed=args.seed)
    show = sys.stderr.isatty()
    if args.kind == "quotes":
        frame = market.quotes(args.days, args.freq, progress=show)
    else:
        frame = market.bars(args.days, args.freq, progress=show)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.name.lower().endswith(files.PARQUET_SUFFIXES):
        frame.to_parquet(out)
    elif out.name.lower().endswith(files.CSV_SUFFIXES):
        frame.to_csv(out)
    else:
        raise ValueError(f"--out: use a .parquet or .csv file name, got {out}")
    first, last = frame.index[0], frame.index[-1]
    print(f"wrote {len(frame):,} {args.kind} for {args.symbols} symbol(s), {first} .. {last}, to {out}")
    return 0


def _components() -> list:
    """One instance of every component that exists so far."""
    from workbench.broker import SimulatedBroker
    from workbench.feed import Feed

    return [Feed(), SimulatedBroker()]


def _selftest(args: argparse.Namespace) -> int:
    results = [r for component in _components() for r in component.self_test()]
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for r in results:
            status = "PASS" if r.passed else "FAIL"
            detail = r.detail.splitlines()[0] if r.detail else ""
            print(f"{status}  {r.component:<8} {r.name:<26} {r.duration_s * 1000:8.1f} ms  {detail}")
        failed = sum(not r.passed for r in results)
        print(f"{len(results) - failed} passed, {failed} failed")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
