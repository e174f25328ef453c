"""Self-contained HTML pages around Bokeh models: BokehJS is read from the installed
``bokeh`` package and embedded, so every page the project writes opens with no network.

Written by hand because ``bokeh.resources.INLINE`` is not enough once Panel is imported: its
extension models add a script from a CDN (``es-module-shims``) and stylesheets from
``cdn.holoviz.org`` to every bundle, whether the page uses them or not.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path
from typing import Any

_BUNDLES = ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.pass { color: #1a7f37; font-weight: 600; }
.fail { color: #cf222e; font-weight: 600; }
code { font-size: 13px; }
"""


@functools.lru_cache(maxsize=1)
def bokehjs() -> str:
    """The ``<script>`` elements of BokehJS, inline (about 3 MB)."""
    from bokeh.util.paths import bokehjs_path

    folder = Path(bokehjs_path()) / "js"
    return "".join(f"<script>{(folder / f'{name}.min.js').read_text()}</script>\n" for name in _BUNDLES)


def page(title: str, body: str, models: list[Any] = ()) -> str:
    """A whole page: ``body`` (HTML) with each model of ``models`` placed where the body
    says ``{plot0}``, ``{plot1}``... (models left unplaced go at the end)."""
    script, divs = "", []
    if models:
        from bokeh.embed import components

        script, divs = components(list(models))
    for i, div in enumerate(divs):
        marker = "{plot%d}" % i
        body = body.replace(marker, div) if marker in body else body + div
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style>\n{bokehjs()}{script}</head>"
            f"<body>\n{body}\n</body></html>\n")
