"""Every HTML file the project writes opens with no network: Chromium with every request but
``file://`` refused draws its charts, and nothing tried to leave the machine."""

from pathlib import Path

from workbench.analytics import performance
from workbench.analytics.tearsheet import save_tearsheet, tearsheet
from workbench.certify.html import report_html
from workbench.feed import load_dataset

REPORT = {"passed": False, "started": "2026-12-03T00:00:00+00:00", "results_sha256": "ab" * 32, "categories": [
    {"name": "performance", "title": "Performance under load", "passed": False, "duration_s": 1.0, "checks": [
        {"name": "backtest_throughput", "passed": True, "measured": 2.0, "expected": None, "bounds": {"min": 0.5},
         "unit": "x", "detail": "ok"},
        {"name": "order_latency", "passed": False, "measured": 0.9, "expected": None, "bounds": {"max": 0.5},
         "unit": "x", "detail": "expected <= 0.5 x"}]}]}


def open_offline(browser, path: Path):
    """The page at ``path`` with the network cut; (page, requests refused, console errors)."""
    page = browser.new_page()
    refused, errors = [], []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
               else (refused.append(route.request.url), route.abort()))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    return page, refused, errors


def bokeh_drew(page) -> bool:
    """BokehJS loaded and rendered at least one root with a canvas."""
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=30_000)
    return page.evaluate("""() => {
      const find = (root) => { if (root.querySelector('canvas')) return true;
        for (const el of root.querySelectorAll('*')) { if (el.shadowRoot && find(el.shadowRoot)) return true; }
        return false; };
      return Bokeh.documents[0].roots().length > 0 && find(document); }""")


def test_tearsheet_opens_offline(browser, tmp_path):
    returns = performance.simple_returns(load_dataset("sp500")["close"].tail(300))
    path = save_tearsheet(tearsheet(returns, title="sp500"), tmp_path / "tearsheet.html")
    page, refused, errors = open_offline(browser, path)
    assert bokeh_drew(page)
    assert refused == [] and errors == [], (refused, errors)
    page.close()


def test_certification_page_opens_offline_failures_first(browser, tmp_path):
    path = tmp_path / "certification.html"
    path.write_text(report_html(REPORT))
    page, refused, errors = open_offline(browser, path)
    assert bokeh_drew(page)
    assert refused == [] and errors == [], (refused, errors)
    rows = page.locator("table").nth(1).locator("tr")
    assert "order_latency" in rows.nth(1).inner_text() and "FAIL" in rows.nth(1).inner_text()
    page.close()


def test_the_check_sees_a_page_that_needs_the_network(browser, tmp_path):
    """The guard itself goes red: a page that loads BokehJS from a CDN is refused and draws nothing."""
    from bokeh.embed import file_html
    from bokeh.plotting import figure
    from bokeh.resources import CDN

    fig = figure()
    fig.line([1, 2], [1, 2])
    path = tmp_path / "cdn.html"
    path.write_text(file_html(fig, CDN, "cdn"))
    page, refused, errors = open_offline(browser, path)
    page.wait_for_load_state()
    assert refused and all("bokeh" in url for url in refused), refused
    assert page.evaluate("() => typeof window.Bokeh") == "undefined"
    page.close()


def test_a_run_plot_opens_offline(browser, tmp_path):
    from workbench.engine import backtest
    from workbench.feed import load_dataset_bars
    from workbench.strategies import SmaCross

    path = backtest(SmaCross(), load_dataset_bars("sp500").loc["2015":]).plot(tmp_path / "run.html")
    page, refused, errors = open_offline(browser, path)
    assert bokeh_drew(page)
    assert refused == [] and errors == [], (refused, errors)
    page.screenshot(path=str(tmp_path / "run.png"))
    page.close()
