"""``workbench monitor serve|status|alerts|export|check``: what sessions wrote into a monitor
store, and alert rule files."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from workbench.cli.common import duration, port, print_json, with_actions
from workbench.errors import ConfigError
from workbench.feed.sources import output_format
from workbench.monitor import MetricStore, load_rules

STORE = Path("runs/monitor.sqlite")


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    actions = with_actions(sub, "monitor", "metrics and alerts: serve, status, alerts, export, check", common,
                           "monitor commands")
    store_help = f"the monitor store ({STORE})"
    p = actions.add_parser("serve", help="serve the store's latest values as /metrics", parents=[common])
    p.add_argument("--store", type=Path, default=STORE, help=store_help)
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=port, default=9464, help="port (9464)")
    p.set_defaults(func=monitor_serve)
    p = actions.add_parser("status", help="current values and firing alerts", parents=[common])
    p.add_argument("--store", type=Path, default=STORE, help=store_help)
    p.add_argument("--stale-after", type=duration, default=30.0, metavar="DURATION",
                   help="firing alerts of a store without samples for this long are stale (30s)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=monitor_status)
    p = actions.add_parser("alerts", help="alert history", parents=[common])
    p.add_argument("--store", type=Path, default=STORE, help=store_help)
    p.add_argument("--since", type=duration, default=24 * 3600.0, metavar="DURATION",
                   help="how far back, e.g. 1h, 30m, 1d (24h)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=monitor_alerts)
    p = actions.add_parser("export", help="every stored sample to CSV or Parquet", parents=[common])
    p.add_argument("--store", type=Path, default=STORE, help=store_help)
    p.add_argument("--format", choices=["csv", "parquet"], help="file format (by --out's suffix: .csv or .parquet)")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=monitor_export)
    p = actions.add_parser("check", help="validate an alert rule file", parents=[common])
    p.add_argument("rules", type=Path)
    p.set_defaults(func=monitor_check)


def monitor_serve(args: argparse.Namespace) -> int:
    from workbench.monitor.export import serve_store

    server, thread = serve_store(MetricStore.existing(args.store), args.address, args.port)
    print(f"serving http://{args.address}:{args.port}/metrics from {args.store} (Ctrl-C stops)", flush=True)
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()
    return 0


def monitor_status(args: argparse.Namespace) -> int:
    status = MetricStore.existing(args.store).status(stale_after=args.stale_after)
    if args.json:
        print_json(status)
        return 0
    for v in status["values"]:
        labels = ",".join(f"{k}={x}" for k, x in v["labels"].items())
        print(f"{v['name']}{'{' + labels + '}' if labels else ''} = {v['value']:.6g}  "
              f"({pd.Timestamp(v['time']):%Y-%m-%d %H:%M:%S})")
    stale = [a for a in status["firing"] if a["stale"]]
    print(f"firing alerts: {len(status['firing']) - len(stale)}"
          + (f" (and {len(stale)} stale: no sample for {status['seconds_since_last_sample']:,.0f} s, the session "
             f"that raised them has stopped)" if stale else ""))
    for a in status["firing"]:
        print(f"  {'STALE ' if a['stale'] else ''}{a['severity'].upper()} {a['rule']} since "
              f"{pd.Timestamp(a['since']):%H:%M:%S}: {a['annotations'].get('summary', '')}")
    return 0


def monitor_alerts(args: argparse.Namespace) -> int:
    alerts = MetricStore.existing(args.store).alerts(since=time.time() - args.since)
    if args.json:
        print_json(alerts.to_dict(orient="records"))
        return 0
    if alerts.empty:
        print(f"no alerts in the last {args.since:,.0f} s")
    for r in alerts.itertuples():
        resolved = "" if pd.isna(r.resolved_at) else f" resolved {r.resolved_at:%Y-%m-%d %H:%M:%S}"
        fired = "" if pd.isna(r.fired_at) else f" fired {r.fired_at:%Y-%m-%d %H:%M:%S}"
        print(f"{r.state:<9} {r.severity:<8} {r.rule}{fired}{resolved}: {r.annotations.get('summary', '')}")
    return 0


def monitor_export(args: argparse.Namespace) -> int:
    fmt = output_format(args.out)  # .csv or .parquet, before anything is read
    if args.format is not None and args.format != fmt:
        raise ConfigError(f"--format {args.format}, but --out {args.out} is a .{fmt} file name")
    n = MetricStore.existing(args.store).export(args.out, fmt)
    print(f"wrote {n:,} samples to {args.out}")
    return 0


def monitor_check(args: argparse.Namespace) -> int:
    rules = load_rules(args.rules)
    print(f"{args.rules}: {len(rules)} rule(s) OK: {', '.join(r.name for r in rules)}")
    return 0
