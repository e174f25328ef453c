"""Round-trip trades from fills: flat -> position -> flat, per symbol."""

from __future__ import annotations

import math

import pandas as pd

COLUMNS = [
    "symbol", "direction", "entry_time", "exit_time", "quantity", "entry_price",
    "exit_price", "pnl", "commission", "return",
]


def round_trips(fills: pd.DataFrame, multipliers: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per closed round trip: from the fill that opens a position out of flat to
    the fill that brings it back to flat (a fill that crosses zero closes one trip and
    opens the next with the rest; a rest below 1e-12 units is float residue and opens
    none).

    ``fills`` needs columns ``time, symbol, side ('buy'/'sell'), quantity, price`` and
    optionally ``commission``. ``quantity`` is the largest absolute position of the trip;
    prices are quantity-weighted averages of the opening and closing fills; ``pnl`` is
    the price P&L less the trip's commissions (currency); ``return`` is ``pnl`` over the
    entry value. Open positions at the end are not trips and are left out. ``multipliers``:
    contract sizes by symbol where not 1 (P&L is in currency: price change x quantity x size).
    """
    multipliers = multipliers or {}
    rows = []
    state: dict[str, list] = {}  # symbol -> the open trip (fields below), one list: read and written on each fill
    n = len(fills)
    # the columns as lists (a row's times are taken by position at the end: iterating a
    # time column builds a Timestamp per row, which cost more than the rest of this loop)
    fees = [c or 0.0 for c in fills["commission"].tolist()] if "commission" in fills.columns else [0.0] * n
    columns = zip(range(n), fills["symbol"].tolist(), fills["side"].tolist(), fills["quantity"].tolist(),
                  fills["price"].tolist(), fees)
    for row, symbol, side, quantity, price, fee in columns:
        if not math.isfinite(quantity):
            raise ValueError(f"round_trips: fill {row} ({symbol} {side}) has quantity {quantity!r}")
        signed = quantity if side == "buy" else -quantity
        while signed:
            trip = state.get(symbol)
            if trip is None:
                if abs(signed) < 1e-12:  # what a closing fill leaves of float residue is no new trip
                    break
                # position, largest position, opened (units, value), closed (units, value), commission,
                # the opening fill's row, direction
                trip = state[symbol] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, row, "long" if signed > 0 else "short"]
            pos = trip[0]
            if pos == 0 or (pos > 0) == (signed > 0):  # opening or adding
                step = signed
                trip[2] += abs(step)
                trip[3] += abs(step) * price
            else:  # closing, at most down to flat
                step = -pos if abs(signed) > abs(pos) else signed
                trip[4] += abs(step)
                trip[5] += abs(step) * price
            trip[6] += fee * abs(step) / quantity
            position = trip[0] = pos + step
            trip[1] = max(trip[1], abs(position))
            signed -= step
            if abs(position) < 1e-12:
                _, largest, open_qty, open_value, close_qty, close_value, commission, entry_row, direction = trip
                entry = open_value / open_qty
                exit_ = close_value / close_qty
                sign = 1.0 if direction == "long" else -1.0
                gross = sign * (close_value - close_qty * entry)
                m = multipliers.get(symbol, 1.0)
                if m != 1.0:
                    gross *= m
                pnl = gross - commission
                rows.append((symbol, direction, entry_row, row, largest, entry, exit_, pnl, commission,
                             pnl / (open_value * m)))
                del state[symbol]
    out = pd.DataFrame(rows, columns=COLUMNS)
    if len(out):
        time = fills["time"].reset_index(drop=True)
        for column in ("entry_time", "exit_time"):
            picked = time.iloc[out[column].to_numpy()].reset_index(drop=True)
            # times given as objects (Timestamps in an object column) are inferred, as a
            # frame built from the rows would
            out[column] = pd.Series(picked.tolist()) if picked.dtype == object else picked
    return out


def trade_stats(trips: pd.DataFrame) -> dict[str, float]:
    """Statistics of round trips: count, win rate, average win and loss (currency), profit
    factor (gross wins over gross losses), expectancy (mean P&L per trip) and the average
    holding time in days. NaN where undefined (no trips, no losses)."""
    n = len(trips)
    if n == 0:
        nan = float("nan")
        return {"trades": 0, "win_rate": nan, "avg_win": nan, "avg_loss": nan, "profit_factor": nan,
                "expectancy": nan, "avg_holding_days": nan}
    pnl = trips["pnl"].astype(float)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    held = pd.to_datetime(trips["exit_time"], utc=True) - pd.to_datetime(trips["entry_time"], utc=True)
    return {
        "trades": int(n),
        "win_rate": float((pnl > 0).mean()),
        "avg_win": float(wins.mean()) if len(wins) else float("nan"),
        "avg_loss": float(losses.mean()) if len(losses) else float("nan"),
        "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else float("nan"),
        "expectancy": float(pnl.mean()),
        "avg_holding_days": float(held.dt.total_seconds().mean() / 86400),
    }
