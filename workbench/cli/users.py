"""``workbench users``: the dashboard's users file (:mod:`workbench.apps.users`)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from workbench.errors import ConfigError


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("users", help="the dashboard's users file (password hashes)", parents=[common])
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user or change a password", parents=[common])
    add.add_argument("name", help="user name (1-64 letters, digits or _.@-)")
    add.add_argument("--file", type=Path, default=Path("users.json"), help="users file (users.json)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input (for scripts)")
    add.set_defaults(func=add_command)
    drop = actions.add_parser("remove", help="remove a user (their logins end at once)", parents=[common])
    drop.add_argument("name", help="user name")
    drop.add_argument("--file", type=Path, default=Path("users.json"), help="users file (users.json)")
    drop.set_defaults(func=remove_command)
    show = actions.add_parser("list", help="the users of a users file", parents=[common])
    show.add_argument("--file", type=Path, default=Path("users.json"), help="users file (users.json)")
    show.set_defaults(func=list_command)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ConfigError("users add: no terminal to ask for the password; give --password-stdin")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise ConfigError("users add: the two passwords differ; nothing changed")
    return first


def add_command(args: argparse.Namespace) -> int:
    from workbench.apps.users import add_user

    new = add_user(args.file, args.name, _password(args))
    print(f"{'added' if new else 'changed the password of'} {args.name} in {args.file}")
    return 0


def list_command(args: argparse.Namespace) -> int:
    from workbench.apps.users import load_users

    for name in sorted(load_users(args.file)):
        print(name)
    return 0


def remove_command(args: argparse.Namespace) -> int:
    from workbench.apps.users import remove_user

    remove_user(args.file, args.name)
    print(f"removed {args.name} from {args.file}")
    return 0
