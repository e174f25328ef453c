"""Backtest benchmark: sma_cross over synthetic daily bars, workbench against backtrader.

Both engines run the same rules in the same process set: per symbol, hold ``quantity``
units while SMA(fast) > SMA(slow) of the close, flat otherwise, deciding at the close with
market orders that fill at the next bar's open, no costs. The fills of the two are
compared, so the speed ratio is between engines doing the same work. Goal: workbench at
least 20x backtrader's bars/s. Also: events/s of a quote-driven run.

Run: ``make bench`` or ``python benchmarks/bench_backtest.py [--bars N] [--symbols K]``
(backtrader comes with the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from workbench.engine import backtest
from workbench.feed import synthetic_bars, synthetic_quotes
from workbench.strategies import SmaCross, Strategy

FAST, SLOW, QTY = 10, 30, 100.0
CASH = 1e15  # enough that no order of either engine is ever refused for money


def run_workbench(bars: pd.DataFrame) -> tuple[float, dict[str, list[tuple[float, float]]]]:
    t0 = time.perf_counter()
    result = backtest(SmaCross(fast=FAST, slow=SLOW, quantity=QTY), bars, cash=CASH)
    seconds = time.perf_counter() - t0
    rejected = result.broker.stats()["orders_rejected"]
    if rejected:
        raise SystemExit(f"{rejected} orders rejected: the comparison needs every order to go through")
    fills: dict[str, list] = {}
    for f in result.fills.itertuples():
        fills.setdefault(f.symbol, []).append((round(f.price, 6), f.quantity if f.side == "buy" else -f.quantity))
    return seconds, fills


def run_backtrader(bars: pd.DataFrame) -> tuple[float, dict[str, list[tuple[float, float]]]]:
    import backtrader as bt

    fills: dict[str, list] = {}

    class Cross(bt.Strategy):
        def __init__(self):
            self.sma = {d._name: (bt.ind.SMA(d.close, period=FAST), bt.ind.SMA(d.close, period=SLOW))
                        for d in self.datas}

        def next(self):
            for d in self.datas:
                fast, slow = self.sma[d._name]
                held = self.getposition(d).size
                if fast[0] > slow[0]:
                    if held == 0:
                        self.buy(data=d, size=QTY)
                elif held > 0:
                    self.close(data=d)

        def notify_order(self, order):
            if order.status == order.Completed:
                fills.setdefault(order.data._name, []).append(
                    (round(order.executed.price, 6), order.executed.size))

    cerebro = bt.Cerebro(stdstats=False)
    for symbol, frame in bars.groupby("symbol", observed=True, sort=True):
        data = frame.drop(columns="symbol")
        data.index = data.index.tz_localize(None)
        cerebro.adddata(bt.feeds.PandasData(dataname=data), name=str(symbol))
    cerebro.addstrategy(Cross)
    cerebro.broker.setcash(CASH)
    t0 = time.perf_counter()
    cerebro.run()
    return time.perf_counter() - t0, fills


class QuoteTaker(Strategy):
    """Buys at the ask when flat, offers out five cents above the ask when long."""

    name = "quote_taker"

    def on_quote(self, quote):
        if self.exposure(quote.symbol) == 0:
            self.order(quote.symbol, "buy", 100)
        elif self.position(quote.symbol) > 0 and self.working(quote.symbol) == 0:
            self.order(quote.symbol, "sell", 100, "limit", limit_price=round(quote.ask + 0.05, 2), tif="gtc")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="daily bars in all (1,000,000)")
    parser.add_argument("--symbols", type=int, default=10, help="symbols sharing them (10)")
    parser.add_argument("--quotes", type=int, default=468_000, help="quotes in the quote-driven run")
    parser.add_argument("--no-backtrader", action="store_true", help="skip the peer")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    per_symbol = max(args.bars // args.symbols, SLOW + 2)
    # No drift: over four centuries of daily bars prices stay within a few orders of
    # magnitude. A fine tick: on a cent grid the two averages are often exactly equal, and
    # each engine's float rounding would then break the tie its own way.
    bars = synthetic_bars(args.symbols, periods=per_symbol, freq="1D", seed=11, start="1700-01-01",
                          drift=0.0, tick_size=1e-6)
    n = len(bars)
    ours_s, ours_fills = run_workbench(bars)
    figures = {"bars": n, "symbols": args.symbols, "workbench_s": ours_s, "workbench_bars_per_s": n / ours_s}
    print(f"sma_cross({FAST}, {SLOW}) over {n:,} synthetic daily bars ({args.symbols} symbols x {per_symbol:,}):")
    print(f"  workbench    {ours_s:8.2f} s  {n / ours_s:>12,.0f} bars/s")
    if not args.no_backtrader:
        try:
            bt_s, bt_fills = run_backtrader(bars)
        except ImportError:
            print("  backtrader   not installed (pip install -e '.[bench]'); no ratio")
        else:
            same = bt_fills == ours_fills
            ratio = bt_s / ours_s
            figures.update(backtrader_s=bt_s, backtrader_bars_per_s=n / bt_s, ratio=ratio, same_fills=same)
            print(f"  backtrader   {bt_s:8.2f} s  {n / bt_s:>12,.0f} bars/s")
            verdict = "meets goal" if ratio >= 20 else "BELOW GOAL"
            print(f"  ratio        {ratio:8.1f}x  (goal >= 20x: {verdict})")
            print(f"  same fills   {'yes' if same else 'NO'}: "
                  f"{sum(len(v) for v in ours_fills.values()):,} workbench, "
                  f"{sum(len(v) for v in bt_fills.values()):,} backtrader")
    days = max(1, args.quotes // (2 * 23_400))
    quotes = synthetic_quotes(2, days=days, freq="1s", seed=5)
    t0 = time.perf_counter()
    result = backtest(QuoteTaker(), quotes, account_type="margin", cash=1e9)
    q_s = time.perf_counter() - t0
    figures.update(quote_events=len(quotes), quote_events_per_s=len(quotes) / q_s, quote_fills=len(result.fills))
    print(f"quote-driven run: {len(quotes):,} quotes, {len(result.fills):,} fills in {q_s:.2f} s:"
          f" {len(quotes) / q_s:,.0f} events/s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures.get("same_fills", True) else 1


if __name__ == "__main__":
    sys.exit(main())
