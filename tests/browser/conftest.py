"""The browser tests share one live server and one headless Chromium; each test gets its own browser context (fresh
cache and cookies). They reuse the platform tests' bundle, data folder and study fixtures."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from tests.platform.conftest import bundle, data_dir, mixed_bundle, mixed_study, study  # noqa: F401 - fixtures
from tests.platform.nginx_site import collected_static, nginx_site  # noqa: F401 - fixtures

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's) for the whole session, driven through Playwright's sync API."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser):
    """Open pages (1600×1000) in fresh contexts, e.g. `new_page(extra_http_headers={...})`; a JavaScript error on
    any of them fails the test."""
    contexts, errors = [], []

    def open_page(**options):
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, **options)
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(20_000)
        tab.on("pageerror", lambda error: errors.append(str(error)))
        return tab

    yield open_page
    for context in contexts:
        context.set_offline(True)  # closing runs the pages' unload handlers: their last autosave must not reach
        context.close()  # the server while the test database is being emptied
    _wait_for_the_live_server_to_finish_its_requests()
    assert errors == [], errors


def _wait_for_the_live_server_to_finish_its_requests(limit_s: float = 10.0) -> None:
    """Requests a page sent before it closed may still be running in the live server's request threads; the test
    database is emptied right after this fixture, so let them finish first (a write landing mid-flush breaks it)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        target = "process_request_thread"
        busy = [t for t in threading.enumerate() if getattr(getattr(t, "_target", None), "__name__", "") == target]
        if not busy:
            return
        time.sleep(0.05)


@pytest.fixture
def page(new_page):
    """A page in a fresh context."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return new_page()
