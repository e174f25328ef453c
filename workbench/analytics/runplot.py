"""See a run: price (candles from bars, the mid from quotes) with buy and sell markers at
their fill prices, the position, equity and drawdown, on one linked time axis.

``run_figure(result)`` builds the Bokeh layout (:meth:`workbench.engine.Result.plot` shows
it in a notebook); ``save_run_plot(result, "run.html" | "run.png")`` writes it: HTML with
BokehJS embedded (opens offline), PNG drawn with matplotlib (no browser needed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ConfigError

SUFFIXES = (".html", ".png")
MAX_CANDLES = 5_000  # more bars are drawn as a close line (candles thinner than a pixel say nothing)


def check_plot_path(path: str | os.PathLike, flag: str = "--plot") -> Path:
    """``path`` if it names an ``.html`` or ``.png`` file; a :class:`ConfigError` otherwise."""
    out = Path(path)
    if out.suffix.lower() not in SUFFIXES:
        raise ConfigError(f"{flag} {out}: the file must end in .html or .png")
    return out


def _naive(index) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(index)
    return index.tz_convert(None) if index.tz is not None else index


def price_frame(result, symbol: str) -> pd.DataFrame:
    """The prices of ``symbol`` the run saw: ``open, high, low, close`` from bars, or a
    ``close`` column of quote mids; indexed by naive UTC time."""
    for frame in getattr(result, "frames", ()):
        if "symbol" not in frame.columns:
            continue
        rows = frame[frame["symbol"].astype(str) == symbol]
        if rows.empty:
            continue
        if {"open", "high", "low", "close"} <= set(rows.columns):
            out = rows[["open", "high", "low", "close"]].astype(float)
        else:
            out = pd.DataFrame({"close": (rows["bid"].astype(float) + rows["ask"].astype(float)) / 2})
        out.index = _naive(rows.index)
        return out
    raise ConfigError(f"no price data of {symbol!r} in this result (symbols: {', '.join(result.symbols)})")


def _symbol(result, symbol: str | None) -> str:
    if symbol is None:
        return result.symbols[0]
    if symbol not in result.symbols:
        raise ConfigError(f"symbol {symbol!r} is not in this run (symbols: {', '.join(result.symbols)})")
    return symbol


def panels(result, symbol: str | None = None) -> dict[str, Any]:
    """What the plot shows, as plain frames (also what the tests check): ``prices``,
    ``buys``/``sells`` (time, price, quantity), ``position``, ``equity``, ``drawdown``."""
    symbol = _symbol(result, symbol)
    fills = result.fills[result.fills["symbol"].astype(str) == symbol]
    marks = pd.DataFrame({"time": _naive(fills["time"]), "price": fills["price"].astype(float).to_numpy(),
                          "quantity": fills["quantity"].astype(float).to_numpy(), "side": fills["side"].to_numpy()})
    equity = result.equity.astype(float)
    equity.index = _naive(equity.index)
    position = result.positions[symbol].astype(float) if symbol in result.positions else equity * 0.0
    position.index = _naive(position.index)
    prices = price_frame(result, symbol)
    if len(equity):  # the run's own span (a run given --start/--end saw less than its frames)
        prices = prices[(prices.index >= equity.index[0]) & (prices.index <= equity.index[-1])]
    return {"symbol": symbol, "prices": prices,
            "buys": marks[marks["side"] == "buy"].reset_index(drop=True),
            "sells": marks[marks["side"] == "sell"].reset_index(drop=True),
            "position": position, "equity": equity, "drawdown": equity / equity.cummax() - 1.0}


def run_figure(result, symbol: str | None = None, width: int = 1000):
    """The Bokeh layout: four panels sharing the time axis."""
    from bokeh.layouts import column
    from bokeh.models import HoverTool
    from bokeh.plotting import figure

    p = panels(result, symbol)
    prices = p["prices"]
    top = figure(x_axis_type="datetime", height=320, width=width, tools="pan,xwheel_zoom,box_zoom,reset,save",
                 title=f"{result.strategy} {result.params} on {p['symbol']}")
    if "open" in prices and len(prices) <= MAX_CANDLES:
        gaps = np.diff(prices.index.asi8) / 1e6
        width_ms = float(np.median(gaps)) * 0.7 if len(gaps) else 1.0
        up, down = prices[prices["close"] >= prices["open"]], prices[prices["close"] < prices["open"]]
        top.segment(prices.index, prices["high"], prices.index, prices["low"], color="#666")
        top.vbar(up.index, width_ms, up["open"], up["close"], fill_color="#2ca02c", line_color="#2ca02c")
        top.vbar(down.index, width_ms, down["open"], down["close"], fill_color="#d62728", line_color="#d62728")
    else:
        top.line(prices.index, prices["close"], color="#444")
    columns = lambda frame: {k: frame[k].to_numpy() for k in ("time", "price", "quantity")}  # noqa: E731
    buys = top.scatter("time", "price", source=columns(p["buys"]), marker="triangle", size=10, color="#1f77b4",
                       legend_label="buy")
    sells = top.scatter("time", "price", source=columns(p["sells"]), marker="inverted_triangle", size=10, color="#ff7f0e",
                        legend_label="sell")
    top.add_tools(HoverTool(renderers=[buys, sells], formatters={"@time": "datetime"},
                            tooltips=[("time", "@time{%F %T}"), ("price", "@price{0,0.00}"), ("qty", "@quantity")]))
    top.legend.location = "top_left"
    rows = [top]
    for name, series, color, height in (("position", p["position"], "#9467bd", 120),
                                        ("equity", p["equity"], "#1f77b4", 160),
                                        ("drawdown", p["drawdown"], "#d62728", 120)):
        f = figure(x_axis_type="datetime", height=height, width=width, x_range=top.x_range, title=name,
                   tools="pan,xwheel_zoom,box_zoom,reset")
        if name == "drawdown":
            f.varea(series.index, series.to_numpy(), 0.0, color=color, alpha=0.4)
        elif name == "position":
            f.step(series.index, series.to_numpy(), mode="after", color=color)
        else:
            f.line(series.index, series.to_numpy(), color=color)
        rows.append(f)
    return column(*rows)


def save_run_plot(result, path: str | os.PathLike, symbol: str | None = None) -> Path:
    """Write the plot to ``path`` (``.html`` or ``.png``); returns the path."""
    out = check_plot_path(path, "path")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".html":
        from workbench.htmlpage import page

        out.write_text(page(f"{result.strategy} run", "", [run_figure(result, symbol)]))
        return out
    _save_png(result, out, symbol)
    return out


def _save_png(result, out: Path, symbol: str | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = panels(result, symbol)
    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(12, 9), gridspec_kw={"height_ratios": [3, 1, 1.4, 1]})
    prices = p["prices"]
    axes[0].plot(prices.index, prices["close"], color="#444", linewidth=0.8)
    if "open" in prices:
        axes[0].vlines(prices.index, prices["low"], prices["high"], color="#999", linewidth=0.5)
    axes[0].scatter(p["buys"]["time"], p["buys"]["price"], marker="^", color="#1f77b4", s=30, label="buy", zorder=3)
    axes[0].scatter(p["sells"]["time"], p["sells"]["price"], marker="v", color="#ff7f0e", s=30, label="sell",
                    zorder=3)
    axes[0].set_title(f"{result.strategy} {result.params} on {p['symbol']}")
    axes[0].legend(loc="upper left")
    axes[1].step(p["position"].index, p["position"].to_numpy(), where="post", color="#9467bd")
    axes[1].set_ylabel("position")
    axes[2].plot(p["equity"].index, p["equity"].to_numpy(), color="#1f77b4")
    axes[2].set_ylabel("equity")
    axes[3].fill_between(p["drawdown"].index, p["drawdown"].to_numpy(), 0.0, color="#d62728", alpha=0.4)
    axes[3].set_ylabel("drawdown")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
