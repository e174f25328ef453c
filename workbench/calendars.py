"""Exchange sessions from ``exchange_calendars``: when a market opens and closes, its half
days and holidays (``XNYS`` the New York Stock Exchange; ``exchange_calendars.get_calendar_names()``
lists the others).

A run with ``session="XNYS"`` (``--session XNYS``) ends a session at the exchange's close: DAY
orders expire there (18:00 UTC on a half day, 21:00 in winter), not at the UTC date change,
and an event after a close belongs to the next session. Bars outside every session (a
holiday, after hours) are counted and said.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from workbench.errors import ConfigError

PLAIN = ("auto", "bar", "date")  # the engine's own session rules (workbench.engine)
DEFAULT = "XNYS"  # the exchange "auto" gives intraday data that keep to its days and hours (follows)
NEAR_HOURS = 6  # how far from a session an exchange's own bars may lie (New York's extended hours: 04:00-20:00)
_HOUR_NS = 3_600 * 1_000_000_000


@functools.lru_cache(maxsize=1)
def names() -> frozenset[str]:
    import exchange_calendars

    return frozenset(exchange_calendars.get_calendar_names(include_aliases=True))


def check(name: str, where: str = "session") -> str:
    """``name`` (any case: ``xnys`` is ``XNYS``) if it is an exchange calendar, else a
    :class:`ConfigError` naming it."""
    if isinstance(name, str) and name not in names() and name.upper() in names():
        name = name.upper()
    if not isinstance(name, str) or name not in names():
        what = "auto, bar, date or an exchange calendar" if where in ("session", "--session") else "an exchange calendar"
        raise ConfigError(f"{where}: {name!r} is not {what} (XNYS the New York "
                          "Stock Exchange, XNAS Nasdaq, XLON London, XTKS Tokyo...: "
                          "exchange_calendars.get_calendar_names())")
    return name


def _calendar_class(name: str):
    """The ``exchange_calendars`` class of calendar ``name`` (its bounds, its time zone), or
    ``None`` where the library makes it otherwise."""
    import exchange_calendars

    factory = exchange_calendars.calendar_utils.global_calendar_dispatcher
    return factory._calendar_factories.get(factory.resolve_alias(check(name)))


@functools.lru_cache(maxsize=16)
def schedule(name: str, first: str, last: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(session dates as UTC midnights, opens, closes) in int64 nanoseconds, for the sessions
    from a week before ``first`` to a week after ``last`` (dates, YYYY-MM-DD)."""
    import exchange_calendars

    cls = _calendar_class(name)
    start = pd.Timestamp(first) - pd.Timedelta(days=7)
    end = pd.Timestamp(last) + pd.Timedelta(days=7)
    if cls is not None:  # the library's own bounds (XNYS from 1885, Tokyo from 1997, Hong Kong to 2049)
        low, high = cls.bound_min(), cls.bound_max()
        start = max(start, pd.Timestamp(low).tz_localize(None)) if low is not None else start
        end = min(end, pd.Timestamp(high).tz_localize(None)) if high is not None else end
    try:
        cal = exchange_calendars.get_calendar(check(name), start=start, end=end)
    except ValueError as exc:  # dates the calendar does not cover
        raise ConfigError(f"session {name}: the calendar does not cover {first} to {last}: {exc}") from None
    sched = cal.schedule
    days = pd.DatetimeIndex(sched.index).tz_localize("UTC") if sched.index.tz is None else pd.DatetimeIndex(sched.index)
    ns = lambda index: pd.DatetimeIndex(index).as_unit("ns").asi8.copy()  # noqa: E731
    return ns(days), ns(sched["open"]), ns(sched["close"])


def _span(times: pd.DatetimeIndex) -> tuple[str, str]:
    return str(times.min().date()), str(times.max().date())


def closes(name: str, times: pd.DatetimeIndex) -> np.ndarray:
    """The closes (int64 ns, increasing) of the sessions around ``times``."""
    return schedule(name, *_span(times))[2]


def outside(times: pd.DatetimeIndex, name: str) -> np.ndarray:
    """Which of ``times`` lie outside every session of calendar ``name``: for daily bars (all
    at midnight UTC, or all at midnight where the exchange is: dates read with ``--tz``) a
    date that is not a session; otherwise a time not within a session's open and close (both
    included)."""
    times = pd.DatetimeIndex(times)
    if times.tz is None:
        times = times.tz_localize("UTC")
    times = times.tz_convert("UTC").as_unit("ns")  # pandas may keep seconds or microseconds
    if not len(times):
        return np.zeros(0, dtype=bool)
    days, opens, closes_ = schedule(name, *_span(times))
    t = times.asi8
    if (times.normalize() == times).all():
        return ~np.isin(t, days)
    zone = getattr(_calendar_class(name), "tz", None)
    if zone is not None:
        local = times.tz_convert(zone)
        if (local.normalize() == local).all():  # dates at the exchange's midnight: their own dates
            return ~np.isin(local.tz_localize(None).tz_localize("UTC").as_unit("ns").asi8, days)
    i = np.searchsorted(closes_, t, side="left")  # the first close at or after each time
    inside = i < len(closes_)
    j = np.minimum(i, len(closes_) - 1)
    return ~(inside & (t >= opens[j]))


def follows(name: str, times_ns: np.ndarray) -> bool:
    """Whether intraday event times keep to calendar ``name``'s days (:func:`off_days` finds
    none, and the calendar covers them) and hours (:func:`far_from_sessions` finds none)."""
    return off_days(name, times_ns) == [] and far_from_sessions(name, times_ns) is None


def _hours(times_ns: np.ndarray) -> np.ndarray:
    """The hours (int64, since the epoch) that hold one of the times (in order), each once."""
    hours = np.asarray(times_ns, dtype=np.int64) // _HOUR_NS
    return hours[np.r_[True, hours[1:] != hours[:-1]]] if hours.size else hours


def far_from_sessions(name: str, times_ns: np.ndarray, hours: float = NEAR_HOURS) -> pd.Timestamp | None:
    """The first hour of the times (int64 ns UTC, in order) that lies more than ``hours``
    from every session of calendar ``name`` (its open or its close), else ``None``: a
    24-hour market trades overnight, an exchange's own extended hours do not (New York's
    end 4 hours after the close and start 5.5 before the open). Read by the hour: each hour
    with a time, from its start to its end."""
    h = _hours(times_ns)
    if not h.size:
        return None
    starts = h * _HOUR_NS
    first, last = pd.Timestamp(int(starts[0]), tz="UTC"), pd.Timestamp(int(starts[-1]), tz="UTC")
    try:
        _, opens, closes_ = schedule(name, str(first.date()), str(last.date()))
    except ConfigError:
        return None
    window = int(hours * _HOUR_NS)
    n = len(closes_)
    far = np.zeros(starts.size, dtype=bool)
    for edge in (starts, starts + _HOUR_NS - 1):
        i = np.searchsorted(closes_, edge, side="left")  # the first close at or after each
        nxt = np.minimum(i, n - 1)
        before_next = (i < n) & (edge >= opens[nxt] - window)
        after_last = (i > 0) & (edge <= closes_[np.maximum(i - 1, 0)] + window)
        far |= ~(before_next | after_last)
    return pd.Timestamp(int(starts[int(np.flatnonzero(far)[0])]), tz="UTC") if far.any() else None


def off_days(name: str, times_ns: np.ndarray) -> list[str] | None:
    """The dates (YYYY-MM-DD, in the exchange's time zone) of intraday event times (int64 ns
    UTC, in order) that are not session days of calendar ``name``: a weekend or holiday bar
    (a 24-hour market, a file from another exchange that trades on this one's holidays).
    Bars before the open or after the close of a session day are on a session day (they
    belong to a session: :func:`outside` counts them). ``None``: no times, or a span the
    calendar does not cover. Read an hour at a time (a zone's offset changes on the hour), so
    a long file costs one conversion per hour of data, not per event."""
    times_ns = np.asarray(times_ns, dtype=np.int64)
    if not times_ns.size:
        return None
    hours = _hours(times_ns)
    tz = getattr(_calendar_class(name), "tz", None)
    local = pd.DatetimeIndex(hours * _HOUR_NS, tz="UTC")
    local = local.tz_convert(tz) if tz is not None else local
    dates = pd.DatetimeIndex(local.tz_localize(None).normalize().unique())
    try:
        days = schedule(name, str(dates.min().date()), str(dates.max().date()))[0]
    except ConfigError:
        return None
    off = ~np.isin(dates.as_unit("ns").asi8, days)
    return [str(d.date()) for d in dates[off]]


def parse(session, where: str = "session") -> tuple[str, dict[str, str]]:
    """``(the run's rule, {symbol: its own rule})`` from ``session``: a rule (``auto``,
    ``bar``, ``date`` or a calendar), ``"RULE,SYMBOL=CALENDAR,..."`` (``--session
    XNYS,VOD=XLON``: VOD's sessions are London's, the others New York's), or a mapping of
    symbols to rules with the run's under ``"*"`` (``auto`` when left out). A symbol's own
    rule is a calendar or ``date`` (a 24-hour market among exchange-listed ones). Every name
    is checked here (a :class:`ConfigError` naming the item)."""
    if isinstance(session, str) and "," not in session and "=" not in session:
        return (session if session in PLAIN else check(session, where)), {}
    if isinstance(session, str):
        items = [part.strip() for part in session.split(",") if part.strip()]
        plain = [part for part in items if "=" not in part]
        if len(plain) > 1:
            raise ConfigError(f"{where}: one rule for the run ({', '.join(plain)} are {len(plain)}); "
                              "the others as SYMBOL=CALENDAR")
        mapping: dict = {"*": plain[0]} if plain else {}
        for part in items:
            if "=" in part:
                symbol, _, rule = (x.strip() for x in part.partition("="))
                if not symbol or not rule:
                    raise ConfigError(f"{where}: {part!r} is not SYMBOL=CALENDAR (VOD=XLON)")
                if symbol in mapping:
                    raise ConfigError(f"{where}: {symbol} is given twice")
                mapping[symbol] = rule
        session = mapping
    if not isinstance(session, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in session.items()):
        raise ConfigError(f"{where}: a rule, 'RULE,SYMBOL=CALENDAR,...' or a mapping of symbols to rules, "
                          f"got {session!r}")
    default, own = parse(session.get("*", "auto"), where)[0], {}
    for symbol, rule in session.items():
        if symbol != "*":
            own[symbol] = "date" if rule == "date" else check(rule, f"{where} {symbol}")
    return default, own
