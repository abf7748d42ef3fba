"""Real Chromium closing the mailbox: with JavaScript the page forgets the receipt, the keys, the
report and the thread (nothing in the DOM, the inputs, storage or a cookie) and opens another
mailbox with a fresh worker; without it the mailbox token ends on the server. And the receipt
the page shows says when to come back."""

from __future__ import annotations

from typing import Any

from flask import Flask

import crypto
from tests.conftest import ChannelSetup
from tests.helpers.browser import (
    PAGE_GLOBALS,
    RecordingApp,
    file_with_javascript,
    stored_in_page,
)
from tests.protocol_client import ReporterClient

REPORT_MARK = "MARKER-CLOSE-REPORT-3c9e"
THREAD_MARK = "MARKER-CLOSE-THREAD-81fa"


def _filed(app: Flask, channel: ChannelSetup) -> crypto.ReporterKeys:
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, {"what": REPORT_MARK})
    reporter.reply(filed.receipt, THREAD_MARK)
    return filed


def _open(page: Any, base_url: str, receipt: str) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Your 20-digit receipt").fill(crypto.format_receipt(receipt))
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page.locator("#thread")).to_contain_text(THREAD_MARK)


def _values(page: Any) -> list[str]:
    return page.eval_on_selector_all("input, textarea", "(all) => all.map((e) => e.value)")


def test_closing_the_mailbox_leaves_nothing_of_it_in_the_page(
        page: Any, base_url: str, app: Flask, channel: ChannelSetup) -> None:
    from playwright.sync_api import expect

    filed = _filed(app, channel)
    receipt = filed.receipt
    page.goto(f"{base_url}/mailbox")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    _open(page, base_url, receipt)
    expect(page.locator("#report-answers")).to_contain_text(REPORT_MARK)
    expect(page.locator("#close-hint")).to_contain_text("On a shared device, close the mailbox")
    history_length = page.evaluate("history.length")

    page.get_by_role("button", name="Close the mailbox").click()
    expect(page.locator("#mailbox-form")).to_be_visible()
    expect(page.get_by_label("Your 20-digit receipt")).to_be_focused()
    expect(page.locator("#closed-notice")).to_contain_text("The mailbox is closed.")
    expect(page.locator("#mailbox-view")).to_be_hidden()
    content = page.content()
    for secret in (receipt, crypto.format_receipt(receipt), REPORT_MARK, THREAD_MARK):
        assert secret not in content
    assert all(receipt not in value and value.replace(" ", "") != receipt
               for value in _values(page))
    assert stored_in_page(page) == {"local": {}, "session": {}, "indexedDB": [], "cookies": ""}
    assert page.context.cookies() == []
    # No global of the page leads to the receipt or the keys it gave.
    found = page.evaluate(PAGE_GLOBALS)
    for secret in (receipt, crypto.b64encode(filed.keys.secret_key),
                   crypto.b64encode(filed.keys.lookup)):
        assert not [text for text in found if secret in text]
    # The history entry was replaced, not added to: Back leads away from the mailbox page.
    assert page.evaluate("history.length") == history_length
    assert page.evaluate("history.state") is None
    assert page.console_errors == []

    # The page opens a mailbox again, with the worker started afresh.
    _open(page, base_url, receipt)
    expect(page.locator("#closed-notice")).to_be_hidden()
    page.get_by_role("button", name="Close the mailbox").click()
    expect(page.locator("#mailbox-form")).to_be_visible()
    assert THREAD_MARK not in page.content()


def test_without_javascript_closing_ends_the_mailbox_token(
        browser: Any, base_url: str, app: Flask, channel: ChannelSetup,
        recorder: RecordingApp) -> None:
    from playwright.sync_api import expect

    filed = _filed(app, channel)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{base_url}/mailbox")
        _open(page, base_url, filed.receipt)
        token = page.locator("#reply-form input[name=mailbox_token]").input_value()
        page.get_by_role("button", name="Close the mailbox").click()
        expect(page.locator("#closed-notice")).to_contain_text("The mailbox is closed.")
        expect(page.get_by_label("Your 20-digit receipt")).to_have_value("")
        content = page.content()
        for secret in (filed.receipt, token, REPORT_MARK, THREAD_MARK):
            assert secret not in content
        assert context.cookies() == []
    finally:
        context.close()
    # The token the page held opens nothing any more.
    from integrity.reporting import mailbox_tokens

    assert mailbox_tokens.redeem(app.extensions["integrity.mailbox_tokens"], token) is None
    assert [r.path for r in recorder.received if r.method == "POST"] == [
        "/mailbox", "/mailbox/close"]


def test_the_receipt_shown_by_the_page_says_when_to_come_back(
        page: Any, base_url: str, channel: ChannelSetup) -> None:
    from playwright.sync_api import expect

    file_with_javascript(page, base_url, channel, next(iter(channel.inspectors)))
    panel = page.locator("#receipt-panel")
    expect(panel).to_contain_text("The inspectors acknowledge a report within 7 days")
    expect(panel).to_contain_text("give you feedback on it within 3 months")
    expect(panel).to_contain_text("come back with your receipt after a few days, and again later")
