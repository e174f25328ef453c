"""Working orders by symbol, with running totals for the pre-trade checks.

The totals (remaining quantity per side, and the money open orders may need) are derived
state, kept up to date on every change so that checking a new order costs the same with
ten or ten thousand orders working. Market orders are valued at the last price, limit and
stop-limit orders at their limit, stop orders at the stop or the last price beyond it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from workbench.model import OrderType, Side

BUY, SELL = 0, 1
_SIDE_BUY, _MARKET, _STOP = Side.BUY, OrderType.MARKET, OrderType.STOP  # read as globals, not through the enums


class WorkingOrder(Protocol):
    id: str
    symbol: str
    side: Side
    type: OrderType
    limit: float | None
    stop: float | None

    @property
    def remaining(self) -> float: ...


class _SymbolBook:
    __slots__ = ("orders", "qty", "at_last", "fixed", "stops")

    def __init__(self) -> None:
        self.orders: dict[str, WorkingOrder] = {}  # in acceptance order
        self.qty = [0.0, 0.0]  # remaining units per side
        self.at_last = [0.0, 0.0]  # remaining units of market orders per side
        self.fixed = [0.0, 0.0]  # remaining x limit of limit and stop-limit orders
        self.stops: dict[str, WorkingOrder] = {}


class OpenOrders:
    """The broker's working orders (see the module docstring)."""

    def __init__(self) -> None:
        self._books: dict[str, _SymbolBook] = {}
        self.count = 0

    def add(self, o: WorkingOrder) -> None:
        book = self._books.get(o.symbol)
        if book is None:
            book = self._books[o.symbol] = _SymbolBook()
        book.orders[o.id] = o
        if o.type is _STOP:
            book.stops[o.id] = o
        self.count += 1
        self.adjust(o, +1)

    def discard(self, o: WorkingOrder) -> None:
        book = self._books.get(o.symbol)
        if book is None or o.id not in book.orders:
            return
        self.count -= 1
        if len(book.orders) == 1:  # its symbol's last order: the book goes, totals (and their float residue) too
            del self._books[o.symbol]
            return
        self.adjust(o, -1)
        del book.orders[o.id]
        book.stops.pop(o.id, None)

    def adjust(self, o: WorkingOrder, sign: int) -> None:
        """Add (+1) or take out (-1) ``o``'s remaining quantity from the totals; call with
        -1 before changing an order's quantity or prices and +1 after."""
        book = self._books[o.symbol]
        side = BUY if o.side is _SIDE_BUY else SELL
        q = sign * o.remaining
        book.qty[side] += q
        if o.type is _MARKET:
            book.at_last[side] += q
        elif o.type is not _STOP:
            book.fixed[side] += q * o.limit

    # --- reads ---------------------------------------------------------------------------

    def __bool__(self) -> bool:
        """Whether any order works (of any symbol)."""
        return bool(self._books)

    def has(self, symbol: str) -> bool:
        """True when ``symbol`` has working orders."""
        return symbol in self._books

    def net(self, symbol: str) -> float:
        """Remaining units of working buys less working sells."""
        book = self._books.get(symbol)
        return 0.0 if book is None else book.qty[BUY] - book.qty[SELL]

    def of(self, symbol: str) -> list[WorkingOrder]:
        book = self._books.get(symbol)
        return list(book.orders.values()) if book else []

    def __iter__(self) -> Iterator[WorkingOrder]:
        for book in list(self._books.values()):
            yield from list(book.orders.values())

    def pending(self, symbol: str, side: Side) -> float:
        """Remaining units of working orders on one side of one symbol."""
        book = self._books.get(symbol)
        return 0.0 if book is None else book.qty[BUY if side is _SIDE_BUY else SELL]

    def committed(self, last: Callable[[str], float | None], sides: tuple[Side, ...],
                  multiplier: Callable[[str], float] = lambda symbol: 1.0) -> float:
        """Currency the working orders on ``sides`` may need at the reference prices (times
        each symbol's ``multiplier``)."""
        total = 0.0
        for symbol, book in self._books.items():
            price = last(symbol) or 0.0
            m = multiplier(symbol)
            part = 0.0 if m != 1.0 else total  # (summed into the total directly when 1, as it always was)
            for side in sides:
                i = BUY if side is _SIDE_BUY else SELL
                part += book.at_last[i] * price + book.fixed[i]
            for o in book.stops.values():
                if o.side in sides:
                    part += o.remaining * stop_reference(o.side, o.stop, last(symbol))
            total = part if m == 1.0 else total + part * m
        return total

    def value(self, o: WorkingOrder, last: float | None) -> float:
        """What one working order may need, at its reference price."""
        if o.type is _MARKET:
            return o.remaining * (last or 0.0)
        if o.type is _STOP:
            return o.remaining * stop_reference(o.side, o.stop, last)
        return o.remaining * o.limit


def stop_reference(side: Side, stop: float, last: float | None) -> float:
    """A stop order is valued at its stop, or at the last price if that is beyond it."""
    if last is None:
        return stop
    return max(stop, last) if side is _SIDE_BUY else min(stop, last)
