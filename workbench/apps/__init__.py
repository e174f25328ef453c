"""Panel pages and the served app (``workbench serve``). Pages are functions returning
``(layout, refresh)`` (or a layout for the pages that need no live updates), usable in
notebooks as well as in the app."""

from workbench.apps.pages import (
    analytics_page,
    candlesticks,
    certification_page,
    market_page,
    monitoring_page,
    options_page,
    trading_page,
)
from workbench.apps.session import PaperSession

__all__ = ["PaperSession", "analytics_page", "candlesticks", "certification_page", "market_page", "monitoring_page",
           "options_page", "trading_page"]
