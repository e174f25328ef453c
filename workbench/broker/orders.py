"""Order lifecycle: the state machine, rejection reasons and the broker's replies.

States and transitions (every transition is a journaled event with a sequence number)::

    new ──> accepted ──> partially_filled ──> filled
     │          │   └──────────┬───────────────^
     │          └──────────────┴──> cancelled | expired
     └──> rejected

``filled``, ``cancelled``, ``expired`` and ``rejected`` are terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from workbench.errors import WorkbenchError
from workbench.model import OrderStatus

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NEW: frozenset({S.ACCEPTED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REJECTED: frozenset(),
}


def check_transition(old: OrderStatus, new: OrderStatus, order_id: str) -> None:
    """Raise :class:`IllegalTransition` unless ``old -> new`` is in the state machine."""
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(f"order {order_id}: {old.value} -> {new.value} is not allowed")


class IllegalTransition(WorkbenchError, RuntimeError):
    """A bug: the broker tried a transition the state machine forbids."""


class RejectReason(str, Enum):
    """Machine-readable reasons for a rejected order, cancel or replace."""

    INVALID_QUANTITY = "INVALID_QUANTITY"  # NaN, infinite, zero or negative
    INVALID_PRICE = "INVALID_PRICE"  # NaN, infinite, zero or negative
    MISSING_PRICE = "MISSING_PRICE"  # a limit without a limit price, a stop without a stop
    UNEXPECTED_PRICE = "UNEXPECTED_PRICE"  # e.g. a limit price on a market order
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    OFF_TICK = "OFF_TICK"  # price not a multiple of the tick size
    OFF_LOT = "OFF_LOT"  # quantity not a multiple of the lot size
    NO_MARKET_DATA = "NO_MARKET_DATA"  # no price yet to check the order against
    INSUFFICIENT_BUYING_POWER = "INSUFFICIENT_BUYING_POWER"
    SHORT_NEEDS_MARGIN = "SHORT_NEEDS_MARGIN"  # a cash account cannot sell what it lacks
    MAX_ORDER_QUANTITY = "MAX_ORDER_QUANTITY"
    MAX_ORDER_NOTIONAL = "MAX_ORDER_NOTIONAL"
    MAX_POSITION = "MAX_POSITION"
    PRICE_COLLAR = "PRICE_COLLAR"  # limit price too far from the last price
    SYMBOL_NOT_ALLOWED = "SYMBOL_NOT_ALLOWED"
    MAX_OPEN_ORDERS = "MAX_OPEN_ORDERS"
    KILL_SWITCH = "KILL_SWITCH"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"  # cancel or replace of an id the broker never issued
    ORDER_NOT_OPEN = "ORDER_NOT_OPEN"  # cancel or replace of a finished order
    FOK_NOT_FILLABLE = "FOK_NOT_FILLABLE"  # used in the cancel event of a fill-or-kill
    CASH_SHORT_AT_FILL = "CASH_SHORT_AT_FILL"  # a cash buy's rest, cancelled when its fill price outran the cash
    UNCOVERED_OPTION = "UNCOVERED_OPTION"  # a short option without the cash, shares or margin to cover it
    CONTRACT_EXPIRED = "CONTRACT_EXPIRED"  # an order in an option contract past its expiry date


class OrderRejected(WorkbenchError):
    """Raised by :meth:`Reply.raise_for_rejection`; carries the reason code."""

    def __init__(self, reason: RejectReason, message: str, order_id: str | None = None) -> None:
        self.reason = reason
        self.order_id = order_id
        super().__init__(f"{reason.value}: {message}")


@dataclass(frozen=True, slots=True)
class Reply:
    """The broker's answer: an acknowledgement (``accepted``, with the order id and the
    journal sequence number of the event) or a rejection (reason code and message)."""

    accepted: bool
    order_id: str | None
    seq: int
    reason: RejectReason | None = None
    message: str = ""

    def __init__(self, accepted: bool, order_id: str | None, seq: int, reason: RejectReason | None = None,
                 message: str = "") -> None:
        # What the generated __init__ does, through the slots' own setters (no look-up by name):
        # every place_order builds one.
        _set_accepted(self, accepted)
        _set_order_id(self, order_id)
        _set_seq(self, seq)
        _set_reason(self, reason)
        _set_message(self, message)

    def __bool__(self) -> bool:
        return self.accepted

    def raise_for_rejection(self) -> Reply:
        """Return self when accepted; raise :class:`OrderRejected` otherwise."""
        if not self.accepted:
            assert self.reason is not None
            raise OrderRejected(self.reason, self.message, self.order_id)
        return self


_set_accepted, _set_order_id, _set_seq, _set_reason, _set_message = (
    Reply.__dict__[name].__set__ for name in ("accepted", "order_id", "seq", "reason", "message"))
