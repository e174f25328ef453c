"""A strategy that trades on every bar: the stress case of crash and resume trials."""

from __future__ import annotations

from workbench.model import Bar
from workbench.strategies.base import Param, Strategy


class EveryBar(Strategy):
    """On every bar of a symbol, a market order: buys ``quantity`` units when flat, sells
    them when long (so it fills at the next bar's open, and every bar has an order and,
    from the second on, a fill). It makes no claim to an edge; it exists so that a run
    killed anywhere has something in flight."""

    name = "every_bar"
    parameters = {"quantity": Param(float, 10.0, "units per order", low=0.0)}

    def on_bar(self, bar: Bar) -> None:
        side = "sell" if self.exposure(bar.symbol) > 0 else "buy"
        self.order(bar.symbol, side, self.params["quantity"])
