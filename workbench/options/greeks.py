"""Position greeks: what an account's options and shares are exposed to, per position and in
all.

For each option held, the implied volatility of its last price (the broker's mark: a quote's
mid) and the greeks at that volatility (European Black-Scholes-Merton at ``rate`` and
``dividend``, :func:`workbench.options.implied_volatility` and
:func:`workbench.options.price_option`, QuantLib), times the position (contracts x
multiplier). A share position has a delta of its quantity and no other greek.

========== ======================================================================== ==========
column     what                                                                     unit
========== ======================================================================== ==========
delta      shares-equivalent: position x multiplier x the option's delta            shares
delta_usd  delta x the underlying's price                                            currency
gamma      the change of ``delta`` for 1 of the underlying                           shares
vega       the change of value for 1 volatility point (0.01)                         currency
theta      the change of value in one calendar day                                   currency
========== ======================================================================== ==========

An option without a price, or whose price no volatility gives (outside the no-arbitrage
bounds), or whose underlying has no price, gets NaN greeks and a ``note`` saying why.
"""

from __future__ import annotations

import math

import pandas as pd

COLUMNS = ["symbol", "underlying", "quantity", "price", "underlying_price", "days", "iv", "delta", "delta_usd",
           "gamma", "vega", "theta", "note"]


def position_greeks(broker, *, rate: float = 0.03, dividend: float = 0.0) -> pd.DataFrame:
    """One row per position of ``broker`` (a :class:`~workbench.broker.SimulatedBroker`) at its
    market time, and a last row ``account`` with the sums of the greeks (module docstring)."""
    from workbench.model import OCC_SYMBOL
    from workbench.options.contracts import OptionError, parse_occ
    from workbench.options.pricing import implied_volatility, price_option

    now = broker.time
    if now is None:
        raise ValueError("the broker has seen no market data: no time to price at")
    rows = []
    for symbol, pos in broker.positions().items():
        if OCC_SYMBOL.match(symbol) is None:
            price = pos.last_price
            rows.append({"symbol": symbol, "underlying": symbol, "quantity": pos.quantity, "price": price,
                         "underlying_price": price, "days": math.nan, "iv": math.nan, "delta": pos.quantity,
                         "delta_usd": math.nan if price is None else pos.quantity * price, "gamma": 0.0,
                         "vega": 0.0, "theta": 0.0, "note": ""})
            continue
        c = parse_occ(symbol, multiplier=pos.multiplier)
        spot, price = broker.last_price(c.underlying), pos.last_price
        days = float((c.expiry - now.date()).days)
        row = {"symbol": symbol, "underlying": c.underlying, "quantity": pos.quantity, "price": price,
               "underlying_price": spot, "days": days, "iv": math.nan, "delta": math.nan, "delta_usd": math.nan,
               "gamma": math.nan, "vega": math.nan, "theta": math.nan, "note": ""}
        if spot is None or price is None:
            row["note"] = "no price of the " + ("underlying" if spot is None else "option")
        elif days <= 0:
            row["note"] = "at or past its expiry"
        else:
            try:
                vol = implied_volatility(price, spot, c.strike, days, rate, dividend, c.right)
            except OptionError as exc:
                row["note"] = f"no implied volatility: {exc}"
            else:
                g = price_option(spot, c.strike, days, rate, dividend, vol, c.right)
                size = pos.quantity * c.multiplier
                row.update(iv=vol, delta=size * g.delta, delta_usd=size * g.delta * spot, gamma=size * g.gamma,
                           vega=size * g.vega, theta=size * g.theta)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # no position: sums of nothing are 0; positions none of which could be priced: NaN
    total = {c: frame[c].sum(min_count=0 if frame.empty else 1) for c in ("delta", "delta_usd", "gamma", "vega",
                                                                         "theta")}
    frame.loc[len(frame)] = {"symbol": "account", "underlying": "", "quantity": math.nan, "price": math.nan,
                             "underlying_price": math.nan, "days": math.nan, "iv": math.nan, **total,
                             "note": "sums of the rows above (NaN rows left out)"}
    return frame
