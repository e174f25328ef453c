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

    def orders_frame(self) -> pd.DataFrame:
        with self.lock:
            rows = [{"id": o.id, "symbol": o.symbol, "side": o.side.value, "type": o.type.value,
                     "quantity": o.quantity, "limit": o.limit_price, "stop": o.stop_price, "tif": o.tif.value,
                     "status": o.status.value, "filled": o.filled_quantity, "avg_price": round(o.avg_fill_price, 4),
                     "by": o.client_id or ""}
                    for o in reversed(self.broker.orders())]
        return pd.DataFrame(rows, columns=["id", "symbol", "side", "type", "quantity", "limit", "stop", "tif",
                                           "status", "filled", "avg_price", "by"])

    def fills_frame(self) -> pd.DataFrame:
        with self.lock:
            rows = [{"time": f.time.strftime("%H:%M:%S"), "order": f.order_id, "symbol": f.symbol,
                     "side": f.side.value, "quantity": f.quantity, "price": f.price}
                    for f in reversed(self.broker.fills())]
        return pd.DataFrame(rows, columns=["time", "order", "symbol", "side", "quantity", "price"])

    def positions_frame(self) -> pd.DataFrame:
        with self.lock:
            rows = [{"symbol": p.symbol, "quantity": p.quantity, "avg_cost": round(p.avg_cost, 4),
                     "last": None if p.last_price is None else round(p.last_price, 4), "unrealized": round(p.unrealized_pnl, 2)}
                    for p in self.broker.positions().values()]
        return pd.DataFrame(rows, columns=["symbol", "quantity", "avg_cost", "last", "unrealized"])

    def close(self) -> None:
        self.monitor.close()
        self.broker.close()
