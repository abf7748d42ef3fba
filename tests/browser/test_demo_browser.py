"""The demo installation in real Chromium: the demo inspector signs in and opens a demo case
(the newest: a generated one, or one of those that show the case features)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from integrity.demo import WHAT
from integrity.demo_cases import TEXTS
from tests.conftest import DEMO_INSPECTOR as INSPECTOR
from tests.helpers.browser import serving, sign_in_in_browser


@pytest.fixture
def demo_url(demo_app: Flask) -> Iterator[str]:
    with serving(demo_app) as url:
        yield url


def test_the_demo_inspector_opens_a_demo_case_in_chromium(
        page, demo_url: str) -> None:
    bodies: list[str] = []
    page.on("request", lambda request: bodies.append(request.post_data or ""))
    sign_in_in_browser(page, demo_url, INSPECTOR)
    page.wait_for_url("**/cases/")
    page.locator("table a").first.click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    assert page.inner_text("#case-answers").strip()
    assert any(what in page.inner_text("#case-answers") for what in (*WHAT, *TEXTS))
    assert page.locator("#key-file-form").is_hidden()
    assert not any(INSPECTOR.password in body for body in bodies)
    assert page.console_errors == []
