"""2. Trading execution workflow: every order type and time-in-force through the broker,
against the documented fill rules; costs against their schedules; the journal round trip."""

from __future__ import annotations

import pandas as pd

from workbench.certify import reference, scenarios
from workbench.certify.context import Context
from workbench.certify.report import Check, all_near, same

T0 = pd.Timestamp("2024-01-02", tz="UTC")

# (order, the bar after it, expected status, expected average price) under the documented bar
# rules (workbench/broker/fills.py); the bar before every order opened and closed at 100.
BAR_CASES = [
    ({"side": "buy", "type": "market"}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "sell", "type": "market"}, (99, 100, 97, 98), "filled", 99.0),
    ({"side": "buy", "type": "limit", "limit_price": 102.0}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "buy", "type": "limit", "limit_price": 99.5}, (101, 103, 99, 102), "filled", 99.5),
    ({"side": "buy", "type": "limit", "limit_price": 98.0}, (101, 103, 99, 102), "accepted", 0.0),
    ({"side": "sell", "type": "limit", "limit_price": 102.5}, (101, 103, 99, 102), "filled", 102.5),
    ({"side": "sell", "type": "limit", "limit_price": 100.0}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "buy", "type": "stop", "stop_price": 102.0}, (101, 103, 99, 102), "filled", 102.0),
    ({"side": "buy", "type": "stop", "stop_price": 102.5}, (101, 103, 99, 102), "filled", 102.5),
    ({"side": "buy", "type": "stop", "stop_price": 100.5}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "buy", "type": "stop", "stop_price": 103.5}, (101, 103, 99, 102), "accepted", 0.0),
    ({"side": "sell", "type": "stop", "stop_price": 99.5}, (101, 103, 99, 102), "filled", 99.5),
    ({"side": "sell", "type": "stop", "stop_price": 99.5}, (101, 103, 99.6, 102), "accepted", 0.0),
    ({"side": "buy", "type": "stop_limit", "stop_price": 102.0, "limit_price": 102.5}, (101, 103, 99, 102),
     "filled", 102.0),
    ({"side": "buy", "type": "stop_limit", "stop_price": 102.0, "limit_price": 103.0}, (104, 105, 103.5, 104),
     "accepted", 0.0),
    ({"side": "buy", "type": "market", "tif": "ioc"}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "buy", "type": "limit", "limit_price": 98.0, "tif": "ioc"}, (101, 103, 99, 102), "cancelled", 0.0),
    ({"side": "buy", "type": "limit", "limit_price": 102.0, "tif": "fok"}, (101, 103, 99, 102), "filled", 101.0),
    ({"side": "buy", "type": "limit", "limit_price": 98.0, "tif": "gtc"}, (101, 103, 99, 102), "accepted", 0.0),
]


def bar_fill_rules_every_type_and_tif(ctx: Context) -> Check:
    """Each order type and time-in-force against one bar, as the documented rules say."""
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar

    measured, expected = [], []
    for order, nxt, status, price in BAR_CASES:
        b = SimulatedBroker(cash=1e6, instruments=["X"], account_type="margin")
        b.on_bar(Bar(T0, "X", 100.0, 100.5, 99.5, 100.0, 1e6))
        reply = b.place_order("X", quantity=10, **order)
        if not reply.accepted:
            measured.append(("rejected", reply.reason.value))
        else:
            b.on_bar(Bar(T0 + pd.Timedelta(days=1), "X", *map(float, nxt), 1e6))
            o = b.order(reply.order_id)
            measured.append((o.status.value, round(o.avg_fill_price, 9)))
        expected.append((status, price))
    ctx.record("trading.bar_cases", measured)
    return same(measured, expected, what=f"(status, price) of {len(BAR_CASES)} order type / time-in-force cases")


def quote_fill_rules(ctx: Context) -> Check:
    """Against a quote: buys take the ask up to its size, sells hit the bid, a limit that
    crosses fills at the quote, FOK and IOC as documented."""
    from workbench.broker import SimulatedBroker
    from workbench.model import Quote

    b = SimulatedBroker(cash=1e6, instruments=["X"], account_type="margin")
    b.on_quote(Quote(T0, "X", 99.9, 100.1, 300.0, 200.0))
    replies = [b.place_order("X", "buy", 250), b.place_order("X", "sell", 100, "limit", limit_price=99.5),
               b.place_order("X", "sell", 500, tif="fok"), b.place_order("X", "sell", 250, tif="ioc")]
    measured = []
    for r in replies:
        o = b.order(r.order_id)
        measured.append((o.status.value, round(o.avg_fill_price, 9), o.filled_quantity))
    ctx.record("trading.quote_cases", measured)
    return same(measured, [("partially_filled", 100.1, 200.0), ("filled", 99.9, 100.0), ("cancelled", 0.0, 0.0),
                           ("cancelled", 99.9, 200.0)],
                what="(status, price, filled) of a size-capped buy, an improving limit, a FOK and an IOC")


def commissions_follow_the_schedule(ctx: Context) -> Check:
    """IBKR fixed pricing on orders from 1 to 40,000 shares, one capped at 1 % of its value,
    one filled in four parts: each order's commission against USD 0.005 a share, at least
    1.00, at most 1 % of value."""
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar

    b = SimulatedBroker(cash=1e9, instruments=["X", "P"], account_type="margin", commission="ibkr-fixed",
                        participation=0.5)
    b.on_bar(Bar(T0, "X", 100.0, 100.5, 99.5, 100.0, 1e6))
    b.on_bar(Bar(T0, "P", 0.20, 0.21, 0.19, 0.20, 1e6))
    ids = [b.place_order("X", "buy", q).order_id for q in (1, 150, 199, 1000, 5000)]
    ids.append(b.place_order("P", "buy", 1000).order_id)  # 1,000 x 0.20: capped at 1 % = 2.00
    b.on_bar(Bar(T0 + pd.Timedelta(days=1), "X", 101.0, 102.0, 100.0, 101.5, 1e6))
    b.on_bar(Bar(T0 + pd.Timedelta(days=1), "P", 0.20, 0.21, 0.19, 0.20, 1e6))
    big = b.place_order("X", "sell", 40_000).order_id  # 20,000 of volume a bar at 0.5: four fills
    for day in range(2, 6):
        b.on_bar(Bar(T0 + pd.Timedelta(days=day), "X", 101.0 + day / 10, 102.0, 100.0, 101.5, 20_000.0))
    items, recorded = [], []
    for oid in [*ids, big]:
        o = b.order(oid)
        items.append((f"{oid} filled", o.filled_quantity, o.quantity))
        items.append((f"{oid} commission", o.commission,
                      reference.ibkr_fixed(o.filled_quantity, o.filled_quantity * o.avg_fill_price)))
        recorded.append((oid, o.filled_quantity, o.commission))
    ctx.record("trading.commissions", recorded)
    return all_near(items, rel=1e-12, what="filled quantity and commission of 7 orders against IBKR fixed pricing")


def slippage_against_the_trader(ctx: Context) -> Check:
    """sma_cross over the S&P 500 with 5 bps slippage: every fill at its bar's open moved
    5 bps against the trader, kept inside the bar's range."""
    from workbench.engine import backtest
    from workbench.feed import load_dataset_bars
    from workbench.strategies import SmaCross

    bars = load_dataset_bars("sp500")
    result = backtest(SmaCross(), bars, slippage="bps:5")
    items = []
    for f in result.fills.itertuples():
        bar = bars.loc[f.time]
        sign = 1.0 if f.side == "buy" else -1.0
        items.append((f"{f.side} {f.time.date()}", f.price, min(max(bar.open * (1 + sign * 5e-4), bar.low), bar.high)))
    ctx.record("trading.slippage_fills", [m for _, m, _ in items], fills=len(items))
    return all_near(items, rel=1e-12, what=f"{len(items)} fill prices with 5 bps slippage")


def engine_fills_follow_the_rules(ctx: Context) -> Check:
    """The event-driven engine's sma_cross fills over the S&P 500 against the same rules in a
    bare loop (reference.sma_cross_loop): same bars, quantities and prices."""
    run = ctx.once(scenarios.sp500_run)
    bars = run.bars
    rows = reference.sma_cross_loop(bars["symbol"].astype(str).tolist(), bars["open"].tolist(),
                                    bars["close"].tolist(), 10, 30, 100.0)
    expected = [(str(bars.index[r].date()), q, p) for r, _, q, p in rows]
    fills = run.result.fills
    measured = [(str(t.date()), (1.0 if s == "buy" else -1.0) * q, p)
                for t, s, q, p in zip(fills["time"], fills["side"], fills["quantity"], fills["price"])]
    return same(measured, expected, what=f"{len(expected)} sma_cross fills (date, signed quantity, price)")


def journal_round_trip(ctx: Context) -> Check:
    """The journal of a 5,031-bar backtest recovers to exactly the live broker's state."""
    from workbench.broker import SimulatedBroker
    from workbench.broker.journal import Journal

    run = ctx.once(scenarios.sp500_run)
    recovered = SimulatedBroker.recover(run.journal)
    state, seq = recovered.state(), recovered.last_seq
    recovered.close()
    journal = Journal(run.journal)
    sha = journal.sha256()
    journal.close()
    summary = run.result.summary()
    ctx.record("trading.sp500_journal", sha, events=run.seq + 1)
    ctx.record("trading.sp500_summary", summary, fills=summary["fills"], final_equity=summary["final_equity"])
    check = same([seq, state == run.state], [run.seq, True],
                 what="[last sequence number, state equal] recovered from the journal against the live broker")
    check.measured, check.expected, check.unit = seq + 1, run.seq + 1, "events"
    return check


CHECKS = [bar_fill_rules_every_type_and_tif, quote_fill_rules, commissions_follow_the_schedule,
          slippage_against_the_trader, engine_fills_follow_the_rules, journal_round_trip]
