"""Tear sheets: the figures people would rather look at than read.

Equity curve, drawdown, rolling Sharpe, monthly returns heatmap, return distribution and
(with positions) exposure, as one HoloViews layout: interactive with Bokeh in notebooks
and Panel, saved as HTML (Bokeh) or PNG (matplotlib) for reports. Every number drawn is
computed by :mod:`workbench.analytics.performance` from the returns given.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.analytics import performance as perf

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded return of each calendar month (``empyrical.aggregate_returns``): rows are
    years, columns Jan..Dec."""
    import empyrical

    r = pd.Series(returns, dtype=float).dropna()
    if r.empty:
        return pd.DataFrame(columns=MONTHS)
    table = empyrical.aggregate_returns(r, "monthly").unstack()
    table.index.name, table.columns.name = "year", "month"
    return table.reindex(columns=range(1, 13)).set_axis(MONTHS, axis=1)


def tearsheet(returns: pd.Series, *, positions_value: pd.DataFrame | None = None,
              equity: pd.Series | None = None, title: str = "", window: int = 63):
    """A HoloViews layout of the tear-sheet figures for daily simple ``returns``."""
    import holoviews as hv

    if not hv.Store.renderers:  # options need a plotting extension; notebooks load their own
        hv.extension("bokeh", logo=False)

    r = pd.Series(returns, dtype=float).dropna()
    if r.empty:
        raise ValueError("tearsheet: no returns to draw")
    r.index = pd.DatetimeIndex(r.index).tz_localize(None) if getattr(r.index, "tz", None) else r.index
    wealth = perf.cumulative_returns(r) + 1
    stats = perf.summary(r)
    heading = (f"{title}  CAGR {stats['cagr']:.2%}  Sharpe {stats['sharpe']:.2f}  "
               f"max drawdown {stats['max_drawdown']:.2%}").strip()
    plots = [
        hv.Curve((wealth.index, wealth.to_numpy()), kdims=["time"], vdims=["growth of 1"]).relabel("Equity (growth of 1)"),
        hv.Area((r.index, perf.drawdown(r).to_numpy()), kdims=["time"], vdims=["drawdown"]).relabel("Drawdown"),
        hv.Curve((r.index, perf.rolling_sharpe(r, window).to_numpy()), kdims=["time"], vdims=["Sharpe"])
        .relabel(f"Rolling Sharpe ({window} periods)"),
    ]
    table = monthly_returns(r)
    cells = [(m, str(y), float(v)) for y, row in table.iterrows() for m, v in row.items() if np.isfinite(v)]
    plots.append(hv.HeatMap(cells, kdims=["month", "year"], vdims=["return"]).relabel("Monthly returns"))
    counts, edges = np.histogram(r.to_numpy(), bins=50)
    plots.append(hv.Histogram((edges, counts), kdims=["return"], vdims=["periods"]).relabel("Return distribution"))
    if positions_value is not None and equity is not None:
        ex = perf.exposure(positions_value, equity).dropna()
        ex.index = pd.DatetimeIndex(ex.index).tz_localize(None) if getattr(ex.index, "tz", None) else ex.index
        plots.append(hv.Curve((ex.index, ex.to_numpy()), kdims=["time"], vdims=["exposure"]).relabel("Exposure"))
    return hv.Layout(plots).cols(2).opts(title=heading)


def save_tearsheet(layout, path: str | os.PathLike) -> Path:
    """Write ``layout`` as ``.html`` (interactive, Bokeh) or ``.png`` (matplotlib)."""
    import holoviews as hv

    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".png"):
        raise ValueError(f"tear sheet file must end in .html or .png, got {out.name!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    backend = "bokeh" if suffix == ".html" else "matplotlib"
    hv.extension(backend, logo=False)
    if backend == "bokeh":
        layout = layout.opts(hv.opts.Curve(width=520, height=260, tools=["hover"]),
                             hv.opts.Area(width=520, height=260, alpha=0.5),
                             hv.opts.HeatMap(width=520, height=260, colorbar=True, cmap="RdYlGn", tools=["hover"]),
                             hv.opts.Histogram(width=520, height=260))
    else:
        from matplotlib.dates import DateFormatter

        years = DateFormatter("%Y")
        layout = layout.opts(hv.opts.Curve(aspect=2, xformatter=years), hv.opts.Area(aspect=2, alpha=0.5, xformatter=years),
                             hv.opts.HeatMap(aspect=2, colorbar=True, cmap="RdYlGn", show_values=False),
                             hv.opts.Histogram(aspect=2), hv.opts.Layout(fig_size=150))
    if backend == "bokeh":  # plain Bokeh models in a page that carries BokehJS: opens with no network
        from workbench.htmlpage import page

        out.write_text(page(out.stem, "", [hv.render(layout, backend="bokeh")]))
    else:
        hv.save(layout, out, backend=backend)
    return out
