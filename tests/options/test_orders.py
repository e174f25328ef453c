"""Option orders through the simulated broker: fills against option quotes, per-contract
commissions, and the cover rules (covered calls, cash-secured puts, Reg-T margin for naked
shorts); journaled and recovered like equity orders."""

import pandas as pd
import pytest

from workbench.broker import PerContract, RejectReason, SimulatedBroker, commission_from
from workbench.broker.risk import reg_t_requirement
from workbench.feed import load_dataset_bars
from workbench.model import Bar, Instrument, Quote
from workbench.options import OptionContract, chain_quotes, option_instruments, synthetic_chains

T0 = pd.Timestamp("2026-12-01", tz="UTC")
PUT = OptionContract("SPY", pd.Timestamp("2026-12-18").date(), 450.0, "put").symbol
CALL = OptionContract("SPY", pd.Timestamp("2026-12-18").date(), 480.0, "call").symbol


def broker(cash=100_000.0, account_type="cash", **options):
    b = SimulatedBroker(cash=cash, instruments=[Instrument("SPY"), *option_instruments([PUT, CALL])],
                        account_type=account_type, commission="ibkr-options", **options)
    b.on_bar(Bar(T0, "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    b.on_quote(Quote(T0, PUT, 2.00, 2.10, 50.0, 50.0))
    b.on_quote(Quote(T0, CALL, 1.40, 1.50, 50.0, 50.0))
    return b


def refused(reply, reason):
    assert not reply.accepted, "accepted"
    assert reply.reason is reason, (reply.reason, reply.message)
    return reply.message


def test_per_contract_commission():
    model = commission_from("ibkr-options")
    assert isinstance(model, PerContract) and (model.rate, model.minimum) == (0.65, 1.0)
    from workbench.model import Order, OrderStatus, OrderType, Side, TimeInForce

    order = Order("O1", PUT, Side.BUY, OrderType.MARKET, 10.0, None, None, TimeInForce.DAY, OrderStatus.ACCEPTED)
    assert model.commission(order, 1.0, 210.0) == 1.0  # the minimum
    assert model.commission(order, 10.0, 210.0) == pytest.approx(6.5)
    assert commission_from({"model": "per_contract", "rate": 0.5}).rate == 0.5


def test_option_orders_fill_at_the_quote_times_the_multiplier():
    b = broker()
    assert b.place_order(PUT, "buy", 2).accepted  # matched at once against the current quote
    fill = b.fills()[-1]
    assert (fill.price, fill.quantity, fill.commission) == (2.10, 2.0, 1.30)  # the ask; 0.65 a contract
    assert b.account().cash == pytest.approx(100_000 - 2 * 2.10 * 100 - 1.30)
    assert b.place_order(PUT, "sell", 2).accepted  # back at the bid
    assert b.fills()[-1].price == 2.00
    assert b.position(PUT) == 0
    assert b.account().cash == pytest.approx(100_000 - 2 * 0.10 * 100 - 2.60)


def test_a_cash_account_writes_puts_it_can_secure():
    b = broker(cash=50_000.0)
    assert b.place_order(PUT, "sell", 1).accepted  # 45,000 secured
    assert b.position(PUT) == -1
    cash = b.account().cash
    assert cash == pytest.approx(50_000 + 200 - 1.0)
    message = refused(b.place_order(PUT, "sell", 1), RejectReason.UNCOVERED_OPTION)
    assert "45,000.00" in message and "5,199.00" in message  # needed, and free after the first put
    # the secured cash is not free for shares either; a rejection changes nothing
    refused(b.place_order("SPY", "buy", 20), RejectReason.INSUFFICIENT_BUYING_POWER)
    assert b.account().cash == cash and b.position("SPY") == 0
    assert b.place_order("SPY", "buy", 10).accepted  # 4,600 of the 5,199 free
    assert b.place_order(PUT, "buy", 1).accepted  # bought back: the 45,000 is free again
    assert b.place_order("SPY", "buy", 50).accepted


def test_a_cash_account_writes_calls_its_shares_cover():
    b = broker()
    refused(b.place_order(CALL, "sell", 1), RejectReason.UNCOVERED_OPTION)  # no shares: a naked call
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=1), "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.place_order("SPY", "buy", 150).accepted
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=2), "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.position("SPY") == 150
    assert b.place_order(CALL, "sell", 1).accepted  # covered by 100 of the 150 shares
    message = refused(b.place_order(CALL, "sell", 1), RejectReason.UNCOVERED_OPTION)
    assert "needs 100 shares" in message and "50 are free" in message
    refused(b.place_order("SPY", "sell", 100), RejectReason.UNCOVERED_OPTION)  # would uncover the call
    assert b.place_order("SPY", "sell", 50).accepted  # the free ones
    assert b.place_order(CALL, "buy", 1).accepted  # closed: the shares are free
    assert b.place_order("SPY", "sell", 100).accepted


def test_reg_t_requirement_of_the_textbook_examples():
    # CBOE Margin Manual: short 1 XYZ 80 call at 3 with XYZ at 78 (2 out of the money):
    # 300 + (20 % x 7,800 - 200) = 1,660; short 1 XYZ 70 put at 1.50, XYZ at 78 (8 out):
    # 150 + max(1,560 - 800, 10 % x 7,000) = 910
    assert reg_t_requirement("call", 80.0, 78.0, 3.0, 100.0) == pytest.approx(1_660.0)
    assert reg_t_requirement("put", 70.0, 78.0, 1.5, 100.0) == pytest.approx(910.0)
    # deep out of the money, the floor: premium + 10 % of the underlying (call) or strike (put)
    assert reg_t_requirement("call", 200.0, 100.0, 0.1, 100.0) == pytest.approx(1_010.0)
    assert reg_t_requirement("put", 50.0, 100.0, 0.1, 100.0) == pytest.approx(510.0)


def test_a_margin_account_writes_naked_options_within_its_margin():
    need = reg_t_requirement("call", 480.0, 460.0, 1.45, 100.0)  # at the quote's mid, the call's last price
    b = broker(cash=100_000.0, account_type="margin")
    assert b.place_order(CALL, "sell", 2).accepted
    small = broker(cash=need / 2, account_type="margin")
    message = refused(small.place_order(CALL, "sell", 1), RejectReason.UNCOVERED_OPTION)
    assert "Reg-T" in message


def test_cover_is_recovered_from_the_journal(tmp_path):
    path = tmp_path / "journal.sqlite"
    b = broker(journal=path)
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=1), "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.place_order("SPY", "buy", 100).accepted
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=2), "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.place_order(CALL, "sell", 1).accepted
    before = b.account()
    b.close()
    again = SimulatedBroker.recover(path)  # (market data is not journaled: marks are the fills' until new data)
    assert again.account().cash == before.cash and again.position(CALL) == -1 and again.position("SPY") == 100
    assert again.instruments[CALL].multiplier == 100.0
    refused(again.place_order("SPY", "sell", 100), RejectReason.UNCOVERED_OPTION)  # still covering the call
    again.close()


def test_an_option_instrument_needs_an_occ_symbol():
    from workbench.errors import ConfigError
    from workbench.model import AssetClass

    with pytest.raises(ConfigError, match="not an OCC symbol"):
        SimulatedBroker(instruments=[Instrument("SPYPUT", AssetClass.OPTION, multiplier=100.0)])


def test_chain_quotes_feed_the_engine_and_an_option_fills_at_the_chains_ask():
    from workbench.engine import backtest
    from workbench.strategies import Strategy

    bars = load_dataset_bars("sp500").iloc[-80:]
    chain = synthetic_chains(bars.iloc[-40:], seed=1)
    quotes = chain_quotes(chain)
    assert (quotes["bid"] > 0).all() and quotes.index.is_monotonic_increasing
    assert len(quotes) == int(((chain["bid"] > 0) & (chain["ask"] > 0)).sum())
    first_day = quotes.index[0]
    todays = quotes[quotes.index == first_day]
    symbol = todays["symbol"].iloc[len(todays) // 2]

    class BuyOne(Strategy):
        name = "buy_one"

        def on_quote(self, quote):
            if quote.symbol == symbol and not self.exposure(symbol):
                self.order(symbol, "buy", 1)

    result = backtest(BuyOne(), bars, quotes, instruments=option_instruments(quotes["symbol"]), cash=1e6,
                      commission="ibkr-options")
    fill = result.fills.iloc[0]
    quoted = todays[todays["symbol"] == symbol].iloc[0]
    assert (fill["symbol"], fill["price"], fill["commission"]) == (symbol, quoted["ask"], 1.0)
    assert result.broker.account().cash == pytest.approx(1e6 - quoted["ask"] * 100 - 1.0)


EXPIRY = pd.Timestamp("2026-12-18", tz="UTC")


def close_at(b, day, price):
    """The underlying closes at ``price`` on ``day`` and the session ends."""
    b.on_bar(Bar(day, "SPY", price, max(price, 461.0), min(price, 459.0), price, 1e7))
    b.end_session(day)


def test_a_short_put_in_the_money_at_expiry_is_assigned():
    b = broker(cash=50_000.0)
    assert b.place_order(PUT, "sell", 1).accepted
    close_at(b, EXPIRY - pd.Timedelta(days=1), 440.0)  # the day before: nothing happens
    assert b.position(PUT) == -1
    close_at(b, EXPIRY, 440.0)  # 10 in the money
    assert b.position(PUT) == 0 and b.position("SPY") == 100
    acct = b.account()
    assert acct.cash == pytest.approx(50_000 + 200 - 1 - 45_000)  # bought 100 at the strike
    assert acct.equity == pytest.approx(acct.cash + 100 * 440.0)
    legs = [f for f in b.fills() if f.order_id.startswith("E")]
    assert [(f.symbol, f.side.value, f.quantity, f.price) for f in legs] == [(PUT, "buy", 1.0, 0.0),
                                                                               ("SPY", "buy", 100.0, 450.0)]
    assert b.stats()["options_assigned"] == 1


@pytest.mark.parametrize("close, outcome, shares", [(480.005, "expired", 0), (480.01, "exercised", 100),
                                                    (490.0, "exercised", 100), (470.0, "expired", 0)])
def test_a_long_call_is_exercised_at_least_a_cent_in_the_money(close, outcome, shares):
    b = broker()
    assert b.place_order(CALL, "buy", 1).accepted
    cash = b.account().cash
    close_at(b, EXPIRY, close)
    assert b.position(CALL) == 0 and b.position("SPY") == shares
    assert b.account().cash == pytest.approx(cash - shares * 480.0)
    assert b.stats()[f"options_{outcome}"] == 1
    event = [e for e in b.events() if e.kind == "expiry"][0]
    assert (event.payload["outcome"], event.payload["underlying_price"]) == (outcome, close)


def test_a_covered_call_called_away_and_a_gtc_order_in_an_expired_contract():
    b = broker()
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=1), "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.place_order("SPY", "buy", 100).accepted
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=2), "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.place_order(CALL, "sell", 1).accepted
    working = b.place_order(PUT, "buy", 1, "limit", limit_price=0.05, tif="gtc")  # never fills
    assert working.accepted
    close_at(b, EXPIRY, 500.0)
    assert b.position("SPY") == 0 and b.position(CALL) == 0  # called away at 480
    assert b.order(working.order_id).status.value == "cancelled"
    assert b.stats()["options_assigned"] == 1


def test_expiries_are_journaled_and_recovered(tmp_path):
    path = tmp_path / "journal.sqlite"
    b = broker(cash=50_000.0, journal=path)
    assert b.place_order(PUT, "sell", 1).accepted
    close_at(b, EXPIRY, 440.0)
    before, fills = b.account(), b.fills()
    b.close()
    again = SimulatedBroker.recover(path)
    assert again.account().cash == before.cash and again.fills() == fills
    assert (again.position(PUT), again.position("SPY")) == (0, 100)
    assert again.stats()["options_assigned"] == 1
    again.close()


def test_a_backtest_through_an_expiry_keeps_the_equity_curve_and_the_broker_in_step():
    from workbench.engine import backtest
    from workbench.strategies import Strategy

    bars = load_dataset_bars("sp500").iloc[-60:]
    quotes = chain_quotes(synthetic_chains(bars.iloc[-30:], seed=2, weeklies=2, monthlies=0))
    day = quotes.index[0]
    todays = quotes[quotes.index == day]
    spot = float(bars.loc[day, "close"])
    puts = todays[todays["symbol"].str[12] == "P"].copy()
    puts["strike"] = puts["symbol"].str[13:].astype(int) / 1000
    puts["expiry"] = puts["symbol"].str[6:12]
    first = puts[puts["expiry"] == puts["expiry"].min()]
    symbol = first.iloc[(first["strike"] - spot * 1.02).abs().argmin()]["symbol"]  # a put just in the money

    class WriteOne(Strategy):
        name = "write_one"

        def on_quote(self, quote):
            if quote.symbol == symbol and not self.position(symbol) and not self.working(symbol) \
                    and not self.position("SP500"):
                self.order(symbol, "sell", 1)

    result = backtest(WriteOne(), bars, quotes, instruments=option_instruments(quotes["symbol"]), cash=1e6,
                      commission="ibkr-options")
    stats = result.broker.stats()
    assert stats["options_assigned"] + stats["options_expired"] >= 1
    assert result.broker.position(symbol) == 0  # settled
    assert result.equity.iloc[-1] == pytest.approx(result.broker.account().equity, rel=1e-12)


# --- found by a break-it review -------------------------------------------------------------

CALL_JAN = OptionContract("SPY", pd.Timestamp("2027-01-15").date(), 480.0, "call").symbol


def test_an_order_in_an_expired_contract_is_refused():
    b = broker()
    close_at(b, EXPIRY, 470.0)
    later = pd.Timestamp("2026-12-21", tz="UTC")
    b.on_bar(Bar(later, "SPY", 520.0, 521.0, 519.0, 520.0, 1e7))
    cash = b.account().cash
    message = refused(b.place_order(CALL, "buy", 10), RejectReason.CONTRACT_EXPIRED)
    assert "expired on 2026-12-18" in message
    assert b.account().cash == cash and b.position(CALL) == 0
    b.end_session(later)
    assert b.account().cash == cash and b.position("SPY") == 0


def test_a_cash_account_cash_settles_a_long_option_it_cannot_exercise():
    b = broker(cash=2_000.0)
    assert b.place_order(CALL, "buy", 10).accepted  # 1,506.50 with the commission
    cash = b.account().cash
    close_at(b, EXPIRY, 500.0)  # 48,000 to exercise: not there
    assert b.account().cash == pytest.approx(cash + 10 * 20.0 * 100)  # left at its intrinsic value
    assert b.position("SPY") == 0 and b.position(CALL) == 0 and b.stats()["options_cash_settled"] == 1
    b = broker()
    assert b.place_order(PUT, "buy", 1).accepted
    cash = b.account().cash
    close_at(b, EXPIRY, 400.0)  # no shares to deliver: not short stock in a cash account
    assert b.position("SPY") == 0 and b.account().cash == pytest.approx(cash + 50.0 * 100)


def test_a_put_exercise_does_not_deliver_the_shares_covering_a_later_call():
    b = SimulatedBroker(cash=100_000.0, instruments=[Instrument("SPY"), *option_instruments([PUT, CALL_JAN])],
                        commission="ibkr-options")
    b.on_bar(Bar(T0, "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.place_order("SPY", "buy", 100).accepted
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=1), "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    b.on_quote(Quote(T0 + pd.Timedelta(minutes=1), PUT, 2.00, 2.10, 50.0, 50.0))
    b.on_quote(Quote(T0 + pd.Timedelta(minutes=1), CALL_JAN, 5.00, 5.20, 50.0, 50.0))
    assert b.place_order(CALL_JAN, "sell", 1).accepted and b.place_order(PUT, "buy", 1).accepted
    close_at(b, EXPIRY, 400.0)
    assert b.position("SPY") == 100 and b.position(CALL_JAN) == -1  # the call stays covered
    assert b.stats()["options_cash_settled"] == 1


def test_the_cash_securing_a_put_is_not_spent_by_a_fill_above_the_checked_price():
    b = broker(cash=50_000.0)
    assert b.place_order(PUT, "sell", 1).accepted  # 45,000 secured, 5,199 free
    reply = b.place_order(CALL, "buy", 35)  # checked at the last price (the mid, 1.45), fills at the ask
    assert reply.accepted
    assert b.position(CALL) < 35 and b.order(reply.order_id).status.value == "cancelled"  # as far as the free cash
    close_at(b, EXPIRY, 440.0)  # the put is assigned: its 45,000 is still there
    assert b.account().cash >= 0 and b.position("SPY") == 100


def test_a_partly_filled_short_sale_can_be_repriced():
    b = broker()
    b.on_quote(Quote(T0, PUT, 2.00, 2.10, 1.0, 50.0))  # one contract bid
    reply = b.place_order(PUT, "sell", 2, "limit", limit_price=2.00, tif="gtc")
    assert reply.accepted and b.position(PUT) == -1
    assert b.replace_order(reply.order_id, limit_price=1.99).accepted  # its second contract: 45,000 of 54,xxx free
    assert not b.replace_order(reply.order_id, quantity=3).accepted  # two more: 90,000


def test_a_margin_accounts_short_options_hold_their_margin_back_from_other_buys():
    b = broker(cash=20_000.0, account_type="margin")
    assert b.place_order(PUT, "sell", 2).accepted
    # 2 x Reg-T at 460 (10 out, premium ~2.05): ~16,810 held; the rest is not enough for 80 shares
    refused(b.place_order("SPY", "buy", 80), RejectReason.INSUFFICIENT_BUYING_POWER)
    assert b.place_order("SPY", "buy", 5).accepted


def test_the_option_schedule_charges_shares_by_the_share():
    b = broker()
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=1), "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.place_order("SPY", "buy", 200).accepted
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=2), "SPY", 460.0, 461.0, 459.0, 460.0, 1e7))
    assert b.fills()[-1].commission == pytest.approx(1.0)  # 200 x 0.005 = 1.00, not 200 x 0.65


def test_chain_quotes_refuse_times_without_a_zone():
    from workbench.errors import DataError

    chain = synthetic_chains(load_dataset_bars("sp500").iloc[-25:], seed=1)
    chain["time"] = chain["time"].dt.tz_localize(None)
    with pytest.raises(DataError, match="UTC timestamps"):
        chain_quotes(chain)


# --- found by a break-it review: stale quotes, trades past expiry, holidays, buy-backs, covered calls ---

EXP = pd.Timestamp("2026-12-18", tz="UTC")


def test_an_option_order_does_not_fill_at_yesterdays_quote():
    b = broker(cash=50_000.0)
    assert b.place_order(PUT, "sell", 1).accepted
    b.on_quote(Quote(EXP - pd.Timedelta(days=1), PUT, 2.00, 2.10, 50, 50))  # Thursday's last quote
    b.on_bar(Bar(EXP, "SPY", 400, 400, 400, 400, 1e7))  # Friday: the put is 50 in the money
    cash = b.account().cash
    reply = b.place_order(PUT, "buy", 1)
    assert reply.accepted and b.position(PUT) == -1 and b.account().cash == cash  # resting, not filled at 2.10
    b.on_quote(Quote(EXP + pd.Timedelta(hours=15), PUT, 49.90, 50.10, 50, 50))  # today's quote: it fills there
    assert b.position(PUT) == 0 and b.fills()[-1].price == 50.10


def test_no_trade_in_a_contract_once_its_expiry_is_settled():
    b = broker(cash=50_000.0)
    b.on_bar(Bar(EXP, "SPY", 500, 500, 500, 500, 1e7))
    b.on_quote(Quote(EXP, PUT, 0.01, 0.05, 50, 50))
    assert b.place_order(PUT, "sell", 1).accepted  # on its expiry day, before the close: it trades
    b.end_session(EXP)
    message = refused(b.place_order(PUT, "sell", 1), RejectReason.CONTRACT_EXPIRED)
    assert "its expiries settled" in message
    old = OptionContract("SPY", pd.Timestamp("2019-01-18").date(), 450.0, "put").symbol
    fresh = SimulatedBroker(cash=1e6, instruments=[Instrument("SPY"), *option_instruments([old])],
                            commission="ibkr-options")
    assert fresh.place_order(old, "buy", 1, "limit", limit_price=1.0, tif="gtc").accepted  # no market time yet
    later = pd.Timestamp("2026-01-05", tz="UTC")
    fresh.on_quote(Quote(later, old, 0.5, 0.6, 10, 10))
    assert fresh.fills() == [] and fresh.account().cash == 1e6
    assert fresh.orders()[-1].status.value == "cancelled"


def test_an_option_needs_its_underlying_as_plain_shares():
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="needs an instrument for its underlying 'SPY'"):
        SimulatedBroker(instruments=option_instruments([PUT]))
    with pytest.raises(ConfigError, match="whose multiplier is 10"):
        SimulatedBroker(instruments=[Instrument("SPY", multiplier=10.0), *option_instruments([PUT])])


def test_an_expiry_on_a_holiday_is_settled_at_the_close_before_it():
    b = broker(cash=50_000.0)
    assert b.place_order(PUT, "sell", 1).accepted
    thursday, monday = EXP - pd.Timedelta(days=1), EXP + pd.Timedelta(days=3)
    b.on_bar(Bar(thursday, "SPY", 460, 460, 460, 460, 1e7))  # out of the money at Thursday's close
    b.end_session(thursday, next_time=monday)  # Friday, the expiry, is a holiday
    assert b.position(PUT) == 0 and b.position("SPY") == 0  # expired worthless, on Thursday's price
    b.on_bar(Bar(monday, "SPY", 400, 400, 400, 400, 1e7))
    b.end_session(monday)
    assert b.position("SPY") == 0  # not assigned at Monday's 400
    kept = broker(cash=50_000.0)
    assert kept.place_order(PUT, "sell", 1).accepted
    kept.on_bar(Bar(thursday, "SPY", 460, 460, 460, 460, 1e7))
    kept.end_session(thursday, next_time=EXP)  # Friday trades: nothing settles on Thursday
    assert kept.position(PUT) == -1


def test_a_cash_secured_put_can_be_bought_back_with_the_cash_securing_it():
    b = broker(cash=45_000.0)
    assert b.place_order(PUT, "sell", 1).accepted  # 45,000 secured, 199 free
    b.on_quote(Quote(T0 + pd.Timedelta(minutes=5), PUT, 9.90, 10.00, 50, 50))
    reply = b.place_order(PUT, "buy", 1)
    assert reply.accepted, reply.message
    assert b.position(PUT) == 0 and b.account().cash == pytest.approx(45_000 + 200 - 1.0 - 1000 - 1.0)
    # the release is for the contracts closed, not more: a second put's buy opens a long it must pay for
    refused(b.place_order(PUT, "buy", 500), RejectReason.INSUFFICIENT_BUYING_POWER)


def test_a_covered_call_in_a_margin_account_holds_no_margin_until_its_shares_are_sold():
    b = broker(cash=50_000.0, account_type="margin")
    assert b.place_order("SPY", "buy", 200).accepted
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=1), "SPY", 460, 460, 460, 460, 1e7))
    assert b.position("SPY") == 200
    assert b.place_order(CALL, "sell", 2).accepted
    assert b.place_order("SPY", "buy", 5).accepted  # the calls are covered: no margin held back
    b.on_bar(Bar(T0 + pd.Timedelta(minutes=2), "SPY", 460, 460, 460, 460, 1e7))
    assert b.place_order("SPY", "sell", 200).accepted  # the calls go naked: the margin freed by the sale holds them
    thin = broker(cash=50_000.0, account_type="margin")
    assert thin.place_order("SPY", "buy", 200).accepted
    thin.on_bar(Bar(T0 + pd.Timedelta(minutes=1), "SPY", 460, 460, 460, 460, 1e7))
    assert thin.place_order(CALL, "sell", 2).accepted
    thin.on_bar(Bar(T0 + pd.Timedelta(minutes=2), "SPY", 230, 230, 230, 230, 1e7))  # equity 4,000 left
    # sold, the shares would leave 2 naked calls needing 2 x (10 % of 23,000 + premium): more than the equity
    message = refused(thin.place_order("SPY", "sell", 200), RejectReason.UNCOVERED_OPTION)
    assert "would leave short calls naked" in message and "Reg-T margin" in message


def test_a_margin_account_pays_for_the_options_it_buys_in_full():
    b = broker(cash=10_000.0, account_type="margin")
    b.on_quote(Quote(T0 + pd.Timedelta(minutes=1), CALL, 9.90, 10.00, 50, 50))
    message = refused(b.place_order(CALL, "buy", 19), RejectReason.INSUFFICIENT_BUYING_POWER)
    assert "needs 18,905.00" in message  # 19 x 100 x 9.95 (the last mid): all of it, not half
    assert b.place_order(CALL, "buy", 9).accepted  # 9,000: within the 10,000
    assert b.account().cash >= 0
