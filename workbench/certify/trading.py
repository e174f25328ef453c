"""2. Trading execution workflow: every order type and time-in-force through the broker,
against the documented fill rules; costs against their schedules; the journal round trip;
an option round trip, an assignment and an expiry."""

from __future__ import annotations

import pandas as pd

from workbench.certify import reference, scenarios
from workbench.certify.context import Context
from workbench.certify.report import Check, all_near, same

T0 = pd.Timestamp("2024-01-02", tz="UTC")

# (order, the bar after it (or the bars), expected status, expected average price) under the
# documented bar rules (workbench/broker/fills.py); the bar before every order closed at 100.
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
    ({"side": "buy", "type": "limit", "limit_price": 98.0, "tif": "gtc"}, [(101, 103, 99, 102), (99, 100, 97.5, 98)],
     "filled", 98.0),
    ({"side": "sell", "type": "stop", "stop_price": 99.0}, (97, 98, 96, 97.5), "filled", 97.0),  # gap down
    ({"side": "sell", "type": "stop_limit", "stop_price": 99.5, "limit_price": 99.0}, (101, 103, 99, 102),
     "filled", 99.5),
    ({"side": "sell", "type": "stop_limit", "stop_price": 99.5, "limit_price": 100.0}, (101, 103, 99, 102),
     "accepted", 0.0),
    # triggered on the first bar (trigger price 102 is beyond the 101.5 limit), then a limit
    ({"side": "buy", "type": "stop_limit", "stop_price": 102.0, "limit_price": 101.5},
     [(101, 103, 100, 102.5), (106, 107, 105, 106)], "accepted", 0.0),
    ({"side": "buy", "type": "stop_limit", "stop_price": 102.0, "limit_price": 101.5},
     [(101, 103, 100, 102.5), (101, 102, 100, 101.5)], "filled", 101.0),
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
            for day, bar in enumerate(nxt if isinstance(nxt, list) else [nxt], start=1):
                b.on_bar(Bar(T0 + pd.Timedelta(days=day), "X", *map(float, bar), 1e6))
            o = b.order(reply.order_id)
            measured.append((o.status.value, round(o.avg_fill_price, 9)))
        expected.append((status, price))
    ctx.record("trading.bar_cases", measured)
    return same(measured, expected, what=f"(status, price) of {len(BAR_CASES)} order type / time-in-force cases")


def volume_sessions_and_the_kill_switch(ctx: Context) -> Check:
    """A bar's volume cap shared by the orders in line, FOK against it, DAY orders expiring
    at the session close while GTC ones stay, the kill switch cancelling every working order
    and refusing new ones until reset, and a cash account that counts its pending sells."""
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar

    b = SimulatedBroker(cash=1e6, instruments=["X"], account_type="margin", participation=0.1)
    b.on_bar(Bar(T0, "X", 100.0, 100.5, 99.5, 100.0, 1e6))
    first, second = b.place_order("X", "buy", 1500).order_id, b.place_order("X", "buy", 1500).order_id
    fok = b.place_order("X", "buy", 5000, tif="fok").order_id
    b.on_bar(Bar(T0 + pd.Timedelta(days=1), "X", 101.0, 102.0, 100.0, 101.5, 20_000.0))  # 2,000 may trade
    measured = [(o, b.order(o).status.value, b.order(o).filled_quantity) for o in (first, second, fok)]
    expected = [(first, "filled", 1500.0), (second, "partially_filled", 500.0), (fok, "cancelled", 0.0)]
    day = b.place_order("X", "buy", 10, "limit", limit_price=90.0).order_id
    gtc = b.place_order("X", "buy", 10, "limit", limit_price=90.0, tif="gtc").order_id
    measured.append(("expired at the close", b.end_session(), b.order(day).status.value, b.order(gtc).status.value))
    expected.append(("expired at the close", 2, "expired", "accepted"))  # and the rest of the capped buy
    working = len(b.open_orders())
    cancelled = b.kill_switch("certification")
    refused = b.place_order("X", "buy", 1)
    b.reset_kill_switch()
    measured.append(("kill switch", cancelled, len(b.open_orders()), refused.reason.value if refused.reason else None,
                     b.place_order("X", "buy", 1).accepted))
    expected.append(("kill switch", working, 0, "KILL_SWITCH", True))
    cash = SimulatedBroker(cash=1e5, instruments=["X"])
    cash.on_bar(Bar(T0, "X", 100.0, 100.5, 99.5, 100.0, 1e6))
    cash.place_order("X", "buy", 10)
    cash.on_bar(Bar(T0 + pd.Timedelta(days=1), "X", 100.0, 100.5, 99.5, 100.0, 1e6))
    resting = cash.place_order("X", "sell", 10, "limit", limit_price=200.0).accepted
    again = cash.place_order("X", "sell", 1)
    measured.append(("cash account, 10 held, 10 offered", resting, again.reason.value if again.reason else None))
    expected.append(("cash account, 10 held, 10 offered", True, "SHORT_NEEDS_MARGIN"))
    ctx.record("trading.volume_sessions_kill_switch", measured)
    return same(measured, expected, what="volume cap, FOK, session close, kill switch and pending sells")


def round_trips_book_their_pnl(ctx: Context) -> Check:
    """A short sold at 100 and covered at 90, then a long bought at 100 and sold at 105, 10
    units each, no costs: realized P&L +100 then +150, flat, the cash up by 150."""
    from workbench.broker import SimulatedBroker
    from workbench.model import Bar

    b = SimulatedBroker(cash=1e6, instruments=["X"], account_type="margin")
    b.on_bar(Bar(T0, "X", 100.0, 101.0, 99.0, 100.0, 1e6))
    measured = []
    for day, (side, opens) in enumerate((("sell", 100.0), ("buy", 90.0), ("buy", 100.0), ("sell", 105.0)), start=1):
        b.place_order("X", side, 10)
        b.on_bar(Bar(T0 + pd.Timedelta(days=day), "X", opens, opens + 1, opens - 1, opens, 1e6))
        measured.append((side, b.position("X"), b.account().realized_pnl))
    measured.append(("cash", b.account().cash))
    ctx.record("trading.round_trips", measured)
    return same(measured, [("sell", -10.0, 0.0), ("buy", 0.0, 100.0), ("buy", 10.0, 100.0), ("sell", 0.0, 150.0),
                           ("cash", 1e6 + 150.0)], what="(side, position, realized P&L) after each fill, then the cash")


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
    pct = SimulatedBroker(cash=1e9, instruments=["X"], account_type="margin", commission="bps:10")
    pct.on_bar(Bar(T0, "X", 100.0, 100.5, 99.5, 100.0, 1e6))
    oid = pct.place_order("X", "buy", 100).order_id
    pct.on_bar(Bar(T0 + pd.Timedelta(days=1), "X", 101.0, 102.0, 100.0, 101.5, 1e6))
    items.append(("10 bps of 100 x 101", pct.order(oid).commission, 10 / 1e4 * 100 * 101.0))
    recorded.append((oid, pct.order(oid).commission))
    ctx.record("trading.commissions", recorded)
    return all_near(items, rel=1e-12, what="filled quantity and commission of 8 orders against IBKR fixed pricing "
                                           "and a 10 bps schedule")


def slippage_against_the_trader(ctx: Context) -> Check:
    """sma_cross over the S&P 500 with 5 bps slippage: every fill at its bar's open moved
    5 bps against the trader, kept inside the bar's range."""
    from workbench.engine import backtest
    from workbench.feed import load_dataset_bars
    from workbench.strategies import SmaCross

    bars = load_dataset_bars("sp500")
    result = backtest(SmaCross(), bars, slippage="bps:5", fast_path=False)  # the event loop's fills
    items = []
    for f in result.fills.itertuples():
        bar = bars.loc[f.time]
        sign = 1.0 if f.side == "buy" else -1.0
        items.append((f"{f.side} {f.time.date()}", f.price, min(max(bar.open * (1 + sign * 5e-4), bar.low), bar.high)))
    from workbench.broker import SimulatedBroker
    from workbench.model import Quote

    q = SimulatedBroker(cash=1e6, instruments=["X"], account_type="margin", slippage="spread:0.5")
    q.on_quote(Quote(T0, "X", 99.9, 100.1, 1e4, 1e4))
    for side, want in (("buy", 100.1 + 0.5 * 0.2), ("sell", 99.9 - 0.5 * 0.2)):
        items.append((f"{side} at the quote, half the spread", q.order(q.place_order("X", side, 100).order_id)
                      .avg_fill_price, want))
    ctx.record("trading.slippage_fills", [m for _, m, _ in items], fills=len(items))
    return all_near(items, rel=1e-12, what=f"{len(items)} fill prices with 5 bps slippage on bars and half the "
                                           f"spread on quotes")


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
    check = same(measured, expected, what=f"{len(expected)} sma_cross fills (date, signed quantity, price)")
    if not check.passed:
        return check
    # ... and the equity after every bar: cash after its fills plus the position at its close
    cash, held, at, items = run.result.starting_cash, 0.0, 0, []
    for row, close in enumerate(bars["close"].tolist()):
        while at < len(rows) and rows[at][0] == row:  # the run pays IBKR fixed commissions
            cash -= rows[at][2] * rows[at][3] + reference.ibkr_fixed(abs(rows[at][2]), abs(rows[at][2]) * rows[at][3])
            held += rows[at][2]
            at += 1
        items.append((str(bars.index[row].date()), float(run.result.equity.iloc[row]), cash + held * close))
    equity = all_near(items, rel=1e-12, what=f"the equity after each of {len(items):,} bars")
    equity.detail = f"{check.detail}; {equity.detail}"
    return equity


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


def options_round_trip_assignment_and_expiry(ctx: Context) -> Check:
    """Options through the broker, against the rules of docs/options.md worked by hand: a call
    bought at the ask and sold at the bid (x 100 a contract, 0.65 a contract and at least 1.00
    an order); a naked call refused in a cash account, changing nothing; a cash-secured put
    assigned at expiry (100 shares bought at the strike); a covered call that expires out of
    the money (worthless, the shares kept); the journal recovered to the same cash and
    positions."""
    import datetime as dt

    from workbench.broker import SimulatedBroker
    from workbench.model import Bar, Instrument, Quote
    from workbench.options import OptionContract, option_instruments

    week1, week2 = dt.date(2024, 1, 19), dt.date(2024, 1, 26)
    put = OptionContract("SPY", week1, 470.0, "put").symbol
    call = OptionContract("SPY", week1, 490.0, "call").symbol
    later = OptionContract("SPY", week2, 480.0, "call").symbol
    path = ctx.subdir("options") / "journal.sqlite"
    b = SimulatedBroker(cash=100_000.0, instruments=[Instrument("SPY"), *option_instruments([put, call, later])],
                        commission="ibkr-options", journal=path)
    b.on_bar(Bar(T0, "SPY", 475.0, 476.0, 474.0, 475.0, 1e7))
    b.on_quote(Quote(T0, call, 1.20, 1.30, 50.0, 50.0))
    b.on_quote(Quote(T0, put, 3.00, 3.20, 50.0, 50.0))
    items, facts = [], []
    cash = 100_000.0
    b.place_order(call, "buy", 2)
    b.place_order(call, "sell", 2)
    cash += -2 * 1.30 * 100 - 1.30 + 2 * 1.20 * 100 - 1.30
    items.append(("cash after a 2-contract call round trip", b.account().cash, cash))
    naked = b.place_order(call, "sell", 1)
    facts.append(("naked call", naked.accepted, getattr(naked.reason, "value", None), b.position(call)))
    items.append(("cash after the refused naked call", b.account().cash, cash))
    b.place_order(put, "sell", 1)
    cash += 3.00 * 100 - 1.00
    day1 = pd.Timestamp(week1, tz="UTC")
    b.on_bar(Bar(day1, "SPY", 466.0, 467.0, 464.0, 465.0, 1e7))  # 5 below the put's strike at its expiry
    b.end_session(day1)
    cash -= 100 * 470.0
    facts.append(("put at its expiry", b.position(put), b.position("SPY")))
    items.append(("cash after the put's assignment", b.account().cash, cash))
    t2 = day1 + pd.Timedelta(days=3)
    b.on_bar(Bar(t2, "SPY", 466.0, 467.0, 464.0, 466.0, 1e7))
    b.on_quote(Quote(t2, later, 2.00, 2.10, 50.0, 50.0))
    b.place_order(later, "sell", 1)  # covered by the assigned shares
    cash += 2.00 * 100 - 1.00
    day2 = pd.Timestamp(week2, tz="UTC")
    b.on_bar(Bar(day2, "SPY", 478.0, 479.5, 477.0, 479.0, 1e7))  # 1 below the call's strike
    b.end_session(day2)
    facts.append(("covered call at its expiry", b.position(later), b.position("SPY")))
    items.append(("cash after the covered call expired", b.account().cash, cash))
    state = (b.account().cash, b.position("SPY"), b.position(later))
    b.close()
    again = SimulatedBroker.recover(path)
    facts.append(("recovered", (again.account().cash, again.position("SPY"), again.position(later)) == state))
    again.close()
    check = same(facts, [("naked call", False, "UNCOVERED_OPTION", 0.0), ("put at its expiry", 0.0, 100.0),
                         ("covered call at its expiry", 0.0, 100.0), ("recovered", True)],
                 what="(outcome) of a naked call, an assigned put, an expired covered call, the recovery")
    if not check.passed:
        return check
    return all_near(items, rel=1e-12, what="the account's cash after each step, against the rules worked by hand")


CHECKS = [bar_fill_rules_every_type_and_tif, quote_fill_rules, volume_sessions_and_the_kill_switch,
          round_trips_book_their_pnl, commissions_follow_the_schedule, slippage_against_the_trader,
          engine_fills_follow_the_rules, journal_round_trip, options_round_trip_assignment_and_expiry]
