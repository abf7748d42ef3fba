"""Real Chromium on the reporter pages' safeguards: a page whose script runs but cannot seal
(or open the mailbox) sends nothing in the clear until the reporter chooses basic mode; the
pages refuse a server that asks for less than the floors built into them; the report form asks
the browser not to remember answers, and the receipt's copy button warns that clipboards keep
what was copied."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

import crypto
from tests.conftest import ChannelSetup
from tests.helpers.browser import RECEIPT_TEXT, WORKER_SCRIPT, RecordingApp, fill_report_form

FLOOR_SENTENCES = {
    "opslimit": "The server asks for an Argon2id cost below 3 passes, which this client "
                "refuses.",
    "memlimit": "The server asks for less than 64 MiB of Argon2id memory, which this client "
                "refuses.",
    "padBlock": "The server asks for a padding block below 1024 bytes, which this client "
                "refuses.",
}
COPY_WARNING = ("Copied text can stay in the clipboard's history or reach your other devices: "
                "writing the receipt down is safer.")


def _posts(recorder: RecordingApp) -> list[str]:
    return [r.path for r in recorder.received if r.method == "POST"]


def _page_strings(client: FlaskClient, url: str) -> dict[str, str]:
    page = client.get(url).get_data(as_text=True)
    found = re.search(r"data-strings='([^']*)'", page)
    assert found, url
    strings: dict[str, str] = json.loads(html.unescape(found.group(1)))
    return strings


# --- no silent downgrade ------------------------------------------------------------------


def _worker_missing(route: Any) -> None:
    route.fulfill(status=404, content_type="text/plain", body="not here")


def _worker_that_throws(route: Any) -> None:
    # Served as the worker script; the integrity check refuses it before it could run.
    route.fulfill(status=200, content_type="text/javascript",
                  body="throw new Error('no libsodium');")


@pytest.mark.parametrize("failure", [_worker_missing, _worker_that_throws], ids=["404", "throws"])
def test_without_a_working_worker_nothing_goes_in_the_clear_until_chosen(
    page, base_url: str, recorder: RecordingApp, channel: ChannelSetup, failure: Any
) -> None:
    from playwright.sync_api import expect

    page.route(WORKER_SCRIPT, failure)
    page.goto(f"{base_url}/report/{channel.slug}")
    expect(page.locator("#mode-warning")).to_be_visible()
    expect(page.locator("#mode")).to_have_attribute("data-mode", "plain")
    fill_report_form(page, channel.slug)
    choice = page.locator("#basic-choice")
    expect(choice).to_be_hidden()

    page.get_by_role("button", name="Send the report").click()
    expect(choice).to_be_visible()
    expect(choice).to_be_focused()
    expect(choice).to_contain_text("Your report cannot be sealed on this device")
    expect(choice).to_contain_text("it then reaches the server readable")
    # Pressed again: still nothing sent, the page still on the form.
    page.get_by_role("button", name="Send the report").click()
    page.wait_for_timeout(300)
    assert _posts(recorder) == []
    expect(page.locator("#report-form")).to_be_visible()

    page.get_by_role("button", name="Send in basic mode").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your report was received")
    assert RECEIPT_TEXT.match(page.locator("#receipt").inner_text().strip())
    assert _posts(recorder) == [f"/report/{channel.slug}"]


def test_the_mailbox_sends_no_receipt_until_basic_mode_is_chosen(
    page, base_url: str, app, recorder: RecordingApp, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    from tests.protocol_client import ReporterClient

    filed = ReporterClient(app.test_client()).file(channel.slug, {"what": "MARKER-BASIC-5e1"})
    receipt = filed.receipt
    page.route(WORKER_SCRIPT, _worker_missing)
    page.goto(f"{base_url}/mailbox")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "plain")
    page.get_by_label("Your 20-digit receipt").fill(receipt)
    choice = page.locator("#basic-choice")
    page.get_by_role("button", name="Open", exact=True).click()
    expect(choice).to_be_visible()
    expect(choice).to_be_focused()
    expect(choice).to_contain_text("Your receipt was not sent.")
    assert _posts(recorder) == []
    page.get_by_role("button", name="Open in basic mode").click()
    expect(page.locator("#report-answers")).to_contain_text("MARKER-BASIC-5e1")
    assert _posts(recorder) == ["/mailbox"]


def test_without_javascript_the_form_goes_as_before(
    browser, base_url: str, recorder: RecordingApp, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{base_url}/report/{channel.slug}")
        expect(page.locator("#basic-choice")).to_be_hidden()
        fill_report_form(page, channel.slug)
        page.get_by_role("button", name="Send the report").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your report was received")
        assert _posts(recorder) == [f"/report/{channel.slug}"]
        # No script shows the copy button, nor its warning.
        expect(page.locator("#copy-receipt")).to_be_hidden()
        expect(page.locator("#copy-receipt-warning")).to_be_hidden()
    finally:
        context.close()


# --- floors -------------------------------------------------------------------------------


@pytest.mark.parametrize(("settings_overrides", "floor"), [
    ({"kdf_opslimit": 2}, "opslimit"),
    ({"kdf_memlimit": 33554432}, "memlimit"),
    ({"pad_block": 512}, "padBlock"),
], ids=["opslimit", "memlimit", "pad_block"])
def test_a_server_below_the_floors_is_refused_before_anything_is_sent(
    page, base_url: str, recorder: RecordingApp, channel: ChannelSetup, floor: str
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/report/{channel.slug}")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    fill_report_form(page, channel.slug)
    page.get_by_role("button", name="Send the report").click()
    alert = page.locator("#form-error")
    expect(alert).to_have_text(FLOOR_SENTENCES[floor])
    expect(alert).to_have_attribute("role", "alert")
    expect(page.locator("#receipt-panel")).to_be_hidden()
    expect(page.get_by_role("button", name="Send the report")).to_be_enabled()

    page.goto(f"{base_url}/mailbox")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    page.fill("#receipt-input", crypto.format_receipt(crypto.generate_receipt()))
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#form-error")).to_have_text(FLOOR_SENTENCES[floor])
    expect(page.locator("#mailbox-view")).to_be_hidden()
    assert _posts(recorder) == []  # no upload, no report, no mailbox look-up
    assert page.console_errors == []


def test_the_floor_sentences_come_through_the_catalog(
    client: FlaskClient, channel: ChannelSetup
) -> None:
    for url in (f"/report/{channel.slug}", "/mailbox"):
        strings = _page_strings(client, url)
        assert {key: strings[f"floor_{key}"] for key in FLOOR_SENTENCES} == FLOOR_SENTENCES, url


# --- the form and the receipt -------------------------------------------------------------


def test_the_form_is_not_remembered_and_the_copy_button_warns(
    page, base_url: str, client: FlaskClient, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    assert 'id="report-form" class="stack wide" novalidate autocomplete="off"' in client.get(
        f"/report/{channel.slug}").get_data(as_text=True)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{base_url}/report/{channel.slug}")
    expect(page.locator("#report-form")).to_have_attribute("autocomplete", "off")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    warning = page.locator("#copy-receipt-warning")
    expect(warning).to_be_hidden()
    page.fill("#q-what", "Something happened at the gate.")
    page.get_by_role("button", name="Send the report").click()
    expect(page.locator("#receipt-panel")).to_be_visible()
    copy = page.locator("#copy-receipt")
    expect(copy).to_be_visible()
    expect(warning).to_be_visible()
    expect(warning).to_have_text(COPY_WARNING)
    expect(copy).to_have_attribute("aria-describedby", "copy-receipt-warning")
    copy.click()
    expect(copy).to_have_text("Copied")
    expect(warning).to_be_visible()
    assert page.console_errors == []
