"""The account: cash, positions and P&L, folded from fills; buying power for cash and
Reg-T-style margin accounts.

P&L method: average cost. A fill that adds to a position moves the average cost; a fill
that reduces it realizes ``(fill price - average cost) x closed quantity`` (sign-aware for
shorts); a fill that crosses zero closes the old position and opens the rest at the fill
price. Realized P&L is gross of costs; commissions are counted apart and taken from cash,
so ``equity = cash + sum(quantity x last price)`` includes both.

Buying power:

* cash account: cash less what open buy orders may cost; no shorting;
* margin account (Reg-T-style, 2x): initial margin 50 % of gross position value, so
  ``buying power = 2 x (equity - 0.5 x gross exposure)``; shorting allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from workbench.model import Position, Side

EPS = 1e-9


class AccountType(str, Enum):
    CASH = "cash"
    MARGIN = "margin"


INITIAL_MARGIN = 0.5  # Reg-T: 50 % of position value
_CASH = AccountType.CASH  # read as a global, not through the enum


def margin_buying_power(equity: float, gross_exposure: float) -> float:
    """A margin account's buying power (currency): ``(equity - INITIAL_MARGIN x gross
    exposure) / INITIAL_MARGIN``, at least 0."""
    excess = equity - INITIAL_MARGIN * gross_exposure
    return max(excess / INITIAL_MARGIN, 0.0)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The account at one moment (currency units)."""

    type: AccountType
    cash: float
    equity: float
    long_value: float
    short_value: float
    gross_exposure: float
    buying_power: float
    realized_pnl: float
    unrealized_pnl: float
    commissions: float
    starting_cash: float


class _Book:
    """One symbol's position; mutable, inside the account only."""

    __slots__ = ("quantity", "avg_cost", "realized", "last")

    def __init__(self) -> None:
        self.quantity = 0.0
        self.avg_cost = 0.0
        self.realized = 0.0
        self.last: float | None = None


class Account:
    """Cash and positions; changed only by :meth:`apply_fill` (and marks)."""

    def __init__(self, cash: float, type: AccountType = AccountType.CASH,
                 multipliers: dict[str, float] | None = None) -> None:
        if not (isinstance(cash, (int, float)) and math.isfinite(cash) and cash >= 0):
            raise ValueError(f"cash must be a finite number >= 0, got {cash!r}")
        self.type = AccountType(type)
        self.starting_cash = float(cash)
        self.cash = float(cash)
        self.commissions = 0.0
        self._books: dict[str, _Book] = {}
        self._held: set[str] = set()  # symbols with a position (a book exists for every symbol marked)
        self._rank: dict[str, int] = {}  # a book's creation order: sums over the held keep the books' order
        self.multipliers = dict(multipliers or {})  # symbol -> contract size, where not 1

    def multiplier(self, symbol: str) -> float:
        return self.multipliers.get(symbol, 1.0)

    # --- changes -------------------------------------------------------------------------

    def apply_fill(self, symbol: str, side: Side, quantity: float, price: float, commission: float) -> None:
        """Book one fill: cash moves by the trade value and the commission."""
        book = self._books.get(symbol)
        if book is None:
            book = self._new_book(symbol)
        signed = side.sign * quantity
        m = self.multipliers.get(symbol, 1.0)
        self.cash -= signed * price * m + commission
        self.commissions += commission
        old = book.quantity
        new = old + signed
        if old == 0 or (old > 0) == (signed > 0):  # opening or adding
            book.avg_cost = (old * book.avg_cost + signed * price) / new
        else:
            closed = min(abs(signed), abs(old))
            book.realized += closed * (price - book.avg_cost) * (1 if old > 0 else -1) * m
            if abs(new) <= EPS:
                new, book.avg_cost = 0.0, 0.0
            elif (new > 0) != (old > 0):  # crossed zero: the rest opens at the fill price
                book.avg_cost = price
        book.quantity = new
        if new != 0:
            self._held.add(symbol)
        else:
            self._held.discard(symbol)
        if book.last is None:  # market data marks it; until then, the fill price
            book.last = price

    def mark(self, symbol: str, price: float) -> None:
        """Set the last price a position is valued at."""
        book = self._books.get(symbol)
        if book is None:
            book = self._new_book(symbol)
        book.last = price

    # --- reads ---------------------------------------------------------------------------

    def _new_book(self, symbol: str) -> _Book:
        self._rank[symbol] = len(self._books)
        book = self._books[symbol] = _Book()
        return book

    def held(self) -> list[str]:
        """The symbols with a position (long or short), sorted."""
        return sorted(self._held)

    def quantity(self, symbol: str) -> float:
        book = self._books.get(symbol)
        return 0.0 if book is None else book.quantity

    def last_price(self, symbol: str) -> float | None:
        book = self._books.get(symbol)
        return None if book is None else book.last

    def positions(self) -> dict[str, Position]:
        """Open positions (non-zero quantity), by symbol."""
        books = self._books
        return {
            s: Position(s, books[s].quantity, books[s].avg_cost, books[s].realized, books[s].last,
                        self.multipliers.get(s, 1.0))
            for s in sorted(self._held)
        }

    def realized_pnl(self) -> float:
        return math.fsum(b.realized for b in self._books.values())  # order-independent

    def exposure(self) -> tuple[float, float]:
        """(long value, short value >= 0) at the last prices."""
        long = short = 0.0
        books = self._books
        held = self._held
        if len(held) > 1:  # the books' order, the held ones only (one or none needs no sort)
            held = sorted(held, key=self._rank.__getitem__)
        for s in held:
            b = books[s]
            if b.quantity and b.last is not None:
                value = b.quantity * b.last * self.multipliers.get(s, 1.0)
                if value > 0:
                    long += value
                else:
                    short -= value
        return long, short

    def equity(self) -> float:
        long, short = self.exposure()
        return self.cash + long - short

    def buying_power(self) -> float:
        """Currency the account can commit to new buys before open orders (see module doc)."""
        if self.type is _CASH:
            return max(self.cash, 0.0)
        long, short = self.exposure()  # once: equity() would sum the books again
        return margin_buying_power(self.cash + long - short, long + short)

    def snapshot(self) -> AccountSnapshot:
        long, short = self.exposure()
        unrealized = sum(
            b.quantity * (b.last - b.avg_cost) * self.multipliers.get(s, 1.0)
            for s, b in self._books.items()
            if b.quantity and b.last is not None
        )
        return AccountSnapshot(
            type=self.type,
            cash=self.cash,
            equity=self.cash + long - short,
            long_value=long,
            short_value=short,
            gross_exposure=long + short,
            buying_power=self.buying_power(),
            realized_pnl=self.realized_pnl(),
            unrealized_pnl=unrealized,
            commissions=self.commissions,
            starting_cash=self.starting_cash,
        )
