"""The simulated broker: orders, fill rules, costs, account, risk limits and the journal.

:class:`SimulatedBroker` is the entry point; see :mod:`workbench.broker.fills` for the fill
rules, :mod:`workbench.broker.costs` for commission and slippage models,
:mod:`workbench.broker.account` for cash, margin and P&L, :mod:`workbench.broker.risk` for
the pre-trade limits and :mod:`workbench.broker.journal` for durability and recovery.
"""

from workbench.broker.account import AccountSnapshot, AccountType
from workbench.broker.broker import SimulatedBroker
from workbench.broker.costs import (
    CommissionModel,
    FixedBps,
    NoCommission,
    NoSlippage,
    PerContract,
    Percentage,
    PerShare,
    SlippageModel,
    SpreadFraction,
    SquareRootImpact,
    commission_from,
    slippage_from,
)
from workbench.broker.journal import Event, Journal, JournalError
from workbench.broker.orders import IllegalTransition, OrderRejected, RejectReason, Reply
from workbench.broker.risk import RiskLimits

__all__ = [
    "AccountSnapshot",
    "AccountType",
    "CommissionModel",
    "Event",
    "FixedBps",
    "IllegalTransition",
    "Journal",
    "JournalError",
    "NoCommission",
    "NoSlippage",
    "OrderRejected",
    "PerContract",
    "PerShare",
    "Percentage",
    "RejectReason",
    "Reply",
    "RiskLimits",
    "SimulatedBroker",
    "SlippageModel",
    "SpreadFraction",
    "SquareRootImpact",
    "commission_from",
    "slippage_from",
]
