"""``workbench journal verify|show|state|clear``: a run's journal checked link by link, event
by event, the account it recovers to, and removing a run that never started
(:mod:`workbench.broker.journal`, ``SimulatedBroker.recover``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from workbench.cli.common import positive_int, print_json, with_actions


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    actions = with_actions(sub, "journal", "a run's journal: verify, events, recovered state, clear", common,
                           "journal commands")
    p = actions.add_parser("verify", help="check the hash chain and the replay; exit 1 naming the first bad "
                                          "sequence", parents=[common])
    p.add_argument("run", type=Path, help="a run folder (with journal.sqlite) or a journal file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=journal_verify)
    p = actions.add_parser("clear", help="remove a run's journal (refused while a run writes it; one that holds "
                                         "events needs --force)", parents=[common])
    p.add_argument("run", type=Path, help="a run folder (with journal.sqlite) or a journal file")
    p.add_argument("--force", action="store_true", help="remove it even though it holds events")
    p.set_defaults(func=journal_clear)
    p = actions.add_parser("show", help="the journal's events, oldest first", parents=[common])
    p.add_argument("run", type=Path, help="a run folder (with journal.sqlite) or a journal file")
    p.add_argument("--last", type=positive_int, metavar="N", help="only the last N events")
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    p.set_defaults(func=journal_show)
    p = actions.add_parser("state", help="cash, positions and orders recovered from the journal", parents=[common])
    p.add_argument("run", type=Path, help="a run folder (with journal.sqlite) or a journal file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=journal_state)


def journal_verify(args: argparse.Namespace) -> int:
    from workbench.broker.audit import check

    result = check(args.run)
    if args.json:
        print_json({"journal": result.path, "ok": result.ok, "events": len(result.events),
                    "head_seq": result.head_seq, "first_bad_seq": result.first_bad_seq, "problem": result.problem})
    elif result.ok:
        print(f"{result.path}: OK, {len(result.events):,} events, hash chain intact up to the head (sequence "
              f"{result.head_seq}), replay keeps the broker's invariants")
    else:
        print(f"{result.path}: CORRUPTED at sequence {result.first_bad_seq}: {result.problem} "
              f"({len(result.events):,} events before it can be trusted)")
    return 0 if result.ok else 1


def journal_clear(args: argparse.Namespace) -> int:
    from workbench.broker.journal import journal_file, remove, started
    from workbench.errors import ConfigError

    path = journal_file(args.run)
    if started(path) and not args.force:
        raise ConfigError(f"{path} holds a run's events; `workbench journal clear --force {args.run}` removes it")
    for removed in remove(path):
        print(f"removed {removed}")
    return 0


def journal_show(args: argparse.Namespace) -> int:
    from workbench.broker.journal import read_events

    events = read_events(args.run, args.last)
    for e in events:
        time = pd.Timestamp(e.time_ns, tz="UTC").isoformat()
        if args.json:
            print_json({"seq": e.seq, "time": time, "kind": e.kind, "order_id": e.order_id, "payload": e.payload})
        else:
            print(f"{e.seq:>8}  {time}  {e.kind:<11} {e.order_id or '-':<8} {json.dumps(e.payload)}")
    if not args.json:
        print(f"[{len(events):,} events]")
    return 0


def journal_state(args: argparse.Namespace) -> int:
    from workbench.broker.audit import recovered_state

    state = recovered_state(args.run)
    if args.json:
        print_json(state)
        return 0
    a = state["account"]
    print(f"{state['journal']}: {state['events']:,} events, kill switch {'ON' if state['kill_switch'] else 'off'}")
    for name, value in (("cash", a["cash"]), ("commissions", a["commissions"]), ("realized P&L", a["realized_pnl"])):
        print(f"  {name:<14} {value:,.2f}")
    for symbol, p in sorted(state["positions"].items()):
        print(f"  {symbol:<14} {p['quantity']:,.4g} at {p['avg_cost']:,.4f} (realized {p['realized_pnl']:,.2f})")
    print(f"  {'orders':<14} {state['orders']:,} ({len(state['working']):,} working)")
    return 0
