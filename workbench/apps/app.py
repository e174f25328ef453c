"""The served app: one template, five pages as tabs, one paper session per browser session.

``workbench serve`` serves it (loopback by default, optional basic auth). State lives in
each session's objects, never in module globals.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import panel as pn

from workbench.apps.pages import (
    REFRESH_MS,
    analytics_page,
    certification_page,
    market_page,
    monitoring_page,
    trading_page,
)
from workbench.apps.guards import ComponentResources, LimitedLogins
from workbench.apps.session import PaperSession
from workbench.apps.users import cookie_secret, load_users

LOGIN_TEMPLATE = Path(__file__).with_name("templates") / "login.html"  # nothing from a CDN


def create_app(runs: Path = Path("runs"), seed: int = 0) -> pn.template.BaseTemplate:
    """The whole app for one browser session (its market seeded with ``seed``)."""
    pn.extension("tabulator")
    session = PaperSession(seed=seed)
    market, refresh_market = market_page(session)
    trading, refresh_trading = trading_page(session)
    monitoring, refresh_monitoring = monitoring_page(session)
    tabs = pn.Tabs(market, trading, monitoring, analytics_page(), certification_page(runs), dynamic=True,
                   sizing_mode="stretch_width")
    clock = pn.pane.HTML("", css_classes=["wb-clock"], width=0, height=0, margin=0)

    def tick() -> None:
        session.advance(2)
        active = tabs.active
        if active == 0:
            refresh_market()
        elif active == 1:
            refresh_trading()
        elif active == 2:
            refresh_monitoring()
        clock.object = f'<span class="wb-t" data-t="{time.time():.6f}" data-n="{session.updates}"></span>'

    # Bootstrap: its assets are served locally (no font or CSS from the internet).
    template = pn.template.BootstrapTemplate(
        title="workbench", main=[tabs, clock],
        sidebar=[pn.pane.Markdown("Paper session with a live synthetic market (AAA, BBB).\n\n"
                                  "Pages: **Market**, **Trading**, **Monitoring**, **Analytics**, **Certification**.")],
    )
    callback = pn.state.add_periodic_callback(tick, period=REFRESH_MS) if pn.state.curdoc else None
    if pn.state.curdoc is not None:
        pn.state.on_session_destroyed(lambda ctx: (callback and callback.stop(), session.close()))
    return template


def serve(address: str = "127.0.0.1", port: int = 5006, basic_auth: str | None = None,
          allow_websocket_origin: list[str] | None = None, runs: Path = Path("runs"), show: bool = False,
          threaded: bool = False):
    """Serve the app (see the module docstring); returns Panel's server."""
    origins = list(allow_websocket_origin or [])
    if not origins:
        origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    # Component resources that import nothing a URL names (guards.py), before Panel's own route.
    kwargs: dict = {"extra_patterns": [(r"/components/(.*)", ComponentResources, {})]}
    if basic_auth:
        kwargs.update(auth_provider=LimitedLogins(load_users(basic_auth), login_template=str(LOGIN_TEMPLATE)),
                      cookie_secret=cookie_secret(runs))
    seeds = itertools.count()  # each new browser session gets the next market
    # /liveness answers at once (no session is built for it): what a readiness probe asks.
    return pn.serve({"/": lambda: create_app(runs, next(seeds))}, address=address, port=port, websocket_origin=origins,
                    liveness=True,
                    show=show, threaded=threaded, title="workbench", **kwargs)
