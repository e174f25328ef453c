"""Exchange sessions: DAY orders expire at the exchange's close (a half day's too), bars
outside the sessions are counted, daily bars keep their per-bar sessions."""

import subprocess
import sys

import pandas as pd
import pytest

from workbench import calendars
from workbench.engine import backtest
from workbench.errors import ConfigError
from workbench.feed import load_dataset_bars
from workbench.session import SessionConfig, run_session
from workbench.strategies import SmaCross
from workbench.strategies.base import Strategy

# the day after Thanksgiving 2018, a half day (close 13:00 New York, 18:00 UTC), then Monday
TIMES = pd.DatetimeIndex(["2018-11-23 17:58", "2018-11-23 17:59", "2018-11-23 18:30", "2018-11-26 14:31"], tz="UTC")


def bars(lows):
    return pd.DataFrame({"symbol": "AAA", "open": 100.0, "high": 101.0, "low": lows, "close": 100.0,
                         "volume": 1e6}, index=TIMES)


class BuyLow(Strategy):
    def on_bar(self, bar):
        if not hasattr(self, "sent"):
            self.sent = self.order("AAA", "buy", 1, "limit", limit_price=90.0)  # a DAY order


def test_a_day_order_expires_at_the_half_days_close_not_at_the_date_change():
    data = bars([99.0, 99.0, 85.0, 99.0])  # after the close, at 18:30, the market trades through the limit
    by_date = backtest(BuyLow(), data, session="date")
    assert len(by_date.fills) == 1  # the UTC date had not changed: still working at 18:30
    by_exchange = backtest(BuyLow(), data, session="XNYS")
    assert len(by_exchange.fills) == 0
    assert by_exchange.broker.orders()[0].status.value == "expired"


def test_times_outside_the_sessions():
    inside = pd.DatetimeIndex(["2018-11-23 17:59", "2018-11-26 14:30", "2018-11-26 21:00"], tz="UTC")
    out = pd.DatetimeIndex(["2018-11-23 18:30", "2018-11-26 14:29", "2018-11-22 15:00"], tz="UTC")  # Thanksgiving
    assert not calendars.outside(inside, "XNYS").any()
    assert calendars.outside(out, "XNYS").all()
    days = pd.DatetimeIndex(["2018-03-29", "2018-03-30", "2018-04-02"], tz="UTC")  # Good Friday in the middle
    assert calendars.outside(days, "XNYS").tolist() == [False, True, False]
    # dates read as New York's (--tz): midnight there, 04:00 or 05:00 UTC, across the change to summer time
    local = pd.DatetimeIndex(["2018-03-09", "2018-03-12", "2018-03-29", "2018-03-30", "2018-04-02"]).tz_localize(
        "America/New_York")
    assert calendars.outside(local, "XNYS").tolist() == [False, False, False, True, False]


def test_bars_outside_the_sessions_are_said_and_daily_bars_keep_their_sessions(tmp_path):
    data = bars([99.0, 99.0, 99.0, 99.0])
    path = tmp_path / "m.parquet"
    data.to_parquet(path)
    result = run_session(SessionConfig("buy_and_hold", (str(path),), session="XNYS"))
    assert any(w.startswith("1 bar(s) outside XNYS sessions (the first at 2018-11-23 18:30:00+00:00)")
               for w in result.warnings)
    sp = load_dataset_bars("sp500").iloc[-300:]
    assert backtest(SmaCross(), sp, session="XNYS").summary() == backtest(SmaCross(), sp).summary()


def test_an_unknown_calendar_is_refused_naming_the_choices():
    with pytest.raises(ConfigError, match="'XNYQ' is not auto, bar, date or an exchange calendar"):
        backtest(BuyLow(), bars([99.0] * 4), session="XNYQ")
    run = subprocess.run([sys.executable, "-m", "workbench", "backtest", "sma_cross", "--data", "sp500", "--session",
                          "NOPE"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "--session: 'NOPE'" in run.stderr


def test_daily_bars_stamped_at_a_close_or_in_a_zone_are_per_bar_sessions():
    from workbench.feed import synthetic_bars
    from workbench.strategies import BuyAndHold

    b = synthetic_bars(1, days=60, seed=2)
    late = b.copy()
    late.index = late.index + pd.Timedelta(hours=21)  # stamped at the close
    for session in ("auto", "XNYS"):
        run = backtest(BuyAndHold(), late, session=session)
        assert len(run.fills) == 1 and run.positions.iloc[-1].iloc[0] > 0, session  # not expired unfilled


def test_calendar_names_in_any_case_and_dates_it_does_not_cover():
    assert calendars.check("xnys") == "XNYS"
    with pytest.raises(ConfigError, match="does not cover"):
        calendars.outside(pd.DatetimeIndex(["2052-01-06 02:00"], tz="UTC"), "XHKG")


def test_buy_and_hold_sizes_its_budget_with_the_commission():
    from workbench.feed import synthetic_bars
    from workbench.strategies import BuyAndHold

    run = backtest(BuyAndHold(), synthetic_bars(3, days=30, seed=9), commission="bps:20")
    assert run.broker.stats()["orders_rejected"] == 0 and len(run.fills) == 3


def test_buy_and_hold_buys_a_symbol_that_starts_later_with_the_cash_left():
    from workbench.feed import synthetic_bars
    from workbench.strategies import BuyAndHold

    b = synthetic_bars(["AAA", "BBB"], days=60, seed=3)
    later = b[(b["symbol"] == "AAA") | (b.index >= b.index[40])]
    run = backtest(BuyAndHold(), later)
    assert run.broker.stats()["orders_rejected"] == 0 and len(run.fills) == 2


def test_a_calendar_option_says_calendar():
    with pytest.raises(ConfigError, match="'bar' is not an exchange calendar"):
        calendars.check("bar", "--calendar")


def test_auto_follows_the_new_york_exchange_when_the_intraday_data_keep_to_its_days():
    """``session="auto"`` on intraday data: XNYS when every date of the data (New York time)
    is one of its session days, bars after the close included; else the UTC date."""
    from workbench.engine import Engine

    days = TIMES.as_unit("ns").asi8
    assert calendars.follows("XNYS", days)
    after_hours = pd.DatetimeIndex(["2018-11-26 22:30", "2018-11-27 00:30"], tz="UTC")  # 17:30, 19:30 New York
    assert calendars.follows("XNYS", after_hours.as_unit("ns").asi8)
    # Saturday, Thanksgiving, then a Friday 19:30 in New York (after hours) that is Saturday in UTC
    for odd in ("2018-11-24 15:00", "2018-11-22 15:00", "2018-11-17 00:30"):
        times = TIMES.append(pd.DatetimeIndex([odd], tz="UTC")).sort_values()
        assert calendars.follows("XNYS", times.as_unit("ns").asi8) is (odd == "2018-11-17 00:30"), odd
    assert not calendars.follows("XNYS", pd.date_range("2018-11-23", periods=200, freq="h", tz="UTC").asi8)

    data = bars([99.0, 99.0, 85.0, 99.0])  # the half day's 18:30 bar trades through the limit, after the close
    auto = backtest(BuyLow(), data)
    assert len(auto.fills) == 0 and auto.broker.orders()[0].status.value == "expired"  # as session="XNYS"
    assert Engine(BuyLow(), data).session == "XNYS"
    saturday = pd.concat([data, bars([99.0] * 4).iloc[:1].set_axis(pd.DatetimeIndex(["2018-11-24 15:00"],
                                                                                      tz="UTC"))]).sort_index()
    assert Engine(BuyLow(), saturday).session == "date"
    assert len(backtest(BuyLow(), saturday).fills) == 1  # the UTC date had not changed at 18:30: it filled
    sp = load_dataset_bars("sp500").iloc[-300:]
    assert Engine(SmaCross(), sp).session == "bar"  # daily bars: each bar, as before


def test_the_auto_choice_and_the_bars_outside_are_said(tmp_path):
    data = bars([99.0, 99.0, 99.0, 99.0])
    path = tmp_path / "m.parquet"
    data.to_parquet(path)
    warnings = run_session(SessionConfig("buy_and_hold", (str(path),))).warnings
    assert warnings[0].startswith("sessions follow XNYS (--session auto: every date")
    assert any(w.startswith("1 bar(s) outside XNYS sessions") for w in warnings)
    assert not any("XNYS" in w for w in run_session(SessionConfig("buy_and_hold", (str(path),),
                                                                  session="date")).warnings)
    # auto on data with a holiday bar: the UTC date, and why
    holiday = pd.concat([data, data.iloc[:1].set_axis(pd.DatetimeIndex(["2018-11-22 15:00"], tz="UTC"))]).sort_index()
    holiday.to_parquet(path)
    warnings = run_session(SessionConfig("buy_and_hold", (str(path),))).warnings
    assert warnings[0] == ("sessions end at the UTC date (--session auto: 1 date(s) of the data (New York time) are not "
                           "XNYS session days, the first 2018-11-22: a 24-hour market, or bars on its holidays); "
                           "--session XNYS follows its sessions anyway, the bars outside them counted, and so does "
                           "another exchange's calendar (--session XLON, XTKS...; per symbol: --session date,SYM=XLON)")


def two_exchanges(vod_lows, spy_lows):
    """VOD (London, 08:00-16:30 UTC in winter) and SPY (New York, 14:30-21:00 UTC), minute
    bars on Monday 2018-11-26 and Tuesday 2018-11-27."""
    vod = pd.DatetimeIndex(["2018-11-26 09:00", "2018-11-26 16:00", "2018-11-26 17:00", "2018-11-27 09:00"], tz="UTC")
    spy = pd.DatetimeIndex(["2018-11-26 15:00", "2018-11-26 16:00", "2018-11-26 17:00", "2018-11-27 15:00"], tz="UTC")
    frame = lambda symbol, index, lows: pd.DataFrame({"symbol": symbol, "open": 100.0, "high": 101.0,  # noqa: E731
                                                      "low": lows, "close": 100.0, "volume": 1e6}, index=index)
    return pd.concat([frame("VOD", vod, vod_lows), frame("SPY", spy, spy_lows)]).sort_index(kind="stable")


class BuyBoth(Strategy):
    def on_bar(self, bar):
        sent = self.__dict__.setdefault("sent", set())
        if bar.symbol not in sent and bar.time.hour in (9, 15):  # a DAY limit order in each, in its session
            sent.add(bar.symbol)
            self.order(bar.symbol, "buy", 1, "limit", limit_price=90.0)


def test_symbols_of_another_exchange_keep_its_sessions():
    """``session="XNYS,VOD=XLON"``: VOD's DAY order expires at London's close (16:30 UTC), so
    its 17:00 bar through the limit fills nothing; SPY's works until New York's close and
    fills at 17:00. With New York's sessions for both, VOD's order fills there too."""
    from workbench.engine import Engine

    data = two_exchanges([99.0, 99.0, 85.0, 99.0], [99.0, 99.0, 85.0, 99.0])
    both = backtest(BuyBoth(), data, session="XNYS,VOD=XLON")
    assert sorted(both.fills["symbol"]) == ["SPY"]
    assert {o.symbol: o.status.value for o in both.broker.orders()} == {"VOD": "expired", "SPY": "filled"}
    ny = backtest(BuyBoth(), data, session="XNYS")
    assert sorted(ny.fills["symbol"]) == ["SPY", "VOD"]
    assert backtest(BuyBoth(), data, session={"*": "XNYS", "VOD": "XLON"}).summary() == both.summary()
    assert Engine(BuyBoth(), data, session="auto,VOD=XLON").session == "XNYS"  # SPY's dates: New York's days
    # London trades on Thanksgiving, New York does not: only the dates of the symbols without
    # sessions of their own decide what auto gives the run
    thanksgiving = pd.concat([data, data.iloc[:1].set_axis(pd.DatetimeIndex(["2018-11-22 10:00"], tz="UTC"))])
    thanksgiving = thanksgiving.sort_index(kind="stable")
    assert Engine(BuyBoth(), thanksgiving).session == "date"
    assert Engine(BuyBoth(), thanksgiving, session="auto,VOD=XLON").session == "XNYS"
    with pytest.raises(ConfigError, match="NOPE is not a symbol of the data"):
        Engine(BuyBoth(), data, session="XNYS,NOPE=XLON")
    for bad, words in (("XNYS,VOD=XXXX", "session VOD: 'XXXX' is not an exchange calendar"),
                       ("XNYS,XLON", "one rule for the run"), ("XNYS,VOD=", "not SYMBOL=CALENDAR"),
                       ("bar,VOD=XLON", "no symbol has sessions of its own"),
                       ("XNYS,VOD=XLON,VOD=XLON", "VOD is given twice")):
        with pytest.raises(ConfigError, match=words):
            Engine(BuyBoth(), data, session=bad)


def test_a_symbols_own_sessions_are_said_and_run_from_the_command_line(tmp_path):
    data = two_exchanges([99.0] * 4, [99.0] * 4)
    path = tmp_path / "two.parquet"
    data.to_parquet(path)
    warnings = run_session(SessionConfig("buy_and_hold", (str(path),), session="XNYS,VOD=XLON")).warnings
    assert "1 bar(s) outside XLON sessions (VOD) (the first at 2018-11-26 17:00:00+00:00)" in " ".join(warnings)
    assert not any("outside XNYS" in w for w in warnings)  # SPY's bars are all within New York's
    run = subprocess.run([sys.executable, "-m", "workbench", "backtest", "buy_and_hold", "--data", str(path),
                          "--session", "XNYS,VOD=XLON", "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    bad = subprocess.run([sys.executable, "-m", "workbench", "backtest", "buy_and_hold", "--data", str(path),
                          "--session", "XNYS,VOD=XQQQ"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--session VOD: 'XQQQ' is not an exchange calendar" in bad.stderr


def hourly(start, end, hours, symbol="AAA", weekdays=True):
    """Hourly bars of ``symbol`` at the given UTC hours of each day from ``start`` to ``end``."""
    days = pd.date_range(start, end, freq="D", tz="UTC")
    times = pd.DatetimeIndex([d + pd.Timedelta(hours=h) for d in days for h in hours
                              if not weekdays or d.day_of_week < 5])
    return pd.DataFrame({"symbol": symbol, "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0,
                         "volume": 1e6}, index=times)


def test_auto_does_not_take_a_24_hour_market_for_the_exchange_and_says_why():
    """Found by a break-it review: 24-hour bars from Tuesday to Thursday keep to New York's
    days, but trade overnight, far from its sessions: the UTC date. Extended hours (04:00 to
    20:00 New York) are the exchange's own."""
    from workbench.engine import Engine

    crypto = hourly("2024-03-05", "2024-03-07", range(24))
    engine = Engine(BuyLow(), crypto)
    assert engine.session == "date"
    assert engine.session_note.startswith("sessions end at the UTC date (--session auto: bars in hours more than 6 "
                                          "hours from any XNYS session, the first in the hour from 2024-03-05 03:00:00+00:00")
    extended = hourly("2024-03-04", "2024-03-08", range(9, 24))  # 04:00-19:00 New York (EST, then 05:00-20:00 EDT)
    assert Engine(BuyLow(), extended).session == "XNYS"
    # (London's hours look like New York's pre-market: they may get XNYS, whose close, after
    # London's and before its next open, ends its sessions where the UTC date would)


def test_daily_bars_with_quotes_at_their_times_keep_the_date_rule():
    """Found by a break-it review: an option strategy's chains are quotes at the daily bars'
    times, so the data are not all bars; close-stamped daily bars then took New York's
    sessions, and the Friday after Thanksgiving's bar (after its 13:00 close) fell into
    Monday's session. Daily bars with quotes at their times keep the UTC date, as before."""
    from workbench.engine import Engine

    sp = load_dataset_bars("sp500").iloc[-60:]
    closes = sp.set_axis(sp.index + pd.Timedelta(hours=21))  # stamped at 16:00 New York in winter
    quotes = pd.DataFrame({"symbol": "OPT", "bid": 1.0, "ask": 1.1, "bid_size": 10.0, "ask_size": 10.0},
                          index=closes.index)
    engine = Engine(SmaCross(), quotes, closes)
    assert (engine.session, engine.session_note) == ("date", None)


def test_a_run_started_before_auto_knew_the_exchange_resumes_with_its_rule(tmp_path):
    """Found by a break-it review: a paper run whose journal recorded the UTC date for
    ``auto`` (as every intraday run did before) resumes with the same command."""
    from workbench.engine import Engine

    data = hourly("2024-03-04", "2024-03-08", range(15, 21))  # New York's hours: auto is XNYS now
    journal = tmp_path / "j.sqlite"
    started = Engine(SmaCross(fast=2, slow=4), data, mode="paper", speed=1e12, journal=journal, session="date",
                     duration=None)
    started.run()
    resumed = Engine(SmaCross(fast=2, slow=4), data, mode="paper", speed=1e12, journal=journal, resume=True)
    assert resumed.session == "date" and "the rule the run started with (its journal)" in \
        resumed.session_note
    resumed.run()
    with pytest.raises(ConfigError, match="session 'date' in the journal, 'XLON' now"):
        Engine(SmaCross(fast=2, slow=4), data, mode="paper", speed=1e12, journal=journal, resume=True,
               session="XLON")


def test_the_bars_outside_are_counted_within_the_run_and_strict_refuses_them_under_auto(tmp_path):
    data = pd.concat([hourly("2024-03-04", "2024-03-06", range(15, 21)),
                      hourly("2024-03-04", "2024-03-04", [23])]).sort_index()  # one bar at 18:00 New York, Monday
    path = tmp_path / "ext.parquet"
    data.to_parquet(path)
    warnings = run_session(SessionConfig("buy_and_hold", (str(path),))).warnings
    assert any(w.startswith("1 bar(s) outside XNYS sessions") for w in warnings), warnings
    later = run_session(SessionConfig("buy_and_hold", (str(path),), start="2024-03-05")).warnings
    assert not any("outside XNYS" in w for w in later), later  # Monday's bar is not in the run
    with pytest.raises(ConfigError, match=r"--strict: 1 bar\(s\) outside XNYS sessions .*--session auto"):
        run_session(SessionConfig("buy_and_hold", (str(path),), strict=True))
    with pytest.raises(ConfigError, match=r"--strict: 1 bar\(s\) outside XNYS sessions"):
        run_session(SessionConfig("buy_and_hold", (str(path),), strict=True, session="XNYS"))


def test_a_calendar_year_is_not_said_to_be_shorter_than_a_year():
    year = run_session(SessionConfig("buy_and_hold", ("sp500",), start="2018-01-01", end="2018-12-31")).warnings
    assert not any("annualized" in w for w in year), year
    months = run_session(SessionConfig("buy_and_hold", ("sp500",), start="2018-01-01", end="2018-10-31")).warnings
    assert any("annualized" in w for w in months), months


def test_a_foreign_symbols_bar_on_a_holiday_does_not_move_the_runs_session():
    """Found by a break-it review: VOD trading on the 4th of July (New York shut) ended New
    York's session at VOD's bar, and a call expiring that day settled on Monday's price
    instead of Thursday's. The run's session is told by its own symbols' slices."""
    from workbench.options.chains import option_instruments

    call = "SPY250704C00100000"

    class BuyCall(Strategy):
        def on_quote(self, quote):
            if not hasattr(self, "sent"):
                self.sent = self.order(call, "buy", 1, "market")

    spy_times = pd.DatetimeIndex(["2025-07-02 15:00", "2025-07-03 15:00", "2025-07-03 16:30", "2025-07-07 15:00",
                                  "2025-07-08 15:00"], tz="UTC")
    closes = [110.0, 110.0, 110.0, 130.0, 130.0]
    spy = pd.DataFrame({"symbol": "SPY", "open": closes, "high": closes, "low": [c - 1 for c in closes],
                        "close": closes, "volume": 1e6}, index=spy_times)
    vod = two_exchanges([99.0] * 4, [99.0] * 4).query("symbol == 'VOD'").iloc[:1]
    vod = pd.concat([vod.set_axis(pd.DatetimeIndex([f"2025-07-0{d} 09:00"], tz="UTC")) for d in (2, 3, 4, 7)])
    quote = pd.DataFrame({"symbol": call, "bid": 9.9, "ask": 10.0, "bid_size": 100.0, "ask_size": 100.0},
                         index=spy_times[:1])

    def settled(*frames, session):
        result = backtest(BuyCall(), quote, *frames, session=session, instruments=option_instruments([call]),
                          account_type="margin")
        return [e.payload["underlying_price"] for e in result.broker.events() if e.kind == "expiry"]

    assert settled(spy, session="XNYS") == [110.0]
    both = pd.concat([spy, vod]).sort_index(kind="stable")
    assert settled(both, session="XNYS,VOD=XLON") == [110.0]


def test_a_resume_must_keep_the_symbols_sessions(tmp_path):
    """Found by a break-it review: a run started with VOD=XLON resumed without it (VOD then
    followed New York) was accepted."""
    from workbench.engine import Engine

    data = two_exchanges([99.0] * 4, [99.0] * 4)
    journal = tmp_path / "j.sqlite"
    Engine(BuyBoth(), data, mode="paper", speed=1e12, journal=journal, session="XNYS,VOD=XLON").run()
    for session in ("XNYS", "auto"):
        with pytest.raises(ConfigError, match=r"--session's symbols \{'VOD': 'XLON'\} in the journal, \{\} now"):
            Engine(BuyBoth(), data, mode="paper", speed=1e12, journal=journal, resume=True, session=session)
    Engine(BuyBoth(), data, mode="paper", speed=1e12, journal=journal, resume=True, session="XNYS,VOD=XLON").run()


def test_strict_under_auto_refuses_before_anything_is_written(tmp_path):
    data = pd.concat([hourly("2024-03-04", "2024-03-06", range(15, 21)),
                      hourly("2024-03-04", "2024-03-04", [23])]).sort_index()
    path = tmp_path / "ext.parquet"
    data.to_parquet(path)
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=r"--strict: 1 bar\(s\) outside XNYS"):
        run_session(SessionConfig("buy_and_hold", (str(path),), strict=True, out=out))
    assert not out.exists()
