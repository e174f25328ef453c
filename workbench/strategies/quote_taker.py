"""A quote-driven demo strategy for paper sessions, monitoring and certification."""

from __future__ import annotations

from workbench.model import Quote
from workbench.strategies.base import Param, Strategy


class QuoteTaker(Strategy):
    """On every ``every``-th quote it sees (all symbols counted), trades ``quantity`` units with a
    market order: buys when flat or short, sells when long. Keeps orders flowing so a
    session has fills, latencies and positions to watch; it makes no claim to an edge."""

    name = "quote_taker"
    parameters = {
        "every": Param(int, 5, "quotes between orders", low=1),
        "quantity": Param(float, 10.0, "units per order", low=0.0),
    }

    def on_start(self) -> None:
        self._seen = 0

    def on_quote(self, quote: Quote) -> None:
        self._seen += 1
        if self._seen % self.params["every"] == 0:
            side = "buy" if self.position(quote.symbol) <= 0 else "sell"
            self.order(quote.symbol, side, self.params["quantity"])
