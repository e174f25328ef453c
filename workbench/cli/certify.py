"""``workbench certify``: the certification notebook run by papermill, reported
(:func:`workbench.certify.runner.certify`); exit 0 only when every check passes."""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.cli.common import interactive, key_values, print_json
from workbench.errors import ConfigError


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("certify", help="run the certification notebook and report (exit 1 unless all pass)",
                       parents=[common])
    p.add_argument("--profile", choices=["quick", "full"], default="quick", help="quick (< 2 min) or full")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="seed=N, crash_trials=N, threshold.NAME=VALUE, faults=all|NAME,NAME (repeat)")
    p.add_argument("-f", "--params-file", type=Path, metavar="FILE", help="parameters from YAML")
    p.add_argument("--faults", action="store_true",
                   help="then inject each fault of the library and report which categories catch it")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="inject just this fault (repeat); --list-faults names them")
    p.add_argument("--list-faults", action="store_true", help="list the fault library and exit")
    p.add_argument("--update-goldens", action="store_true",
                   help="record this run's outputs as the goldens of its profile and seed (every other category "
                        "must pass)")
    p.add_argument("--out", type=Path, help="run directory (runs/certify-<timestamp>)")
    p.add_argument("--json", action="store_true", help="print report.json instead of the summary")
    p.set_defaults(func=certify_command)


def certify_command(args: argparse.Namespace) -> int:
    from workbench.certify import runner

    if args.list_faults:
        from workbench.certify.faults import FAULTS

        for f in FAULTS:
            print(f"{f.name:<36} {f.category:<22} {f.what}")
        return 0
    params = runner.read_params_file(args.params_file) if args.params_file is not None else {}
    params.update(key_values(args.param))
    if any(not name.strip() for name in args.fault):
        raise ConfigError("--fault: an empty fault name (--list-faults names them)")
    if args.faults or args.fault:
        params["faults"] = ",".join(args.fault) if args.fault else "all"
    full = runner.validate(params, args.profile)  # before any kernel starts
    if not args.json:
        print(f"certifying ({full['profile']} profile" + (", then injecting faults" if full["faults"] else "") + ")...",
              flush=True)
    report, out = runner.certify(full["profile"], params, out=args.out, progress=interactive(),
                                 update_goldens=args.update_goldens)
    if args.json:
        print_json(report)
        return 0 if report.get("passed") else 1
    for line in runner.summary_lines(report):
        print(line)
    print(f"report: {out / 'report.json'}  (HTML: {out / 'certification.html'})")
    if report.get("goldens_updated"):
        print(f"goldens updated for {report['goldens_updated']} (workbench/certify/goldens.json)")
        return 0
    return 0 if report.get("passed") else 1
