"""Is this journal what its broker wrote? Its hash chain, then its replay.

:func:`check` is ``workbench journal verify``: :func:`~workbench.broker.journal.verify`
(sequence numbers, the hash chain, the head), then a replay in memory that must keep the
broker's invariants (no fill beyond an order's quantity, every bar fill inside its bar's
range, cash equal to the starting cash less what the fills cost). The first bad sequence
number is named either way; the file is only read.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from workbench.broker.broker import SimulatedBroker
from workbench.broker.journal import JournalCorrupted, Verification, journal_file, verify


def recovered_state(run: str | os.PathLike) -> dict[str, Any]:
    """What the journal of ``run`` recovers to, by name: events, the kill switch, the
    account (cash, commissions, realized P&L, starting cash), positions and working
    orders. The file is only read."""
    path = journal_file(run)
    broker = SimulatedBroker.inspect(path)
    account = broker.account()
    return {
        "journal": str(path), "events": broker.last_seq + 1, "kill_switch": broker.killed,
        "account": {"cash": account.cash, "commissions": account.commissions, "realized_pnl": account.realized_pnl,
                    "starting_cash": account.starting_cash, "type": account.type.value},
        "positions": {p.symbol: {"quantity": p.quantity, "avg_cost": p.avg_cost, "realized_pnl": p.realized_pnl,
                                 "last_price": p.last_price} for p in broker.positions().values()},
        "orders": len(broker.orders()),
        "working": [{"id": o.id, "symbol": o.symbol, "side": o.side.value, "type": o.type.value,
                     "quantity": o.quantity, "filled": o.filled_quantity, "limit_price": o.limit_price,
                     "stop_price": o.stop_price, "tif": o.tif.value} for o in broker.open_orders()],
    }


def check(run: str | os.PathLike) -> Verification:
    """Verify the journal of ``run`` (a run folder or a journal file), then replay it."""
    path = journal_file(run)
    found = verify(path)
    if not found.ok:
        return found
    try:
        SimulatedBroker.inspect(path)
    except JournalCorrupted as exc:
        return dataclasses.replace(found, events=[e for e in found.events if e.seq < exc.first_bad_seq],
                                   first_bad_seq=exc.first_bad_seq, problem=exc.problem)
    return found
