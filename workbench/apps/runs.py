"""The pages over what is on disk: ``/sessions`` (the server's paper sessions, and a form to
open one) and ``/runs`` (every run folder under ``runs/``: certifications, backtests,
``workbench paper`` sessions, running or finished; a run's orders, fills and account are
read from its journal, never from memory, so what the page shows is what was journaled).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from urllib.parse import quote

import panel as pn

from workbench.apps.hub import SessionHub, session_id
from workbench.apps.remote import run_folder
from workbench.apps.session import fills_frame, orders_frame
from workbench.broker.journal import JOURNAL_NAME, read_meta, writer_pid
from workbench.control import ControlClient
from workbench.errors import ConfigError, WorkbenchError

def run_folders(runs: Path) -> list[dict]:
    """One row a run folder below ``runs`` (two levels: ``runs/NAME`` and ``runs/sessions/ID``)."""
    rows = []
    for folder in sorted(p for pattern in ("*", "sessions/*") for p in runs.glob(pattern) if p.is_dir()):
        journal, report = folder / JOURNAL_NAME, folder / "report.json"
        if not journal.is_file() and not report.is_file():
            continue
        kind = ("certification" if report.is_file() else
                "dashboard session" if folder.parent.name == "sessions" else _mode(journal))
        pid = writer_pid(journal) if journal.is_file() else None
        modified = max(p.stat().st_mtime for p in (journal, report) if p.is_file())
        rows.append({"run": str(folder.relative_to(runs)), "kind": kind,
                     "state": f"running (pid {pid})" if pid else
                     "stopped" if kind == "dashboard session" else "finished",
                     "modified": dt.datetime.fromtimestamp(modified, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")})
    return rows


def _mode(journal: Path) -> str:
    try:
        return str((read_meta(journal).get("engine") or {}).get("mode") or "run")
    except WorkbenchError:
        return "run (journal unreadable)"


def _link(text: str, href: str) -> str:
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'


def runs_page(runs: Path, selected: str | None = None) -> pn.Column:
    """Every run folder, and the one in ``?run=NAME``: its account, orders and fills from the journal."""
    rows = run_folders(runs)
    links = "<br>".join(f"{_link(r['run'], './runs?run=' + r['run'])} &nbsp; {html.escape(r['kind'])}, "
                        f"{html.escape(r['state'])}, {r['modified']} UTC" for r in rows) or "no runs yet"
    parts: list = [pn.pane.HTML(f"<h3>Runs in {html.escape(str(runs))}</h3>{links}", css_classes=["wb-runs"])]
    if selected:
        parts.append(run_detail(runs, selected))
    return pn.Column(*parts, name="Runs", sizing_mode="stretch_width")


def run_detail(runs: Path, name: str):
    """The account, orders and fills a run's journal recovers to (read-only)."""
    from workbench.broker import SimulatedBroker

    try:
        folder = run_folder(runs, name)
    except ConfigError as exc:
        return pn.pane.Alert(str(exc), alert_type="danger")
    report = folder / "report.json"
    if report.is_file():
        r = json.loads(report.read_text())
        return pn.pane.Markdown(f"### {html.escape(name)}\ncertification **{'PASSED' if r.get('passed') else 'FAILED'}**"
                                f", results sha256 `{r.get('results_sha256')}`; the Certification page has its checks.")
    try:
        broker = SimulatedBroker.inspect(folder / JOURNAL_NAME)
    except (WorkbenchError, OSError) as exc:
        return pn.pane.Alert(f"{name}: {exc}", alert_type="danger")
    a = broker.account()
    orders, fills = orders_frame(broker), fills_frame(broker, "%Y-%m-%d %H:%M:%S")
    broker.close()
    live = (" This session is running: " + _link("trade in it", f"./trading?run={quote(name)}") + ", "
            + _link("its prices", f"./market?run={quote(name)}") + ", "
            + _link("its metrics", f"./monitoring?run={quote(name)}") + "."
            if ControlClient.running(folder) else "")
    return pn.Column(
        pn.pane.Markdown(f"### {html.escape(name)}\ncash **{a.cash:,.2f}**, realized **{a.realized_pnl:,.2f}**; "
                         f"{len(orders)} orders, {len(fills)} fills ("
                         + (f"journaled events 0-{broker.last_seq}" if broker.last_seq >= 0 else "no events yet")
                         + "; positions at their last fill price, as journaled)." + live,
                         css_classes=["wb-run-account"]),
        "#### Orders", pn.widgets.Tabulator(orders, disabled=True, height=220, show_index=False,
                                            sizing_mode="stretch_width", css_classes=["wb-run-orders"]),
        "#### Fills", pn.widgets.Tabulator(fills, disabled=True, height=220, show_index=False,
                                           sizing_mode="stretch_width", css_classes=["wb-run-fills"]),
        sizing_mode="stretch_width")


def sessions_page(hub: SessionHub, runs: Path) -> pn.Column:
    """The server's paper sessions with links to their pages, and a form to open one."""

    def listing() -> str:
        rows = []
        for sid in hub.ids():
            state = hub.state(sid)
            pages = " · ".join(_link(p, f"./{p}?session={sid}") for p in ("market", "trading", "monitoring"))
            rows.append(f"<b>{html.escape(sid)}</b>: {state} &nbsp; {pages}")
        for r in run_folders(runs):
            if r["kind"] == "paper" and ControlClient.running(runs / r["run"]):
                rows.append(f"<b>{html.escape(r['run'])}</b>: workbench paper, {html.escape(r['state'])} &nbsp; "
                            + " · ".join(_link(p, f"./{p}?run={quote(r['run'])}")
                                         for p in ("market", "trading", "monitoring")))
        return "<h3>Paper sessions</h3>" + ("<br>".join(rows) or "none yet: open one below")

    table = pn.pane.HTML(listing(), css_classes=["wb-sessions"])
    name = pn.widgets.TextInput(name="Session id", value="demo", css_classes=["wb-session-id"])
    open_button = pn.widgets.Button(name="Open session", button_type="primary", css_classes=["wb-open"])
    message = pn.pane.HTML("", css_classes=["wb-message"])

    def on_open(_event=None) -> None:
        try:
            sid = session_id(name.value)
            hub.get(sid)
        except WorkbenchError as exc:
            message.object = f"<span style='color:#cf222e'>{html.escape(str(exc))}</span>"
            return
        table.object = listing()
        message.object = f"Session {html.escape(sid)} is running: " + _link("trade in it", f"./trading?session={sid}")

    open_button.on_click(on_open)
    return pn.Column(table, pn.Row(name, open_button), message,
                     pn.pane.HTML(f"Runs on disk: {_link('runs', './runs')} ({len(run_folders(runs))})"),
                     name="Sessions", sizing_mode="stretch_width")
