"""Mean reversion on the z-score of the close against its rolling mean."""

from __future__ import annotations

from workbench.errors import ConfigError
from workbench.model import Bar
from workbench.strategies.base import Param, Rolling, Strategy


class MeanReversion(Strategy):
    """Trades the z-score ``z = (close - mean) / std`` of the last ``window`` closes (the
    current one included; sample standard deviation).

    Flat: goes long ``quantity`` units when z < -entry, or short when z > entry if
    ``allow_short``. Long: goes flat when z >= -exit. Short: goes flat when z <= exit.
    Decides at each bar's close with market orders (filled at the next open); no signal
    until ``window`` closes are seen, or while the window has no variance.
    """

    name = "mean_reversion"
    parameters = {
        "window": Param(int, 20, "closes in the rolling mean and deviation", low=2),
        "entry": Param(float, 2.0, "|z| that opens a position", low=0.0),
        "exit": Param(float, 0.5, "|z| inside which a position closes", low=0.0),
        "quantity": Param(float, 100.0, "units per position", low=0.0),
        "allow_short": Param(bool, False, "also sell short above +entry (needs margin)"),
    }

    def warmup(self) -> int:
        return int(self.params["window"])  # the z-score needs a full window

    def check_params(self) -> None:
        if self.params["exit"] >= self.params["entry"]:
            raise ConfigError(
                f"mean_reversion: exit ({self.params['exit']}) must be below entry ({self.params['entry']})"
            )

    def on_start(self) -> None:
        self._windows: dict[str, Rolling] = {}

    def on_bar(self, bar: Bar) -> None:
        w = self._windows.get(bar.symbol)
        if w is None:
            w = self._windows[bar.symbol] = Rolling(self.params["window"])
        w.push(bar.close)
        sd = w.std
        if not w.ready or not sd > 0:
            return
        z = (bar.close - w.mean) / sd
        p = self.params
        held = self.position(bar.symbol)
        if held == 0:
            if z < -p["entry"]:
                self.target_position(bar.symbol, p["quantity"])
            elif z > p["entry"] and p["allow_short"]:
                self.target_position(bar.symbol, -p["quantity"])
        elif held > 0 and z >= -p["exit"]:
            self.target_position(bar.symbol, 0.0)
        elif held < 0 and z <= p["exit"]:
            self.target_position(bar.symbol, 0.0)
