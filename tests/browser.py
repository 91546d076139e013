"""A real headless browser for the tests that look at pages: Debian's Chromium (`.ci/run`
installs it) driven by playwright; without either, skipped locally and failed on CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sql_servers import unavailable

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def chromium():  # noqa: ANN201 - a playwright Browser
    """Headless Chromium for one test module."""
    if not CHROMIUM.exists():
        unavailable(f"no {CHROMIUM}: apt-get install chromium to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("no playwright: pip install -e '.[test]' to run the browser tests")
    with sync_playwright() as playwright:
        # Playwright's own browser downloads are not used: Debian's Chromium, no sandbox (root).
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()
