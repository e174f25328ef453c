"""NautilusTrader, the peer of ``bench_backtest.py``: sma_cross on the same bars, same rules.

Run by the benchmark in its own virtual environment (``.venv-nautilus``, made by ``make bench``
from ``benchmarks/peers/nautilus-constraints.txt``): nautilus-trader requires pandas < 3 and
the workbench pins pandas 3, so the two cannot share one environment. Protocol: started as
``python nautilus_sma.py BARS.parquet FAST SLOW QUANTITY``; each line ``run`` on stdin runs
one whole backtest and answers one JSON line ``{"seconds": s, "fills": [...]}``; ``quit`` ends.
``seconds`` covers what the benchmark times on the other sides: building what the engine runs on
from the frame (instruments, bars by Nautilus's ``BarDataWrangler``), the run, and the fills.

The rules are the bare loop's (``workbench.certify.reference.sma_cross_loop``), with the same
arithmetic (running sums, resummed every ``slow`` bars), so that the decisions can be asserted
equal: per symbol, long ``quantity`` while the fast mean is above the slow one, flat otherwise,
decided at a bar's close with a market order. Nautilus fills a market order placed at a bar's
close at that close (its bar execution has no next-open fill), so each fill reports the per-symbol
index of the bar it was decided on; the benchmark checks the decisions and their prices against
the bars. Bars carry times on a one-minute grid from 2000-01-01 in their order (Nautilus takes no
time before 1970 and the synthetic bars start in 1700); the rules do not look at times.
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.config import BacktestEngineConfig, LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Symbol, TraderId, Venue
from nautilus_trader.model.instruments import Equity
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.persistence.wranglers import BarDataWrangler
from nautilus_trader.trading.strategy import Strategy

VENUE = Venue("SIM")


class SmaCrossConfig(StrategyConfig, frozen=True):
    bar_types: tuple[str, ...]
    fast: int
    slow: int
    quantity: int


class SmaCross(Strategy):
    """The bare loop's rules per instrument; fills recorded as (symbol, decision bar, signed
    quantity, price)."""

    def __init__(self, config: SmaCrossConfig) -> None:
        super().__init__(config)
        self.fast, self.slow, self.quantity = config.fast, config.slow, config.quantity
        self.sums: dict = {}
        self.held: dict = {}
        self.orders: dict = {}  # client order id -> (symbol, decision bar index)
        self.fills: list = []

    def on_start(self) -> None:
        for text in self.config.bar_types:
            self.subscribe_bars(BarType.from_str(text))

    def on_bar(self, bar: Bar) -> None:
        instrument_id = bar.bar_type.instrument_id
        s = instrument_id.symbol.value
        c = bar.close.as_double()
        slow, fast = self.slow, self.fast
        st = self.sums.get(s)
        if st is None:
            st = self.sums[s] = [[0.0] * slow, 0, 0.0, 0.0]
        ring, n, fs, ss = st
        if n >= slow:
            ss -= ring[n % slow]
        if n >= fast:
            fs -= ring[(n - fast) % slow]
        ring[n % slow] = c
        n += 1
        if n % slow == 0:
            ss = 0.0
            for x in ring:
                ss += x
            fs = 0.0
            for i in range(fast):
                fs += ring[(n - fast + i) % slow]
        else:
            ss += c
            fs += c
        st[1], st[2], st[3] = n, fs, ss
        if n >= slow:
            want = self.quantity if fs / fast > ss / slow else 0
            have = self.held.get(s, 0)
            if want != have:
                order = self.order_factory.market(instrument_id, OrderSide.BUY if want > have else OrderSide.SELL,
                                                  Quantity.from_int(abs(want - have)))
                self.orders[order.client_order_id] = (s, n - 1)
                self.held[s] = want
                self.submit_order(order)

    def on_order_filled(self, event) -> None:
        s, row = self.orders[event.client_order_id]
        q = event.last_qty.as_double()
        self.fills.append((s, row, q if event.order_side == OrderSide.BUY else -q, round(event.last_px.as_double(), 6)))


def run(frame: pd.DataFrame, fast: int, slow: int, quantity: int) -> tuple[float, list]:
    t0 = time.perf_counter()
    engine = BacktestEngine(config=BacktestEngineConfig(trader_id=TraderId("BENCH-001"),
                                                        logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(venue=VENUE, oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     base_currency=USD, starting_balances=[Money(1_000_000_000, USD)], default_leverage=Decimal(1000))
    times = pd.DatetimeIndex(frame.index)
    grid = pd.Timestamp("2000-01-01", tz="UTC") + pd.to_timedelta(pd.factorize(times.asi8)[0], unit="min")
    bar_types = []
    for symbol, bars in frame.assign(t=grid).groupby("symbol", observed=True, sort=True):
        instrument = Equity(instrument_id=InstrumentId(Symbol(str(symbol)), VENUE), raw_symbol=Symbol(str(symbol)),
                            currency=USD, price_precision=6, price_increment=Price.from_str("0.000001"),
                            lot_size=Quantity.from_int(1), ts_event=0, ts_init=0)
        engine.add_instrument(instrument)
        bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
        data = bars.set_index("t")[["open", "high", "low", "close", "volume"]]
        engine.add_data(BarDataWrangler(bar_type, instrument).process(data))
        bar_types.append(str(bar_type))
    strategy = SmaCross(SmaCrossConfig(bar_types=tuple(bar_types), fast=fast, slow=slow, quantity=quantity))
    engine.add_strategy(strategy)
    engine.run()
    fills = list(strategy.fills)
    seconds = time.perf_counter() - t0
    engine.dispose()
    return seconds, fills


def main() -> int:
    path, fast, slow, quantity = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(float(sys.argv[4]))
    frame = pd.read_parquet(path)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        seconds, fills = run(frame, fast, slow, quantity)
        print(json.dumps({"seconds": seconds, "fills": fills}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
