"""The ``workbench`` command: one module per command group, each a thin layer over one
public function of the package (parse, call, print).

Errors print one line (``workbench: error: ...``) and exit 2 (1 where a command defines a
failure outcome, such as ``data validate`` finding bad rows or ``certify`` a failed check);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys

from workbench import __version__
from workbench.cli import analyze, certify, data, journal, monitor, new, optimize, run, selftest, serve, users
from workbench.errors import WorkbenchError

GROUPS = (data, run, analyze, optimize, certify, monitor, journal, serve, users, new, selftest)


class Parser(argparse.ArgumentParser):
    """argparse with errors on one line: what was wrong, and where to read more."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(message: str) -> str:
    """A message as one printable line: a newline or control character a user typed into a
    value is shown escaped, not obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))


def parser() -> argparse.ArgumentParser:
    """The whole command line: each group adds its own commands."""
    common = Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    top = Parser(prog="workbench", description="Research and operations workbench for market integration.",
                 parents=[common])
    top.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = top.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    for group in GROUPS:
        group.add_commands(sub, common)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    top = parser()
    args = top.parse_args(argv)
    if not getattr(args, "func", None):
        top.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # the reader went away (| head): nothing more to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (so that the exit flushes nowhere)
        return 1
    except (WorkbenchError, ValueError, TypeError, OSError, sqlite3.Error) as exc:
        if args.debug:
            raise
        print(f"workbench: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130
