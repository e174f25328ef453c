"""Backtest benchmark: sma_cross over synthetic daily bars, workbench against backtrader and
against a bare Python loop doing the same arithmetic.

The three run the same rules: per symbol, hold ``quantity`` units while SMA(fast) >
SMA(slow) of the close (the strategy's own running sums, resummed every ``slow`` bars),
flat otherwise, decided at the close with market orders that fill at the next bar's open,
no costs. Their fills are compared (identical, or the benchmark fails), so the ratios are
between programs doing the same work. Each side's time includes building what it runs on
from the frame (workbench its replay, backtrader its data feeds, the loop its lists) and
its results (workbench's result frames). The bare loop is the floor: per symbol, plain lists,
no engine, no broker, no journal; what the event-driven engine costs above the necessary.

NautilusTrader runs the same rules with the same arithmetic (``benchmarks/peers/nautilus_sma.py``)
in an environment of its own (it requires pandas < 3), one process kept alive across the
rounds so that it is warmed like the others; its time is what it measures around one whole
backtest (building its instruments and bars from the frame, the run, its fills), without the
round trip to it. Nautilus fills a market order at the close of the bar it was placed on (it
has no next-open fill on bars), so its fills are checked as decisions: the same symbols, bars
and quantities as the bare loop's orders, each at that bar's close.

Interleaved in one process (``harness.interleaved``: each warmed once, then ``--repeats``
rounds, best and median), for 1 and for 5 symbols. Targets (issue 17): >= 0.33x the bare
loop's bars/s, >= 100x backtrader's, ahead of NautilusTrader. The workbench runs here are the
event loop (``fast_path=False``); with 1 symbol ``backtest()`` as a user calls it is timed
beside it: it takes the sparse route (the same broker shown only the bars where the strategy
trades, ``Engine._run_sparse``), target >= 10x the loop with the same fills; where its time
goes is printed too (best of ``--repeats``, after the rounds): its own loop (the targets and
every order's round trip through the broker) and its result frames, built again from the
same run (fills, orders, equity, positions, trades). So is the event loop's: the same run
with ``sma_cross``'s decisions made but no order sent (:class:`Undecided`), the orders' round
trips (the difference), and its result frames, beside the whole time 0.33x of the bare loop
allows. Also: events/s of a quote-driven run (measured).

Run: ``make bench`` or ``python benchmarks/bench_backtest.py [--bars N] [--repeats N]``
(backtrader comes with the ``bench`` extra; ``make bench`` makes NautilusTrader's environment,
``.venv-nautilus``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from harness import Targets, Timing, interleaved, same  # noqa: E402

from workbench.certify.reference import sma_cross_loop  # noqa: E402
from workbench.engine import Engine, Result, backtest  # noqa: E402
from workbench.feed import synthetic_bars, synthetic_quotes  # noqa: E402
from workbench.strategies import SmaCross, Strategy  # noqa: E402

FAST, SLOW, QTY = 10, 30, 100.0
CASH = 1e15  # enough that no order of either engine is ever refused for money


def run_workbench(bars: pd.DataFrame, fast_path: bool = False) -> dict[str, list[tuple[float, float]]]:
    """The event loop (``fast_path=False``: every bar through the engine), or ``backtest()``
    as a user calls it, which takes the sparse route where it can (``Engine._run_sparse``)."""
    engine = Engine(SmaCross(fast=FAST, slow=SLOW, quantity=QTY), bars, cash=CASH, fast_path=fast_path)
    result = engine.run()
    if engine.routed != fast_path:
        raise SystemExit(f"the run was {'' if engine.routed else 'not '}routed, expected otherwise")
    rejected = result.broker.stats()["orders_rejected"]
    if rejected:
        raise SystemExit(f"{rejected} orders rejected: the comparison needs every order to go through")
    fills: dict[str, list] = {}
    f = result.fills
    for symbol, price, quantity, side in zip(f["symbol"], f["price"], f["quantity"], f["side"]):
        fills.setdefault(symbol, []).append((round(price, 6), quantity if side == "buy" else -quantity))
    return fills


def timed_parts(bars: pd.DataFrame, fast_path: bool) -> tuple[Result, float]:
    """One run of ``sma_cross`` (the sparse route with ``fast_path``, else the event loop) and
    the seconds its result frames take, built again from it (``Engine._result``: the same
    frames, checked)."""
    engine = Engine(SmaCross(fast=FAST, slow=SLOW, quantity=QTY), bars, cash=CASH, fast_path=fast_path)
    result = engine.run()
    if engine.routed != fast_path:
        raise SystemExit(f"the run was {'' if engine.routed else 'not '}routed, expected otherwise")
    t0 = time.perf_counter()
    again = engine._result(False)
    seconds = time.perf_counter() - t0
    same("the result frames built again", again.fills.to_dict("list"), result.fills.to_dict("list"))
    return result, seconds


def sparse_parts(bars: pd.DataFrame, repeats: int) -> dict[str, float]:
    """Seconds of a routed run's two parts, best of ``repeats``: the sparse route's loop
    (``Result.seconds``) and its result frames (:func:`timed_parts`)."""
    runs = [timed_parts(bars, fast_path=True) for _ in range(repeats)]
    return {"loop": min(r.seconds for r, _ in runs), "frames": min(f for _, f in runs)}


class Undecided(SmaCross):
    """``sma_cross`` making every decision and sending no order: the event loop's time less
    the orders' (where its time goes; never compared for fills). It reads the broker's
    exposure on every bar as ``sma_cross`` does, but answers with what ``sma_cross`` would
    hold, so that it re-decides (calls ``target_position``) only where ``sma_cross`` trades."""

    name = "sma_cross_no_orders"

    def on_start(self) -> None:
        super().on_start()
        self._would: dict[str, float] = {}  # what sma_cross would hold: it re-decides only where it would trade
        self.decided = 0  # its re-decisions: sma_cross's orders, one each (checked by loop_parts)

    def exposure(self, symbol):
        self._host.exposure(symbol)  # the broker's read that sma_cross makes on every bar
        return self._would.get(symbol, 0.0)

    def target_position(self, symbol, quantity, **order):
        self._would[symbol] = quantity
        self.decided += 1
        return None


def loop_parts(bars: pd.DataFrame, repeats: int) -> dict[str, float]:
    """Seconds, best of ``repeats`` each: the event loop of ``sma_cross`` (``Result.seconds``),
    the same with no order sent (:class:`Undecided`), and the result frames (built again from
    each ``sma_cross`` run); with the orders ``sma_cross`` placed."""
    loop, bare, frames = [], [], []
    for _ in range(repeats):
        result, seconds = timed_parts(bars, fast_path=False)
        loop.append(result.seconds)
        frames.append(seconds)
        placed = len(result.orders)
        undecided = Undecided(fast=FAST, slow=SLOW, quantity=QTY)
        idle = Engine(undecided, bars, cash=CASH, fast_path=False).run()
        if len(idle.fills):
            raise SystemExit("the run with no order sent has fills")
        if undecided.decided != placed:
            raise SystemExit(f"the run with no order sent re-decided {undecided.decided} times where sma_cross "
                             f"placed {placed} orders: it did other work than the run it is subtracted from")
        bare.append(idle.seconds)
    return {"loop": min(loop), "no_orders": min(bare), "frames": min(frames), "placed": placed}


def run_bare(bars: pd.DataFrame) -> dict[str, list[tuple[float, float]]]:
    """The same rules in a plain loop (the strategy's own arithmetic): the certification's
    independent statement of sma_cross, ``workbench.certify.reference.sma_cross_loop``."""
    fills: dict[str, list] = {}
    for _, symbol, quantity, price in sma_cross_loop(bars["symbol"].astype(str).tolist(), bars["open"].tolist(),
                                                     bars["close"].tolist(), FAST, SLOW, QTY):
        fills.setdefault(symbol, []).append((round(price, 6), quantity))
    return fills


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
    cerebro.run()
    return fills


NAUTILUS_PYTHON = Path(__file__).resolve().parents[1] / ".venv-nautilus" / "bin" / "python"
NAUTILUS_PEER = Path(__file__).resolve().parent / "peers" / "nautilus_sma.py"


class Nautilus:
    """The NautilusTrader peer, one process for all rounds: each call runs one backtest there
    and returns its decisions; ``seconds`` keeps what it measured of each."""

    def __init__(self, bars: pd.DataFrame, folder: Path) -> None:
        path = folder / "bars.parquet"
        bars.to_parquet(path)
        self.seconds: list[float] = []
        self.proc = subprocess.Popen([str(NAUTILUS_PYTHON), str(NAUTILUS_PEER), str(path), str(FAST), str(SLOW),
                                      str(QTY)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self) -> list[tuple]:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the NautilusTrader peer stopped (exit code {self.proc.wait()})")
        answer = json.loads(line)
        self.seconds.append(answer["seconds"])
        return sorted(tuple(f) for f in answer["fills"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def decisions(bars: pd.DataFrame) -> list[tuple]:
    """The bare loop's orders as decisions: (symbol, index of the bar it was decided on among
    the symbol's bars, signed quantity, that bar's close), sorted; a decision on a symbol's
    last bar has no next open and no fill on the other sides, so it is not among them."""
    symbols = bars["symbol"].astype(str).tolist()
    closes = bars["close"].tolist()
    index, rows_of = [], {}
    for row, s in enumerate(symbols):
        index.append(len(rows_of.setdefault(s, [])))
        rows_of[s].append(row)
    out = []
    for row, s, quantity, _ in sma_cross_loop(symbols, bars["open"].tolist(), closes, FAST, SLOW, QTY):
        decided = rows_of[s][index[row] - 1]
        out.append((s, index[row] - 1, quantity, round(closes[decided], 6)))
    return sorted(out)


def filled_decisions(theirs: list[tuple], bars: pd.DataFrame) -> list[tuple]:
    """Nautilus's fills without those decided on a symbol's last bar (see :func:`decisions`)."""
    last = bars.groupby("symbol", observed=True).size().to_dict()
    return [f for f in theirs if f[1] < last[f[0]] - 1]


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
    parser.add_argument("--bars", type=int, default=100_000, help="daily bars in all, per configuration (100,000)")
    parser.add_argument("--symbols", type=int, nargs="+", default=[1, 5], help="configurations (1 and 5 symbols)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--quotes", type=int, default=468_000, help="quotes in the quote-driven run")
    parser.add_argument("--no-backtrader", action="store_true", help="leave the peer out (the bare loop stays)")
    parser.add_argument("--no-nautilus", action="store_true", help="leave NautilusTrader out")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not args.no_backtrader:
        try:
            import backtrader  # noqa: F401
        except ImportError:
            print("backtrader is not installed (make bench installs the bench extra; --no-backtrader leaves it out)")
            return 1
    if not args.no_nautilus and not NAUTILUS_PYTHON.exists():
        print(f"NautilusTrader's environment {NAUTILUS_PYTHON.parents[1]} is missing (make bench makes it; "
              "--no-nautilus leaves it out)")
        return 1
    out = Targets("bench_backtest", parser, args)
    folder = Path(tempfile.mkdtemp(prefix="bench-backtest-"))
    for k in args.symbols:
        per_symbol = max(args.bars // k, SLOW + 2)
        # No drift: over centuries of daily bars prices stay within a few orders of magnitude.
        # A fine tick: on a cent grid the two averages are often exactly equal, and each
        # engine's float rounding would then break the tie its own way.
        bars = synthetic_bars(k, periods=per_symbol, freq="1D", seed=11, start="1700-01-01", drift=0.0,
                              tick_size=1e-6)
        n = len(bars)
        print(f"sma_cross({FAST}, {SLOW}) over {n:,} synthetic daily bars ({k} symbol(s)), interleaved:", flush=True)
        programs = {"workbench": lambda: run_workbench(bars), "bare_loop": lambda: run_bare(bars)}
        if k == 1:
            programs["routed"] = lambda: run_workbench(bars, fast_path=True)
        if not args.no_backtrader:
            programs["backtrader"] = lambda: run_backtrader(bars)
        nautilus = None
        if not args.no_nautilus:
            nautilus = programs["nautilus"] = Nautilus(bars, folder)
        try:
            times, fills = interleaved(programs, repeats=args.repeats)
        finally:
            if nautilus is not None:
                nautilus.close()
        count = sum(len(v) for v in fills["workbench"].values())
        same(f"fills ({k} symbols) of workbench and the bare loop", fills["workbench"], fills["bare_loop"])
        if "routed" in fills:
            same("fills of backtest() on the sparse route and of the event loop", fills["routed"], fills["workbench"])
        if not args.no_backtrader:
            same(f"fills ({k} symbols) of workbench and backtrader", fills["workbench"], fills["backtrader"])
        rate = {name: n / t.best for name, t in times.items()}
        if nautilus is not None:
            same(f"decisions ({k} symbols) of the bare loop and NautilusTrader, each at its bar's close",
                 decisions(bars), filled_decisions(fills["nautilus"], bars))
            seconds = nautilus.seconds[1:]  # the warm-up's left out, as for the others
            times["nautilus"] = Timing(best=min(seconds), median=statistics.median(seconds), times=seconds)
            rate["nautilus"] = n / times["nautilus"].best
        for name, t in times.items():
            print(f"  {name:<11} best {t.best:7.3f} s  median {t.median:7.3f} s  {rate[name]:>12,.0f} bars/s")
        print(f"  same fills: {count:,} on each side" + ("; NautilusTrader: the same decisions" if nautilus else ""))
        vs_bare = rate["workbench"] / rate["bare_loop"]
        out.figures[f"symbols_{k}"] = {"bars": n, "fills": count, **{name: dict(t) for name, t in times.items()}}
        out.add(f"event-driven sma_cross, {k} symbol(s), vs the bare Python loop of the same rules (same fills)",
                f"{rate['workbench']:,.0f} vs {rate['bare_loop']:,.0f} bars/s: {vs_bare:.3f}x", ">= 0.33x",
                vs_bare, ">=", 0.33)
        parts = loop_parts(bars, args.repeats)
        allowed = times["bare_loop"].best / 0.33
        orders, placed = max(parts["loop"] - parts["no_orders"], 0.0), parts["placed"]
        left = allowed - (times["workbench"].best - orders)  # the budget less all but the orders
        out.figures[f"loop_parts_{k}"] = {**parts, "orders": orders, "whole": times["workbench"].best,
                                          "allowed_033": allowed, "left_for_orders": left}
        out.add(f"where the event loop's time goes, {k} symbol(s) (best of each): the loop with sma_cross's decisions "
                "but no order sent, the orders' round trips (the difference), the result frames, against the whole "
                "time 0.33x of the bare loop allows",
                f"no orders {parts['no_orders'] * 1e3:.0f} ms + {placed:,} orders {orders * 1e3:.0f} ms "
                + (f"({orders / placed * 1e6:.0f} us each) " if placed else "")
                + f"+ frames {parts['frames'] * 1e3:.0f} ms, of {times['workbench'].best * 1e3:.0f} ms; 0.33x the "
                f"bare loop: {allowed * 1e3:.0f} ms in all"
                + (f", which leaves {left / placed * 1e6:.1f} us an order" if left > 0 and placed else
                   ", nothing left for the orders" if placed else ""),
                "measured")
        if "routed" in rate:
            vs_loop = rate["routed"] / rate["workbench"]
            out.add("backtest() of sma_cross, 1 symbol, on the sparse route vs the event loop (same fills; "
                    f"{count:,} fills in {n:,} bars)",
                    f"{rate['routed']:,.0f} vs {rate['workbench']:,.0f} bars/s: {vs_loop:.1f}x", ">= 10x", vs_loop,
                    ">=", 10)
            parts = sparse_parts(bars, args.repeats)
            budget = times["workbench"].best / 10
            out.figures["sparse_parts"] = {**parts, "whole": times["routed"].best, "budget_10x": budget}
            out.add("where the sparse route's time goes (best of each): its loop (targets, every order through the "
                    "broker), its result frames, against the whole time a 10x run would have",
                    f"loop {parts['loop'] * 1e3:.0f} ms + result frames {parts['frames'] * 1e3:.0f} ms of "
                    f"{times['routed'].best * 1e3:.0f} ms; 10x the event loop: {budget * 1e3:.0f} ms in all "
                    f"(the frames alone {parts['frames'] / budget:.0%} of it)", "measured")
        if not args.no_backtrader:
            vs_bt = rate["workbench"] / rate["backtrader"]
            out.add(f"event-driven sma_cross, {k} symbol(s), vs backtrader (same fills)",
                    f"{rate['workbench']:,.0f} vs {rate['backtrader']:,.0f} bars/s: {vs_bt:.1f}x", ">= 100x",
                    vs_bt, ">=", 100)
        if nautilus is not None:
            vs_nt = rate["workbench"] / rate["nautilus"]
            out.add(f"event-driven sma_cross, {k} symbol(s), vs NautilusTrader (same decisions; its own timing)",
                    f"{rate['workbench']:,.0f} vs {rate['nautilus']:,.0f} bars/s: {vs_nt:.1f}x", "ahead (> 1x)",
                    vs_nt, ">=", 1)
    days = max(1, args.quotes // (2 * 23_400))
    quotes = synthetic_quotes(2, days=days, freq="1s", seed=5)
    t0 = time.perf_counter()
    result = backtest(QuoteTaker(), quotes, account_type="margin", cash=1e9)
    q_s = time.perf_counter() - t0
    out.figures.update(quote_events=len(quotes), quote_events_per_s=len(quotes) / q_s, quote_fills=len(result.fills))
    out.add(f"quote-driven run ({len(quotes):,} quotes, {len(result.fills):,} fills, one run)",
            f"{len(quotes) / q_s:,.0f} events/s", "measured")
    out.print()
    out.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
