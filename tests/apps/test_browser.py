"""The dashboards in a real browser: pages load cleanly, the ticket trades, the kill switch
rejects, basic auth keeps strangers out. Screenshots go to runs/screenshots/."""

import re
import signal
import subprocess
import sys
import time
import urllib.request

from workbench.apps.users import add_user
from workbench.broker.journal import read_events
from workbench.control import ControlClient

from .conftest import ARTIFACTS, server_log, start_server

PAGES = {  # address -> what shows that the page was built
    "sessions": "Paper sessions", "market?session=browser": "BBB", "trading?session=browser": "Order ticket",
    "monitoring?session=browser": "Component stats()", "analytics": "intervals covered",
    "options": "takes in", "runs": "Runs in",
    "certification": "Run quick certification"}


def open_page(browser, url, live=True):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    if live:
        page.wait_for_selector(".wb-t", state="attached", timeout=60_000)  # the session is live
    return page, errors


def test_every_page_has_its_own_address_and_loads_without_console_errors(browser, server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for address, marker in PAGES.items():
        page, errors = open_page(browser, server + address, live="session=" in address)
        page.get_by_text(marker).first.wait_for(timeout=60_000)
        if address.startswith(("market", "options")):
            page.locator(".bk-Canvas, canvas").first.wait_for(timeout=60_000)  # the charts drew
        name = address.split("?")[0]
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        assert errors == [], (address, errors)
        page.close()


def text_of(locator):
    """Visible text of a Panel pane, whose content sits in a shadow root (styles left out)."""
    return locator.first.evaluate(
        "e => Array.from((e.shadowRoot || e).children)"
        ".filter(n => !['STYLE', 'LINK'].includes(n.tagName)).map(n => n.innerText).join(' ')")


def page_state(page, server=None, journal=None, order_id=None) -> str:
    """What a live page and its session showed, for a failure's message: the last update the
    browser received, the ticket's quotes and message, the order's events in the session's
    journal, and the end of the server's log."""
    parts = []
    try:
        stamp = page.locator(".wb-t")
        parts.append(f"update k={stamp.get_attribute('data-k')} n={stamp.get_attribute('data-n')} "
                     f"age={time.time() - float(stamp.get_attribute('data-t') or 0):.1f}s")
        parts.append(f"quotes={text_of(page.locator('.wb-ticket-quotes'))!r}")
        parts.append(f"message={text_of(page.locator('.wb-message'))!r}")
        parts.append(f"blotter rows={page.locator('.wb-blotter tbody tr').count()}")
    except Exception as exc:  # the page itself may be gone
        parts.append(f"page: {exc}")
    if journal is not None:
        try:
            parts.append("journal: " + ", ".join(f"{e.seq}:{e.kind}" for e in read_events(journal)
                                                 if e.order_id == order_id))
        except Exception as exc:
            parts.append(f"journal: {exc}")
    if server is not None and hasattr(server, "proc"):
        parts.append("server log:\n" + server_log(server.proc, 3000))
    return "\n".join(parts)


def blotter_row(page, order_id):
    rows = page.locator(".wb-blotter tbody tr", has_text=order_id)
    return rows.first.inner_text() if rows.count() else ""


def test_an_order_fills_in_the_servers_session_and_a_reload_or_another_browser_shows_it(browser, server, tmp_path):
    url = server + "trading?session=ticket"
    page, errors = open_page(browser, url)
    page.get_by_text("Order ticket").wait_for()
    quotes = page.locator(".wb-ticket-quotes")
    quotes.get_by_text("AAA").wait_for()
    text = text_of(quotes)  # "AAA 99.12 / 99.15  BBB ..."
    bid = float(re.search(r"AAA\s+([\d.]+)\s*/", text).group(1))
    page.locator(".wb-type select").select_option("limit")
    page.locator(".wb-tif select").select_option("gtc")
    page.locator(".wb-limit input").fill(f"{bid - 0.02:.2f}")  # below the ask: it must rest
    page.locator(".wb-quantity input").fill("10")
    page.locator(".wb-place button").click()
    message = page.locator(".wb-message")
    message.get_by_text("Accepted").wait_for(timeout=10_000)
    order_id = re.search(r"Accepted (O\d+)", text_of(message)).group(1)
    deadline = time.monotonic() + 10
    while order_id not in blotter_row(page, order_id):
        assert time.monotonic() < deadline, f"the order never appeared in the blotter\n{page_state(page, server)}"
        page.wait_for_timeout(100)
    assert re.search(r"\b(accepted|partially_filled|filled)\b", blotter_row(page, order_id))  # the market may
    # already have come down to it
    # The market swings through the price within a cycle: wait for the fill (bounded).
    deadline = time.monotonic() + 60
    while "filled" not in blotter_row(page, order_id):
        assert time.monotonic() < deadline, (f"not filled: {blotter_row(page, order_id)}\n"
                                             f"{page_state(page, server, tmp_path / 'runs' / 'sessions' / 'ticket', order_id)}")
        page.wait_for_timeout(250)
    # The blotter and the fills table are two widgets the browser redraws one after the other.
    fill_rows = page.locator(".wb-fills tr", has_text=order_id)
    fill_rows.first.wait_for(timeout=10_000)
    assert fill_rows.count() == 1
    page.screenshot(path=str(ARTIFACTS / "trading-filled.png"), full_page=True)
    # The session is the server's, not the page's: a reload and a second browser show the order.
    page.reload()
    page.wait_for_selector(".wb-t", state="attached", timeout=60_000)
    page.locator(".wb-blotter tbody tr", has_text=order_id).first.wait_for(timeout=10_000)
    assert "filled" in blotter_row(page, order_id)
    other, other_errors = open_page(browser, url)
    other.locator(".wb-fills tr", has_text=order_id).first.wait_for(timeout=10_000)
    other.close()
    # ... and /runs reads it back from the session's journal.
    runs, runs_errors = open_page(browser, server + "runs?run=sessions/ticket", live=False)
    runs.locator(".wb-run-fills .tabulator-row", has_text=order_id).first.wait_for(timeout=30_000)
    runs.close()
    # Kill switch: the next order is rejected, and the user sees why.
    page.locator(".wb-kill button").click()
    message.get_by_text("Kill switch ON").wait_for(timeout=10_000)
    # Every command is in the session's journal with who sent it.
    events = read_events(tmp_path / "runs" / "sessions" / "ticket")
    accepted = next(e for e in events if e.kind == "accepted" and e.order_id == order_id)
    assert accepted.payload["client_id"] == "dashboard:anonymous"
    assert any(e.kind == "kill_switch" and e.payload["reason"] == "dashboard:anonymous" for e in events)
    page.locator(".wb-place button").click()
    message.get_by_text("KILL_SWITCH").wait_for(timeout=10_000)
    # Bad input gets a visible message, and nothing is sent.
    page.locator(".wb-quantity input").fill("ten")
    page.locator(".wb-place button").click()
    message.get_by_text("Quantity must be a number").wait_for(timeout=10_000)
    assert errors == [] and other_errors == [] and runs_errors == [], (errors, other_errors, runs_errors)
    page.close()


def test_a_cli_paper_session_appears_in_the_app_and_trades_from_its_ticket(browser, server, tmp_path):
    """`workbench paper` in its own process: listed on /sessions, an order from /trading?run=
    goes through its command channel, fills there, is in its journal with the sender, and a
    reload shows it (read back from the journal)."""
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "paper", "manual", "--data", "sp500",
                             "--speed", "864000", "--out", str(runs / "cli"), "--duration", "10m",
                             "--monitor", str(runs / "cli" / "monitor.sqlite"), "--sample-every", "0.25"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (runs / "cli" / "control.json").exists():  # readiness: the channel is open
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()[-2000:]
            time.sleep(0.1)
        sessions, sessions_errors = open_page(browser, server + "sessions", live=False)
        sessions.locator(".wb-sessions").get_by_text("workbench paper").wait_for(timeout=30_000)
        sessions.screenshot(path=str(ARTIFACTS / "sessions-run.png"), full_page=True)
        sessions.close()
        page, errors = open_page(browser, server + "trading?run=cli")
        page.locator(".wb-ticket-quotes").get_by_text("SP500").wait_for(timeout=30_000)
        page.locator(".wb-type select").select_option("market")
        page.locator(".wb-quantity input").fill("7")
        page.locator(".wb-place button").click()
        message = page.locator(".wb-message")
        message.get_by_text("Accepted").wait_for(timeout=30_000)
        order_id = re.search(r"Accepted (O\d+)", text_of(message)).group(1)
        deadline = time.monotonic() + 30  # a market order fills at the next bar (a tenth of a second)
        while "filled" not in blotter_row(page, order_id):
            assert time.monotonic() < deadline, \
                f"not filled: {blotter_row(page, order_id)!r}\n{page_state(page, server, runs / 'cli', order_id)}"
            page.wait_for_timeout(200)
        assert "dashboard:anonymous" in blotter_row(page, order_id)
        page.locator(".wb-fills tr", has_text=order_id).first.wait_for(timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "trading-run.png"), full_page=True)
        # the same process's prices and metrics, on their own pages (its monitor store)
        market, market_errors = open_page(browser, server + "market?run=cli")
        market.locator(".wb-quotes").get_by_text("market time").wait_for(timeout=30_000)
        market.locator("canvas").first.wait_for(timeout=30_000)
        market.screenshot(path=str(ARTIFACTS / "market-run.png"), full_page=True)
        market.close()
        monitoring, monitoring_errors = open_page(browser, server + "monitoring?run=cli")
        monitoring.locator(".wb-monitor-note").get_by_text("monitor.sqlite").wait_for(timeout=30_000)
        monitoring.locator(".wb-stats").get_by_text("workbench_session_equity").wait_for(timeout=30_000)
        monitoring.screenshot(path=str(ARTIFACTS / "monitoring-run.png"), full_page=True)
        monitoring.close()
        assert market_errors == [] and monitoring_errors == [], (market_errors, monitoring_errors)
        page.reload()
        page.wait_for_selector(".wb-t", state="attached", timeout=60_000)
        page.locator(".wb-blotter tbody tr", has_text=order_id).first.wait_for(timeout=10_000)
        assert "filled" in blotter_row(page, order_id)
        page.locator(".wb-positions").get_by_text("SP500").wait_for(timeout=10_000)  # held: manual trades nothing
        # The kill switch set from elsewhere (a script) shows on the page; the page resets it.
        ControlClient(runs / "cli", by="ops:script").kill(True)
        page.locator(".wb-kill").get_by_text("Kill switch: ON").wait_for(timeout=30_000)
        page.locator(".wb-kill button").click()
        message.get_by_text("Kill switch reset").wait_for(timeout=30_000)
        page.locator(".wb-kill button").click()
        message.get_by_text("Kill switch ON").wait_for(timeout=30_000)
        events = read_events(runs / "cli")  # the session's own journal, written by its process
        accepted = next(e for e in events if e.kind == "accepted" and e.order_id == order_id)
        assert accepted.payload["client_id"] == "dashboard:anonymous"
        assert any(e.kind == "fill" and e.order_id == order_id for e in events)
        kills = [e.payload["reason"] for e in events if e.kind == "kill_switch"]
        assert kills == ["ops:script", "reset by dashboard:anonymous", "dashboard:anonymous"], kills
        # A paused session (SIGSTOP) never answers the page's poll: the server stays responsive
        # (the poll runs off its event loop) and the page says the session does not answer.
        def healthz_s():
            t0 = time.perf_counter()
            urllib.request.urlopen(server + "healthz", timeout=30).close()
            return time.perf_counter() - t0

        before = sorted(healthz_s() for _ in range(9))[4]
        proc.send_signal(signal.SIGSTOP)
        try:
            page.locator(".wb-ticket-quotes").get_by_text("does not answer").wait_for(timeout=30_000)
            paused = sorted(healthz_s() for _ in range(9))[4]
        finally:
            proc.send_signal(signal.SIGCONT)
        assert paused <= 10 * before + 0.05, (paused, before)  # blocked polls would add ~0.5 s each
        assert errors == [] and sessions_errors == [], (errors, sessions_errors)
        page.close()
    finally:
        proc.send_signal(signal.SIGINT)  # stops after the current slice, journal intact
        proc.wait(timeout=60)
    assert not (runs / "cli" / "control.json").exists()


def test_basic_auth_keeps_an_unauthenticated_client_out(browser, tmp_path):
    creds = tmp_path / "users.json"
    add_user(creds, "trader", "s3cret-pass")
    proc, url = start_server(tmp_path, "--basic-auth", str(creds))
    try:
        page = browser.new_page()
        page.goto(url + "trading?session=auth")
        assert "login" in page.url and page.locator(".wb-t").count() == 0
        page.fill("input[name=username]", "trader")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_load_state()
        assert page.locator(".wb-t").count() == 0
        page.goto(url + "trading?session=auth")
        page.fill("input[name=username]", "trader")
        page.fill("input[name=password]", "s3cret-pass")
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_load_state()
        page.goto(url + "trading?session=auth")
        page.wait_for_selector(".wb-t", state="attached", timeout=60_000)
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
