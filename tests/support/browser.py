"""A real browser for the tests: Debian's headless Chromium, driven by Playwright.

Playwright is told where Debian's ``chromium`` is (``executable_path``); no browser is
ever downloaded (``playwright install`` is never run). Without ``/usr/bin/chromium``
the tests that need it are skipped with that reason, except in CI (``CI=true``), where
``.ci/run`` installs it and its absence is a failure.

Fixtures: ``browser`` (a Chromium for the test) and ``browser_page`` (a page in a fresh
context, 1400 by 900). Both are per test: Playwright's sync API keeps an event loop
running in the main thread while it is open, and ``asyncio.run`` in a later test
would refuse to start under it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["CHROMIUM_ARGS", "browser", "browser_page", "chromium_path"]

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
"""A quiet browser: no sandbox (root in containers), no GPU, no network of its own."""


def chromium_path() -> str | None:
    """Debian's Chromium, if it is installed."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium, closed after the test."""
    executable = chromium_path()
    if executable is None:
        reason = "Chromium is not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; .ci/run installs it, so CI must have it")
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a test dependency
        pytest.fail("playwright is missing: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context (no cookies from other tests)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
