"""``certification.html``: one self-contained page built from ``report.json``.

Failed checks first, each with its measured figure, expectation and bounds; the performance
ratios as a Bokeh chart; the fault table when there is one; the provenance. BokehJS is
embedded (:mod:`workbench.htmlpage`), so the page opens with no network.
"""

from __future__ import annotations

import html
import json
from typing import Any

from workbench.certify.faults import TABLE_HEADER, table_cells, table_summary
from workbench.htmlpage import page

def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)[:200]
    return str(value)


def _bounds(bounds: dict | None) -> str:
    if not bounds:
        return ""
    return ", ".join(f"{k} {_figure(v)}" for k, v in bounds.items())


def ratio_rows(report: dict[str, Any]) -> list[tuple[str, float]]:
    """(check, measured / bound) of the performance checks that have a numeric bound."""
    rows = []
    for category in report.get("categories", []):
        if category.get("name") != "performance":
            continue
        for check in category["checks"]:
            bounds = check.get("bounds") or {}
            bound = bounds.get("min") or bounds.get("max")
            if isinstance(bound, (int, float)) and bound and isinstance(check.get("measured"), (int, float)):
                rows.append((check["name"], check["measured"] / bound))
    return rows


def _chart(report: dict[str, Any]):
    """The performance chart (a Bokeh figure), or None when there is nothing to draw."""
    rows = ratio_rows(report)
    if not rows:
        return None
    from bokeh.models import Span
    from bokeh.plotting import figure

    names = [name for name, _ in rows]
    fig = figure(x_range=names, height=300, width=760, toolbar_location=None,
                 title="Performance figures as a share of their bound (>1 good for minimums, <1 for maximums)")
    fig.vbar(x=names, top=[value for _, value in rows], width=0.7, color="#4c78a8")
    fig.add_layout(Span(location=1.0, dimension="width", line_color="#cf222e", line_dash="dashed"))
    fig.xaxis.major_label_orientation = 0.35
    return fig


def report_html(report: dict[str, Any]) -> str:
    """The whole page for ``report`` (the dict written to ``report.json``)."""
    passed = bool(report.get("passed"))
    checks = [(c.get("title", c.get("name")), ch) for c in report.get("categories", []) for ch in c["checks"]]
    checks.sort(key=lambda pair: pair[1]["passed"])  # failures first, stable otherwise
    parts = [f"<h1>Certification: <span style='font-size:1.4em' class='{'pass' if passed else 'fail'}'>"
             f"{'PASSED' if passed else 'FAILED'}</span></h1>",
             f"<p>started {_e(report.get('started'))}; results sha256 <code>{_e(report.get('results_sha256'))}</code>"
             f"; {len(checks)} checks, {sum(not ch['passed'] for _, ch in checks)} failed</p>"]
    if report.get("error"):
        parts.append(f"<p class='fail'>error: {_e(report['error'])}</p>")
    parts.append("<h2>Categories</h2><table><tr><th>category</th><th>verdict</th><th>checks</th><th>seconds</th></tr>")
    for c in report.get("categories", []):
        ok = sum(ch["passed"] for ch in c["checks"])
        parts.append(f"<tr><td>{_e(c.get('title'))}</td><td class='{'pass' if c['passed'] else 'fail'}'>"
                     f"{'PASS' if c['passed'] else 'FAIL'}</td><td>{ok}/{len(c['checks'])}</td>"
                     f"<td>{c.get('duration_s', 0):.1f}</td></tr>")
    parts.append("</table>")
    chart = _chart(report)
    if chart is not None:
        parts.append("<h2>Performance against bounds</h2>{plot0}")
    parts.append("<h2>Checks (failures first)</h2><table><tr><th>category</th><th>check</th><th>verdict</th>"
                 "<th>measured</th><th>expected</th><th>bounds</th><th>unit</th><th>detail</th></tr>")
    for title, ch in checks:
        parts.append(f"<tr><td>{_e(title)}</td><td><code>{_e(ch['name'])}</code></td>"
                     f"<td class='{'pass' if ch['passed'] else 'fail'}'>{'pass' if ch['passed'] else 'FAIL'}</td>"
                     f"<td>{_e(_figure(ch.get('measured')))}</td><td>{_e(_figure(ch.get('expected')))}</td>"
                     f"<td>{_e(_bounds(ch.get('bounds')))}</td><td>{_e(ch.get('unit'))}</td>"
                     f"<td>{_e(ch.get('detail'))}</td></tr>")
    parts.append("</table>")
    if report.get("faults"):
        faults = report["faults"]
        parts.append("<h2>Fault detection</h2><table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in TABLE_HEADER)
                     + "</tr>")
        for cells in table_cells(faults):
            parts.append("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in cells) + "</tr>")
        parts.append(f"</table><p>{_e(table_summary(faults))}</p>")
    inputs = report.get("inputs") or {}
    if inputs:
        parts.append("<h2>Provenance</h2><pre>" + _e(json.dumps(
            {k: inputs.get(k) for k in ("parameters", "git", "kernel", "data", "packages") if k in inputs},
            indent=2, default=str)) + "</pre>")
    return page("workbench certification", "\n".join(parts), [chart] if chart is not None else [])
