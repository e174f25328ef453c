"""Seeded synthetic multi-asset market: correlated GBM with jumps and volatility regimes.

Model, per step of ``dt`` years of trading time (252 days of 6.5 hours a year):

* log mid price: ``d log S_i = (mu - sigma_i^2 / 2) dt + v(t) sigma_i sqrt(dt) Z_i + J_i``
  with ``Z`` standard normal, equicorrelated across symbols at ``correlation`` (Cholesky);
* ``v(t)`` is a market-wide regime: 1 when calm, ``stress_vol`` when stressed; stress
  starts ``stress_per_year`` times a year on average and lasts ``stress_days`` on average
  (geometric sojourn times, so the regime is a two-state Markov chain);
* ``J_i``: Poisson jumps, ``jumps_per_year`` on average, each normal with ``jump_std``;
* quotes: bid and ask ``spread_bps`` apart around the mid (wider in stress), rounded
  outwards to ``tick_size``; sizes are lots of 100 from a geometric distribution;
* bars: ``ticks_per_bar`` mid prices per bar give open/high/low/close (rounded to the
  tick), volume the sum of the traded lots.

Sessions run 09:30-16:00 America/New_York on business days (no holiday calendar); times
are stored in UTC. A session holds whole steps from the open (1h bars: six a day). Quotes stand at the start of each step; intraday bars are labelled with
the end of their interval, daily bars with the trading date at 00:00 UTC (as the bundled
datasets are). The same parameters and seed give byte-identical frames: every random
stream comes from its own child of ``numpy.random.SeedSequence(seed)`` and is drawn in
fixed-size chunks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from workbench.units import seconds as duration_seconds

SESSION_OPEN = "09:30"
SESSION_SECONDS = 6.5 * 3600
EXCHANGE_TZ = "America/New_York"
TRADING_DAYS = 252
MAX_SYMBOLS = 10_000  # symbols of one market (its correlation matrix is symbols x symbols)
CHUNK_VALUES = 1 << 20  # random values drawn per chunk and stream (fixes the draw order)


@dataclass(frozen=True)
class SyntheticMarket:
    """Parameters of the synthetic market; annual figures are fractions (0.2 = 20 %)."""

    symbols: int | Sequence[str] = 3
    seed: int = 0
    start: str = "2024-01-02"
    start_price: float = 100.0
    drift: float = 0.05
    volatility: float = 0.20
    correlation: float = 0.5
    jumps_per_year: float = 12.0
    jump_std: float = 0.01
    stress_per_year: float = 4.0
    stress_days: float = 5.0
    stress_vol: float = 2.5
    spread_bps: float = 2.0
    tick_size: float = 0.01

    def __post_init__(self) -> None:
        if isinstance(self.symbols, (int, np.integer)) and self.symbols > MAX_SYMBOLS:
            raise ValueError(f"symbols: at most {MAX_SYMBOLS:,}, got {self.symbols:,}")
        names = self.names
        if len(names) == 0:
            raise ValueError("symbols: need at least one symbol")
        if len(set(names)) != len(names):
            raise ValueError(f"symbols: names must be unique, got {names}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in ("start_price", "volatility", "tick_size", "stress_vol", "stress_days"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and > 0, got {value}")
        for name in ("jumps_per_year", "jump_std", "stress_per_year", "spread_bps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {value}")
        if not -1.0 / max(len(names) - 1, 1) < self.correlation < 1.0 and len(names) > 1:
            raise ValueError(
                f"correlation must be in (-1/(n-1), 1) for {len(names)} symbols, "
                f"got {self.correlation}"
            )

    @property
    def names(self) -> list[str]:
        """Symbol names: the given ones, or SYN00, SYN01, ..."""
        if isinstance(self.symbols, (int, np.integer)):
            if self.symbols < 1:
                raise ValueError(f"symbols must be >= 1, got {self.symbols}")
            width = max(2, len(str(int(self.symbols) - 1)))
            return [f"SYN{i:0{width}d}" for i in range(int(self.symbols))]
        return [str(s) for s in self.symbols]

    # --- public ------------------------------------------------------------------------

    def quotes(self, days: int = 1, freq: str = "1s", *, progress: bool = False) -> pd.DataFrame:
        """Canonical quote frame: one quote per symbol every ``freq`` of each session."""
        times, dt = _grid(self.start, days, freq, label="start")
        n, k = len(times), len(self.names)
        streams = self._streams()
        mids, regime = self._mid_paths(streams, n, dt, progress, "quotes")
        half = mids * (self.spread_bps / 2e4) * np.where(regime, 2.0, 1.0)[:, None]
        half *= 1.0 + 0.25 * np.abs(_draw(streams["spread"], (n, k), "standard_normal"))
        tick = self.tick_size
        bid = np.floor((mids - half) / tick) * tick
        ask = np.ceil((mids + half) / tick) * tick
        ask = np.maximum(ask, bid + tick)
        bid = np.maximum(bid, tick)  # a price is > 0, however far the path fell
        ask = np.maximum(ask, bid + tick)
        digits = _decimals(tick)
        sizes = 100.0 * _draw(streams["size"], (n, 2 * k), "geometric", p=0.3)
        return self._frame(
            times,
            {
                "bid": np.round(bid, digits),
                "ask": np.round(ask, digits),
                "bid_size": sizes[:, :k],
                "ask_size": sizes[:, k:],
            },
        )

    def bars(
        self,
        days: int | None = None,
        freq: str = "1D",
        *,
        periods: int | None = None,
        ticks_per_bar: int = 16,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Canonical bar frame: ``days`` sessions of ``freq`` bars, or ``periods`` bars."""
        if ticks_per_bar < 1:
            raise ValueError(f"ticks_per_bar must be >= 1, got {ticks_per_bar}")
        times, dt = _grid(self.start, days, freq, label="end", periods=periods)
        n, k = len(times), len(self.names)
        streams = self._streams()
        mids, _ = self._mid_paths(streams, n * ticks_per_bar, dt / ticks_per_bar, progress, "bars")
        path = mids.reshape(n, ticks_per_bar, k)
        digits = _decimals(self.tick_size)

        def tick_round(a: np.ndarray) -> np.ndarray:
            out = np.round(np.round(a / self.tick_size) * self.tick_size, digits)
            return np.maximum(out, self.tick_size)

        lots = _draw(streams["size"], (n * ticks_per_bar, k), "poisson", lam=3.0)
        volume = 100.0 * lots.reshape(n, ticks_per_bar, k).sum(axis=1)
        return self._frame(
            times,
            {
                "open": tick_round(path[:, 0, :]),
                "high": tick_round(path.max(axis=1)),
                "low": tick_round(path.min(axis=1)),
                "close": tick_round(path[:, -1, :]),
                "volume": volume.astype(np.float64),
            },
        )

    # --- internals ---------------------------------------------------------------------

    def _streams(self) -> dict[str, np.random.Generator]:
        names = ("regime", "normal", "jump_count", "jump_size", "spread", "size", "setup")
        children = np.random.SeedSequence(int(self.seed)).spawn(len(names))
        return {n: np.random.Generator(np.random.PCG64(c)) for n, c in zip(names, children)}

    def _mid_paths(
        self, streams: dict, steps: int, dt: float, progress: bool, what: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """(mid prices, shape (steps, symbols); stress flags, shape (steps,))."""
        k = len(self.names)
        setup = streams["setup"]
        sigma = self.volatility * setup.uniform(0.7, 1.3, k)
        start = self.start_price * np.exp(setup.normal(0.0, 0.25, k))
        corr = np.full((k, k), self.correlation)
        np.fill_diagonal(corr, 1.0)
        chol = np.linalg.cholesky(corr)
        regime = _regime(streams["regime"], steps, dt, self.stress_per_year, self.stress_days)
        vol = np.where(regime, self.stress_vol, 1.0)[:, None] * sigma[None, :]

        log_s = np.empty((steps, k))
        last = np.log(start)
        rows = max(1, CHUNK_VALUES // k)
        chunks = range(0, steps, rows)
        bar = tqdm(chunks, desc=f"synthetic {what}", unit="chunk", disable=not progress)
        for lo in bar:
            hi = min(lo + rows, steps)
            z = streams["normal"].standard_normal((hi - lo, k)) @ chol.T
            jumps = streams["jump_count"].poisson(self.jumps_per_year * dt, (hi - lo, k))
            jump = np.where(
                jumps > 0,
                streams["jump_size"].normal(0.0, self.jump_std, (hi - lo, k)) * np.sqrt(jumps),
                0.0,
            )
            v = vol[lo:hi]
            r = (self.drift - 0.5 * v * v) * dt + v * math.sqrt(dt) * z + jump
            np.cumsum(r, axis=0, out=log_s[lo:hi])
            log_s[lo:hi] += last
            last = log_s[hi - 1].copy()
        return np.exp(log_s), regime

    def _frame(self, times: pd.DatetimeIndex, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        names = self.names
        k = len(names)
        index = pd.DatetimeIndex(np.repeat(times.asi8, k), tz="UTC", name="time").as_unit("ns")
        symbol = pd.Categorical.from_codes(np.tile(np.arange(k, dtype=np.int32), len(times)), names)
        data = {"symbol": symbol}
        data.update({name: np.ascontiguousarray(a).reshape(-1) for name, a in columns.items()})
        return pd.DataFrame(data, index=index)


def synthetic_quotes(
    symbols: int | Sequence[str] = 3,
    *,
    days: int = 1,
    freq: str = "1s",
    seed: int = 0,
    progress: bool = False,
    **params,
) -> pd.DataFrame:
    """Quotes of a :class:`SyntheticMarket` (``params`` are its other fields)."""
    return SyntheticMarket(symbols=symbols, seed=seed, **params).quotes(days, freq, progress=progress)


def synthetic_bars(
    symbols: int | Sequence[str] = 3,
    *,
    days: int | None = None,
    freq: str = "1D",
    periods: int | None = None,
    seed: int = 0,
    ticks_per_bar: int = 16,
    progress: bool = False,
    **params,
) -> pd.DataFrame:
    """Bars of a :class:`SyntheticMarket` (``params`` are its other fields)."""
    market = SyntheticMarket(symbols=symbols, seed=seed, **params)
    return market.bars(days, freq, periods=periods, ticks_per_bar=ticks_per_bar, progress=progress)


# --- helpers -------------------------------------------------------------------------------


def _grid(
    start: str, days: int | None, freq: str, *, label: str, periods: int | None = None
) -> tuple[pd.DatetimeIndex, float]:
    """(UTC times, step length in years of trading time) for business-day sessions."""
    if isinstance(freq, (str, int, float)):  # text reads as every duration in the package does
        step = pd.Timedelta(seconds=duration_seconds(freq, "freq", positive=True))
    else:
        try:
            step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
        except (ValueError, TypeError):
            raise ValueError(f"freq: not a fixed frequency like '1s', '5m', '1D': {freq!r}") from None
    if step <= pd.Timedelta(0):
        raise ValueError(f"freq must be positive, got {freq!r}")
    seconds = step.total_seconds()
    if (days is None) == (periods is None):
        raise ValueError("give exactly one of days and periods")
    count = days if days is not None else periods
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"{'days' if days is not None else 'periods'} must be an integer >= 1")
    if seconds >= 86400:
        if seconds % 86400:
            raise ValueError(f"freq of a day or more must be whole days, got {freq!r}")
        every = int(seconds // 86400)
        try:
            dates = pd.bdate_range(start, periods=int(count) * every, tz="UTC")[::every]
            dates = dates.as_unit("ns")
        except (pd.errors.OutOfBoundsDatetime, OverflowError):
            raise ValueError(f"{count} bars of {freq} run past the year 2262") from None
        return dates, every / TRADING_DAYS
    # Whole steps from the open; a remainder shorter than a step before the close is
    # not covered (1h bars: 09:30 .. 15:30, six a day).
    per_day = int(SESSION_SECONDS // seconds)
    n_days = int(count) if days is not None else -(-int(count) // per_day)
    dates = pd.bdate_range(start, periods=n_days)
    opens = pd.DatetimeIndex(
        [pd.Timestamp(f"{d.date()} {SESSION_OPEN}", tz=EXCHANGE_TZ) for d in dates]
    ).tz_convert("UTC").as_unit("ns")
    offsets = (np.arange(per_day) + (1 if label == "end" else 0)) * int(seconds * 1e9)
    stamps = (opens.asi8[:, None] + offsets[None, :]).reshape(-1)
    if periods is not None:
        stamps = stamps[: int(periods)]
    dt = seconds / (TRADING_DAYS * SESSION_SECONDS)
    return pd.DatetimeIndex(stamps, tz="UTC").as_unit("ns"), dt


def _regime(rng: np.random.Generator, steps: int, dt: float, per_year: float, days: float) -> np.ndarray:
    """Stress flags of a two-state Markov chain, built from geometric sojourn times."""
    out = np.zeros(steps, dtype=bool)
    if per_year == 0:
        return out
    p_enter = min(1.0, per_year * dt)
    p_exit = min(1.0, dt * TRADING_DAYS / days)
    pos, stressed = 0, False
    # One sojourn per iteration: a few per simulated year, so the loop is short.
    while pos < steps:
        length = int(rng.geometric(p_exit if stressed else p_enter))
        if stressed:
            out[pos : pos + length] = True
        pos += length
        stressed = not stressed
    return out


def _draw(rng: np.random.Generator, shape: tuple[int, int], method: str, **kw) -> np.ndarray:
    """Draw ``shape`` values chunk by chunk (fixed chunks keep the stream reproducible)."""
    rows = max(1, CHUNK_VALUES // shape[1])
    parts = [
        getattr(rng, method)(size=(min(rows, shape[0] - lo), shape[1]), **kw)
        for lo in range(0, shape[0], rows)
    ]
    return np.concatenate(parts).astype(np.float64, copy=False)


def _decimals(tick: float) -> int:
    return max(0, -int(math.floor(math.log10(tick)))) + 2
