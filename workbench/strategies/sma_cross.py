"""Simple moving-average crossover."""

from __future__ import annotations

from workbench.errors import ConfigError
from workbench.model import Bar
from workbench.strategies.base import Param, Strategy


class SmaCross(Strategy):
    """Holds ``quantity`` units long while SMA(fast) > SMA(slow) of the close, flat
    otherwise, for each symbol on its own.

    Decides at each bar's close, once ``slow`` closes have been seen, with market orders
    through ``target_position``, so under the bar fill rules the orders fill at the next
    bar's open. SMA(n) is the plain mean of the last n closes, the current one included.
    When the two averages are equal it is flat.
    """

    name = "sma_cross"
    parameters = {
        "fast": Param(int, 10, "bars in the fast average", low=1),
        "slow": Param(int, 30, "bars in the slow average", low=2),
        "quantity": Param(float, 100.0, "units held while long", low=0.0),
    }

    def warmup(self) -> int:
        return int(self.params["slow"])  # the slow average needs this many closes

    def check_params(self) -> None:
        if self.params["fast"] >= self.params["slow"]:
            raise ConfigError(
                f"sma_cross: fast ({self.params['fast']}) must be below slow ({self.params['slow']})"
            )

    @staticmethod
    def vectorized_targets(close, params):
        """The target after each close, for the optimizer's fast path (same arithmetic)."""
        from workbench.strategies.kernels import sma_cross_targets

        return sma_cross_targets(close, int(params["fast"]), int(params["slow"]), float(params["quantity"]))

    def on_start(self) -> None:
        self._state: dict[str, list] = {}  # symbol -> [ring of closes, count, fast sum, slow sum]
        self._fast, self._slow = self.params["fast"], self.params["slow"]
        self._qty = self.params["quantity"]

    def on_bar(self, bar: Bar) -> None:
        # Running sums over a ring buffer: O(1) a bar (Rolling would do, at twice the cost;
        # this strategy is the engine's benchmark). Resummed every `slow` bars: no drift.
        st = self._state.get(bar.symbol)
        if st is None:
            st = self._state[bar.symbol] = [[0.0] * self._slow, 0, 0.0, 0.0]
        ring, n, fast_sum, slow_sum = st
        fast, slow = self._fast, self._slow
        close = bar.close
        if n >= slow:
            slow_sum -= ring[n % slow]
        if n >= fast:
            fast_sum -= ring[(n - fast) % slow]
        ring[n % slow] = close
        n += 1
        if n % slow == 0:  # plain left-to-right sums: the vectorized path repeats them exactly
            slow_sum = 0.0
            for x in ring:
                slow_sum += x
            fast_sum = 0.0
            for i in range(fast):
                fast_sum += ring[(n - fast + i) % slow]
        else:
            slow_sum += close
            fast_sum += close
        st[1], st[2], st[3] = n, fast_sum, slow_sum
        if n >= slow:
            want = self._qty if fast_sum / fast > slow_sum / slow else 0.0
            if self.exposure(bar.symbol) != want:
                self.target_position(bar.symbol, want)
