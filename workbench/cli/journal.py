"""``workbench journal show|state``: a run's journal, event by event, and the account it
recovers to (:mod:`workbench.broker.journal`, ``SimulatedBroker.recover``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from workbench.cli.common import positive_int


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    group = sub.add_parser("journal", help="a run's journal: its events, the state it recovers to", parents=[common])
    actions = group.add_subparsers(title="journal commands", metavar="ACTION")
    p = actions.add_parser("show", help="the journal's events, oldest first", parents=[common])
    p.add_argument("run", type=Path, help="a run folder (with journal.sqlite) or a journal file")
    p.add_argument("--last", type=positive_int, metavar="N", help="only the last N events")
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    p.set_defaults(func=journal_show)
    p = actions.add_parser("state", help="cash, positions and orders recovered from the journal", parents=[common])
    p.add_argument("run", type=Path, help="a run folder (with journal.sqlite) or a journal file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=journal_state)


def journal_show(args: argparse.Namespace) -> int:
    from workbench.broker.journal import read_events

    events = read_events(args.run, args.last)
    for e in events:
        time = pd.Timestamp(e.time_ns, tz="UTC").isoformat()
        if args.json:
            print(json.dumps({"seq": e.seq, "time": time, "kind": e.kind, "order_id": e.order_id,
                              "payload": e.payload}))
        else:
            print(f"{e.seq:>8}  {time}  {e.kind:<11} {e.order_id or '-':<8} {json.dumps(e.payload)}")
    if not args.json:
        print(f"[{len(events):,} events]")
    return 0


def journal_state(args: argparse.Namespace) -> int:
    from workbench.broker import SimulatedBroker
    from workbench.broker.journal import journal_file

    broker = SimulatedBroker.recover(journal_file(args.run), upto_seq=2**62)  # in memory: the file is untouched
    state = {"last_seq": broker.last_seq, **broker.state()}
    if args.json:
        print(json.dumps(state))
        return 0
    print(f"{journal_file(args.run)}: {broker.last_seq + 1:,} events, kill switch {'ON' if state['killed'] else 'off'}")
    print(f"  cash           {state['cash']:,.2f}")
    print(f"  commissions    {state['commissions']:,.2f}")
    print(f"  realized P&L   {state['realized_pnl']:,.2f}")
    for symbol, (quantity, avg_cost, realized) in sorted(state["positions"].items()):
        print(f"  {symbol:<14} {quantity:,.4g} at {avg_cost:,.4f} (realized {realized:,.2f})")
    working = [oid for oid, o in state["orders"].items() if o[0] in ("accepted", "partially_filled")]
    print(f"  orders         {len(state['orders']):,} ({len(working):,} working)")
    return 0
