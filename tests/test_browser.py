"""The published pages in a real browser (headless Chromium through playwright): no console error,
no page error, no request leaving the local server, every image decodes. Screenshots go to the
test's temporary folder.

Without /usr/bin/chromium the test is skipped, unless ANALYSIS_REQUIRE_BROWSER=1 (CI), then it fails.
"""

from __future__ import annotations

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


@pytest.fixture
def served(fixture_suite):
    """The fixture suite's reports folder on http://127.0.0.1:<port>/."""
    handler = functools.partial(_QuietHandler, directory=str(fixture_suite.reports))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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
