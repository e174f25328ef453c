"""A strategy that places nothing: a paper session traded by hand (docs/paper.md)."""

from __future__ import annotations

from workbench.strategies.base import Strategy


class Manual(Strategy):
    """Places no orders of its own. ``workbench paper manual --data D --out runs/NAME`` runs
    the market and the account, and every order comes from the dashboard's ticket or the
    command channel, so nothing trades them back out."""

    name = "manual"
