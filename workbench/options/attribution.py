"""Daily P&L attribution of a run's positions into delta, gamma, theta and vega, and what they
leave unexplained.

For each step of the run's time line (one bar to the next), each position held at the first
time earns ``size x (V1 - V0)``, size = quantity x multiplier, V the mark: a quote's mid for
an option (its intrinsic value at the underlying's price once it reaches its expiry date), a
bar's close for shares. The parts, from the greeks at the first time (European
Black-Scholes-Merton at the implied volatility of the first mark, ``rate``, no dividend:
:func:`workbench.options.implied_volatility`, :func:`workbench.options.price_option`):

========== =================================================================
delta      size x delta x dS (shares: size x dS, and nothing else)
gamma      size x gamma x dS^2 / 2
theta      size x theta x (calendar days between the two times)
vega       size x vega x (iv1 - iv0) x 100 (vega is per volatility point)
residual   the P&L less the four parts: what a second-order expansion misses
           (large moves, vanna and volga, the jump to intrinsic value at expiry)
========== =================================================================

The greeks at a step's start come from the option's implied volatility at its mark; a mark
at or under its lower no-arbitrage bound (deep in the money, quoted at about intrinsic value)
has none, and takes the greeks of a 1 % volatility (``FLOOR_VOL``: delta about 1 a share). A
step whose start has no mark of the option or of its underlying goes wholly to the residual.

The residual is reported, not hidden: it is the honesty check of the expansion. Trades
are not P&L here (the positions are those held over the step), so on a step without fills
``total`` equals the change of the run's equity curve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.engine import marks_at

PARTS = ("delta", "gamma", "theta", "vega", "residual", "total")


FLOOR_VOL = 0.01  # the volatility of a mark at its lower no-arbitrage bound (its greeks: intrinsic value's)


def pnl_attribution(result, *, rate: float = 0.03) -> pd.DataFrame:
    """Per time of ``result`` (a :class:`~workbench.engine.Result` with option positions, or
    any), from the second on: the P&L of the positions held since the previous time, and its
    parts (module docstring). Columns :data:`PARTS`."""
    from workbench.model import OCC_SYMBOL
    from workbench.options.contracts import OptionError, parse_occ
    from workbench.options.pricing import bounds, implied_volatility, price_option

    positions = result.positions
    times = positions.index
    symbols = [str(s) for s in positions.columns]
    underlyings = sorted({parse_occ(s).underlying for s in symbols if OCC_SYMBOL.match(s)})
    marks = marks_at(result.frames, symbols + [u for u in underlyings if u not in symbols], times)
    for u in underlyings:
        if marks[u].isna().all():
            raise OptionError(f"pnl_attribution: the run has no prices of {u}, the underlying of its options "
                              "(give its bars to the run): the greeks need them")
    multipliers = result.broker.multipliers if result.broker is not None else {}
    out = np.zeros((len(times), len(PARTS)))
    out[0] = np.nan
    cache: dict[tuple[str, int], tuple[float, object] | None] = {}  # (symbol, time) -> (iv, greeks)

    def greeks_at(symbol, c, i):
        key = (symbol, i)
        if key not in cache:
            cache[key] = None
            spot, price = marks.at[times[i], c.underlying], marks.at[times[i], symbol]
            days = float((c.expiry - times[i].date()).days)
            if days > 0 and np.isfinite(spot) and np.isfinite(price):
                try:
                    vol = implied_volatility(float(price), float(spot), c.strike, days, rate, 0.0, c.right)
                except OptionError:
                    # a mark at or under the lower no-arbitrage bound (deep in the money, priced
                    # as intrinsic value): no volatility gives it, the least one explains it best
                    low, _ = bounds(float(spot), c.strike, days, rate, 0.0, c.right)
                    if float(price) <= low + 0.01:
                        cache[key] = (FLOOR_VOL, price_option(float(spot), c.strike, days, rate, 0.0, FLOOR_VOL,
                                                              c.right))
                else:
                    cache[key] = (vol, price_option(float(spot), c.strike, days, rate, 0.0, vol, c.right))
        return cache[key]

    held = positions.to_numpy()
    for i in range(1, len(times)):
        row = np.zeros(len(PARTS))
        days = (times[i] - times[i - 1]) / pd.Timedelta(days=1)
        for j in np.flatnonzero(held[i - 1]):
            symbol, q = symbols[j], held[i - 1, j]
            size = q * multipliers.get(symbol, 1.0)
            if OCC_SYMBOL.match(symbol) is None:
                move = marks.at[times[i], symbol] - marks.at[times[i - 1], symbol]
                row[0] += size * move
                row[5] += size * move
                continue
            c = parse_occ(symbol)
            s0, s1 = marks.at[times[i - 1], c.underlying], marks.at[times[i], c.underlying]
            v0 = marks.at[times[i - 1], symbol]
            v1 = c.intrinsic(float(s1)) if times[i].date() >= c.expiry else marks.at[times[i], symbol]
            total = size * (v1 - v0)
            row[5] += total
            g0 = greeks_at(symbol, c, i - 1)
            if g0 is None:  # no greeks to explain it with: all of it is residual
                row[4] += total
                continue
            vol0, g = g0
            ds = s1 - s0
            parts = [size * g.delta * ds, 0.5 * size * g.gamma * ds * ds, size * g.theta * days, 0.0]
            if times[i].date() < c.expiry:
                g1 = greeks_at(symbol, c, i)
                if g1 is not None:
                    parts[3] = size * g.vega * (g1[0] - vol0) * 100
            row[:4] += parts
            row[4] += total - sum(parts)
        out[i] = row
    return pd.DataFrame(out, index=times, columns=list(PARTS))


def option_summary(result) -> dict:
    """A run's option figures as plain data (``--json``; none without options): contracts
    sold and bought, the premium collected (sales less purchases, x the multiplier), how the
    contracts ended, and the sums of the daily P&L attribution
    (:func:`workbench.options.attribution.pnl_attribution`). Computed once a run (a session
    saves it in ``summary.json``, ``--json`` prints it)."""
    cached = getattr(result, "_option_summary", None)
    if cached is not None:
        return cached
    result._option_summary = _option_summary(result)
    return result._option_summary


def _option_summary(result) -> dict:
    stats = result.broker.stats(latency=False) if result.broker is not None else {}
    if "options_expired" not in stats:
        return {}
    from workbench.model import OCC_SYMBOL

    fills = result.fills
    opt = fills[fills["symbol"].astype(str).str.match(OCC_SYMBOL.pattern) & ~fills["order_id"].str.startswith("E")]
    m = result.broker.multipliers
    value = lambda f: float(sum(q * p * m.get(str(x), 1.0) for q, p, x in zip(f["quantity"], f["price"], f["symbol"])))  # noqa: E731
    sold, bought = opt[opt["side"] == "sell"], opt[opt["side"] == "buy"]
    a = pnl_attribution(result).iloc[1:]
    held = result.broker.positions()
    still = sum(abs(p.quantity) for sym, p in held.items() if OCC_SYMBOL.match(sym))
    return {"contracts_sold": float(sold["quantity"].sum()), "sales": len(sold), "contracts_open": float(still),
            "contracts_bought": float(bought["quantity"].sum()), "premium": value(sold) - value(bought),
            **{k: stats[f"options_{k}"] for k in ("assigned", "exercised", "cash_settled", "expired")},
            "pnl_parts": {k: float(a[k].sum()) for k in ("delta", "gamma", "theta", "vega", "residual", "total")},
            "residual_share": float(a["residual"].abs().sum() / a["total"].abs().sum()) if a["total"].abs().sum()
            else None}
