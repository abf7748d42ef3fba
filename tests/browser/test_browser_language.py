"""Real Chromium, JavaScript on: a language chosen in the address holds through filing a report
and answering a survey, and nothing is left in the browser's cookie jar."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from integrity.models import today
from tests.conftest import ChannelSetup
from tests.helpers.browser import RECEIPT_TEXT, fill_report_form
from tests.helpers.languages import translated
from tests.helpers.surveys import open_survey


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"languages": ("en", "fr", "ar", "ru")}


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-GB")  # the browser asks for English
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def language_in_address(page) -> list[str] | None:
    return parse_qs(urlsplit(page.url).query).get("lang")


def test_a_report_filed_in_the_page_opened_in_french_gets_a_french_receipt_and_no_cookie(
    page, base_url: str, app: Flask, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/?lang=fr")
    page.locator("a.button.primary").click()  # "Make a report", in French
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    assert urlsplit(page.url).path == f"/report/{channel.slug}"
    assert language_in_address(page) == ["fr"]
    fill_report_form(page, channel.slug)
    page.locator("#report-form button[type=submit]").click()
    panel = page.locator("#receipt-panel")
    expect(panel).to_be_visible()
    assert RECEIPT_TEXT.match(page.locator("#receipt").inner_text().strip())
    assert page.locator("html").get_attribute("lang") == "fr"
    heading = translated(app, "Your report was received", "fr")
    assert heading != "Your report was received"
    expect(page.locator("#receipt-heading")).to_have_text(heading)
    expect(panel).to_contain_text(translated(app, "Your receipt", "fr"))
    assert page.context.cookies() == []
    # On to the mailbox from the receipt: still French; then Arabic with the footer's picker.
    panel.get_by_role("link", name=translated(app, "Open the mailbox", "fr")).click()
    expect(page.locator("h1")).to_have_text(translated(app, "Your mailbox", "fr"))
    assert language_in_address(page) == ["fr"]
    page.select_option("#site-language", "ar")
    page.locator(".language-picker button").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert urlsplit(page.url).path == "/mailbox" and language_in_address(page) == ["ar"]
    assert page.context.cookies() == []
    assert page.errors == []


def test_the_survey_page_drops_the_code_from_the_address_but_keeps_the_language(
    page, base_url: str, app: Flask, db: Session
) -> None:
    from playwright.sync_api import expect

    code = open_survey(db, today=today()).code_for(0)
    page.goto(f"{base_url}/survey?code={code}&lang=fr")
    expect(page.locator("#survey-form")).to_be_visible()
    page.wait_for_function("!location.search.includes('code=')")
    assert language_in_address(page) == ["fr"]
    page.reload()  # the address left in the history opens the code page, still in French
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.context.cookies() == []
    assert page.errors == []
