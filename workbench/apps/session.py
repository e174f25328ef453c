"""A paper session for one browser session: a broker, a live quote stream, a monitor.

Each browser session gets its own (per-session state, never module globals). The market is
a seeded synthetic quote stream whose mid price also swings on a slow sine wave, so resting
orders near the market do get crossed within a minute; :meth:`PaperSession.advance` feeds
the next quotes to the broker (a Panel periodic callback calls it a few times a second).
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from workbench.broker import SimulatedBroker
from workbench.broker.journal import remove, started
from workbench.feed import synthetic_quotes
from workbench.model import Quote, unchecked_quote
from workbench.monitor import Monitor

SYMBOLS = ("AAA", "BBB")
CYCLE = 60  # quotes per swing of the sine wave


class PaperSession:
    """Broker + quotes + monitor for one user; thread-safe (the server runs callbacks)."""

    def __init__(self, seed: int = 0, cash: float = 1_000_000.0, journal: str | os.PathLike | None = None) -> None:
        """With ``journal``, every order and fill is journaled there; a journal that already
        holds events is recovered (the session continues where it stopped)."""
        if journal is not None and started(journal):
            self.broker = SimulatedBroker.recover(journal)
        else:
            if journal is not None:
                remove(journal)  # a journal made but never written: nothing to keep
            self.broker = SimulatedBroker(cash=cash, instruments=SYMBOLS, account_type="margin", journal=journal)
        self.monitor = Monitor(interval=1.0, log=False).attach(broker=self.broker)
        self.monitor.session_started()
        self._quotes = self._stream(seed)
        self.last: dict[str, Quote] = {}
        self.history: list[dict[str, Any]] = []  # recent mids for charts (the last 2,000)
        self.quotes_seen = 0  # quotes ever appended to history (a page's cursor)
        self.lock = threading.RLock()
        self.updates = 0
        self.advance(len(SYMBOLS) * 2)

    @staticmethod
    def _stream(seed: int):
        q = synthetic_quotes(list(SYMBOLS), days=1, freq="1s", seed=seed, volatility=0.05)
        k = len(SYMBOLS)
        swing = 0.6 * np.sin(2 * math.pi * (np.arange(len(q)) // k) / CYCLE)
        bid = np.round(q["bid"].to_numpy() + swing, 2)
        ask = np.maximum(np.round(q["ask"].to_numpy() + swing, 2), bid + 0.01)
        rows = zip(q["symbol"].astype(str), bid.tolist(), ask.tolist(), q["bid_size"].tolist(),
                   q["ask_size"].tolist())
        return itertools.cycle(list(rows))

    def advance(self, n: int = 2) -> list[Quote]:
        """Feed the next ``n`` quotes (stamped with the wall clock) to the broker."""
        out = []
        with self.lock:
            for _ in range(n):
                symbol, bid, ask, bs, asz = next(self._quotes)
                quote = unchecked_quote(pd.Timestamp(time.time(), unit="s", tz="UTC"), symbol, bid, ask, bs, asz)
                self.broker.on_quote(quote)
                self.last[symbol] = quote
                out.append(quote)
                self.history.append({"time": quote.time, "symbol": symbol, "mid": quote.mid})
                self.quotes_seen += 1
            del self.history[:-2000]
            self.updates += 1
            self.monitor.sample_if_due()
        return out

    # --- what a trading page reads and sends (RunSession answers the same) -------------------

    symbols = list(SYMBOLS)
    running = True

    def poll(self) -> None:
        """Nothing to pull: this session lives in the server."""

    def seq(self) -> int:
        return self.broker.last_seq

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Orders and fills, read together (an order shown filled has its fill shown)."""
        with self.lock:
            return orders_frame(self.broker), fills_frame(self.broker)

    def positions_frame(self) -> pd.DataFrame:
        with self.lock:
            return positions_frame(self.broker)

    def account(self):
        return self.broker.account()

    def killed(self) -> bool:
        return bool(self.broker.killed)

    def quote_line(self) -> str:
        with self.lock:
            return "  ".join(f"**{s}** {q.bid:.2f} / {q.ask:.2f}" for s, q in sorted(self.last.items()))

    def place(self, symbol, side, quantity, type, limit_price, stop_price, tif, by: str) -> tuple[bool, str]:
        with self.lock:
            reply = self.broker.place_order(symbol, side, quantity, type, limit_price=limit_price,
                                            stop_price=stop_price, tif=tif, client_id=by)
        return reply_text(reply.accepted, reply.order_id, reply.reason and reply.reason.value, reply.message)

    def kill(self, on: bool, by: str) -> tuple[bool, str]:
        with self.lock:
            if on:
                return True, f"Kill switch ON: {self.broker.kill_switch(by)} order(s) cancelled"
            self.broker.reset_kill_switch(by)
            return True, "Kill switch reset"

    def close(self) -> None:
        self.monitor.close()
        self.broker.close()


def reply_text(accepted: bool, order_id: str | None, reason: str | None, message: str) -> tuple[bool, str]:
    return (True, f"Accepted {order_id}") if accepted else (False, f"Rejected: {reason}: {message}")


ORDER_COLUMNS = ["id", "symbol", "side", "type", "quantity", "status", "filled", "avg_price", "by", "limit", "stop",
                 "tif"]
FILL_COLUMNS = ["time", "order", "symbol", "side", "quantity", "price"]
POSITION_COLUMNS = ["symbol", "quantity", "avg_cost", "last", "unrealized"]


def _units(x: float):
    """A quantity as people write it: 10, not 10.0 (fractions kept)."""
    return int(x) if float(x).is_integer() else x


def _price(x: float | None):
    return None if x is None else round(x, 2)


def orders_frame(broker) -> pd.DataFrame:
    """A broker's orders, newest first, for display (the caller holds its lock)."""
    rows = [(o.id, o.symbol, o.side.value, o.type.value, _units(o.quantity), o.status.value, _units(o.filled_quantity),
             _price(o.avg_fill_price) if o.filled_quantity else None, o.client_id or "", o.limit_price, o.stop_price,
             o.tif.value) for o in reversed(broker.orders())]
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def fills_frame(broker, time_format: str = "%H:%M:%S") -> pd.DataFrame:
    """A broker's fills, newest first, for display (the caller holds its lock)."""
    rows = [(f.time.strftime(time_format), f.order_id, f.symbol, f.side.value, _units(f.quantity), _price(f.price))
            for f in reversed(broker.fills())]
    return pd.DataFrame(rows, columns=FILL_COLUMNS)


def positions_frame(broker) -> pd.DataFrame:
    """A broker's open positions at their last prices, for display (the caller holds its lock)."""
    rows = [(p.symbol, _units(p.quantity), _price(p.avg_cost), _price(p.last_price), round(p.unrealized_pnl, 2))
            for p in broker.positions().values()]
    return pd.DataFrame(rows, columns=POSITION_COLUMNS)
