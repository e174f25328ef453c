"""The dashboard's pages. Each is a function that builds a layout from components, so the
same page renders in a notebook (``from workbench.apps import trading_page``) and in the
served app. Pages with live data return ``(layout, refresh)``: call ``refresh()`` to pull
the session's latest state (the app does, twice a second, for the page on show); in a
notebook, ``pn.state.add_periodic_callback(refresh, 500)`` does the same. Every input is validated on the server with a visible message; nothing a user
types is evaluated as code (numbers are parsed as numbers, names looked up in lists).
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import threading
from pathlib import Path

import pandas as pd
import panel as pn

from workbench.apps.session import SYMBOLS, PaperSession
from workbench.errors import WorkbenchError

REFRESH_MS = 500  # a live page's updates: 2 a second
STALE_AFTER = 30.0  # seconds without a sample after which a run's alerts are shown as stale
FILLS_SHOWN = 100  # the trading page's newest fills (/runs and the journal hold them all)
ORDERS_SHOWN = 100  # and its newest orders


def _number(text: str, name: str, *, optional: bool = False) -> float | None:
    """A positive finite number from a text box, or a ValueError naming the field."""
    text = (text or "").strip()
    if not text:
        if optional:
            return None
        raise ValueError(f"{name} is required")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {text!r}")
    return value


# --- market ------------------------------------------------------------------------------------


def candlesticks(bars: pd.DataFrame, title: str = ""):
    """A Bokeh candlestick chart of a bar frame (the last 250 bars)."""
    from bokeh.plotting import figure

    b = bars.tail(250).copy()
    b.index = pd.DatetimeIndex(b.index).tz_localize(None)
    width = (b.index[1] - b.index[0]).total_seconds() * 1000 * 0.7 if len(b) > 1 else 1
    up = b[b["close"] >= b["open"]]
    down = b[b["close"] < b["open"]]
    fig = figure(x_axis_type="datetime", height=320, sizing_mode="stretch_width", title=title,
                 tools="pan,wheel_zoom,box_zoom,reset,hover")
    fig.segment(b.index, b["high"], b.index, b["low"], color="#555")
    fig.vbar(up.index, width, up["open"], up["close"], fill_color="#2ca02c", line_color="#2ca02c")
    fig.vbar(down.index, width, down["open"], down["close"], fill_color="#d62728", line_color="#d62728")
    return fig


def market_page(session: PaperSession):
    """Candlesticks of a dataset or synthetic data, and the session's live quotes."""
    from bokeh.models import ColumnDataSource, Range1d
    from bokeh.plotting import figure

    from workbench.feed import load_dataset_bars, synthetic_bars

    source = pn.widgets.Select(name="Data", options=["sp500", "nasdaq", "synthetic"], value="sp500")

    def chart(choice: str):
        if choice == "synthetic":
            bars = synthetic_bars(1, days=120, seed=1)
        else:
            bars = load_dataset_bars(choice)
        return pn.pane.Bokeh(candlesticks(bars, f"{choice}: daily bars"), sizing_mode="stretch_width")

    live = ColumnDataSource({"t": [], **{s: [] for s in SYMBOLS}})
    # The live chart's ranges are set here, with each point streamed, not found by the browser
    # (DataRange1d): a browser's auto-ranging painted the chart twice an update (the stream, then
    # the ranges it found) and sent both ranges back to the server, two more messages an update.
    # With 20 pages on 2 cores that Chromium work (~1.5 cores) held the updates seconds late
    # (benchmarks/bench_dashboard.py). No toolbar: a pan or zoom would be undone by the next update.
    fig = figure(x_axis_type="datetime", height=260, sizing_mode="stretch_width", title="Live mid prices (paced replay)",
                 x_range=Range1d(0, 1), y_range=Range1d(0, 1), toolbar_location=None)
    for symbol, color in zip(SYMBOLS, ("#1f77b4", "#ff7f0e")):
        fig.line("t", symbol, source=live, color=color, legend_label=symbol)

    def fit_ranges() -> None:
        """The chart's ranges over the points it holds, padded as a DataRange1d pads them (5 % each side)."""
        t = live.data["t"]
        if not t:
            return
        t0, t1 = pd.Timestamp(t[0]), pd.Timestamp(t[-1])
        pad_t = (t1 - t0) * 0.05 if t1 > t0 else pd.Timedelta(seconds=1)
        fig.x_range.update(start=t0 - pad_t, end=t1 + pad_t)
        mids = [v for s in SYMBOLS for v in live.data[s] if v == v]  # NaN (no quote yet) left out
        if mids:
            lo, hi = min(mids), max(mids)
            pad = (hi - lo) * 0.05 if hi > lo else max(abs(hi) * 0.01, 0.01)
            fig.y_range.update(start=lo - pad, end=hi + pad)
    quote_text = pn.pane.Markdown("", css_classes=["wb-quotes"])
    seen = {"n": None}  # quotes this page has drawn (None: none yet)

    def refresh() -> None:
        with session.lock:
            new = 50 if seen["n"] is None else min(session.quotes_seen - seen["n"], len(session.history))
            rows = session.history[len(session.history) - new:] if new > 0 else []
            seen["n"] = session.quotes_seen
            quotes = dict(session.last)
        if rows:
            t = rows[-1]["time"].tz_localize(None)
            live.stream({"t": [t], **{s: [quotes[s].mid if s in quotes else float("nan")] for s in SYMBOLS}},
                        rollover=600)
            fit_ranges()
        quote_text.object = "  ".join(f"**{s}** {q.bid:.2f} / {q.ask:.2f}" for s, q in sorted(quotes.items()))

    return pn.Column(
        pn.Row(source, quote_text),
        pn.panel(pn.bind(chart, source), defer_load=True),  # the page is sent first, the candles follow
        pn.pane.Bokeh(fig, sizing_mode="stretch_width"),
        name="Market",
        sizing_mode="stretch_width",
    ), refresh


# --- trading -----------------------------------------------------------------------------------


def sender() -> str:
    """Who sends a command from this page, as journaled: ``dashboard:<login>`` (``anonymous``
    when the server has no logins)."""
    user = pn.state.user if pn.state.curdoc is not None else None
    return f"dashboard:{(user or 'anonymous').split(':')[0]}"  # the cookie's name:fingerprint, by name


def _shown_orders(frame: pd.DataFrame) -> pd.DataFrame:
    """The newest orders for the blotter, a price not set (a market order's limit) blank."""
    return frame.head(ORDERS_SHOWN).astype({"avg_price": "float64", "limit": "float64", "stop": "float64"})


def trading_page(session):
    """Order ticket, live blotter of orders and fills, positions, and the kill switch, over a
    :class:`PaperSession` of the server or a :class:`~workbench.apps.remote.RunSession` (a
    ``workbench paper`` process: its orders go through its command channel, and what the page
    shows is read back from its journal)."""
    symbol = pn.widgets.Select(name="Symbol", options=list(session.symbols), value=session.symbols[0])
    side = pn.widgets.RadioButtonGroup(name="Side", options=["buy", "sell"], value="buy")
    kind = pn.widgets.Select(name="Type", options=["market", "limit", "stop", "stop_limit"], value="market",
                             css_classes=["wb-type"])
    quantity = pn.widgets.TextInput(name="Quantity", value="10", css_classes=["wb-quantity"])
    limit = pn.widgets.TextInput(name="Limit price", value="", css_classes=["wb-limit"])
    stop = pn.widgets.TextInput(name="Stop price", value="", css_classes=["wb-stop"])
    tif = pn.widgets.Select(name="Time in force", options=["day", "gtc", "ioc", "fok"], value="day",
                            css_classes=["wb-tif"])
    place = pn.widgets.Button(name="Place order", button_type="primary", css_classes=["wb-place"])
    kill = pn.widgets.Toggle(name="Kill switch", button_type="danger", css_classes=["wb-kill"])
    message = pn.pane.Alert("Ready.", alert_type="secondary", css_classes=["wb-message"])
    quotes = pn.pane.Markdown("", css_classes=["wb-ticket-quotes"])
    orders_now, fills_now = session.frames()
    # Plain HTML tables, redrawn whole on each change: a Tabulator's rows in the browser could
    # keep showing an order "accepted" for good after its data said "filled" (seen under CPU
    # load: the model in the page held the new value, the drawn row the old), and they cost a
    # fraction of a Tabulator to build.
    blotter = pn.pane.DataFrame(_shown_orders(orders_now), index=False, na_rep="", css_classes=["wb-blotter"],
                                max_height=260)  # as wide as its columns
    fills = pn.pane.DataFrame(fills_now.head(FILLS_SHOWN), index=False, sizing_mode="stretch_width",
                              css_classes=["wb-fills"], max_height=220)
    positions = pn.pane.DataFrame(session.positions_frame(), index=False, sizing_mode="stretch_width",
                                  css_classes=["wb-positions"])
    account = pn.pane.Markdown("", css_classes=["wb-account"])

    async def on_place(_event=None) -> None:
        try:
            qty = _number(quantity.value, "Quantity")
            lim = _number(limit.value, "Limit price", optional=True)
            stp = _number(stop.value, "Stop price", optional=True)
        except ValueError as exc:
            message.object, message.alert_type = f"Invalid input: {exc}", "warning"
            return
        place.disabled = True
        try:  # a command to another process may wait for it: off the server's event loop
            ok, text = await asyncio.to_thread(session.place, symbol.value, side.value, qty, kind.value, lim, stp,
                                               tif.value, sender())
        except WorkbenchError as exc:
            ok, text = False, f"Not sent: {exc}"
        finally:
            place.disabled = False
        message.object, message.alert_type = text, "success" if ok else "danger"
        await asyncio.to_thread(session.poll)
        refresh(poll=False)

    async def on_kill(event) -> None:
        if bool(event.new) == session.killed():  # the page showing the session's state (refresh)
            return
        try:
            ok, text = await asyncio.to_thread(session.kill, bool(event.new), sender())
        except WorkbenchError as exc:
            ok, text = False, f"Not sent: {exc}"
        message.object = text
        message.alert_type = ("danger" if event.new else "secondary") if ok else "warning"
        await asyncio.to_thread(session.poll)
        refresh(poll=False)

    shown = {"seq": None}

    def refresh(poll: bool = True) -> None:
        if poll:
            session.poll()
        with session.lock:  # one consistent state: an order shown filled has its fill shown too
            seq = session.seq()
            frames = session.frames() if seq != shown["seq"] else None  # they change only with the journal
            marked = session.positions_frame()  # positions move with the market
            a = session.account()
            quotes.object = session.quote_line()
        if frames is not None:
            shown["seq"] = seq
            blotter.object, fills.object = _shown_orders(frames[0]), frames[1].head(FILLS_SHOWN)
        if not marked.equals(positions.object):
            positions.object = marked
        account.object = ("no account yet" if a is None else
                          f"cash **{a.cash:,.2f}**  equity **{a.equity:,.2f}**  buying power "
                          f"**{a.buying_power:,.2f}**  realized **{a.realized_pnl:,.2f}**")
        place.disabled = not session.running
        killed = session.killed()  # set here too from another page, a script, curl
        kill.name = "Kill switch: ON (click to reset)" if killed else "Kill switch"
        if kill.value != killed:
            kill.value = killed

    place.on_click(on_place)
    kill.param.watch(on_kill, "value")
    ticket = pn.Column("### Order ticket", quotes, symbol, side, kind, quantity, limit, stop, tif,
                       pn.Row(place, kill), message, width=320)
    page = pn.Row(ticket, pn.Column(account, f"### Orders (newest {ORDERS_SHOWN})", blotter,
                                    f"### Fills (newest {FILLS_SHOWN})", fills, "### Positions", positions,
                                    sizing_mode="stretch_width"), name="Trading", sizing_mode="stretch_width")
    refresh(poll=False)  # a run was polled when it was opened; the app polls off its event loop
    return page, refresh


# --- monitoring --------------------------------------------------------------------------------


ALERT_COLUMNS = ["state", "rule", "severity", "summary"]


def _table(columns: list[str], css: str) -> pn.pane.DataFrame:
    """An empty plain HTML table (a fraction of a Tabulator's cost to build)."""
    return pn.pane.DataFrame(pd.DataFrame(columns=columns), index=False, sizing_mode="stretch_width",
                             css_classes=[css])


def _redraw(pane: pn.pane.DataFrame, frame: pd.DataFrame) -> None:
    """Send ``frame`` to the browser only when it changed."""
    if not frame.equals(pane.object):
        pane.object = frame


def _series_chart(title: str, height: int = 220, line: bool = True):
    """An empty datetime chart of points (joined by a line) and its source (columns ``t``, ``v``)."""
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    source = ColumnDataSource({"t": [], "v": []})
    fig = figure(x_axis_type="datetime", height=height, sizing_mode="stretch_width", title=title)
    if line:
        fig.line("t", "v", source=source)
    fig.scatter("t", "v", source=source, size=3 if line else 4)  # a single sample shows too
    return fig, source


def _stream(source, rows: list[tuple[float, float]], scale: float = 1.0, keep: int = 3600) -> None:
    """Append ``(unix seconds, value)`` rows to a :func:`_series_chart` source, values times ``scale``."""
    if rows:
        source.stream({"t": [pd.Timestamp(t, unit="s") for t, _ in rows], "v": [v * scale for _, v in rows]},
                      rollover=keep)


def monitoring_page(session: PaperSession, components: list | None = None):
    """Live metric charts, alerts, and every component's stats()."""
    f1, equity_src = _series_chart("Session equity")
    f2, latency_src = _series_chart("place_order latency (microseconds, each order)", line=False)
    alerts = _table(ALERT_COLUMNS, "wb-alerts")
    stats = _table(["component", "figure", "value"], "wb-stats")
    seen = {"eq": 0.0, "lat": 0.0}
    components = components or []

    def refresh() -> None:
        m = session.monitor
        with session.lock:
            eq = [(t, v) for t, v in m.series("workbench_session_equity") if t > seen["eq"]]
            lat = [(t, v) for t, v in m.series("workbench_broker_place_order_latency_seconds") if t > seen["lat"]]
            notes = list(m.notifications.items)
            comps = [session.broker, m, *components]
            table = [{"component": getattr(c, "name", type(c).__name__), "figure": k, "value": v}
                     for c in comps for k, v in c.stats().items()]
        if eq:
            seen["eq"] = eq[-1][0]
        if lat:
            seen["lat"] = lat[-1][0]
        _stream(equity_src, eq)
        _stream(latency_src, lat, scale=1e6, keep=2000)
        _redraw(alerts, pd.DataFrame([{"state": n["state"], "rule": n["rule"], "severity": n["severity"],
                                       "summary": n["annotations"].get("summary", "")} for n in reversed(notes)],
                                     columns=ALERT_COLUMNS))
        _redraw(stats, pd.DataFrame(table, columns=["component", "figure", "value"]).astype({"value": str}))

    page = pn.Column(pn.Row(pn.pane.Bokeh(f1, sizing_mode="stretch_width"), pn.pane.Bokeh(f2, sizing_mode="stretch_width")),
                     "### Alerts (firing and resolved)", alerts, "### Component stats()", stats,
                     name="Monitoring", sizing_mode="stretch_width")
    return page, refresh


def run_market_page(session):
    """A ``workbench paper`` process's prices (a :class:`~workbench.apps.remote.RunSession`):
    the last price of each symbol by market time (UTC), as its command channel reports them."""
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    symbols = list(session.symbols)
    columns = {f"p{i}": s for i, s in enumerate(symbols)}  # a symbol may be called anything, "t" too
    live = ColumnDataSource({"t": [], **{c: [] for c in columns}})
    fig = figure(x_axis_type="datetime", height=320, sizing_mode="stretch_width",
                 title=f"{session.name}: last prices by market time (UTC)")
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
    for i, (column, symbol) in enumerate(columns.items()):
        fig.line("t", column, source=live, color=palette[i % len(palette)], legend_label=symbol)
    quote_text = pn.pane.Markdown("", css_classes=["wb-quotes"])
    seen = {"t": None}

    def refresh(poll: bool = True) -> None:
        if poll:
            session.poll()
        with session.lock:
            reported = list(session.prices)
            quote_text.object = session.quote_line()
        times, prices = [], []
        for text, p in reported:
            try:
                t = pd.Timestamp(text)
                t = (t.tz_convert("UTC") if t.tzinfo else t.tz_localize("UTC")).tz_localize(None)
            except (ValueError, TypeError):
                continue
            if seen["t"] is None or t > seen["t"]:  # by time, not by text; a time going back is not redrawn
                times.append(t)
                prices.append(p)
                seen["t"] = t
        if times:
            live.stream({"t": times, **{c: [_price(p.get(s)) for p in prices] for c, s in columns.items()}},
                        rollover=600)

    refresh(poll=False)  # the app polls off its event loop
    return pn.Column(quote_text, pn.pane.Bokeh(fig, sizing_mode="stretch_width"), name="Market",
                     sizing_mode="stretch_width"), refresh


def _price(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def run_monitoring_page(session):
    """A ``workbench paper`` process's metrics and alerts, from the monitor store it was
    started with (``--monitor``), read-only; says how to get one when it has none, and when
    the store cannot be read, is shared with other runs or has had no sample for a while."""
    session.watch_monitor = True
    f1, equity_src = _series_chart("Session equity")
    f2, latency_src = _series_chart("place_order latency, p99 of each sample (microseconds)")
    note = pn.pane.Alert("", alert_type="secondary", css_classes=["wb-monitor-note"])
    alerts = _table(ALERT_COLUMNS, "wb-alerts")
    latest = _table(["metric", "labels", "time", "value"], "wb-stats")
    shared = session.sharing_store()

    def refresh(poll: bool = True) -> None:
        if poll:
            session.poll()
        if session.store_path is None:
            note.object = (f"Run {session.name} has no monitor store: start it with `--monitor "
                           f"runs/{session.name}/monitor.sqlite` to see its metrics and alerts here.")
            return
        m = session.take_metrics()
        stale = m["silent"] is not None and m["silent"] > STALE_AFTER
        if m["error"]:
            note.object, note.alert_type = f"Run {session.name}: {m['error']}", "danger"
            return
        text = f"Metrics and alerts of run {session.name} from its monitor store ({session.store_path.name})"
        if shared:
            text += f"; the store is shared with run(s) {', '.join(shared[:5])}: their samples are mixed in"
        if stale:
            text += f"; no sample for {m['silent']:,.0f} s (the session has stopped): alerts shown as stale"
        note.object, note.alert_type = text, "warning" if (shared or stale) else "secondary"
        _stream(equity_src, m["equity"])
        _stream(latency_src, m["latency"], scale=1e6)
        if m["alerts"] is not None:
            a = m["alerts"]
            summaries = []
            for text in a["annotations"]:
                try:
                    summaries.append(str(json.loads(text).get("summary", "")))
                except (ValueError, AttributeError):
                    summaries.append("")
            _redraw(alerts, pd.DataFrame({"state": [f"{s} (stale)" if stale and s == "firing" else s for s in a["state"]],
                                          "rule": a["rule"], "severity": a["severity"], "summary": summaries},
                                         columns=ALERT_COLUMNS))
        newest = sorted(m["newest"].items())
        _redraw(latest, pd.DataFrame({"metric": [k[0] for k, _ in newest], "labels": [k[1] for k, _ in newest],
                                      "time": [pd.Timestamp(v[0], unit="s").strftime("%H:%M:%S") for _, v in newest],
                                      "value": [f"{v[1]:,.6g}" for _, v in newest]},
                                     columns=["metric", "labels", "time", "value"]))

    refresh(poll=False)  # the store is read by the app's poll, off its event loop
    page = pn.Column(note, pn.Row(pn.pane.Bokeh(f1, sizing_mode="stretch_width"),
                                  pn.pane.Bokeh(f2, sizing_mode="stretch_width")),
                     "### Alerts (firing and resolved)", alerts, "### Newest value of every metric", latest,
                     name="Monitoring", sizing_mode="stretch_width")
    return page, refresh


# --- analytics ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def forecast_summary(name: str, model_name: str, h: int) -> tuple[str, pd.DataFrame]:
    """The forecast of a bundled dataset and its measured accuracy, computed once per
    (dataset, model, horizon) in a server's life: the bundled data do not change."""
    from workbench.analytics import forecast
    from workbench.feed import load_dataset

    prices = load_dataset(name)["close"]
    f = forecast.forecast(prices, h, model_name)
    acc = forecast.evaluate(prices, model_name, horizon=h)
    frame = f.frame.round(2)
    frame.index = frame.index.strftime("%Y-%m-%d")
    text = (f"**{model_name}** {h}-day MAE {acc['model_mae']:.2f} vs naive {acc['naive_mae']:.2f} "
            f"(skill {acc['skill_vs_naive']:+.2%}); {f.level:.0%} intervals covered "
            f"{acc['model_coverage']:.0%} of {acc['points']} actual prices (naive {acc['naive_coverage']:.0%})")
    return text, frame


def analytics_page():
    """Tear sheet of a dataset, and a forecast with intervals and its measured accuracy."""
    from workbench.analytics import performance
    from workbench.analytics.tearsheet import tearsheet
    from workbench.feed import load_dataset

    dataset = pn.widgets.Select(name="Dataset", options=["sp500", "nasdaq"], value="sp500")
    model = pn.widgets.Select(name="Forecast model", options=["arima", "ets", "theta", "naive"], value="ets")
    horizon = pn.widgets.IntSlider(name="Horizon (business days)", start=1, end=20, value=5)

    def sheet_of(name: str):
        return tearsheet(performance.simple_returns(load_dataset(name)["close"]), title=name)

    # The statistics and fits run in a worker thread, off the server's event loop (other
    # browsers' updates go on meanwhile); only the resulting page parts are built on it.
    async def sheet(name: str):
        return pn.pane.HoloViews(await asyncio.to_thread(sheet_of, name), sizing_mode="stretch_width")

    async def predicted(name: str, model_name: str, h: int):
        text, frame = await asyncio.to_thread(forecast_summary, name, model_name, h)
        return pn.Column(pn.pane.Markdown(text), pn.widgets.Tabulator(frame, disabled=True, height=220))

    # defer_load: the page is sent at once and the forecast and tear sheet follow when computed
    return pn.Column(pn.Row(dataset, model, horizon),
                     pn.panel(pn.bind(predicted, dataset, model, horizon), lazy=True, defer_load=True),
                     pn.panel(pn.bind(sheet, dataset), lazy=True, defer_load=True), name="Analytics",
                     sizing_mode="stretch_width")


# --- options -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _dataset_bars(name: str) -> pd.DataFrame:
    from workbench.feed import load_dataset_bars

    return load_dataset_bars(name)


def _shown(value, limit: int = 40) -> str:
    """A user's input in a message: quoted, and cut short when long."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(str(value)):,} characters)"


def _whole(value, field: str) -> int:
    """``value`` as an int if it is a whole number, else a :class:`ConfigError` naming ``field``."""
    from workbench.errors import ConfigError

    try:
        number = int(value)
        if number != value:
            raise ValueError(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{field}: {_shown(value)} is not a whole number") from None
    return number


def _option_inputs(right, dte, delta, seed) -> tuple[str, int, float, int]:
    """The options page's inputs checked: a :class:`ConfigError` naming the field otherwise."""
    from workbench.errors import ConfigError

    kind = str(right).strip().lower()
    if kind not in ("put", "call"):
        raise ConfigError(f"Right: {_shown(right)} is neither put nor call")
    days = _whole(dte, "Days to expiry")
    if not 1 <= days <= 730:
        raise ConfigError(f"Days to expiry: {days} is outside 1 to 730")
    try:
        target = float(delta)
    except (TypeError, ValueError):
        raise ConfigError(f"Delta: {_shown(delta)} is not a number") from None
    if not (0.0 < target < 1.0):  # NaN fails too
        raise ConfigError(f"Delta: {_shown(delta)} is not between 0 and 1 (an absolute delta)")
    chain_seed = _whole(seed, "Chain seed")
    if not 0 <= chain_seed < 2**63:
        raise ConfigError(f"Chain seed: {chain_seed} is outside 0 to 2**63 - 1")
    return kind, days, round(target, 4), chain_seed


@functools.lru_cache(maxsize=32)
def option_chain_view(dataset: str, day: str, seed: int, right: str, dte: int, delta: float) -> dict:
    """What the options page shows, computed once per choice (the bundled data do not change).

    The synthetic chain (:func:`workbench.options.synthetic_chains`, seeded) quoted at the
    close of the last trading day of ``dataset`` on or before ``day``; the expiry the
    strategies' rule picks (the nearest at least ``dte`` calendar days away); in it, the
    ``right`` contract whose absolute delta is nearest ``delta`` (the lower strike on a tie),
    and the profit and loss of selling one of it at the bid, at expiry and on the quote day
    (Black-Scholes-Merton at its quoted volatility, the chain's 3 % rate). A date outside the
    data, or no expiry far enough, is a :class:`~workbench.errors.ConfigError` naming the field."""
    import numpy as np

    from workbench.errors import ConfigError
    from workbench.options import price_chain, synthetic_chains

    right, dte, delta, seed = _option_inputs(right, dte, delta, seed)
    if dataset not in ("sp500", "nasdaq"):
        raise ConfigError(f"Dataset: {_shown(dataset)} is not a bundled dataset (sp500, nasdaq)")
    bars = _dataset_bars(dataset)
    times = pd.DatetimeIndex(bars.index)
    try:
        typed = pd.Timestamp(str(day).strip())
        if typed is pd.NaT or typed.year < 1900:  # "June 29" reads as the year 1
            raise ValueError(day)
    except (ValueError, TypeError, OverflowError):
        raise ConfigError(f"Quote date: {_shown(day)} is not a date (YYYY-MM-DD)") from None
    wanted = pd.Timestamp(typed.date(), tz="UTC")  # the calendar date as typed, whatever its zone
    upto = times[times.normalize() <= wanted]
    if upto.empty:
        raise ConfigError(f"Quote date: {wanted:%Y-%m-%d} is before {dataset}'s first day, {times[0]:%Y-%m-%d} "
                          f"(the data run to {times[-1]:%Y-%m-%d})")
    quoted = upto[-1]
    note = "" if quoted.normalize() == wanted else (
        f"{wanted:%Y-%m-%d} is not a trading day of {dataset}: quoted on the last one before it, {quoted:%Y-%m-%d}. ")
    if wanted > times[-1].normalize():
        note = f"{dataset}'s data end on {times[-1]:%Y-%m-%d}: quoted on that day. "
    monthlies = max(3, dte // 28 + 2)  # enough monthly expiries for any dte the slider allows
    chain = synthetic_chains(bars, seed=seed, start=quoted, end=quoted, monthlies=monthlies)
    spot = float(chain["spot"].iloc[0])
    chain = chain.assign(mid=(chain["bid"] + chain["ask"]) / 2)
    far = chain[(chain["days"] >= dte)]
    if far.empty:
        raise ConfigError(f"Days to expiry: no expiry is {dte} days or more after {quoted:%Y-%m-%d}")
    expiry = far["expiry"].min()
    leg = chain[(chain["expiry"] == expiry)]
    side = leg[leg["right"] == right].sort_values("strike", kind="stable")
    best = side.iloc[int(np.argmin(np.abs(side["delta"].abs().to_numpy() - delta)))]
    premium = float(best["bid"])
    grid = pd.DataFrame({"spot": np.linspace(0.8 * spot, 1.2 * spot, 161)})
    intrinsic = np.maximum(grid["spot"] - best["strike"], 0) if right == "call" else np.maximum(best["strike"] - grid["spot"], 0)
    model = price_chain(grid.assign(strike=float(best["strike"]), days=float(best["days"]), rate=0.03, dividend=0.0,
                                    vol=float(best["iv"]), right=right))["price"]
    payoff = grid.assign(at_expiry=100 * (premium - intrinsic), today=100 * (premium - model))
    cols = ["bid", "ask", "iv", "delta", "gamma", "vega", "theta"]
    calls = leg[leg["right"] == "call"].set_index("strike")[cols]
    puts = leg[leg["right"] == "put"].set_index("strike")[cols]
    board = pd.concat({"call": calls, "put": puts}, axis=1)
    board.columns = [f"{r} {c}" for r, c in board.columns]
    near = chain[(chain["strike"] - spot).abs() <= 0.1 * spot]
    grid_mid = near[near["right"] == right].pivot_table(index="strike", columns="expiry", values="mid", observed=True)
    grid_mid.columns = [f"{e:%Y-%m-%d}" for e in grid_mid.columns]
    return {"quoted": quoted, "note": note, "spot": spot, "chain": chain, "expiry": expiry, "days": float(best["days"]),
            "contract": best, "premium": premium, "payoff": payoff, "board": board.reset_index(),
            "grid": grid_mid.reset_index()}


def _option_plots(view: dict, right: str):
    """The smile of every expiry, the chosen expiry's greeks by strike, and the short's payoff."""
    import holoviews as hv

    if not hv.Store.renderers:  # options need a plotting extension; notebooks load their own
        hv.extension("bokeh", logo=False)
    chain, spot = view["chain"], view["spot"]
    side = chain[chain["right"] == right]
    smile = hv.Overlay([hv.Curve(part, "strike", "iv", label=f"{e:%Y-%m-%d}")
                        for e, part in side.groupby("expiry", observed=True)] + [hv.VLine(spot)]).opts(
        hv.opts.Curve(tools=["hover"]), hv.opts.VLine(color="grey", line_dash="dashed"),
        hv.opts.Overlay(title=f"{right} implied volatility by strike (spot dashed)", legend_position="right",
                        responsive=True, height=320))
    leg = side[side["expiry"] == view["expiry"]]
    greeks = [hv.Curve(leg, "strike", g).opts(title=g, tools=["hover"], responsive=True, height=220)
              for g in ("delta", "gamma", "vega", "theta")]
    c = view["contract"]
    pnl = hv.Dimension("pnl", label="P&L")
    payoff = (hv.Curve(view["payoff"].rename(columns={"at_expiry": "pnl"}), "spot", pnl, label="at expiry")
              * hv.Curve(view["payoff"].rename(columns={"today": "pnl"}), "spot", pnl,
                         label=f"on {view['quoted']:%Y-%m-%d}")
              * hv.HLine(0) * hv.VLine(spot)).opts(
        hv.opts.HLine(color="grey"), hv.opts.VLine(color="grey", line_dash="dashed"),
        hv.opts.Curve(tools=["hover"]),
        hv.opts.Overlay(title=f"P&L of one short {right} {c['strike']:g}, {view['expiry']:%Y-%m-%d} (currency)",
                        legend_position="bottom_left", responsive=True, height=320))
    return smile, greeks, payoff


async def option_view(name: str, date_text: str, kind: str, days: int, target: float, chain_seed: int):
    """The options page's computed part for one choice of its inputs (a warning in place of a
    bad date); the chain and the plots are computed in a worker thread, off the server's loop."""
    try:
        kind, days, target, chain_seed = _option_inputs(kind, days, target, chain_seed)
        view = await asyncio.to_thread(option_chain_view, name, (date_text or "").strip(), chain_seed, kind, days,
                                       target)
        smile, greeks, payoff = await asyncio.to_thread(_option_plots, view, kind)
    except WorkbenchError as exc:  # a date outside the data, an emptied box: said on the page
        return pn.pane.Alert(str(exc), alert_type="warning")
    c = view["contract"]
    text = (f"{view['note']}**{name}** quoted {view['quoted']:%Y-%m-%d} at {view['spot']:,.2f}: "
            f"{len(view['chain']):,} contracts on {view['chain']['expiry'].nunique()} expiries. "
            f"Expiry {view['expiry']:%Y-%m-%d} ({view['days']:.0f} days); the {kind} nearest "
            f"{target:.2f} delta is the {c['strike']:g} strike (delta {c['delta']:+.3f}, iv {c['iv']:.1%}): "
            f"selling one at the bid {c['bid']:.2f} takes in {100 * view['premium']:,.2f}.")
    digits = {"bid": 2, "ask": 2, "iv": 4, "delta": 4, "gamma": 6, "vega": 4, "theta": 4}
    board = view["board"].round({k: digits[k.split()[-1]] for k in view["board"].columns if k != "strike"})
    return pn.Column(
        pn.pane.Markdown(text, css_classes=["wb-option-summary"]),
        pn.Row(pn.pane.HoloViews(smile, sizing_mode="stretch_width"),
               pn.pane.HoloViews(payoff, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
        f"### Greeks by strike, {kind}s expiring {view['expiry']:%Y-%m-%d}",
        pn.Row(*(pn.pane.HoloViews(g, sizing_mode="stretch_width") for g in greeks), sizing_mode="stretch_width"),
        f"### Chain on {view['expiry']:%Y-%m-%d}: calls and puts by strike",
        pn.widgets.Tabulator(board, disabled=True, height=320, show_index=False, sizing_mode="stretch_width",
                             frozen_columns=["strike"]),
        f"### {kind.title()} mid prices by strike and expiry (strikes within 10 % of spot)",
        pn.widgets.Tabulator(view["grid"].round(2), disabled=True, height=320, show_index=False,
                             sizing_mode="stretch_width", frozen_columns=["strike"]),
        sizing_mode="stretch_width")



def options_page():
    """A bundled dataset's synthetic option chain on a chosen day: the chain board (calls and
    puts by strike, with bid, ask, implied volatility and greeks), mid prices by strike and
    expiry, the volatility smile, greeks by strike, and the payoff of selling the contract
    the strategies' rule picks (``docs/options.md``)."""
    dataset = pn.widgets.Select(label="Dataset", options=["sp500", "nasdaq"], value="sp500", width=110)
    day = pn.widgets.TextInput(label="Quote date", value="2018-06-29", width=120)
    right = pn.widgets.Select(label="Right", options=["put", "call"], value="put", width=80)
    dte = pn.widgets.IntSlider(label="Days to expiry (at least)", start=1, end=120, value=30, width=200)
    delta = pn.widgets.FloatSlider(label="Delta (absolute)", start=0.05, end=0.95, step=0.05, value=0.30, width=200)
    seed = pn.widgets.IntInput(label="Chain seed", value=0, start=0, width=100)

    return pn.Column(pn.Row(dataset, day, right, dte, delta, seed),
                     pn.panel(pn.bind(option_view, dataset, day, right, dte.param.value_throttled, delta.param.value_throttled,
                                      seed), lazy=True, defer_load=True),
                     name="Options", sizing_mode="stretch_width")


# --- certification -----------------------------------------------------------------------------


def checks_frame(report: dict) -> pd.DataFrame:
    """A report's checks with their bounds, failed checks first."""
    rows = [{"category": c["title"], "check": ch["name"], "passed": ch["passed"], "measured": ch["measured"],
             "bounds": ", ".join(f"{k} {v}" for k, v in (ch.get("bounds") or {}).items()), "unit": ch["unit"],
             "detail": ch["detail"]} for c in report.get("categories", []) for ch in c["checks"]]
    frame = pd.DataFrame(rows, columns=["category", "check", "passed", "measured", "bounds", "unit", "detail"])
    return frame.sort_values("passed", kind="stable").reset_index(drop=True)


def certification_page(runs: Path = Path("runs")):
    """Run history, a run's categories and checks, and a button for a quick certification."""
    index = runs / "index.jsonl"

    def history() -> pd.DataFrame:
        if not index.is_file():
            return pd.DataFrame(columns=["started", "profile", "passed", "results_sha256", "dir"])
        rows = [json.loads(line) for line in index.read_text().splitlines() if line.strip()]
        return pd.DataFrame([{k: r.get(k) for k in ("started", "profile", "passed", "results_sha256", "dir")}
                             for r in reversed(rows)])

    table = pn.widgets.Tabulator(history(), disabled=True, height=220, sizing_mode="stretch_width",
                                 selectable=1, show_index=False)
    checks = pn.widgets.Tabulator(pd.DataFrame(), disabled=True, height=360, sizing_mode="stretch_width",
                                  show_index=False)
    button = pn.widgets.Button(name="Run quick certification", button_type="primary")
    progress = pn.indicators.Progress(active=False, width=200)
    status = pn.pane.Markdown("")

    def show(event=None) -> None:
        selected = table.selection
        if not selected:
            return
        row = table.value.iloc[selected[0]]
        report_file = Path(row["dir"]) / "report.json"
        if not report_file.is_file():
            status.object = f"no report at {report_file}"
            return
        report = json.loads(report_file.read_text())
        checks.value = checks_frame(report)

    def run(_event=None) -> None:
        from workbench.certify.runner import certify

        button.disabled, progress.active = True, True
        status.object = "Certifying (quick profile)..."

        def work() -> None:
            try:
                report, out = certify("quick", {}, runs=runs)
                msg = f"{'PASSED' if report['passed'] else 'FAILED'}: {out}"
            except Exception as exc:  # shown to the user, not raised into the server
                msg = f"certification could not run: {exc}"
            doc.add_next_tick_callback(lambda: finish(msg))

        doc = pn.state.curdoc
        threading.Thread(target=work, daemon=True).start()

    def finish(msg: str) -> None:
        button.disabled, progress.active = False, False
        status.object = msg
        table.value = history()

    table.param.watch(show, "selection")
    button.on_click(run)
    return pn.Column(pn.Row(button, progress, status), "### Runs", table, "### Checks of the selected run", checks,
                     name="Certification", sizing_mode="stretch_width")
