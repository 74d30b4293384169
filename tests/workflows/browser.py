"""A real Chromium for the billing page's tests: Debian's `chromium`, driven by Playwright.

`.ci/run` installs the package when it is missing; a machine without it fails these tests
with what to install, never skips them. Screenshots go to ``TENURE_SCREENSHOT_DIR`` when it
is set (`docs/images/` is refreshed that way), else to the test's own directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

# As root in a container, with a closed network: no sandbox, and none of the background
# connections Chromium would otherwise try (they are refused, many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Where Debian's Chromium is (the test fails naming the package when it is not)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("no chromium on PATH: `apt-get install chromium` (.ci/run does it)")
    return found


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium, closed on exit."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def screenshot_dir(tmp_path: Path) -> Path:
    """Where this run's screenshots go."""
    chosen = os.environ.get("TENURE_SCREENSHOT_DIR")
    directory = Path(chosen) if chosen else tmp_path
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def shot(page: Page, directory: Path, name: str, selector: str | None = None) -> Path:
    """A PNG of the page (or of one section) named ``name``."""
    path = directory / f"{name}.png"
    if selector is None:
        await page.screenshot(path=str(path), full_page=True)
    else:
        await page.locator(selector).screenshot(path=str(path))
    return path
