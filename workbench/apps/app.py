"""The served app: one address a page, each a view over the server's paper sessions
(:mod:`workbench.apps.hub`) and the runs folder.

``/sessions`` (also ``/``), ``/market``, ``/trading``, ``/monitoring``, ``/analytics``, ``/runs``,
``/certification``; the session or run is in the query string (``/trading?session=demo``,
``/runs?run=NAME``), so a page can be bookmarked and shared. A page builds only itself; its
refresh timer stops when its browser session ends. ``/healthz`` answers at once (readiness
probes), and so does Panel's ``/liveness``. ``workbench serve`` serves it (loopback by
default, logins from a users file with ``--basic-auth``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from urllib.parse import quote

import panel as pn
from panel.io.state import set_curdoc
from tornado.web import RequestHandler

from workbench.apps.guards import ComponentResources, LimitedLogins
from workbench.apps.hub import SessionHub, session_id
from workbench.apps.pages import (
    REFRESH_MS,
    analytics_page,
    certification_page,
    market_page,
    monitoring_page,
    options_page,
    run_market_page,
    run_monitoring_page,
    trading_page,
)
from workbench.apps.remote import open_run
from workbench.apps.runs import runs_page, sessions_page
from workbench.apps.users import UsersFile, cookie_secret
from workbench.errors import WorkbenchError

log = logging.getLogger("workbench.apps")

LOGIN_TEMPLATE = Path(__file__).with_name("templates") / "login.html"  # nothing from a CDN
PAGES = ("sessions", "market", "trading", "monitoring", "analytics", "options", "runs", "certification")
LIVE = {"market": market_page, "trading": trading_page, "monitoring": monitoring_page}
LIVE_RUN = {"market": run_market_page, "trading": trading_page, "monitoring": run_monitoring_page}  # ?run=NAME


def _arg(name: str) -> str | None:
    values = (pn.state.session_args or {}).get(name) if pn.state.curdoc is not None else None
    return values[0].decode(errors="replace") if values else None


def _nav(current: str, sid: str | None, run: str | None = None) -> pn.pane.Markdown:
    query = f"?session={sid}" if sid else ""

    def href(name: str) -> str:
        if run and (name in LIVE or name == "runs"):
            return f"./{name}?run={quote(run)}"
        return f"./{name}{query if name in LIVE else ''}"

    links = [f"**{name.title()}**" if name == current else f"[{name.title()}]({href(name)})" for name in PAGES]
    return pn.pane.Markdown("\n\n".join(links), css_classes=["wb-nav"])


def _frame(name: str, body, sid: str | None = None, run: str | None = None) -> pn.template.BaseTemplate:
    title = f"workbench: {name}" + (f" ({sid})" if sid else f" (run {run})" if run else "")
    # No busy indicator: Panel's busy state is one flag for the whole server (pn.state.busy), and
    # every template's indicator is synced to it, so each page's refresh tick (which flags busy
    # while it runs) sent a locked update to every other open page: with N pages, ~4 N^2 websocket
    # patches a second, queued on each page's document lock ahead of that page's own tick. On 2
    # cores with 20 pages the queues of the last pages opened grew without bound and their ticks
    # never ran again (benchmarks/bench_dashboard.py).
    return _Template(title=title, main=[body], sidebar=[_nav(name, sid, run)], busy_indicator=None)


class _Template(pn.template.BootstrapTemplate):
    """Bootstrap, with the document's model index rebuilt once when the page is put on it.

    Bokeh re-walks every model of a document each time a root is added (``doc.models.recompute``);
    the template adds about eight, so a page's models were walked eight times: about 40 % of the
    time to build ``/monitoring`` (benchmarks/bench_dashboard.py, its time to first byte).
    ``doc.models.freeze()`` is Bokeh's own way to defer that walk to the end."""

    def server_doc(self, doc=None, title=None, location=True):
        doc = doc or pn.state.curdoc
        if doc is None:
            return super().server_doc(doc, title, location)
        with doc.models.freeze():
            return super().server_doc(doc, title, location)


def page(name: str, hub: SessionHub, runs: Path) -> pn.template.BaseTemplate:
    """Build the page ``name`` for one browser session (only that page)."""
    pn.extension("tabulator")
    try:
        if name in LIVE:
            run = _arg("run")
            if run is not None:
                return _live(name, open_run(runs, run), run=run)
            sid = session_id(_arg("session"))
            return _live(name, hub.get(sid), sid=sid)
        if name == "sessions":
            return _frame(name, sessions_page(hub, runs))
        if name == "analytics":
            return _frame(name, analytics_page())
        if name == "options":
            return _frame(name, options_page())
        if name == "runs":
            return _frame(name, runs_page(runs, _arg("run")))
        return _frame(name, certification_page(runs))
    except WorkbenchError as exc:  # a bad query string, a session another process holds: said on the page
        return _frame(name, pn.pane.Alert(f"{exc}", alert_type="danger"))
    except Exception as exc:  # never a traceback in a browser: one line there, the traceback in the log
        log.exception("page /%s failed", name)
        return _frame(name, pn.pane.Alert(f"this page could not be built: {type(exc).__name__}: {exc}",
                                          alert_type="danger"))


def _live(name: str, session, sid: str | None = None, run: str | None = None) -> pn.template.BaseTemplate:
    layout, refresh = (LIVE_RUN if run else LIVE)[name](session)
    clock = pn.pane.HTML("", css_classes=["wb-clock"], width=0, height=0, margin=0)
    ticks = {"k": 0}  # this page's updates, numbered: a gap in what a browser sees is a lost update

    def stamp() -> None:  # the update's number and server time, for the browser to check
        ticks["k"] += 1
        clock.object = (f'<span class="wb-t" data-t="{time.time():.6f}" data-k="{ticks["k"]}" '
                        f'data-n="{session.updates}"></span>')

    def tick() -> None:
        refresh(poll=False) if run else refresh()  # a run's page: its session polled when it opened
        stamp()

    def held_tick() -> None:
        # One websocket message an update: the page's changes (a chart's new point, the quotes,
        # the stamp) held and sent together, so the browser handles and draws them once, not
        # one message and one repaint each. (Not while the page is built: nothing to send yet.)
        with pn.io.hold():
            tick()

    tick()
    template = _frame(name, pn.Column(layout, clock, sizing_mode="stretch_width"), sid, run)
    busy = {"on": False}

    doc = pn.state.curdoc
    alive = {"on": True}
    pulls: set = set()  # the pulls under way (a reference keeps a task alive)

    def remote_tick() -> None:
        """A run in another process: its journal, prices and metrics are pulled in a worker
        thread, and the page is updated when the pull is done. The tick itself returns at once:
        a callback awaiting the pull would hold the page's document lock meanwhile, and a page
        whose pulls are slow (a paused session, a large store) would then never be let go
        when its browser leaves. A tick while a pull is under way skips."""
        if busy["on"] or not alive["on"]:
            return
        busy["on"] = True

        async def pull() -> None:
            try:
                await asyncio.to_thread(session.poll)
            except Exception:  # in the server's log; the page keeps what it showed, the next tick tries again
                log.exception("polling run %s failed", run)
            finally:
                busy["on"] = False
            if alive["on"]:
                try:
                    doc.add_next_tick_callback(show)
                except Exception:  # the page went while the pull ran: nothing to show it on
                    alive["on"] = False

        task = asyncio.ensure_future(pull())
        pulls.add(task)
        task.add_done_callback(pulls.discard)

    def show() -> None:
        if alive["on"]:
            with set_curdoc(doc):
                refresh(poll=False)
                stamp()

    if doc is not None:
        callback = pn.state.add_periodic_callback(remote_tick if run else held_tick, period=REFRESH_MS)

        def destroyed(ctx) -> None:
            alive["on"] = False
            callback.stop()

        pn.state.on_session_destroyed(destroyed)
    return template


class Health(RequestHandler):
    """``/healthz``: 200 and a line of JSON, built from nothing (no page, no session)."""

    def initialize(self, hub: SessionHub) -> None:
        self.hub = hub

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps({"status": "ok", "sessions": len(self.hub.ids())}))


def routes(hub: SessionHub, runs: Path) -> dict:
    out = {f"/{name}": (lambda name=name: page(name, hub, runs)) for name in PAGES}
    out["/"] = lambda: page("sessions", hub, runs)
    return out


def create_app(runs: Path = Path("runs"), name: str = "trading", hub: SessionHub | None = None):
    """One page outside a server (a notebook, a test): ``pn.panel(create_app())``."""
    return page(name, hub or SessionHub(runs), runs)


def serve(address: str = "127.0.0.1", port: int = 5006, basic_auth: str | None = None,
          allow_websocket_origin: list[str] | None = None, runs: Path = Path("runs"), show: bool = False,
          threaded: bool = False):
    """Serve the app (see the module docstring); returns Panel's server."""
    origins = list(allow_websocket_origin or [])
    if not origins:
        origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    hub = SessionHub(runs)
    # Component resources that import nothing a URL names (guards.py), before Panel's own route.
    kwargs: dict = {"extra_patterns": [(r"/components/(.*)", ComponentResources, {}),
                                       (r"/healthz", Health, {"hub": hub})]}
    if basic_auth:
        kwargs.update(auth_provider=LimitedLogins(UsersFile(basic_auth), login_template=str(LOGIN_TEMPLATE)),
                      cookie_secret=cookie_secret(runs))
    try:
        return pn.serve(routes(hub, runs), address=address, port=port, websocket_origin=origins, liveness=True,
                        show=show, threaded=threaded, title="workbench", **kwargs)
    finally:
        if not threaded:
            hub.close()
