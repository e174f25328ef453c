"""What several command groups share: argument types and the KEY=VALUE parser."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workbench.errors import ConfigError
from workbench.jsonsafe import jsonable


def add_strategy_argument(p: argparse.ArgumentParser) -> None:
    """The strategy a command runs: a built-in name, or a user's class (positional or
    ``--strategy-file path/to/file.py:Class``, also ``module:Class``)."""
    from workbench.strategies import STRATEGIES

    p.add_argument("strategy", nargs="?", help=f"strategy name ({', '.join(STRATEGIES)}) or a class of your own: "
                   "path/to/file.py:Class or module:Class")
    p.add_argument("--strategy-file", metavar="FILE.py:CLASS",
                   help="a strategy class of your own (`workbench new strategy NAME` writes one to start from)")


def strategy_of(args: argparse.Namespace) -> str:
    """The strategy named on the command line (one of the positional and --strategy-file)."""
    given, file = getattr(args, "strategy", None), getattr(args, "strategy_file", None)
    if given and file:
        raise ConfigError(f"give a strategy name or --strategy-file, not both ({given!r} and {file!r})")
    if not (given or file):
        raise ConfigError("no strategy: give its name (e.g. sma_cross) or --strategy-file path/to/file.py:Class")
    if file and ":" not in file:
        raise ConfigError(f"--strategy-file {file}: add the class, as {file}:ClassName")
    return file or given


def add_market_options(p: argparse.ArgumentParser) -> None:
    """What a run trades on and with, the same for backtest, paper and optimize: --data,
    --symbols, --cash, --commission, --slippage, --account."""
    from workbench.broker.costs import COMMISSION_FORMS, SLIPPAGE_FORMS, forms_help

    p.add_argument("--data", action="append", required=True, metavar="DATASET_OR_FILE",
                   help="bundled dataset name or CSV/Parquet file; repeat or comma-separate for more")
    p.add_argument("--symbols", nargs="+", metavar="SYMBOL", help="only these symbols")
    p.add_argument("--cash", type=float, default=1_000_000.0, help="starting cash (1,000,000)")
    p.add_argument("--commission", default="none", help=f"{forms_help(COMMISSION_FORMS)} (none)")
    p.add_argument("--slippage", default="none", help=f"{forms_help(SLIPPAGE_FORMS)} (none)")
    p.add_argument("--account", choices=["cash", "margin"], default="cash", help="account type (cash)")
    add_layout_options(p)
    p.add_argument("--on-error", choices=["raise", "drop"], default="raise",
                   help="a file's bad rows: refuse the file (raise), or leave them out, with a warning that counts "
                   "them by rule (drop; `workbench data validate FILE` lists them)")


def add_layout_options(p: argparse.ArgumentParser) -> None:
    """How to read a user's own files: --columns, --sep, --decimal, --wide, --tz (workbench.feed.files)."""
    p.add_argument("--columns", metavar="THEIRS=OURS,...",
                   help="the file's column names to ours, e.g. dt=time,ticker=symbol,o=open,c=close")
    p.add_argument("--sep", metavar="SEP", help="the CSV delimiter: , ; | or tab (detected when not given)")
    p.add_argument("--decimal", choices=[".", ","], default=".", help="the decimal mark (.)")
    p.add_argument("--wide", action="store_true", help="one column of closes per symbol (time,SPY,QQQ)")
    p.add_argument("--tz", type=timezone, default="UTC",
                   help="the time zone of a file's times without an offset, e.g. America/New_York (UTC)")


def layout_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`workbench.feed.load_file` options of --columns, --sep, --decimal, --wide, --tz
    (and --on-error where the command has it)."""
    out: dict[str, Any] = {}
    if getattr(args, "columns", None):
        out["columns"] = key_values([c for c in args.columns.split(",") if c.strip()], "--columns")
    if getattr(args, "sep", None) is not None:
        out["sep"] = args.sep
    if getattr(args, "decimal", ".") != ".":
        out["decimal"] = args.decimal
    if getattr(args, "wide", False):
        out["wide"] = True
    tz = getattr(args, "tz", "UTC")
    if out:
        from workbench.feed.files import _check_layout

        try:
            _check_layout(out.get("columns"), out.get("sep"), out.get("decimal", "."), out.get("wide", False))
        except ConfigError as exc:
            raise ConfigError(f"--{exc}") from None
    if tz != "UTC":
        out["tz"] = tz
    if getattr(args, "on_error", "raise") == "drop":
        out["on_error"] = "drop"
    return out


def with_actions(sub, name: str, help: str, common: argparse.ArgumentParser, title: str):
    """A command group (``workbench data ...``): its parser, whose help shows when no action
    is given, and the subparsers its actions are added to."""
    group = sub.add_parser(name, help=help, parents=[common])

    def show_help(args: argparse.Namespace) -> int:
        group.print_help()
        return 2

    group.set_defaults(func=show_help)
    return group.add_subparsers(title=title, metavar="ACTION")


def positive_int(text: str) -> int:
    """An argument type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def port(text: str) -> int:
    """An argument type: a TCP port, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, got {value}")
    return value


def timezone(text: str) -> str:
    """An argument type: an IANA time zone name or UTC."""
    from workbench.feed.files import check_timezone

    try:
        return check_timezone(text, "tz")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("tz: ")) from None


def duration(text: str) -> float:
    """An argument type: a duration (:func:`workbench.units.seconds`) > 0, in seconds."""
    from workbench.units import seconds

    try:
        return seconds(text, "duration", positive=True)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("duration: ")) from None


def key_values(pairs: list[str], flag: str = "-p") -> dict[str, str]:
    """``["fast=10", "slow=30"]`` -> ``{"fast": "10", "slow": "30"}``."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag}: expected KEY=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def print_json(data: Any) -> None:
    """One line of JSON (undefined figures as null)."""
    print(json.dumps(jsonable(data)))


def interactive() -> bool:
    """Progress bars only for a person watching (stderr is a terminal)."""
    return sys.stderr.isatty()
