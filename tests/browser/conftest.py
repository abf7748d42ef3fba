"""Fixtures of the tests that drive real Chromium: the browser, the served app, pages.

Every test here that starts Chromium (through ``browser``, ``page``, ``open_page`` or any
fixture built on ``playwright_instance``) is marked ``browser`` and skipped when Chromium is not
installed; the other tests here run everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from integrity.app import create_app
from integrity.db import dispose
from tests.helpers.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RecordingApp,
    browser_settings,
    serving,
    watched_page,
)

# How long an expectation about a page waits for it to come true (Playwright's default is 5 s).
# The suite's workers share the machine's cores with Chromium, and a page that derives keys
# with Argon2id at the floors' cost can need longer than that under load.
EXPECT_TIMEOUT_MS = 20_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = not Path(CHROMIUM).exists()
    for item in items:
        if "playwright_instance" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(reason="Chromium is not installed"))


@pytest.fixture
def app(
    tmp_path: Path, database_url: str, settings_overrides: dict[str, object]
) -> Iterator[Flask]:
    """As tests/conftest.py's, at the floors the reporter pages enforce (browser_settings)."""
    application = create_app(browser_settings(tmp_path, database_url, **settings_overrides))
    yield application
    dispose(application)


@pytest.fixture
def server(app: Flask) -> Iterator[tuple[str, RecordingApp]]:
    """The app under a real HTTP server on a free loopback port, every request recorded."""
    recorder = RecordingApp(app)
    with serving(recorder) as url:
        yield url, recorder


@pytest.fixture
def base_url(server: tuple[str, RecordingApp]) -> str:
    return server[0]


@pytest.fixture
def recorder(server: tuple[str, RecordingApp]) -> RecordingApp:
    return server[1]


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance: Any) -> Iterator[Any]:
    instance = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """New pages, each in a context of its own (a person of their own), noting errors and
    requests; options go to ``browser.new_context``."""
    contexts = []

    def make(**options: Any) -> Any:
        context = browser.new_context(**{"accept_downloads": True, **options})
        contexts.append(context)
        return watched_page(context)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Any) -> Any:
    """A page in a fresh context: ``page.console_errors`` and ``page.sent`` say what happened."""
    return open_page()
