"""Real Chromium for the dashboard's browser tests: Debian's /usr/bin/chromium driven by
Playwright from PyPI (never `playwright install`); screenshots at a phone and a laptop size go
to the `artifacts_dir` folder.

One browser serves every browser test: they all live in `test_browser.py` and the fixture is
module-scoped, so Playwright's own event loop is gone before the asyncio tests that follow."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}


def chromium_path() -> str | None:
    """Debian's chromium, if installed (`.ci/run` installs it)."""
    found = shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).exists() else None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for all the browser tests."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=path, headless=True, args=ARGS)
        yield launched
        launched.close()
