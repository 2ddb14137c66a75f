"""Browser fixtures: one headless system Chromium per test module, a fresh context per page.

Playwright's sync API marks its own event loop as the thread's running loop
between calls for as long as the browser is up. pytest-asyncio runs async tests
on a session loop in this same thread and refuses to while another loop
"runs", so the browser must be gone before any async test: hence module scope,
never session scope, and no async tests in a module that uses these fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# The network is closed in CI: no first-run, sync, update or telemetry traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 10_000

NewPage = Callable[..., Page]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # A missing browser is a broken test machine, not a reason to pass: .ci/run installs it.
    assert CHROMIUM.exists(), f"no system Chromium at {CHROMIUM}: apt-get install chromium"
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """Opens a page in a fresh browser context (own cookies): one per person in a test.

    Fails the test if a page hit a JavaScript error: broken htmx or live.js would
    otherwise go unnoticed while the server-rendered fallback still passes.
    """
    opened: list[tuple[Any, list[str]]] = []

    def open_page(**context_options: Any) -> Page:
        context = browser.new_context(**context_options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        opened.append((context, errors))
        return page

    yield open_page
    for context, _ in opened:
        context.close()
    problems = [error for _, errors in opened for error in errors]
    assert not problems, f"JavaScript errors in the page: {problems}"


@pytest.fixture
def page(new_page: NewPage) -> Page:
    return new_page()
