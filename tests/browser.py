"""Playwright fixtures: Debian's Chromium, driven with Playwright's sync API.

Browsers cannot be downloaded here, so the system Chromium is launched by path. A test
that uses these fixtures fails (never skips) when Chromium is missing.
Override `browser_context_args` in a test module to set e.g. the browser's time zone.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    # The sync API keeps an event loop running in this thread; Django's ORM refuses to
    # run beside one unless told it is safe (it is: the test drives the loop, not Django).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_context_args() -> dict:
    """Options of each test's browser context (see Browser.new_context)."""
    return {"locale": "en-GB", "viewport": {"width": 390, "height": 844}}


@pytest.fixture
def page(browser, browser_context_args):
    """A fresh tab in a fresh context (no cookies shared between tests)."""
    context = browser.new_context(**browser_context_args)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()
