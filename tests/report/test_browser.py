"""The published pages in a real browser (headless Chromium through playwright): no console error,
no page error, no request leaving the local server, every image decodes. Screenshots go to the
test's temporary folder.

Without /usr/bin/chromium the test is skipped, unless ANALYSIS_REQUIRE_BROWSER=1 (CI), then it fails.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fixture_suite")]


def _need_browser():
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (install Debian's chromium and fonts-noto-cjk)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed"
    if reason:
        if os.environ.get("ANALYSIS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser required (ANALYSIS_REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@contextlib.contextmanager
def _serve(folder: Path):
    """``folder`` on http://127.0.0.1:<port>/."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def served(fixture_suite):
    """The fixture suite's reports folder on http://127.0.0.1:<port>/."""
    with _serve(fixture_suite.reports) as url:
        yield url


def _watched_page(browser, base: str, problems: list[str], outside: list[str]):
    """A 1280 x 900 page that records console errors, page errors, failed requests and requests
    leaving the local server (which it blocks)."""

    def route(r):
        if r.request.url.startswith(base + "/") or r.request.url.startswith("data:"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("**/*", route)
    page.on("console", lambda m: problems.append(f"{page.url}: console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}") if r.url not in outside else None)
    return page


def test_pages_in_headless_chromium(served, tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith(served + "/") or r.request.url.startswith("data:"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", route)
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}") if r.url not in outside else None)

            page.goto(f"{served}/index.html", wait_until="load")
            assert "分析报告目录" in page.title()
            assert page.locator("#report-02_broken .badge.failed").count() == 1
            page.screenshot(path=str(tmp_path / "index.png"), full_page=True)

            page.click("text=测试报告 / Fixture report")  # the index links to the report
            page.wait_for_load_state("load")
            assert page.url == f"{served}/01_good.html"
            assert page.locator("h1").first.inner_text() == "测试报告 / Fixture report"
            images = page.locator("img")
            assert images.count() >= 1
            assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
            font = page.evaluate("getComputedStyle(document.body).fontFamily")
            assert font.startswith('"Noto Sans CJK SC"')
            page.screenshot(path=str(tmp_path / "01_good.png"), full_page=True)

            page.click("text=← 报告目录 Index")  # and back
            page.wait_for_load_state("load")
            assert page.url == f"{served}/index.html"

            page.goto(f"{served}/02_broken.html", wait_until="load")
            assert page.locator(".run-error").count() == 1
            assert "故意失败" in page.locator(".run-error").inner_text()
            page.screenshot(path=str(tmp_path / "02_broken.png"), full_page=True)
        finally:
            browser.close()

    assert outside == [], f"requests outside the local server: {outside}"
    assert problems == []
    assert all((tmp_path / f).stat().st_size > 10_000 for f in ("index.png", "01_good.png", "02_broken.png"))


def test_overview_and_every_unit_page_in_headless_chromium(unit_suite, tmp_path):
    """The campaign overview answers on its first screen, links every unit page, and every unit page
    opens cleanly (one browser, one tab, 26 pages)."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    outside: list[str] = []
    units = unit_suite.manifest["units"]
    with _serve(unit_suite.reports) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = _watched_page(browser, base, problems, outside)
            page.goto(f"{base}/index.html", wait_until="load")
            assert "服务提升年总览" in page.title()
            verdict = page.locator(".ov-verdict")
            assert verdict.count() == 1
            box = verdict.bounding_box()
            assert box["y"] + box["height"] < 900  # the answer is on the first screen
            assert page.locator(".ov-targets tbody tr").count() == 15
            grid = page.locator("ol.unit-grid li a")
            assert grid.count() == 25
            last = page.locator("ol.unit-grid li").last.bounding_box()
            assert last["y"] + last["height"] <= 900, "the unit links should fit on the first screen at 1280 x 900"
            page.screenshot(path=str(tmp_path / "overview.png"))
            page.screenshot(path=str(tmp_path / "overview_full.png"), full_page=True)

            page.locator("ol.unit-grid li a").first.click()  # the leader's page
            page.wait_for_load_state("load")
            assert page.url == f"{base}/units/{units[0]['unit_id']}.html"
            page.click("text=← 报告目录 Index")  # and back to the overview
            page.wait_for_load_state("load")
            assert page.url == f"{base}/index.html"

            for u in units:
                page.goto(f"{base}/{u['html']}", wait_until="load")
                assert page.locator("h1").first.inner_text() == f"{u['unit_name']} · 支行报告 / Unit scorecard"
                assert page.locator(".unit-cards .card").count() >= 5
                assert page.locator("h2", has_text="先改这三件事").count() == 1
                assert page.locator(".run-error").count() == 0
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{u['unit_id']}: page wider than the screen"
            page.screenshot(path=str(tmp_path / "unit_last.png"), full_page=True)
        finally:
            browser.close()

    assert outside == [], f"requests outside the local server: {outside}"
    assert problems == []
    assert (tmp_path / "overview.png").stat().st_size > 10_000
