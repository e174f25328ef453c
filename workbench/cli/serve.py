"""``workbench serve``: the Panel dashboards (:func:`workbench.apps.app.serve`)."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from workbench.cli.common import port
from workbench.errors import ConfigError
from workbench.paths import check_writable


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", help="serve the Panel dashboards", parents=[common])
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=port, default=5006, help="port (5006)")
    p.add_argument("--basic-auth", metavar="FILE",
                   help="users file of password hashes (workbench users add NAME --file FILE)")
    p.add_argument("--allow-websocket-origin", action="append", metavar="HOST:PORT",
                   help="origins allowed besides the serving address (repeat)")
    p.add_argument("--runs", type=Path, default=Path("runs"),
                   help="the runs folder: the dashboard's sessions, paper runs, certifications and the login "
                        "cookie secret; /sessions and /runs list it (runs)")
    p.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    from workbench.apps.app import serve  # imports Panel: only when serving
    from workbench.apps.users import load_users

    check_writable(args.runs, "--runs")  # sessions, the cookie secret and certifications go there
    if args.basic_auth:
        try:
            load_users(args.basic_auth)  # refused here, before anything listens
        except ConfigError as exc:
            raise ConfigError(f"--basic-auth: {exc}") from None
    _check_free(args.address, args.port)
    if not args.basic_auth and not _loopback(args.address):
        print(f"warning: serving on {args.address} without --basic-auth: anyone who can reach this port can "
              "place orders and run certifications", file=sys.stderr, flush=True)
    print(f"serving http://{args.address}:{args.port}/ (Ctrl-C stops)", flush=True)
    serve(args.address, args.port, basic_auth=args.basic_auth, allow_websocket_origin=args.allow_websocket_origin,
          runs=args.runs)
    return 0


def _check_free(address: str, port: int) -> None:
    """Refuse at once, in one line, an address this machine cannot listen on or a port in use."""
    import socket

    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
            probe.bind(infos[0][4])
    except OSError as exc:
        raise ConfigError(f"cannot listen on {address}:{port}: {exc.strerror or exc}") from None


def _loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
