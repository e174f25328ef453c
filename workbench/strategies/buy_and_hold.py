"""Buy and hold."""

from __future__ import annotations

from workbench.model import Bar
from workbench.strategies.base import Param, Strategy


class BuyAndHold(Strategy):
    """Buys each symbol with a market order at the close of its first bar (so it fills at
    the second bar's open) and holds it to the end: ``quantity`` units of each, or, with
    ``quantity`` 0 (the default), fully invested: the starting equity split equally over the
    data's symbols (or the cash left, for a symbol that starts later, if less), whole units
    rounded towards zero at that first close, the commission included (a cash account's buy
    that gaps above the cash at the open fills as far as the cash goes)."""

    name = "buy_and_hold"
    parameters = {"quantity": Param(float, 0.0, "units to buy per symbol (0: the equity split equally)", low=0.0)}

    @staticmethod
    def vectorized_targets(close, params):
        """The target after each close (the optimizer's fast path): held from the first."""
        import numpy as np

        return np.full(len(close), float(params["quantity"]))

    @staticmethod
    def vectorizable(params) -> bool:
        """The fast paths know fixed quantities only; fully invested sizes from the equity."""
        return float(params["quantity"]) > 0

    def on_start(self) -> None:
        self._bought: set[str] = set()
        symbols = self.universe
        self._budget = self.equity / len(symbols) if symbols else 0.0

    def on_bar(self, bar: Bar) -> None:
        if bar.symbol not in self._bought:
            self._bought.add(bar.symbol)
            quantity = self.params["quantity"]
            if not quantity:  # the budget (or the cash left, if less) pays for the units and their commission
                budget = min(self._budget, max(self.cash, 0.0))
                quantity = self.affordable(bar.symbol, self.units_for(bar.symbol, budget, bar.close), bar.close, budget)
            if quantity > 0:
                self.target_position(bar.symbol, quantity)
