"""Option chains: a frame of quotes, loaded from a file with the feed's rules or generated
from any underlying's bars.

A chain has one row per quote: ``time`` (UTC), ``underlying``, ``expiry`` (a date, as a
midnight timestamp without zone), ``strike``, ``right`` (``call``/``put``), ``bid``, ``ask``,
``bid_size``, ``ask_size`` (contracts), and optionally ``iv`` and greeks.

:func:`synthetic_chains` quotes, at each bar's close, weekly and monthly expiries on a strike
grid around the close, priced by Black-Scholes-Merton (European, ``pricing.price_chain``'s
closed form) on a volatility surface (:class:`VolSurface`: the underlying's realized
volatility, a term structure toward a long-run level, skew and smile in standardized
moneyness, a seeded jitter), with spreads that widen away from the money and seeded sizes.
Quoted mids are the model prices made monotone in strike (a call never dearer than a
lower strike's, a put never dearer than a higher strike's: the jitter cannot break that).
The same bars, parameters and seed give byte-identical chains, and a day's chain does not
depend on the range it is generated in (each quote date draws from the seed and the date).

:func:`load_chain` reads CSV or Parquet and refuses a file that breaks a rule, naming the
file, line (CSV) or row (Parquet), column and rule; nothing is loaded then.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.errors import DataError
from workbench.options.pricing import _closed_form

CHAIN_COLUMNS = ("time", "underlying", "expiry", "strike", "right", "bid", "ask", "bid_size", "ask_size")
TICK = 0.01
MONEYNESS = 3.0  # standardized moneyness is clipped to +-3 for the smile, the spreads and the sizes
CHAIN_RULES = {
    "columns": "the columns a chain needs",
    "time_parse": "time is a date and time",
    "expiry_parse": "expiry is a date",
    "expiry_before_time": "expiry is on or after the quote's date",
    "strike_positive": "strike is a positive number",
    "right": "right is call or put (C or P)",
    "price_nonneg": "bid and ask are numbers >= 0",
    "size_nonneg": "sizes are numbers >= 0",
    "crossed_quote": "bid <= ask",
    "call_monotonic": "a call's bid is at most the ask of every call of a lower strike (same time and expiry)",
    "put_monotonic": "a put's bid is at most the ask of every put of a higher strike (same time and expiry)",
}


@dataclass(frozen=True)
class VolSurface:
    """Implied volatility of strike K and time T (years) at one quote time, in four steps:

    1. ``base``: ``atm`` if set, else the underlying's realized volatility over the last
       ``lookback`` bars (log returns, annualized with ``bars_a_year``), at least ``floor``;
    2. term structure: ``atm(T) = long_run + (base - long_run) * exp(-T / decay)`` (years);
    3. skew and smile in standardized moneyness ``x = ln(K / F) / (atm(T) * sqrt(T))``,
       clipped to +-3: ``iv = atm(T) * (1 + skew * x + smile * x**2)``, at least ``floor``;
    4. a seeded jitter: ``iv *= exp(jitter * N(0, 1))``.
    """

    atm: float | None = None
    lookback: int = 20
    bars_a_year: float = 252.0
    long_run: float = 0.20
    decay: float = 0.5
    skew: float = -0.10
    smile: float = 0.03
    jitter: float = 0.01
    floor: float = 0.05

    def __post_init__(self) -> None:
        for name in ("long_run", "decay", "bars_a_year", "floor"):
            if not getattr(self, name) > 0:
                raise ValueError(f"VolSurface.{name} must be > 0, got {getattr(self, name)!r}")
        if self.atm is not None and not self.atm > 0:
            raise ValueError(f"VolSurface.atm must be > 0 or None, got {self.atm!r}")
        if not (isinstance(self.lookback, int) and self.lookback >= 2):
            raise ValueError(f"VolSurface.lookback must be an integer >= 2, got {self.lookback!r}")
        if self.jitter < 0:
            raise ValueError(f"VolSurface.jitter must be >= 0, got {self.jitter!r}")


def strike_step(spot: float) -> float:
    """The grid's step near ``spot``: about 1 % of it, rounded to 1, 2.5 or 5 times a power of 10."""
    raw = spot * 0.01
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.5, 5.0, 10.0):
        if raw <= m * power * 1.5:
            return m * power
    return 10.0 * power


def expiries_after(day: pd.Timestamp, weeklies: int, monthlies: int) -> list[pd.Timestamp]:
    """The next ``weeklies`` Fridays and the third Fridays of the next ``monthlies`` months,
    strictly after ``day`` (a date), sorted, without repeats."""
    out = set()
    friday = day + pd.Timedelta(days=(4 - day.weekday()) % 7 or 7)
    for k in range(weeklies):
        out.add(friday + pd.Timedelta(weeks=k))
    month = day.replace(day=1)
    found = 0
    while found < monthlies:
        first = month
        third = first + pd.Timedelta(days=(4 - first.weekday()) % 7 + 14)
        if third > day:
            out.add(third)
            found += 1
        month = (month + pd.offsets.MonthBegin(1)).normalize()
    return sorted(out)


def synthetic_chains(bars: pd.DataFrame, *, underlying: str | None = None, seed: int = 0, weeklies: int = 4,
                     monthlies: int = 3, width: float = 0.2, rate: float = 0.03, dividend: float = 0.0,
                     surface: VolSurface | None = None, spread: float = 0.02, min_spread: float = 0.05,
                     widen: float = 0.5, start=None, end=None) -> pd.DataFrame:
    """Chains quoted at each bar's close of one underlying (module docstring).

    ``bars``: a bar frame with a ``close`` column (one symbol: ``symbol`` column or not) on a
    time index. ``width``: strikes from (1 - width) to (1 + width) times the close.
    ``spread``: the quoted spread as a share of the model price, at least ``min_spread``,
    widened by ``1 + widen * |x|`` (standardized moneyness, :class:`VolSurface`). ``start`` and
    ``end`` limit the quote dates (the volatility still uses the bars before ``start``)."""
    surface = surface or VolSurface()
    if "close" not in bars.columns:
        raise DataError("bars need a 'close' column", column="close", rule="columns")
    if "symbol" in bars.columns:
        symbols = pd.unique(bars["symbol"].astype(str))
        if len(symbols) != 1:
            raise DataError(f"bars of one underlying are needed, got {len(symbols)} symbols", column="symbol",
                            rule="columns")
        underlying = underlying or str(symbols[0])
    underlying = underlying or "UNDERLYING"
    for name, value, low in (("width", width, 0.0), ("spread", spread, 0.0), ("min_spread", min_spread, 0.0)):
        if not value > low:
            raise ValueError(f"{name} must be > {low}, got {value!r}")
    close = bars["close"].to_numpy(dtype=float)
    times = pd.DatetimeIndex(bars.index)
    times = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
    logret = np.diff(np.log(close), prepend=np.nan)
    realized = pd.Series(logret).rolling(surface.lookback).std().to_numpy() * math.sqrt(surface.bars_a_year)
    keep = np.ones(len(close), dtype=bool)
    if start is not None:
        keep &= times >= _utc_day(start)
    if end is not None:
        keep &= times <= _utc_day(end) + pd.Timedelta(days=1) - pd.Timedelta(1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    parts: dict[str, list] = {}
    # A strike once listed for an expiry stays listed until it expires, as on an exchange: a
    # contract held does not drop out of the chain when the grid around a moved spot changes
    # step. The listings are followed from the first bar, so a day's chain is the same
    # whatever range it is generated in.
    listed: dict[pd.Timestamp, set[float]] = {}
    last = int(np.flatnonzero(keep)[-1]) if keep.any() else -1
    for i in range(last + 1):
        s, t = float(close[i]), times[i]
        day = t.tz_localize(None).normalize()
        step = strike_step(s)
        grid = np.arange(math.floor(s * (1 - width) / step), math.ceil(s * (1 + width) / step) + 1) * step
        grid = [round(float(k), 6) for k in grid if k > 0]
        expiries = expiries_after(day, weeklies, monthlies)
        for gone in [e for e in listed if e <= day]:
            del listed[gone]
        for expiry in expiries:
            listed.setdefault(expiry, set()).update(grid)
        if not keep[i]:
            continue
        base = surface.atm if surface.atm is not None else realized[i]
        if not np.isfinite(base):  # too few bars yet for the realized volatility
            base = surface.long_run
        base = max(float(base), surface.floor)
        # each quote date draws from its own stream (the seed and the date): a day's chain is
        # the same whatever range it is generated in (start/end, a page showing one day)
        rng = np.random.default_rng([int(seed), int(day.value // 86_400_000_000_000) + 719_163])
        for expiry in expiries:
            strikes = np.array(sorted(listed[expiry]))
            days = float((expiry - day).days)
            tau = days / 365.0
            atm = surface.long_run + (base - surface.long_run) * math.exp(-tau / surface.decay)
            k = np.concatenate([strikes, strikes])
            call = np.repeat([True, False], len(strikes))
            forward = s * math.exp((rate - dividend) * tau)
            x = np.clip(np.log(k / forward) / (atm * math.sqrt(tau)), -MONEYNESS, MONEYNESS)
            iv = np.maximum(atm * (1 + surface.skew * x + surface.smile * x * x), surface.floor)
            iv = iv * np.exp(surface.jitter * rng.standard_normal(len(k)))
            n = len(k)
            g = _closed_form(np.full(n, s), k, np.full(n, days), np.full(n, rate), np.full(n, dividend), iv, call)
            mid = g[:, 0].copy()
            # the jitter must not make a higher strike's call (a lower strike's put) dearer
            half = len(strikes)
            mid[:half] = np.minimum.accumulate(mid[:half])
            mid[half:] = np.maximum.accumulate(mid[half:])
            width_ = np.maximum(spread * mid, min_spread) * (1 + widen * np.abs(x))
            bid = np.maximum(np.floor((mid - width_ / 2) / TICK) * TICK, 0.0)
            ask = np.maximum(np.ceil((mid + width_ / 2) / TICK) * TICK, TICK)
            sizes = rng.integers(1, 500, size=(2, n))
            fade = np.exp(-np.abs(x))
            for name, value in (("time", np.full(n, t.value)), ("expiry", np.full(n, expiry.value)), ("strike", k),
                                ("call", call), ("bid", np.round(bid, 2)), ("ask", np.round(ask, 2)),
                                ("bid_size", np.maximum(1, np.floor(sizes[0] * fade))),
                                ("ask_size", np.maximum(1, np.floor(sizes[1] * fade))), ("spot", np.full(n, s)),
                                ("days", np.full(n, days)), ("iv", iv), ("delta", g[:, 1]), ("gamma", g[:, 2]),
                                ("vega", g[:, 3]), ("theta", g[:, 4])):
                parts.setdefault(name, []).append(value)
    if not parts:
        raise DataError("no bars between start and end: no chain to quote", rule="empty")
    cols = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    call = cols.pop("call")
    chain = pd.DataFrame({
        "time": pd.DatetimeIndex(cols.pop("time"), tz="UTC"), "underlying": underlying,
        "expiry": pd.DatetimeIndex(cols.pop("expiry")), "strike": cols.pop("strike"),
        "right": np.where(call, "call", "put"), **cols})
    chain["underlying"] = chain["underlying"].astype("category")
    chain["right"] = chain["right"].astype("category")
    return chain


def _utc_day(value) -> pd.Timestamp:
    """``value`` (a date, its text, or a timestamp with or without a zone) as a UTC timestamp."""
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")


# --- loading ------------------------------------------------------------------------------------


def load_chain(path: str | os.PathLike) -> pd.DataFrame:
    """A chain from CSV or Parquet, validated (module docstring); :class:`DataError` names the
    file, line or row, column and rule of the first problem, and the count of others."""
    p = Path(path)
    source = str(path)
    if not p.is_file():
        raise DataError("no such file", file=source, rule="format")
    csv = p.suffix.lower() in (".csv", ".gz") or p.name.lower().endswith(".csv.gz")
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False) if csv else pd.read_parquet(p)
    except Exception as exc:  # pandas and pyarrow raise several unrelated types for a bad file
        raise DataError(f"cannot read: {exc}", file=source, rule="format") from None
    raw = raw.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in CHAIN_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}; a chain needs {', '.join(CHAIN_COLUMNS)}",
                        file=source, rule="columns")
    n = len(raw)
    if n == 0:
        raise DataError("no data rows", file=source, rule="empty")
    where = "line" if csv else "row"
    offset = 2 if csv else 1
    problems: list[tuple[int, str, str, int]] = []  # (first position, column, rule, count)

    def flag(mask: np.ndarray, column: str, rule: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            problems.append((int(np.argmax(mask)), column, rule, int(mask.sum())))

    time = pd.to_datetime(raw["time"], errors="coerce", utc=True, format="ISO8601") if csv \
        else _utc(raw["time"])
    flag(time.isna().to_numpy(), "time", "time_parse")
    expiry = pd.to_datetime(raw["expiry"], errors="coerce", format="ISO8601") if csv else pd.to_datetime(
        raw["expiry"], errors="coerce")
    if getattr(expiry.dt, "tz", None) is not None:
        expiry = expiry.dt.tz_localize(None)
    bad_expiry = expiry.isna().to_numpy() | (expiry.dt.normalize() != expiry).fillna(False).to_numpy()
    flag(bad_expiry, "expiry", "expiry_parse")
    quote_day = time.dt.tz_localize(None).dt.normalize()
    flag(((expiry < quote_day) & ~bad_expiry).fillna(False).to_numpy(), "expiry", "expiry_before_time")
    strike = pd.to_numeric(raw["strike"], errors="coerce").to_numpy(dtype=float)
    flag(~(strike > 0) | ~np.isfinite(strike), "strike", "strike_positive")
    right = raw["right"].astype(str).str.strip().str.lower().map({"call": "call", "c": "call", "put": "put",
                                                                  "p": "put"})
    flag(right.isna().to_numpy(), "right", "right")
    values = {}
    for col, rule in (("bid", "price_nonneg"), ("ask", "price_nonneg"), ("bid_size", "size_nonneg"),
                      ("ask_size", "size_nonneg")):
        v = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype=float)
        flag(~(v >= 0) | ~np.isfinite(v), col, rule)
        values[col] = v
    flag(values["bid"] > values["ask"], "bid", "crossed_quote")
    frame = pd.DataFrame({"time": time, "underlying": raw["underlying"].astype(str).str.strip(), "expiry": expiry,
                          "strike": strike, "right": right, **values})
    for extra in ("iv", "delta", "gamma", "vega", "theta", "rho", "spot", "days"):
        if extra in raw.columns:
            frame[extra] = pd.to_numeric(raw[extra], errors="coerce")
    if not problems:
        for which, rule in (("call", "call_monotonic"), ("put", "put_monotonic")):
            flag(_monotonic_breaks(frame, which), "bid", rule)
    if problems:
        pos, column, rule, count = min(problems)
        others = sum(c for *_, c in problems) - 1
        raise DataError(f"{CHAIN_RULES[rule]} ({column} {raw[column].iloc[pos]!r})"
                        + (f"; {others:,} more problem(s)" if others else ""), file=source,
                        **{where: pos + offset}, column=column, rule=rule)
    frame["underlying"] = frame["underlying"].astype("category")
    frame["right"] = frame["right"].astype("category")
    return frame


def _utc(col: pd.Series) -> pd.Series:
    times = pd.to_datetime(col, errors="coerce")
    return times.dt.tz_localize("UTC") if times.dt.tz is None else times.dt.tz_convert("UTC")


def _monotonic_breaks(frame: pd.DataFrame, right: str) -> np.ndarray:
    """Rows whose bid exceeds the best (lowest) ask on the wrong side of the strike ladder:
    for calls any lower strike, for puts any higher one (same time, underlying and expiry)."""
    out = np.zeros(len(frame), dtype=bool)
    rows = frame.index[frame["right"] == right]
    if len(rows) == 0:
        return out
    sub = frame.loc[rows, ["time", "underlying", "expiry", "strike", "bid", "ask"]]
    ascending = right == "call"  # calls: walk up the strikes, the cheapest ask seen so far below
    sub = sub.sort_values(["time", "underlying", "expiry", "strike"], ascending=[True, True, True, ascending],
                          kind="stable")
    keys = sub[["time", "underlying", "expiry"]]
    group = (keys != keys.shift()).any(axis=1).cumsum().to_numpy()
    best_ask = pd.Series(sub["ask"].to_numpy()).groupby(group).cummin().shift()  # before this row
    same_group = np.concatenate([[False], group[1:] == group[:-1]])
    breaks = same_group & (sub["bid"].to_numpy() > best_ask.to_numpy() + 1e-12)
    out[frame.index.get_indexer(sub.index[breaks])] = True
    return out


# --- to the broker ------------------------------------------------------------------------------


def contract_symbols(chain: pd.DataFrame, multiplier: float = 100.0) -> pd.Series:
    """The OCC symbol of each row of ``chain`` (its index), each distinct contract built once
    as an :class:`~workbench.options.contracts.OptionContract` (whose rules it must pass)."""
    from workbench.options.contracts import OptionContract

    keys = pd.DataFrame({"u": chain["underlying"].astype(str).to_numpy(),
                         "e": pd.DatetimeIndex(chain["expiry"]).normalize(),
                         "k": chain["strike"].to_numpy(dtype=float), "r": chain["right"].astype(str).to_numpy()})
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys))
    symbols = np.array([OptionContract(u, e.date(), k, r, multiplier=multiplier).symbol for u, e, k, r in uniques],
                       dtype=object)
    return pd.Series(symbols[codes], index=chain.index, name="symbol")


def chain_quotes(chain: pd.DataFrame, multiplier: float = 100.0) -> pd.DataFrame:
    """The chain as the feed's quote frame, for the engine and the broker: a UTC ``time``
    index and ``symbol`` (the contract's OCC symbol), ``bid``, ``ask``, ``bid_size``,
    ``ask_size`` (contracts). A row with no bid (0: a contract nobody buys) is left out, as
    is one with no ask: a quote needs both sides. Sorted by time, stable. The engine checks
    the rest as it checks any quotes (crossed, negative, non-finite: the feed's rules)."""
    missing = [c for c in ("time", "underlying", "expiry", "strike", "right", "bid", "ask", "bid_size", "ask_size")
               if c not in chain.columns]
    if missing:
        raise DataError(f"a chain needs the column(s) {', '.join(missing)}", column=missing[0], rule="columns")
    if not isinstance(chain["time"].dtype, pd.DatetimeTZDtype):
        raise DataError(f"chain times must be UTC timestamps (tz-aware), got dtype {chain['time'].dtype}; "
                        "load_chain and synthetic_chains give them", column="time", rule="time_parse")
    keep = (chain["bid"].to_numpy(dtype=float) > 0) & (chain["ask"].to_numpy(dtype=float) > 0)
    rows = chain[keep]
    out = pd.DataFrame({"symbol": contract_symbols(rows, multiplier).to_numpy(),
                        **{c: rows[c].to_numpy(dtype=float) for c in ("bid", "ask", "bid_size", "ask_size")}},
                       index=pd.DatetimeIndex(rows["time"], name="time").tz_convert("UTC"))
    return out.sort_index(kind="stable")


def option_instruments(symbols, multiplier: float = 100.0, tick_size: float = 0.01) -> list:
    """Broker instruments (``AssetClass.OPTION``, ``multiplier`` units a contract) for OCC
    ``symbols`` (any iterable, e.g. a :func:`chain_quotes` frame's ``symbol`` column), each
    checked by :func:`~workbench.options.contracts.parse_occ`."""
    from workbench.model import AssetClass, Instrument
    from workbench.options.contracts import parse_occ

    out = []
    for s in pd.unique(pd.Series(list(symbols), dtype=object)):
        parse_occ(str(s))
        out.append(Instrument(str(s), AssetClass.OPTION, tick_size=tick_size, multiplier=multiplier))
    return out
