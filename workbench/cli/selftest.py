"""``workbench selftest``: every component's own ``self_test()`` (:func:`workbench.components.self_test_all`)."""

from __future__ import annotations

import argparse

from workbench.cli.common import print_json
from workbench.components import self_test_all


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("selftest", help="run every component's self-test; exit 1 on a failure", parents=[common])
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=selftest_command)


def selftest_command(args: argparse.Namespace) -> int:
    results = self_test_all()
    if args.json:
        print_json([r.to_dict() for r in results])
    else:
        for r in results:
            detail = r.detail.splitlines()[0] if r.detail else ""
            print(f"{'PASS' if r.passed else 'FAIL'}  {r.component:<10} {r.name:<26} {r.duration_s * 1000:8.1f} ms  "
                  f"{detail}")
        failed = sum(not r.passed for r in results)
        print(f"{len(results) - failed} passed, {failed} failed")
    return 0 if all(r.passed for r in results) else 1
