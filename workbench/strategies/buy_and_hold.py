"""Buy and hold."""

from __future__ import annotations

from workbench.model import Bar
from workbench.strategies.base import Param, Strategy


class BuyAndHold(Strategy):
    """Buys ``quantity`` units of each symbol with a market order at the close of its
    first bar (so it fills at the second bar's open) and holds them to the end."""

    name = "buy_and_hold"
    parameters = {"quantity": Param(float, 100.0, "units to buy per symbol", low=0.0)}

    @staticmethod
    def vectorized_targets(close, params):
        """The target after each close (the optimizer's fast path): held from the first."""
        import numpy as np

        return np.full(len(close), float(params["quantity"]))

    def on_start(self) -> None:
        self._bought: set[str] = set()

    def on_bar(self, bar: Bar) -> None:
        if bar.symbol not in self._bought:
            self._bought.add(bar.symbol)
            self.target_position(bar.symbol, self.params["quantity"])
