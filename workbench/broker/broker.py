"""The simulated broker: orders in, fills out, every change journaled first.

Event sourcing: each state change is an :class:`~workbench.broker.journal.Event` that is
appended to the journal and then applied by :meth:`SimulatedBroker._apply`. Live trading
and recovery run the same ``_apply``, so a recovered broker is, by construction, the
fold of its journal. A rejected request journals a ``rejected`` event for the audit trail
and changes no cash, position or order.

Time is market time: the latest bar or quote the broker has seen (``on_bar``,
``on_quote``, ``advance_time``). The broker never reads the wall clock for its state, so
the same event stream gives the same journal (see :meth:`Journal.dump`).

How the engine drives it, per market event: ``on_bar(bar)`` / ``on_quote(quote)`` (fills
working orders, marks positions), then the strategy places orders, and at each session
close ``end_session()`` (DAY orders expire). An order placed after a bar is eligible from
the next bar; an order placed while the symbol has a current quote is matched against it
at once. Fill rules: :mod:`workbench.broker.fills`.

Options: an instrument of ``AssetClass.OPTION`` is an option contract whose terms its OCC
symbol gives. Its orders are the same orders; a sell that opens short contracts must be
covered (:meth:`SimulatedBroker._check_cover`: shares or cash in a cash account, the Reg-T
margin in a margin account), and at a session's close the contracts held that expire are
settled (:meth:`SimulatedBroker._settle_expiries`: exercised, assigned or worthless; an
``expiry`` event). ``docs/options.md`` states the rules.
"""

from __future__ import annotations

import math
import os
import threading
import time as _time
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime, timedelta
from dataclasses import replace as _replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import workbench
from workbench.broker import fills as rules
from workbench.broker import selftest
from workbench.broker.account import INITIAL_MARGIN, Account, AccountSnapshot, AccountType
from workbench.broker.book import OpenOrders
from workbench.broker.costs import (
    CommissionModel,
    NoCommission,
    SlippageModel,
    commission_from,
    slippage_from,
)
from workbench.broker.journal import FORMAT as JOURNAL_FORMAT
from workbench.broker.journal import Durability, Event, Journal, JournalCorrupted, MemoryJournal, read_meta, verify
from workbench.broker.orders import RejectReason, Reply, check_transition
from workbench.broker import risk as risk_rules
from workbench.broker.risk import OrderTicket, Rejection, RiskLimits, first_problem
from workbench.broker.timings import Timings
from workbench.component import CheckResult
from workbench.errors import ConfigError
from workbench.hashing import sha256_json
from workbench.model import (
    AssetClass,
    Bar,
    Fill,
    Instrument,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Quote,
    Side,
    TimeInForce,
    time_ns,
    time_of,
)

EPS = 1e-9
ITM = 0.01  # an option at least this far in the money (per unit) at expiry is exercised or assigned
LATENCY_SAMPLES = 100_000  # place_order latencies kept for percentiles
R = RejectReason
S = OrderStatus
# Members read on every order or fill as module constants (a member read through its enum is a
# metaclass look-up, ~0.1 us; a module global is a cached read)
_ACCEPTED, _PARTIALLY_FILLED, _FILLED, _CANCELLED, _EXPIRED = (
    S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED)
_LIVE = (S.ACCEPTED, S.PARTIALLY_FILLED)  # working: a fill or a cancel may follow
_BUY, _SELL = Side.BUY, Side.SELL
_FOK, _IOC = TimeInForce.FOK, TimeInForce.IOC
_CASH = AccountType.CASH


class _Working:
    """An order inside the broker (mutable); the outside sees :class:`Order` snapshots."""

    __slots__ = (
        "id", "symbol", "side", "type", "quantity", "limit", "stop", "tif", "status",
        "created_ns", "filled", "value", "commission", "triggered", "client_id",
    )

    def __init__(self, oid: str, p: dict[str, Any], created_ns: int) -> None:
        self.id = oid
        self.symbol: str = p["symbol"]
        self.side = _member(Side, p["side"])
        self.type = _member(OrderType, p["type"])
        self.quantity: float = p["quantity"]
        self.limit: float | None = p["limit_price"]
        self.stop: float | None = p["stop_price"]
        self.tif = _member(TimeInForce, p["tif"])
        self.client_id: str | None = p.get("client_id")
        self.status = _ACCEPTED
        self.created_ns = created_ns
        self.filled = 0.0
        self.value = 0.0
        self.commission = 0.0
        self.triggered = False

    @property
    def remaining(self) -> float:
        return self.quantity - self.filled

    def snapshot(self) -> Order:
        return Order(
            id=self.id, symbol=self.symbol, side=self.side, type=self.type,
            quantity=self.quantity, limit_price=self.limit, stop_price=self.stop,
            tif=self.tif, status=self.status, created=_ts(self.created_ns),
            filled_quantity=self.filled,
            avg_fill_price=self.value / self.filled if self.filled else 0.0,
            commission=self.commission, triggered=self.triggered, client_id=self.client_id,
        )


class SimulatedBroker:
    """A paper account at a simulated broker (see the module docstring).

    ``instruments``: :class:`Instrument` objects or symbols (tick 0.01, lot 1); orders for
    other symbols are rejected. ``participation``: the largest fraction of a bar's volume
    one bar may fill (``None``: no cap). ``journal``: a file path (``None``: in memory).
    """

    name = "broker"

    def __init__(
        self,
        *,
        cash: float = 1_000_000.0,
        instruments: Iterable[Instrument | str] = (),
        account_type: AccountType | str = AccountType.CASH,
        commission: CommissionModel | str | dict | None = None,
        slippage: SlippageModel | str | dict | None = None,
        participation: float | None = None,
        risk: RiskLimits | dict | None = None,
        journal: str | os.PathLike | None = None,
        durability: Durability = "sync",
        batch_size: int = 1000,
        _recovering: bool = False,
    ) -> None:
        self.instruments: dict[str, Instrument] = {}
        for inst in instruments:
            inst = Instrument(inst) if isinstance(inst, str) else inst
            if not isinstance(inst, Instrument):
                raise TypeError(f"instruments: expected Instrument or str, got {type(inst).__name__}")
            self.instruments[inst.symbol] = inst
        self._account = Account(cash, AccountType(account_type),
                                {s: i.multiplier for s, i in self.instruments.items() if i.multiplier != 1.0})
        self._contracts = _option_contracts(self.instruments)  # option symbol -> its terms
        for symbol, c in self._contracts.items():  # what exercise and assignment deliver must be tradable shares
            u = self.instruments.get(c.underlying)
            if u is None:
                raise ConfigError(f"instruments: option {symbol!r} needs an instrument for its underlying "
                                  f"{c.underlying!r} (assignment delivers its shares)")
            if u.multiplier != 1.0 or u.asset_class is AssetClass.OPTION:
                raise ConfigError(f"instruments: option {symbol!r} is on {c.underlying!r}, whose multiplier is "
                                  f"{u.multiplier:g}; options are modelled on shares (multiplier 1)")
        self._settled_on = None  # the last date whose expiries were settled (its contracts trade no more)
        self._call_underlyings = {c.underlying for c in self._contracts.values() if c.right == "call"}
        self.commission = commission_from(commission)
        self.slippage = slippage_from(slippage)
        if participation is not None and not (
            isinstance(participation, (int, float)) and 0 < participation <= 1
        ):
            raise ConfigError(f"participation must be in (0, 1] or None, got {participation!r}")
        self.participation = participation
        self.risk = risk if isinstance(risk, RiskLimits) else RiskLimits.from_dict(risk)
        if durability not in ("sync", "batched"):
            raise ConfigError(f"journal durability must be 'sync' or 'batched', got {durability!r}")
        self.journal = (MemoryJournal() if journal is None
                        else Journal(journal, durability=durability, batch_size=batch_size))
        if not _recovering:
            if self.journal.last_seq() >= 0 or self.journal.meta():
                self.journal.close()
                raise ConfigError(
                    f"journal {journal} already holds a session; use SimulatedBroker.recover(path)"
                )
            self.journal.write_meta({"format": JOURNAL_FORMAT, "config": self.config(),
                                     "workbench": workbench.__version__})

        self._lock = threading.RLock()
        self._last_slice_ns: int | None = None
        self._seq = -1
        self._next_id = 1
        self._now_ns: int | None = None  # latest market time seen, ns since the epoch (UTC)
        # a subclass's own market-data hooks are called for every event (on_events, session_work)
        cls = type(self)
        self._own_hooks = cls.on_bar is not SimulatedBroker.on_bar or cls.on_quote is not SimulatedBroker.on_quote
        self._own_session_end = cls.end_session is not SimulatedBroker.end_session
        self._orders: dict[str, _Working] = {}
        self._open = OpenOrders()
        self._quotes: dict[str, Quote] = {}
        self._quote_left: dict[str, list[float]] = {}  # displayed size left: [bid, ask]
        self._fills: list[Fill] = []
        self.killed = False
        self._counts = {"accepted": 0, "fills": 0, "cancelled": 0, "expired": 0, "replaced": 0}
        self._rejections: dict[str, int] = {}
        self._latency = Timings(LATENCY_SAMPLES)  # every place_order's, read by the watchdog too
        self._order_started: float | None = None  # perf_counter() when the place_order under way began

    # --- configuration -------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The configuration in force, as plain data (what the journal records)."""
        return {
            "cash": self._account.starting_cash,
            "account_type": self._account.type.value,
            "instruments": [_instrument_config(i) for i in self.instruments.values()],
            "commission": self.commission.to_dict(),
            "slippage": self.slippage.to_dict(),
            "participation": self.participation,
            "risk": self.risk.to_dict(),
            "durability": self.journal.durability,
            "batch_size": self.journal.batch_size,
        }

    @classmethod
    def recover(
        cls,
        path: str | os.PathLike,
        *,
        upto_seq: int | None = None,
        commission: CommissionModel | None = None,
        slippage: SlippageModel | None = None,
    ) -> SimulatedBroker:
        """Rebuild a broker from its journal: exactly the state of every journaled event.

        The journal is verified first (:func:`~workbench.broker.journal.verify`: sequence,
        hash chain, head) and its replay must keep the broker's invariants (no fill beyond
        an order's quantity, a bar's fills inside its range, cash equal to the starting cash
        less what the fills cost); anything else raises
        :class:`~workbench.broker.journal.JournalCorrupted` naming the first bad sequence
        number. The recovered broker appends to the same journal (taking its writer's lock).
        With ``upto_seq`` it replays only that far into an in-memory journal and leaves the
        file untouched (for inspection). Pass ``commission``/``slippage`` when the session
        used your own model classes.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"no journal at {path}")
        meta = read_meta(path)
        if "config" not in meta:
            raise ConfigError(f"{path}: not a workbench broker journal")
        if meta.get("format") != JOURNAL_FORMAT:
            raise ConfigError(f"{path}: a journal of format {meta.get('format')}, written by an older workbench; "
                              f"this one reads format {JOURNAL_FORMAT}")
        found = verify(path, upto_seq=upto_seq)
        found.raise_if_bad()
        kwargs = _recorded_config(meta["config"], commission, slippage)
        broker = cls(**kwargs, journal=path if upto_seq is None else None, _recovering=True)
        try:
            broker._replay(found.events, path, fresh_journal=upto_seq is not None)
        except BaseException:
            broker.journal.close()
            raise
        # Market data is not journaled: until it flows again, value positions at their
        # last fill price.
        marked: set[str] = set()
        for fill in reversed(broker._fills):
            if fill.symbol not in marked:
                broker._account.mark(fill.symbol, fill.price)
                marked.add(fill.symbol)
        return broker

    @classmethod
    def like(cls, path: str | os.PathLike, *, commission: CommissionModel | None = None,
             slippage: SlippageModel | None = None) -> SimulatedBroker:
        """A new broker in memory with the configuration a journal records (cash, account,
        instruments, costs, risk limits), none of its events: what a resumed run warms up on."""
        meta = read_meta(Path(path))
        if "config" not in meta:
            raise ConfigError(f"{path}: not a workbench broker journal")
        kwargs = _recorded_config(meta["config"], commission, slippage)
        del kwargs["durability"], kwargs["batch_size"]
        return cls(**kwargs)

    def carry_market(self, other: SimulatedBroker) -> None:
        """Take on what ``other`` knows of the market and the journal does not hold: the last
        price of each symbol, the quotes held and their size left, the last settled expiry
        date and the market time (a resumed run's broker after its warm-up's)."""
        with self._lock:
            for symbol, book in other._account._books.items():
                if book.last is not None:
                    self._account.mark(symbol, book.last)
            self._quotes.update(other._quotes)
            self._quote_left.update({k: list(v) for k, v in other._quote_left.items()})
            self._settled_on = other._settled_on
            if other._now_ns is not None:
                self.advance_ns(other._now_ns)

    @classmethod
    def inspect(cls, path: str | os.PathLike, **options: Any) -> SimulatedBroker:
        """The broker a journal recovers to, in memory: the file is only read (no lock is
        taken, nothing is appended). ``options`` as :meth:`recover`."""
        reader = Journal(path, readonly=True)
        try:
            last = reader.last_seq()
        finally:
            reader.close()
        return cls.recover(path, upto_seq=max(last, -1), **options)

    def _replay(self, events: list[Event], path: Path, fresh_journal: bool) -> None:
        """Apply verified ``events`` (appending them to a fresh in-memory journal when
        asked), holding the broker to its invariants; see :meth:`recover`."""
        starting = self._account.cash
        spent = 0.0
        for event in events:
            if fresh_journal:
                self.journal.append(event)
            try:
                self._apply(event)
            except (KeyError, ValueError, TypeError) as exc:
                raise JournalCorrupted(path, event.seq, f"the broker cannot apply it ({exc})") from None
            if event.kind == "fill":
                p = event.payload
                order = self._orders[event.order_id]
                low, high = p.get("low"), p.get("high")
                if low is not None and not low - EPS <= p["price"] <= high + EPS:
                    raise JournalCorrupted(path, event.seq, f"a fill at {p['price']} outside its bar's range "
                                                            f"[{low}, {high}]")
                spent += order.side.sign * p["quantity"] * p["price"] * self._account.multiplier(order.symbol) \
                    + p["commission"]
            elif event.kind == "expiry":  # shares at the strike; the contracts leave at their price (0, or cash-settled)
                p = event.payload
                spent += p["shares"] * p["strike"] * self._account.multiplier(p["underlying"]) \
                    - p["quantity"] * p.get("price", 0.0) * self._account.multiplier(p["symbol"])
        expected = starting - spent
        if abs(self._account.cash - expected) > 1e-6 * max(1.0, abs(starting)):
            raise JournalCorrupted(path, events[-1].seq if events else 0,
                                   f"cash {self._account.cash:,.2f} after the replay, but the fills leave "
                                   f"{expected:,.2f} of the starting {starting:,.2f}")
        # Market data is not journaled: until it flows again, value positions at their
        # last fill price.
        marked: set[str] = set()
        for fill in reversed(self._fills):
            if fill.symbol not in marked:
                self._account.mark(fill.symbol, fill.price)
                marked.add(fill.symbol)

    # --- time slices ---------------------------------------------------------------------

    def begin_slice(self) -> None:
        """The engine starts handling one time slice: what the broker journals until
        :meth:`end_slice` is committed as one atomic step."""
        self.journal.begin_step()

    def end_slice(self) -> None:
        """The slice is handled (fills, the strategy's orders): journal its marker and
        commit the step. A resumed run carries on after the last marker."""
        with self._lock:
            self._emit("slice", None, {})
        self.journal.end_step()

    def abort_slice(self) -> None:
        """The slice failed part-way: the journal drops it (and takes no more writes)."""
        self.journal.abort_step()

    @property
    def last_slice_ns(self) -> int | None:
        """Market time (ns) of the last completed slice (``None``: none yet)."""
        return self._last_slice_ns

    # --- orders --------------------------------------------------------------------------

    def place_order(
        self,
        symbol: str,
        side: Side | str,
        quantity: float,
        type: OrderType | str = OrderType.MARKET,
        limit_price: float | None = None,
        stop_price: float | None = None,
        tif: TimeInForce | str = TimeInForce.DAY,
        client_id: str | None = None,
    ) -> Reply:
        """Place an order; quantity in units, prices per unit. Returns the acknowledgement
        (with the order id) or the rejection (reason code, message). Wrong types raise
        ``TypeError``/``ValueError``; bad values are rejections that change nothing."""
        t0 = self._order_started = _time.perf_counter()
        try:  # (the body inline: one call less an order)
            # The common arguments (a member or its value, a float, no price) by a look-up or a type
            # test; anything else through the validating helpers (the same values, the same errors).
            fast = _FAST_KEYS
            request = {
                "symbol": symbol if symbol.__class__ is str else _symbol(symbol),
                "side": (side.__class__ in fast and _SIDE_VALUES.get(side)) or _VALUES[_enum(Side, side, "side")],
                "type": (type.__class__ in fast and _TYPE_VALUES.get(type))
                or _VALUES[_enum(OrderType, type, "type")],
                "quantity": quantity if quantity.__class__ is float else _number(quantity, "quantity"),
                "limit_price": None if limit_price is None else _number(limit_price, "limit_price"),
                "stop_price": None if stop_price is None else _number(stop_price, "stop_price"),
                "tif": (tif.__class__ in fast and _TIF_VALUES.get(tif)) or _VALUES[_enum(TimeInForce, tif, "tif")],
                "client_id": None if client_id is None else str(client_id),
            }
            with self._lock:
                problem = self._check_new(request)
                if problem is not None:
                    reply = self._reject("place", problem.reason, problem.message, None, request)
                else:
                    oid = f"O{self._next_id}"
                    event = self._emit("accepted", oid, request)
                    reply = Reply(True, oid, event.seq)
                    quote = self._quotes.get(request["symbol"])
                    if quote is not None and (not self._contracts or self._live_quote(quote)):
                        self._match_quote(self._orders[oid], quote)
            self._latency.add(_time.perf_counter() - t0)
            return reply
        finally:
            self._order_started = None

    def cancel_order(self, order_id: str, by: str | None = None) -> Reply:
        """Cancel a working order (``by``: who asked, journaled with the cancel or its
        rejection when given)."""
        who = {} if by is None else {"by": str(by)}
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return self._reject("cancel", R.UNKNOWN_ORDER, f"no order {order_id!r}", order_id, who)
            if order.status.is_terminal:
                return self._reject(
                    "cancel", R.ORDER_NOT_OPEN, f"order {order_id} is {order.status.value}", order_id, who
                )
            event = self._emit("cancelled", order_id,
                               {"reason": "requested"} if by is None else {"reason": "requested", "by": str(by)})
            return Reply(True, order_id, event.seq)

    def replace_order(
        self,
        order_id: str,
        *,
        quantity: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
    ) -> Reply:
        """Change a working order's quantity or prices; checked like a new order."""
        changes = {
            "quantity": _number(quantity, "quantity", optional=True),
            "limit_price": _number(limit_price, "limit_price", optional=True),
            "stop_price": _number(stop_price, "stop_price", optional=True),
        }
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return self._reject("replace", R.UNKNOWN_ORDER, f"no order {order_id!r}", order_id, changes)
            if order.status.is_terminal:
                return self._reject(
                    "replace", R.ORDER_NOT_OPEN, f"order {order_id} is {order.status.value}", order_id, changes
                )
            request = {
                "symbol": order.symbol, "side": order.side.value, "type": order.type.value,
                "quantity": order.quantity if changes["quantity"] is None else changes["quantity"],
                "limit_price": order.limit if changes["limit_price"] is None else changes["limit_price"],
                "stop_price": order.stop if changes["stop_price"] is None else changes["stop_price"],
                "tif": order.tif.value, "client_id": order.client_id,
            }
            problem = self._check_new(request, replacing=order)
            if problem is None and request["quantity"] <= order.filled + EPS:
                problem = Rejection(R.INVALID_QUANTITY, f"new quantity {request['quantity']} is not above "
                                    f"the {order.filled} already filled")
            if problem is not None:
                return self._reject("replace", problem.reason, problem.message, order_id, changes)
            payload = {k: request[k] for k in ("quantity", "limit_price", "stop_price")}
            event = self._emit("replaced", order_id, payload)
            quote = self._quotes.get(order.symbol)
            if quote is not None:
                self._match_quote(order, quote)
            return Reply(True, order_id, event.seq)

    def kill_switch(self, reason: str = "manual") -> int:
        """Cancel every working order and reject new ones (``KILL_SWITCH``) until reset.
        Returns the number of orders cancelled."""
        with self._lock:
            if not self.killed:
                self._emit("kill_switch", None, {"on": True, "reason": str(reason)})
            cancelled = 0
            for order in list(self._open):
                self._emit("cancelled", order.id, {"reason": R.KILL_SWITCH.value})
                cancelled += 1
            return cancelled

    def reset_kill_switch(self, by: str | None = None) -> None:
        """Accept orders again (``by``: who reset it, journaled when given)."""
        with self._lock:
            if self.killed:
                self._emit("kill_switch", None, {"on": False, "reason": "reset" if by is None else f"reset by {by}"})

    # --- market data ---------------------------------------------------------------------

    def advance_time(self, time: datetime) -> None:
        """Move market time forward (it never moves back); ``time`` is timezone-aware."""
        if time.tzinfo is None:
            raise ValueError(f"time must be timezone-aware, got {time}")
        self.advance_ns(time_ns(time))

    def advance_ns(self, ns: int) -> None:
        """:meth:`advance_time` in nanoseconds since the epoch (UTC)."""
        if self._now_ns is None or ns > self._now_ns:
            self._now_ns = ns

    @property
    def _now(self) -> datetime | None:
        """Market time as a ``datetime`` (built when asked)."""
        return None if self._now_ns is None else time_of(self._now_ns)

    @property
    def _time_ns(self) -> int:
        return 0 if self._now_ns is None else self._now_ns

    def on_events(self, events: Iterable[Bar | Quote]) -> list[Fill]:
        """:meth:`on_bar` or :meth:`on_quote` for each event, in order, under one lock: the
        engine's call for a time slice. A bar of a symbol with no working order and no quote
        held is only a mark (what :meth:`on_bar` does then), without the call (unless a
        subclass gives its own ``on_bar``: then it sees every bar)."""
        if self._own_hooks:
            with self._lock:
                fills = self._fills
                first = len(fills)
                for e in events:
                    (self.on_bar if type(e) is Bar else self.on_quote)(e)
                return fills[first:]
        with self._lock:
            fills = self._fills
            first = len(fills)
            books, quotes, held = self._open._books, self._quotes, self._account._books
            now = self._now_ns
            for e in events:
                if now is None or e[0] > now:
                    now = self._now_ns = e[0]
                if type(e) is Bar:
                    symbol = e[1]
                    if symbol in books or (quotes and symbol in quotes):
                        self._bar(e)  # (on_bar under the lock held, the time advanced)
                    elif symbol in held:  # Account.mark, inline
                        held[symbol].last = e[5]
                    else:
                        self._account.mark(symbol, e[5])
                else:
                    self.on_quote(e)
                now = self._now_ns
            return fills[first:] if len(fills) > first else []

    def session_work(self) -> bool:
        """Whether :meth:`end_session` has anything to do: an order working, or option
        contracts whose expiries it settles (else the engine does not call it); always, for
        a subclass that gives its own ``end_session``."""
        return bool(self._open._books) or bool(self._contracts) or self._own_session_end

    def on_bar(self, bar: Bar) -> list[Fill]:
        """Fill eligible working orders of ``bar.symbol`` against ``bar``; mark at the close."""
        with self._lock:
            self.advance_ns(bar[0])
            first = len(self._fills)
            self._bar(bar)
            return self._fills[first:]

    def _bar(self, bar: Bar) -> None:
        """:meth:`on_bar`'s work, the lock held and market time advanced to the bar's."""
        if self._quotes:
            self._quotes.pop(bar.symbol, None)  # bars now: orders wait for the next bar
        if self._open.has(bar.symbol):
            capacity = math.inf if self.participation is None else self.participation * bar.volume
            for order in self._open.of(bar.symbol):
                capacity -= self._match_bar(order, bar, capacity)
        self._account.mark(bar.symbol, bar.close)

    def on_quote(self, quote: Quote) -> list[Fill]:
        """Match working orders of ``quote.symbol`` against ``quote``; mark at the mid."""
        with self._lock:
            self.advance_ns(quote[0])
            first = len(self._fills)
            self._quotes[quote.symbol] = quote
            self._quote_left[quote.symbol] = [quote.bid_size, quote.ask_size]
            if self._contracts and quote.symbol in self._contracts and self._expired(quote.symbol):
                for order in list(self._open.of(quote.symbol)):  # no trade in a contract past its expiry
                    self._emit("cancelled", order.id, {"reason": "contract_expired"})
                self._account.mark(quote.symbol, quote.mid)
                return []
            for order in self._open.of(quote.symbol):
                if order.status.is_terminal:  # an earlier order's fill cannot end it, but be safe
                    continue
                self._match_quote(order, quote)
            self._account.mark(quote.symbol, quote.mid)
            return self._fills[first:]

    def mark(self, symbol: str, price: float) -> None:
        """Value the position in ``symbol`` at ``price`` (a broker read from a journal shown
        with prices from elsewhere); fills nothing, journals nothing."""
        with self._lock:
            self._account.mark(_symbol(symbol), float(price))

    def end_session(self, time: pd.Timestamp | None = None, next_time: pd.Timestamp | None = None,
                    symbols: Collection[str] | None = None, exclude: Collection[str] = ()) -> int:
        """The session closed: every working DAY order expires. Returns how many.

        ``next_time``: when the next session opens, if known (the engine knows it): options
        expiring on the days between, when the market is shut (a holiday), are settled now, at
        this session's prices, as listed options' expiries move to the trading day before.
        ``symbols``: the session of these symbols only closed (they trade on another exchange's
        hours): only their DAY orders expire, and no option is settled. ``exclude``: symbols
        whose sessions close apart (their orders stay)."""
        if isinstance(symbols, str):  # one symbol (in a str, "SP" would be found in "SPY")
            symbols = (symbols,)
        if isinstance(exclude, str):
            exclude = (exclude,)
        with self._lock:
            if time is not None:
                self.advance_time(time)
            if self._contracts and symbols is None:
                self._settle_expiries(next_time)
            if not self._open:  # nothing works (the common case, on every bar of a daily run)
                return 0
            expired = 0
            for order in list(self._open):
                if order.tif is TimeInForce.DAY and (symbols is None or order.symbol in symbols) \
                        and order.symbol not in exclude:
                    self._emit("expired", order.id, {})
                    expired += 1
            return expired

    # --- reads ---------------------------------------------------------------------------

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Working orders, oldest first."""
        with self._lock:
            out = self._open.of(symbol) if symbol is not None else list(self._open)
            return [o.snapshot() for o in sorted(out, key=lambda o: int(o.id[1:]))]

    def order(self, order_id: str) -> Order:
        """One order by id (``KeyError`` if unknown)."""
        return self._orders[order_id].snapshot()

    def orders(self) -> list[Order]:
        """Every order accepted so far, in id order."""
        return [o.snapshot() for o in self._orders.values()]

    def order_frame(self) -> pd.DataFrame:
        """:meth:`orders` as a frame, a row an order in id order: ``id, created, symbol, side,
        type, quantity, limit_price, stop_price, tif, status, filled_quantity, avg_fill_price,
        commission`` (a run's ``Result.orders``), built column by column from the orders
        themselves rather than from a snapshot of each."""
        os_ = list(self._orders.values())
        columns = ["id", "created", "symbol", "side", "type", "quantity", "limit_price", "stop_price", "tif",
                   "status", "filled_quantity", "avg_fill_price", "commission"]
        if not os_:
            return pd.DataFrame(columns=columns)
        value = {m: m.value for cls in (Side, OrderType, TimeInForce, OrderStatus) for m in cls}  # (.value: a call each)
        return pd.DataFrame({
            "id": [o.id for o in os_],
            "created": pd.to_datetime(np.array([o.created_ns for o in os_], dtype=np.int64), utc=True),
            "symbol": [o.symbol for o in os_], "side": [value[o.side] for o in os_],
            "type": [value[o.type] for o in os_], "quantity": [o.quantity for o in os_],
            "limit_price": [o.limit for o in os_], "stop_price": [o.stop for o in os_],
            "tif": [value[o.tif] for o in os_], "status": [value[o.status] for o in os_],
            "filled_quantity": [o.filled for o in os_],
            "avg_fill_price": [o.value / o.filled if o.filled else 0.0 for o in os_],
            "commission": [o.commission for o in os_],
        }, columns=columns)

    def fills(self) -> list[Fill]:
        return list(self._fills)

    @property
    def option_contracts(self) -> dict[str, Any]:
        """The option instruments' terms by OCC symbol (:class:`~workbench.options.OptionContract`)."""
        return dict(self._contracts)

    @property
    def multipliers(self) -> dict[str, float]:
        """Contract sizes by symbol, where not 1 (:attr:`Instrument.multiplier`)."""
        return dict(self._account.multipliers)

    def positions(self) -> dict[str, Position]:
        return self._account.positions()

    def account(self) -> AccountSnapshot:
        with self._lock:
            return self._account.snapshot()

    def position(self, symbol: str) -> float:
        """Signed quantity held in ``symbol`` (0 when flat)."""
        return self._account.quantity(symbol)

    def working(self, symbol: str) -> float:
        """Signed units of the working orders of ``symbol`` (buys positive)."""
        return self._open.net(symbol)

    def exposure(self, symbol: str) -> float:
        """Units held plus working buys less working sells: where the position is going.
        (Read by most strategies on every bar: the two books' entries are looked up here
        rather than through their methods.)"""
        held = self._account._books.get(symbol)
        working = self._open._books.get(symbol)
        q = 0.0 if held is None else held.quantity
        return q if working is None else q + (working.qty[0] - working.qty[1])  # as OpenOrders.net

    @property
    def fill_count(self) -> int:
        """Fills so far (with :meth:`fills_since`, the fills a call made)."""
        return len(self._fills)

    def fills_since(self, count: int) -> list[Fill]:
        """The fills after the first ``count``."""
        return self._fills[count:]

    def last_price(self, symbol: str) -> float | None:
        """The price ``symbol`` was last marked at (bar close, quote mid or fill)."""
        return self._account.last_price(symbol)

    @property
    def market_time_ns(self) -> int:
        """Market time in nanoseconds since the epoch (what the journal stamps events with)."""
        return self._time_ns

    @property
    def time(self) -> pd.Timestamp | None:
        """Market time: the latest bar, quote or ``advance_time`` seen."""
        return None if self._now_ns is None else pd.Timestamp(self._now_ns, tz="UTC")

    @property
    def last_seq(self) -> int:
        return self._seq

    def state(self) -> dict[str, Any]:
        """Orders, cash and positions as plain data (for comparisons and digests); the
        sequence number is apart (:attr:`last_seq`), since a rejection advances it."""
        with self._lock:
            acct = self._account
            return {
                "killed": self.killed,
                "cash": acct.cash,
                "commissions": acct.commissions,
                "positions": {
                    s: [p.quantity, p.avg_cost, p.realized_pnl] for s, p in acct.positions().items()
                },
                "realized_pnl": acct.realized_pnl(),
                "orders": {
                    o.id: [o.status.value, o.quantity, o.filled, o.value, o.commission, o.triggered,
                           o.limit, o.stop]
                    for o in self._orders.values()
                },
            }

    def state_digest(self) -> str:
        """SHA-256 of :meth:`state` in canonical JSON."""
        return sha256_json(self.state())

    def close(self) -> None:
        """Flush and close the journal."""
        self.journal.close()

    # --- component API -------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": workbench.__version__,
            "capabilities": [
                "orders:market,limit,stop,stop_limit", "tif:day,gtc,ioc,fok",
                "data:bars,quotes", "accounts:cash,margin", "journal:sqlite-wal", "kill_switch",
            ],
            "config": self.config(),
        }

    @property
    def lock(self) -> threading.RLock:
        """The lock every broker call holds: a reader in another thread (the monitor's
        watchdog) holds it to read a consistent state, with a timeout if it must not wait."""
        return self._lock

    def order_in_flight_seconds(self) -> float:
        """How long the place_order under way has taken so far (0 when none is): a stalled
        order shows here before its latency can be measured."""
        started = self._order_started
        return 0.0 if started is None else max(_time.perf_counter() - started, 0.0)

    def latencies_since(self, seen: int) -> tuple[int, list[float]]:
        """(count so far, the place_order latencies in seconds after the first ``seen``);
        at most the last 100,000 are kept. Needs no broker lock: a reader in another thread
        is not kept waiting by a slow call."""
        return self._latency.since(seen)

    def stats(self, latency: bool = True) -> dict[str, float | int]:
        """Measured figures: counts, rejections by reason, place_order latency (µs; without
        it, ``latency=False``, the counts cost no pass over the last 100,000 latencies)."""
        with self._lock:
            return self._stats(latency)

    def _stats(self, latency: bool = True) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            "orders_accepted": self._counts["accepted"],
            "orders_rejected": sum(self._rejections.values()),
            "fills": self._counts["fills"],
            "cancelled": self._counts["cancelled"],
            "expired": self._counts["expired"],
            "replaced": self._counts["replaced"],
            "open_orders": self._open.count,
            "events": self._seq + 1,
            "journal_writes": self.journal.writes,
        }
        if self._contracts:  # option contracts settled at their expiry
            for outcome in ("exercised", "assigned", "cash_settled", "expired"):
                out[f"options_{outcome}"] = self._counts.get(f"options_{outcome}", 0)
        if latency:
            lat = np.array(self._latency.values(), dtype=float) * 1e6
            out["latency_samples"] = int(lat.size)
            for q in (50, 90, 99):
                out[f"place_order_p{q}_us"] = float(np.percentile(lat, q)) if lat.size else float("nan")
            out["place_order_max_us"] = float(lat.max()) if lat.size else float("nan")
        for reason, n in sorted(self._rejections.items()):
            out[f"rejected_{reason}"] = n
        return out

    def self_test(self) -> list[CheckResult]:
        """The broker's quick functional checks (:mod:`workbench.broker.selftest`), run on
        fresh brokers of this class."""
        return selftest.run(type(self))

    # --- checks --------------------------------------------------------------------------

    def _check_new(self, r: dict[str, Any], replacing: _Working | None = None) -> Rejection | None:
        """The first reason to reject request ``r`` (or a replacement), else ``None``: the
        pre-trade checks of :mod:`workbench.broker.risk` over this account's state."""
        symbol, side = r["symbol"], _member(Side, r["side"])
        acct = self._account
        ticket = _tuple_new(OrderTicket, (symbol, side, _member(OrderType, r["type"]), r["quantity"],
                                          r["limit_price"], r["stop_price"]))
        held = acct._books.get(symbol)  # Account.last_price and .quantity, in one look-up
        problem = first_problem(
            ticket, limits=self.risk, instruments=self.instruments, killed=self.killed,
            last=None if held is None else held.last, open_orders=self._open.count - (1 if replacing else 0),
            position=0.0 if held is None else held.quantity, pending=self._pending(symbol, side, exclude=replacing),
            account_type=acct.type, commission=self.commission,
            free_cash=lambda: acct.cash - self._reserved_cash(exclude=replacing)
            + self._released_cash(symbol, side, r["quantity"], replacing),
            free_margin=lambda: INITIAL_MARGIN * acct.buying_power() - self._reserved_margin(exclude=replacing),
        )
        if problem is None and self._contracts:
            contract = self._contracts.get(symbol)
            if contract is not None and self._expired(symbol):
                return Rejection(RejectReason.CONTRACT_EXPIRED,
                                 f"{symbol} expired on {contract.expiry} (market time {self._now.date()}"
                                 + (", its expiries settled)" if contract.expiry == self._now.date() else ")"))
            if side is Side.SELL:
                problem = self._check_cover(symbol, r["quantity"], r["limit_price"], replacing)
        return problem

    # --- options: what covers a short option ----------------------------------------------

    def _check_cover(self, symbol: str, qty: float, limit: float | None,
                     replacing: _Working | None) -> Rejection | None:
        """A sell's option rules (:func:`~workbench.broker.risk.check_option_cover`): the part
        of an option sell that opens short contracts needs cover; a cash account's sell of
        shares must leave those that cover its short calls."""
        acct = self._account
        contract = self._contracts.get(symbol)
        if contract is None:  # shares: a cash account keeps those its short calls need
            if symbol not in self._call_underlyings:
                return None
            if acct.type is not AccountType.CASH:  # a margin account: the calls left naked need their margin
                more = self._naked_margin(replacing, (symbol, qty)) - self._naked_margin(replacing)
                snap = acct.snapshot()  # after the sale: its shares' margin is free again
                sold = min(qty, max(acct.quantity(symbol) - self._pending(symbol, Side.SELL, exclude=replacing), 0.0))
                gross = snap.gross_exposure - sold * (acct.last_price(symbol) or 0.0)
                free = max(snap.equity - INITIAL_MARGIN * gross, 0.0) - self._reserved_margin(exclude=replacing)
                if more > EPS and more > free + EPS:
                    return Rejection(RejectReason.UNCOVERED_OPTION, (
                        f"selling {qty:g} {symbol} would leave short calls naked, needing {more:,.2f} more Reg-T "
                        f"margin; {max(free, 0.0):,.2f} is free"))
                return None
            covering = self._call_shares(symbol, exclude=replacing)
            available = acct.quantity(symbol) - self._pending(symbol, Side.SELL, exclude=replacing) - covering
            if covering > EPS and qty > available + EPS:
                return Rejection(RejectReason.UNCOVERED_OPTION, (
                    f"selling {qty:g} {symbol} would leave short calls uncovered: {covering:g} shares cover "
                    f"them, {max(available, 0.0):g} are free to sell"))
            return None
        if replacing is not None:  # a replacement's filled part is already held (short)
            qty -= replacing.filled
        held = acct.quantity(symbol) - self._pending(symbol, Side.SELL, exclude=replacing)
        opening = qty - max(held, 0.0)
        u = contract.underlying
        m = self.instruments[symbol].multiplier
        premium = limit if limit is not None else acct.last_price(symbol)
        return risk_rules.check_option_cover(
            symbol, contract.right, contract.strike, m, opening, acct.type, underlying=u,
            shares_free=acct.quantity(u) - self._pending(u, Side.SELL) - self._call_shares(u, exclude=replacing),
            cash_free=acct.cash - self._reserved_cash(exclude=replacing),
            underlying_price=acct.last_price(u), premium=premium,
            margin_free=INITIAL_MARGIN * acct.buying_power() - self._reserved_margin(exclude=replacing))

    def _live_quote(self, quote: Quote) -> bool:
        """Whether an order may fill against ``quote`` when placed: any quote of shares; an
        option's only on the date (UTC) it was quoted, and not past the contract's expiry (a
        chain is quoted daily; yesterday's quote of an option is no price today)."""
        if quote.symbol not in self._contracts:
            return True
        return (self._now_ns is not None and quote[0] // _DAY_NS == self._now_ns // _DAY_NS
                and not self._expired(quote.symbol))

    def _expired(self, symbol: str) -> bool:
        """Whether the option ``symbol`` trades no more: its expiry is before market time, or
        its expiry's session has been settled (a later end_session)."""
        c = self._contracts[symbol]
        if self._now is None:
            return False
        return c.expiry < self._now.date() or (self._settled_on is not None and c.expiry <= self._settled_on)

    def _settle_expiries(self, next_time=None) -> None:
        """At a session's close, each option held that expires on or before the session's
        date (UTC) is settled at the underlying's last price S (one journaled ``expiry``
        event), short positions first: a call at least :data:`ITM` in the money (S - K >=
        0.01), or a put (K - S >= 0.01), is exercised (long) or assigned (short):
        ``multiplier`` shares a contract change hands at the strike (a call: the holder buys;
        a put: the holder sells), and the contracts leave the account at a price of 0. A cash
        account exercises a long option only if it can settle it (a call: the strike's cash,
        free of open buys and secured puts; a put: the shares, free of those covering short
        calls); otherwise the option is cash-settled: it leaves at its intrinsic value (S - K
        or K - S), as if sold at that price at the close. Out of the money, or without a
        price of the underlying (``underlying_price`` null), it expires worthless. Working
        orders in an expired contract expire with the DAY orders, or are cancelled if GTC.
        American early exercise is not modelled."""
        if self._now is None:
            return
        today = self._now.date()
        if next_time is not None and pd.Timestamp(next_time).date() > today:
            today = pd.Timestamp(next_time).date() - timedelta(days=1)  # expiries on days the market is shut
        self._settled_on = today if self._settled_on is None else max(self._settled_on, today)
        acct = self._account
        due = [s for s in acct.held() if s in self._contracts and self._contracts[s].expiry <= today]
        for symbol in sorted(due, key=lambda s: (acct.quantity(s) > 0, s)):  # assignments first
            c = self._contracts[symbol]
            q = acct.quantity(symbol)
            s = acct.last_price(c.underlying)
            value = 0.0 if s is None else max(s - c.strike if c.right == "call" else c.strike - s, 0.0)
            itm = s is not None and value >= ITM - EPS
            shares, price, outcome = 0.0, 0.0, "expired"
            if itm:  # a call delivers shares to its holder, a put takes them from its holder
                shares = q * c.multiplier * (1 if c.right == "call" else -1)
                outcome = "exercised" if q > 0 else "assigned"
                if q > 0 and acct.type is AccountType.CASH and not self._can_settle(c, shares):
                    shares, price, outcome = 0.0, value, "cash_settled"
            self._emit("expiry", None, {"symbol": symbol, "quantity": q, "underlying": c.underlying,
                                        "strike": c.strike, "right": c.right, "underlying_price": s,
                                        "outcome": outcome, "shares": shares, "price": price})
        for order in sorted(self._open, key=lambda o: int(o.id[1:])):
            c = self._contracts.get(order.symbol)
            if c is not None and c.expiry <= today and order.tif is not TimeInForce.DAY:
                self._emit("cancelled", order.id, {"reason": "contract_expired"})

    def _can_settle(self, c, shares: float) -> bool:
        """Whether a cash account can take (``shares`` > 0, paying the strike) or deliver
        (``shares`` < 0) the shares of an exercise."""
        acct = self._account
        if shares > 0:
            cost = shares * c.strike * acct.multiplier(c.underlying)
            return cost <= acct.cash - self._reserved_cash() + EPS
        free = acct.quantity(c.underlying) - self._pending(c.underlying, Side.SELL) - self._call_shares(c.underlying)
        return -shares <= free + EPS

    def _short_contracts(self, symbol: str, exclude: _Working | None = None) -> float:
        """Contracts of ``symbol`` short, and that working sells would make short."""
        held = self._account.quantity(symbol)
        pending = self._pending(symbol, Side.SELL, exclude=exclude)
        return max(pending - max(held, 0.0), 0.0) + max(-held, 0.0)

    def _shorts(self, exclude: _Working | None = None) -> list[tuple[str, float]]:
        """``(option symbol, contracts short held or that working sells would make short)``
        for the options held or with working orders (never a scan of every instrument)."""
        symbols = {s for s in self._account.held() if s in self._contracts}
        symbols.update(o.symbol for o in self._open if o.symbol in self._contracts)
        out = []
        for s in sorted(symbols):
            n = self._short_contracts(s, exclude)
            if n > EPS:
                out.append((s, n))
        return out

    def _call_shares(self, underlying: str, exclude: _Working | None = None) -> float:
        """Shares of ``underlying`` that short calls on it (held or working) need as cover."""
        if underlying not in self._call_underlyings:
            return 0.0
        total = 0.0
        for s, n in self._shorts(exclude):
            c = self._contracts[s]
            if c.right == "call" and c.underlying == underlying:
                total += n * self.instruments[s].multiplier
        return total

    def _released_cash(self, symbol: str, side: Side, qty: float, exclude: _Working | None = None) -> float:
        """The secured cash a buy of ``qty`` ``symbol`` frees by closing short puts (cash
        account): a short put's buy-back may spend the cash that secures it."""
        c = self._contracts.get(symbol) if self._contracts else None
        if c is None or side is not Side.BUY or c.right != "put" or self._account.type is not AccountType.CASH:
            return 0.0
        short = max(-self._account.quantity(symbol) - self._pending(symbol, Side.BUY, exclude=exclude), 0.0)
        return min(qty, short) * c.strike * self.instruments[symbol].multiplier

    def _secured_cash(self, exclude: _Working | None = None) -> float:
        """Cash securing short puts, held or working (strike x multiplier a contract)."""
        return sum(n * self._contracts[s].strike * self.instruments[s].multiplier
                   for s, n in self._shorts(exclude) if self._contracts[s].right == "put")

    def _naked_margin(self, exclude: _Working | None = None, selling: tuple[str, float] | None = None) -> float:
        """Reg-T margin of the short options held or working (a margin account), at the
        last prices; an option or underlying without a price counts its strike. Short calls
        covered by shares held (less working sells, and less ``selling``: ``(symbol, shares)``
        an order would sell) need none, the calls in symbol order taking the shares first."""
        acct = self._account
        covering: dict[str, float] = {}
        total = 0.0
        for s, n in self._shorts(exclude):
            c = self._contracts[s]
            m = self.instruments[s].multiplier
            if c.right == "call":
                u = c.underlying
                if u not in covering:
                    covering[u] = max(acct.quantity(u) - self._pending(u, Side.SELL, exclude=exclude)
                                      - (selling[1] if selling and selling[0] == u else 0.0), 0.0)
                covered = min(n, covering[u] / m)
                covering[u] -= covered * m
                n -= covered
                if n <= EPS:
                    continue
            u_price = acct.last_price(c.underlying)
            p = acct.last_price(s)
            total += n * risk_rules.reg_t_requirement(c.right, c.strike, c.strike if u_price is None else u_price,
                                                      0.0 if p is None else p, m)
        return total

    def _pending(self, symbol: str, side: Side, exclude: _Working | None = None) -> float:
        pending = self._open.pending(symbol, side)
        if exclude is not None and exclude.side is side:
            pending -= exclude.remaining
        return pending

    def _reserved_cash(self, exclude: _Working | None = None) -> float:
        """What open buy orders may cost (cash account), and the cash securing short puts."""
        if not self._open._books and not self._contracts:  # no order works, no put is secured
            return 0.0
        last = self._account.last_price
        m = self._account.multiplier
        total = self._open.committed(last, (Side.BUY,), m)
        if exclude is not None and exclude.side is Side.BUY:
            total -= self._open.value(exclude, last(exclude.symbol)) * m(exclude.symbol)
        if self._contracts and self._account.type is AccountType.CASH:
            total += self._secured_cash(exclude)
        return total

    def _reserved_margin(self, exclude: _Working | None = None) -> float:
        """Initial margin open orders may need (margin account)."""
        if exclude is None and not self._open._books:  # no order works: nothing committed (0.0, as below)
            return 0.0 + (self._naked_margin(exclude) if self._contracts else 0.0)
        last = self._account.last_price
        m = self._account.multiplier
        total = self._open.committed(last, (Side.BUY, Side.SELL), m)
        if exclude is not None:
            total -= self._open.value(exclude, last(exclude.symbol)) * m(exclude.symbol)
        naked = self._naked_margin(exclude) if self._contracts else 0.0  # short options' Reg-T margin
        return INITIAL_MARGIN * total + naked

    # --- matching ------------------------------------------------------------------------

    def _match_bar(self, order: _Working, bar: Bar, capacity: float) -> float:
        """Fill ``order`` against ``bar`` within ``capacity`` units; returns units filled."""
        price, triggered, slips = rules.bar_fill(
            order.side, order.type, order.limit, order.stop, order.triggered, bar
        )
        if triggered and not order.triggered:
            self._emit("triggered", order.id, {})
        wanted = order.remaining
        qty = 0.0
        if price is not None:
            qty = wanted if capacity >= wanted else _floor_lot(capacity, self.instruments[order.symbol].lot_size)
        if order.tif is _FOK and qty < wanted - EPS:
            self._emit("cancelled", order.id, {"reason": R.FOK_NOT_FILLABLE.value})
            return 0.0
        short = False
        if qty > EPS:
            rule_price = price
            if slips:
                price = self.slippage.price(order.side, price, qty, bar)
                # Nothing traded outside the bar's range, whatever the slippage model says.
                price = min(max(price, bar.low), bar.high)
            affordable = self._cash_cap(order, qty, price)
            short, qty = affordable < qty - EPS, affordable
            if qty > EPS:
                self._fill(order, qty, price, rule_price, bar)
        if short and order.status in _LIVE:
            self._emit("cancelled", order.id, {"reason": R.CASH_SHORT_AT_FILL.value})
        elif order.tif is _IOC and order.status in _LIVE:
            self._emit("cancelled", order.id, {"reason": "ioc_rest"})
        return qty

    def _match_quote(self, order: _Working, quote: Quote) -> None:
        price, triggered, slips = rules.quote_fill(
            order.side, order.type, order.limit, order.stop, order.triggered, quote
        )
        if triggered and not order.triggered:
            self._emit("triggered", order.id, {})
        left = self._quote_left[order.symbol]
        side_ix = 1 if order.side is _BUY else 0
        wanted = order.remaining
        qty = 0.0
        if price is not None:
            qty = min(wanted, _floor_lot(left[side_ix], self.instruments[order.symbol].lot_size))
        if order.tif is _FOK and qty < wanted - EPS:
            self._emit("cancelled", order.id, {"reason": R.FOK_NOT_FILLABLE.value})
            return
        short = False
        if qty > EPS:
            rule_price = price
            if slips:
                price = self.slippage.price(order.side, price, qty, quote)
            affordable = self._cash_cap(order, qty, price)
            short, qty = affordable < qty - EPS, affordable
            if qty > EPS:
                self._fill(order, qty, price, rule_price)
                left[side_ix] -= qty
        if short and order.status in _LIVE:
            self._emit("cancelled", order.id, {"reason": R.CASH_SHORT_AT_FILL.value})
        elif order.tif is _IOC and order.status in _LIVE:
            self._emit("cancelled", order.id, {"reason": "ioc_rest"})

    def _cash_cap(self, order: _Working, qty: float, price: float) -> float:
        """What a cash account can pay for of a buy of ``qty`` at ``price`` (whole lots,
        commission included): all of it, as a rule. A market buy sized on the last price
        that fills at an open gapped up may cost more than the cash; then it fills as far
        as the cash goes and the rest is cancelled (``CASH_SHORT_AT_FILL``), so a cash
        account never goes below zero."""
        if self._account.type is not _CASH or order.side is _SELL:
            return qty
        cash = self._account.cash
        if self._contracts:  # the cash securing short puts pays for nothing else but buying them back
            cash -= self._secured_cash() - self._released_cash(order.symbol, order.side, qty, exclude=order)
        price = price * self._account.multiplier(order.symbol)  # a contract's price
        if qty * price + self._fee(order, qty, price) <= cash + EPS:
            return qty
        lot = self.instruments[order.symbol].lot_size
        q = min(qty, max(cash, 0.0) / price)
        q = _floor_lot(max(cash - self._fee(order, q, price), 0.0) / price, lot)
        while q > EPS and q * price + self._fee(order, q, price) > cash + EPS:
            q = _floor_lot(q - lot, lot) if q - lot > EPS else 0.0
        return q

    def commission_estimate(self, symbol: str, side: Side | str, quantity: float, price: float) -> float:
        """What the commission model charges a new order of ``quantity`` filled at once at
        ``price`` (per unit): what a strategy sizing an order within a budget allows for."""
        order = Order("estimate", _symbol(symbol), _enum(Side, side, "side"), OrderType.MARKET, float(quantity), None,
                      None, TimeInForce.DAY, OrderStatus.ACCEPTED)
        return self._commission(order, float(quantity), float(price) * self._account.multiplier(order.symbol))

    def _fee(self, order: _Working, qty: float, contract_price: float) -> float:
        """:meth:`_commission` of a working order: its snapshot is built only for a model
        that may read it (free trading reads nothing)."""
        if type(self.commission) is NoCommission:
            return 0.0
        return self._commission(order.snapshot(), qty, contract_price)

    def _commission(self, order: Order, qty: float, contract_price: float) -> float:
        """The commission model's charge, the model seeing prices per contract (price x
        multiplier: what a trade's value is), the order's average price included."""
        m = self._account.multiplier(order.symbol)
        if m != 1.0:
            order = _replace(order, avg_fill_price=order.avg_fill_price * m)
        return self.commission.commission(order, qty, contract_price)

    def _fill(self, order: _Working, qty: float, price: float, rule_price: float, bar: Bar | None = None) -> None:
        """Journal a fill; a bar's fill records the bar's range (recovery checks the price
        lies in it)."""
        m = self._account.multiplier(order.symbol)
        commission = self._fee(order, qty, price * m)
        slippage = (price - rule_price) * qty * order.side.sign * m
        payload = {"quantity": qty, "price": price, "commission": commission, "slippage": slippage}
        if bar is not None:
            payload["low"], payload["high"] = bar.low, bar.high
        self._emit("fill", order.id, payload)

    # --- events --------------------------------------------------------------------------

    def _emit(self, kind: str, order_id: str | None, payload: dict[str, Any]) -> Event:
        event = Event(self._seq + 1, self._time_ns, kind, order_id, payload)
        self.journal.append(event)  # first the journal, then the state
        self._apply(event)
        return event

    def _reject(self, action, reason: RejectReason, message: str, order_id, request) -> Reply:
        # A rejected request may hold NaN or infinity, which JSON cannot: keep them as text.
        request = {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v)
                   for k, v in request.items()}
        payload = {"action": action, "reason": reason.value, "message": message, "request": request}
        event = self._emit("rejected", order_id, payload)
        return Reply(False, order_id, event.seq, reason, message)

    def _apply(self, e: Event) -> None:
        """Apply one journaled event to the state: the only place state changes."""
        if e.seq != self._seq + 1:
            raise ConfigError(f"journal out of sequence: event {e.seq} after {self._seq}")
        self._seq = e.seq
        if self._now_ns is None or e.time_ns > self._now_ns:
            self._now_ns = e.time_ns
        p = e.payload
        kind = e.kind
        if kind == "fill":
            o = self._orders[e.order_id]
            qty, price, commission = p["quantity"], p["price"], p["commission"]
            left = o.quantity - o.filled  # (o.remaining)
            if qty > left + EPS or not qty > 0:
                raise ValueError(f"a fill of {qty} on order {o.id} with {left} left")
            new_status = _FILLED if left - qty <= EPS else _PARTIALLY_FILLED
            check_transition(o.status, new_status, o.id)
            if new_status is _FILLED:
                self._open.discard(o)  # (its remaining out of the totals, as adjust(o, -1) would)
            else:
                self._open.adjust(o, -1)
            o.filled += qty
            o.value += qty * price
            o.commission += commission
            o.status = new_status
            self._account.apply_fill(o.symbol, o.side, qty, price, commission)
            self._fills.append(Fill(e.seq, o.id, _ts(e.time_ns), o.symbol, o.side, qty, price,
                                    commission, p["slippage"]))
            self._counts["fills"] += 1
            if new_status is _FILLED:
                o.filled = o.quantity  # no float residue in a filled order
            else:
                self._open.adjust(o, +1)
        elif kind == "accepted":
            o = _Working(e.order_id, p, e.time_ns)
            self._orders[o.id] = o
            self._open.add(o)
            self._next_id = max(self._next_id, int(o.id[1:]) + 1)
            self._counts["accepted"] += 1
        elif kind in ("cancelled", "expired"):
            o = self._orders[e.order_id]
            new_status = _CANCELLED if kind == "cancelled" else _EXPIRED
            check_transition(o.status, new_status, o.id)
            self._open.discard(o)
            o.status = new_status
            self._counts[kind] += 1
        elif kind == "triggered":
            self._orders[e.order_id].triggered = True
        elif kind == "replaced":
            o = self._orders[e.order_id]
            self._open.adjust(o, -1)
            o.quantity, o.limit, o.stop = p["quantity"], p["limit_price"], p["stop_price"]
            self._open.adjust(o, +1)
            self._counts["replaced"] += 1
        elif kind == "rejected":
            self._rejections[p["reason"]] = self._rejections.get(p["reason"], 0) + 1
        elif kind == "kill_switch":
            self.killed = bool(p["on"])
        elif kind == "slice":
            self._last_slice_ns = e.time_ns
        elif kind == "expiry":
            # the contracts leave at 0; exercised or assigned, the shares change hands at the strike
            time, q, shares = _ts(e.time_ns), p["quantity"], p["shares"]
            legs = [(p["symbol"], Side.SELL if q > 0 else Side.BUY, abs(q), p.get("price", 0.0))]
            if shares:
                legs.append((p["underlying"], Side.BUY if shares > 0 else Side.SELL, abs(shares), p["strike"]))
            for symbol, side, qty, price in legs:
                self._account.apply_fill(symbol, side, qty, price, 0.0)
                self._fills.append(Fill(e.seq, f"E{e.seq}", time, symbol, side, qty, price, 0.0, 0.0))
                self._counts["fills"] += 1
            key = "options_" + p["outcome"]
            self._counts[key] = self._counts.get(key, 0) + 1
        else:
            raise ConfigError(f"journal event {e.seq}: unknown kind {kind!r}")

    def events(self) -> Iterator[Event]:
        """Every journaled event, in sequence order."""
        return self.journal.events()


# --- helpers -------------------------------------------------------------------------------


def _recorded_config(cfg: dict[str, Any], commission: CommissionModel | None,
                     slippage: SlippageModel | None) -> dict[str, Any]:
    """A journal's ``config`` meta as the broker's keyword arguments (``commission`` and
    ``slippage``: the models to use instead of those it names, for classes of one's own)."""
    try:
        commission = commission or commission_from(cfg["commission"])
        slippage = slippage or slippage_from(cfg["slippage"])
    except ConfigError as exc:
        raise ConfigError(f"{exc}; pass commission=/slippage= to recover") from None
    return dict(
        cash=cfg["cash"],
        account_type=cfg["account_type"],
        instruments=[Instrument(**i) for i in cfg["instruments"]],
        commission=commission,
        slippage=slippage,
        participation=cfg["participation"],
        risk=RiskLimits.from_dict(cfg["risk"]),
        durability=cfg["durability"],
        batch_size=cfg.get("batch_size", 1000),
    )


def _floor_lot(quantity: float, lot: float) -> float:
    if quantity == math.inf:
        return quantity
    return math.floor(quantity / lot + 1e-9) * lot


_DAY_NS = 86_400 * 1_000_000_000


_tuple_new = tuple.__new__  # a NamedTuple without its Python-level __new__

_ts = time_of  # a fill's, an order's time: the bar's, whose Timestamp is cached already


def _symbol(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"symbol must be a str, got {type(value).__name__}")
    return value


# Members by value: a dict lookup instead of an Enum call (0.1 us, not 0.7: six an order).
_MEMBERS = {cls: {m.value: m for m in cls} for cls in (Side, OrderType, TimeInForce)}
_VALUES = {m: m.value for table in _MEMBERS.values() for m in table.values()}  # (.value is a descriptor call)
# A member or its exact value -> the value (what _VALUES[_enum(cls, v, name)] gives them), for _place
# (a str enum's member hashes and compares as its value: one key finds both); asked only of a str or a
# member (hashable); a miss (another spelling, another type) takes _enum's path.
_SIDE_VALUES, _TYPE_VALUES, _TIF_VALUES = ({m: m.value for m in cls} for cls in (Side, OrderType, TimeInForce))
_FAST_KEYS = frozenset({str, Side, OrderType, TimeInForce})


def _enum(cls, value, name):
    if isinstance(value, cls):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a {cls.__name__} or str, got {type(value).__name__}")
    member = _MEMBERS[cls].get(value) or _MEMBERS[cls].get(value.lower())
    if member is None:
        raise ValueError(f"{name} must be one of {', '.join(m.value for m in cls)}; got {value!r}")
    return member


def _member(cls, value):
    """``cls(value)``, by a dict lookup when ``value`` is a member's value (the same error otherwise)."""
    try:
        return _MEMBERS[cls][value]
    except (KeyError, TypeError):
        return cls(value)


def _number(value, name, optional=False):
    if value is None:
        if optional:
            return None
        raise TypeError(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float
        raise ValueError(f"{name} {str(value)[:20]}... is too large a number") from None


def _option_contracts(instruments: dict[str, Instrument]) -> dict[str, Any]:
    """The terms of each option instrument (``AssetClass.OPTION``), read from its OCC symbol
    (:func:`workbench.options.parse_occ`), with the instrument's multiplier."""
    options = [i for i in instruments.values() if i.asset_class is AssetClass.OPTION]
    if not options:
        return {}
    from workbench.options.contracts import OptionError, parse_occ

    out = {}
    for inst in options:
        try:
            out[inst.symbol] = parse_occ(inst.symbol, multiplier=inst.multiplier)
        except OptionError as exc:
            raise ConfigError(f"instruments: option {inst.symbol!r} is not an OCC symbol: {exc}") from None
    return out


def _instrument_config(i: Instrument) -> dict[str, Any]:
    """An instrument as the journal records it: its fields, the asset class by value, a
    multiplier of 1 left out (journals of equities read as before it existed). Written out
    field by field: ``asdict`` cost a second for the tens of thousands of option contracts of
    a chain's history."""
    out = {"symbol": i.symbol, "asset_class": i.asset_class.value, "currency": i.currency,
           "tick_size": i.tick_size, "lot_size": i.lot_size}
    if i.multiplier != 1.0:
        out["multiplier"] = i.multiplier
    return out
