"""Target weights, rebalanced on a calendar or when they drift: ``rebalance``."""

from __future__ import annotations

import pandas as pd

from workbench.errors import ConfigError
from workbench.strategies.base import Param, Strategy

PERIODS = ("week", "month", "quarter", "year", "never")


def parse_weights(text: str) -> dict[str, float]:
    """``"SP500=0.6,NASDAQ=0.4"`` -> ``{"SP500": 0.6, "NASDAQ": 0.4}``: each in [0, 1], the sum
    at most 1 (the rest stays in cash); a :class:`ConfigError` naming what is wrong."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        symbol, sep, value = part.partition("=")
        symbol = symbol.strip()
        if not sep or not symbol:
            raise ConfigError(f"parameter weights: expected SYMBOL=WEIGHT,..., got {part!r}")
        try:
            w = float(value)
        except ValueError:
            raise ConfigError(f"parameter weights: {symbol}'s weight {value.strip()!r} is not a number") from None
        if not (0.0 <= w <= 1.0):
            raise ConfigError(f"parameter weights: {symbol}'s weight {w} is outside 0 to 1")
        if symbol in out:
            raise ConfigError(f"parameter weights: {symbol} is given twice")
        out[symbol] = w
    if sum(out.values()) > 1.0 + 1e-9:
        raise ConfigError(f"parameter weights: they sum to {sum(out.values()):g}, more than 1 (no borrowing)")
    return out


class Rebalance(Strategy):
    """Holds target weights of the account's equity, rebalanced at the first bar of each
    ``every`` (week, month, quarter, year; ``never``: set once) and whenever a weight drifts
    more than ``band`` from its target (0: calendar only).

    The weights: ``weights`` (``SP500=0.6,NASDAQ=0.4``; the rest in cash), or, when empty,
    ``allocator`` over the data's symbols (``equal``, ``inverse_vol``, ``min_variance`` over the
    last ``lookback`` closes: :mod:`workbench.analytics.allocation`).

    At a decision (once every bar of that time has been seen, at its close): equity E at the
    close; each symbol's target ``units(w x E x (1 - cash_buffer) / close)``, whole units
    rounded towards zero (``fractional``: to a millionth); market orders sell what is above
    the targets now (filled at the next open); the buys wait one bar, for the cash those
    sales free (with nothing to sell, they go at once): at that close each symbol below its
    target (in symbol order) buys the difference, at most what the free cash pays at that
    close with the commission, and fills at the following open (a cash account's buy that gaps above the cash fills as far
    as the cash goes). A decision waits until every weighted symbol has a price.

    A paper run resumed from its journal makes the decisions the run that never stopped
    makes, drift band included: its warm-up trades the slices again on a broker in memory, so
    the drift it sees there is the one the run saw."""

    name = "rebalance"
    parameters = {
        "weights": Param(str, "", "SYMBOL=WEIGHT,... (empty: the allocator over the data's symbols)"),
        "allocator": Param(str, "equal", "equal, inverse_vol or min_variance (when weights is empty)"),
        "lookback": Param(int, 60, "closes the allocator looks back over", low=2),
        "every": Param(str, "month", "week, month, quarter, year or never"),
        "band": Param(float, 0.0, "rebalance when a weight drifts this far from its target (0: off)", low=0.0,
                      high=1.0),
        "cash_buffer": Param(float, 0.0, "share of equity left in cash", low=0.0, high=0.5),
        "fractional": Param(bool, False, "fractional units (lot size permitting)"),
    }

    def check_params(self) -> None:
        from workbench.analytics.allocation import ALLOCATORS

        self._fixed = parse_weights(self.params["weights"])
        if self.params["allocator"] not in ALLOCATORS:
            raise ConfigError(f"parameter allocator: {self.params['allocator']!r}; use {', '.join(ALLOCATORS)}")
        if self.params["every"] not in PERIODS:
            raise ConfigError(f"parameter every: {self.params['every']!r}; use {', '.join(PERIODS)}")

    def on_start(self) -> None:
        self._pending: dict[str, float] = {}
        self._period = None
        self._decided = False
        self.rebalances: list[tuple[str, dict[str, float]]] = []  # (date, weights) of each decision
        if self._fixed:
            unknown = sorted(set(self._fixed) - set(self.universe))
            if unknown:
                raise ConfigError(f"parameter weights: {', '.join(unknown)} not in the data "
                                  f"({', '.join(self.universe)})")

    def _period_of(self, time) -> object:
        t = pd.Timestamp(time)
        every = self.params["every"]
        if every == "week":
            iso = t.isocalendar()
            return (iso.year, iso.week)
        if every == "month":
            return (t.year, t.month)
        if every == "quarter":
            return (t.year, (t.month - 1) // 3)
        if every == "year":
            return t.year
        return None

    def on_slice(self, time) -> None:
        if self._pending:
            self._buy()
            return
        period = self._period_of(time)
        due = not self._decided or (period != self._period and self.params["every"] != "never")
        weights = self._weights()
        if weights is None:  # a weighted symbol has no price yet
            return
        if not due and self.params["band"] > 0 and not any(self.working(s) for s in self.universe):
            due = self._drift(weights) > self.params["band"] + 1e-12
        if due:
            self._decide(time, weights)
        self._period = period

    def _weights(self) -> dict[str, float] | None:
        symbols = list(self._fixed) if self._fixed else self.universe
        closes = {s: self.history(s, "close", self.params["lookback"] + 1) for s in symbols}
        if any(len(c) == 0 for c in closes.values()):
            return None
        if self._fixed:
            return dict(self._fixed)
        from workbench.analytics.allocation import allocate

        n = min(len(c) for c in closes.values())
        frame = pd.DataFrame({s: c[-n:] for s, c in closes.items()})
        return allocate(frame, self.params["allocator"])

    def _drift(self, weights: dict[str, float]) -> float:
        equity = self.equity
        if not equity > 0:
            return 0.0
        return max(abs(self.position(s) * float(self.history(s, "close", 1)[-1]) / equity - w)
                   for s, w in weights.items())

    def _decide(self, time, weights: dict[str, float]) -> None:
        self._decided = True
        investable = self.equity * (1.0 - self.params["cash_buffer"])
        fractional = self.params["fractional"]
        targets = {s: self.units_for(s, w * investable, fractional=fractional) for s, w in weights.items()}
        for s in self.universe:  # a symbol held but no longer weighted goes
            if s not in targets and self.position(s):
                targets[s] = 0.0
        self.rebalances.append((str(pd.Timestamp(time).date()), {s: round(w, 6) for s, w in weights.items()}))
        sold = False
        for s in sorted(targets):
            excess = self.position(s) - targets[s]
            if excess > 1e-9:
                self.order(s, "sell", excess)
                sold = True
        self._pending = {s: t for s, t in targets.items() if t - self.position(s) > 1e-9}
        if self._pending and not sold:  # nothing to sell first: the buys go now
            self._buy()

    def _buy(self) -> None:
        pending, self._pending = self._pending, {}
        cash = self.cash
        for s in sorted(pending):
            price = float(self.history(s, "close", 1)[-1])
            qty = self.affordable(s, pending[s] - self.position(s), price, cash, self.params["fractional"])
            if qty > 0:
                self.order(s, "buy", qty)
                cash -= qty * price + self.commission_estimate(s, "buy", qty, price)

    def warmup(self) -> int:
        return 2  # a decision at the first bar, its buys at the second, filled at the third's open
