"""Real Chromium files reports and uses the mailbox: sealed in the page (protected mode), and
through the plain forms (JavaScript off, or no WebAssembly). What the page sealed is opened
here with PyNaCl and an inspector's key, so the two implementations are checked together."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from crypto.stream import padded_length, sealed_length
from integrity.reporting.models import KeySlot, Message, Report
from tests.conftest import ChannelSetup
from tests.helpers.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EVIDENCE,
    EXPECTED_ANSWERS,
    FILE_MARKER,
    RECEIPT_TEXT,
    REPORT_MARKER,
    WHAT,
    WORKER_SCRIPT,
    RecordingApp,
    file_payload,
    file_with_javascript,
    fill_report_form,
)

# --- what the tests send and check --------------------------------------------------------

REPLY_MARKER = "MARKER-REPLY-c41b77"
REPLY_FILE_MARKER = b"MARKER-REPLY-FILE-9e8d11"
REPLY_FILE = file_payload(REPLY_FILE_MARKER, 70 * 1024)


def pad_block(app: Flask) -> int:
    return int(app.extensions["integrity.settings"].pad_block)


def open_file(app: Flask, entry: dict[str, Any]) -> bytes:
    """An attachment blob as stored, opened with the key from its document entry. The browser
    sealed the file padded with zeros to its Padmé length; the entry's size cuts it back."""
    store = app.extensions["integrity.attachments"]
    padded = padded_length(entry["size"], app.extensions["integrity.settings"].max_attachment_bytes)
    assert store.size(entry["id"]) == sealed_length(padded)
    whole, out = io.BytesIO(), io.BytesIO()
    key = crypto.b64decode(entry["key"], 32)
    with store.open(entry["id"]) as sealed:
        crypto.open_file(sealed, whole, key)
    assert whole.getvalue()[entry["size"]:] == bytes(padded - entry["size"])
    with store.open(entry["id"]) as sealed:
        crypto.open_file(sealed, out, key, entry["size"])
    return out.getvalue()


def only_report(db: Session) -> Report:
    db.expire_all()
    return db.scalars(select(Report)).one()


def open_for_inspector(app: Flask, channel: ChannelSetup, payload: bytes,
                       slots: dict[str, bytes], inspector: str) -> dict[str, Any]:
    return crypto.open_document(payload, slots[inspector], channel.inspectors[inspector].secret_key,
                                pad_block(app))


def check_stored_report(app: Flask, db: Session, channel: ChannelSetup, receipt: str,
                        readers: set[str]) -> Report:
    """The report opens for each inspector reader to the expected answers and file."""
    report = only_report(db)
    slots = {slot.reader: slot.slot for slot in report.key_slots}
    assert set(slots) == readers | {"reporter"}
    assert {str(user.id) for user in report.readers} == readers
    assert report.category is not None and report.category.slug == "bribery"
    salt = crypto.b64decode(app.test_client().get("/api/v1/config").get_json()["salt"])
    settings = app.extensions["integrity.settings"]
    keys = crypto.derive_reporter_keys(receipt, salt, settings.kdf_opslimit, settings.kdf_memlimit)
    assert report.lookup_hash == crypto.keyed_lookup_hash(keys.lookup,
                                                          app.extensions["integrity.lookup_key"])
    assert report.reporter_public_key == keys.public_key
    for inspector in readers:
        document = open_for_inspector(app, channel, report.payload, slots, inspector)
        assert document["answers"] == EXPECTED_ANSWERS
        [entry] = document["attachments"]
        assert (entry["name"], entry["size"]) == ("evidence.bin", len(EVIDENCE))
        assert entry["type"] == "application/octet-stream"
        assert open_file(app, entry) == EVIDENCE
    # The reporter's own slot opens too (the mailbox depends on it).
    assert crypto.open_document(report.payload, slots["reporter"], keys.secret_key,
                                pad_block(app))["answers"] == EXPECTED_ANSWERS
    return report


def check_reply(app: Flask, db: Session, channel: ChannelSetup, report: Report,
                text: str, file: bytes | None) -> None:
    db.expire_all()
    message = db.scalars(select(Message).where(Message.report_id == report.id)).one()
    assert message.sender == "reporter"
    slots = {slot.reader: slot.slot for slot in db.scalars(
        select(KeySlot).where(KeySlot.message_id == message.id))}
    readers = {str(user.id) for user in report.readers}
    assert set(slots) == readers | {"reporter"}
    for inspector in readers:
        document = open_for_inspector(app, channel, message.payload, slots, inspector)
        assert document["text"] == text
        if file is None:
            assert document["attachments"] == []
        else:
            [entry] = document["attachments"]
            assert entry["name"] == "reply.bin" and entry["size"] == len(file)
            assert open_file(app, entry) == file


def secrets_of(app: Flask, receipt: str) -> dict[str, bytes]:
    """Byte strings that must never leave the page: the receipt, and what it derives to."""
    salt = crypto.b64decode(app.test_client().get("/api/v1/config").get_json()["salt"])
    settings = app.extensions["integrity.settings"]
    keys = crypto.derive_reporter_keys(receipt, salt, settings.kdf_opslimit, settings.kdf_memlimit)
    formatted = crypto.format_receipt(receipt)
    return {
        "receipt": receipt.encode(), "formatted receipt": formatted.encode(),
        "receipt with dashes": formatted.replace(" ", "-").encode(),
        "reporter secret key": crypto.b64encode(keys.secret_key).encode(),
        "raw reporter secret key": keys.secret_key,
    }


def lookup_of(app: Flask, receipt: str) -> str:
    salt = crypto.b64decode(app.test_client().get("/api/v1/config").get_json()["salt"])
    settings = app.extensions["integrity.settings"]
    return crypto.b64encode(crypto.derive_reporter_keys(
        receipt, salt, settings.kdf_opslimit, settings.kdf_memlimit).lookup)


def assert_never_sent(page, recorder: RecordingApp, forbidden: dict[str, bytes]) -> None:
    """No URL and no body (as Chromium sent it and as the server received it) holds them."""
    assert recorder.received and page.sent
    for sent in page.sent:
        for what, value in forbidden.items():
            assert value not in sent.url.encode(), f"{what} in the URL {sent.url}"
            assert sent.body is None or value not in sent.body, f"{what} sent to {sent.url}"
    for received in recorder.received:
        for what, value in forbidden.items():
            assert value not in f"{received.path}?{received.query}".encode(), f"{what} in a URL"
            assert value not in received.body, f"{what} reached {received.path}"


def assert_lookup_only_in_its_field(page, recorder: RecordingApp, lookup: str,
                                    paths: set[str]) -> None:
    """The lookup (the reporter's credential) travels only as the "lookup" of API bodies."""
    needle = lookup.encode()
    for sent in page.sent:
        assert needle not in sent.url.encode()
    for received in recorder.received:
        assert needle not in f"{received.path}?{received.query}".encode()
        if needle in received.body:
            assert received.path in paths, received.path
            assert json.loads(received.body)["lookup"] == lookup
            assert received.body.count(needle) == 1


def assert_nothing_stored(page) -> None:
    """Nothing in cookies or web storage: the page keeps the receipt in memory only."""
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("sessionStorage.length") == 0
    # The browser's own jar: it also holds HttpOnly cookies, which document.cookie hides.
    assert page.context.cookies() == []


# --- a: protected mode, end to end --------------------------------------------------------


def test_report_sealed_in_the_page_opens_with_pynacl(
    page, base_url: str, recorder: RecordingApp, app: Flask, db: Session, channel: ChannelSetup
) -> None:
    first, second = sorted(channel.inspectors, key=int)
    receipt = file_with_javascript(page, base_url, channel, exclude=second)

    # The page filed through the API, not the plain form.
    assert not recorder.posts(f"/report/{channel.slug}")
    [filing] = recorder.posts("/api/v1/reports")
    body = json.loads(filing.body)
    assert body["excluded"] == [second] and body["category"] == "bribery"
    assert body["org_unit"] is None and "pow" in body
    # Chromium does not show Blob bodies to Playwright (post_data_buffer is None for them), so
    # the server's own record of each body is checked as well: the upload is the sealed stream.
    [started] = recorder.posts("/api/v1/uploads")
    # The file is sealed padded to its Padmé length (docs/protocol.md#padding-attachments).
    padded = padded_length(len(EVIDENCE), app.extensions["integrity.settings"].max_attachment_bytes)
    assert json.loads(started.body) == {"length": sealed_length(padded)}
    [upload] = recorder.appends()
    assert len(upload.body) == sealed_length(padded)
    # Nothing readable left the page: no answer, no file content, no receipt, no secret key.
    forbidden = {"report text": REPORT_MARKER.encode(), "file marker": FILE_MARKER,
                 "an answer": b"night shift", **secrets_of(app, receipt)}
    assert_never_sent(page, recorder, forbidden)
    assert_lookup_only_in_its_field(page, recorder, lookup_of(app, receipt), {"/api/v1/reports"})
    assert_nothing_stored(page)
    # Our own origin only (the worker starts from a Blob URL of the checked script).
    assert all(sent.url.startswith((base_url, f"blob:{base_url}/")) for sent in page.sent), [
        sent.url for sent in page.sent]
    assert page.console_errors == []

    check_stored_report(app, db, channel, receipt, readers={first})


# --- b: the mailbox in protected mode -----------------------------------------------------


def test_mailbox_opens_downloads_and_replies_in_the_page(
    page, base_url: str, recorder: RecordingApp, app: Flask, db: Session, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    first, second = sorted(channel.inspectors, key=int)
    receipt = file_with_javascript(page, base_url, channel, exclude=second)
    report = check_stored_report(app, db, channel, receipt, readers={first})

    page.goto(f"{base_url}/mailbox")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    page.fill("#receipt-input", crypto.format_receipt(receipt).replace(" ", "-"))
    page.get_by_role("button", name="Open").click()
    view = page.locator("#mailbox-view")
    expect(view).to_be_visible()
    expect(page.locator("#mailbox-form")).to_be_hidden()
    expect(page.locator("#receipt-input")).to_have_value("")
    expect(page.locator("#report-status")).to_have_text("Received, not yet acknowledged")
    answers = page.locator("#report-answers")
    expect(answers).to_contain_text("What happened?")
    expect(answers).to_contain_text(REPORT_MARKER)
    expect(answers).to_contain_text("Documents, Messages")
    expect(answers).to_contain_text("2024-05-17")
    expect(page.locator("#thread")).to_have_text("No messages yet.")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download evidence.bin").click()
    download = info.value
    assert download.suggested_filename == "evidence.bin"
    assert Path(download.path()).read_bytes() == EVIDENCE

    page.fill("#reply-text", f"  Here is more. {REPLY_MARKER} ")
    page.set_input_files("#reply-files", files=[
        {"name": "reply.bin", "mimeType": "application/octet-stream", "buffer": REPLY_FILE},
    ])
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Your message was sent.")).to_be_visible()
    thread = page.locator("#thread")
    expect(thread).to_contain_text(REPLY_MARKER)
    expect(thread).to_contain_text("You ·")
    expect(thread.get_by_role("button", name="Download reply.bin")).to_be_visible()

    check_reply(app, db, channel, report, f"Here is more. {REPLY_MARKER}", REPLY_FILE)
    assert not recorder.posts("/mailbox") and not recorder.posts("/mailbox/reply")
    forbidden = {"report text": REPORT_MARKER.encode(), "file marker": FILE_MARKER,
                 "reply text": REPLY_MARKER.encode(), "reply file": REPLY_FILE_MARKER,
                 **secrets_of(app, receipt)}
    assert_never_sent(page, recorder, forbidden)
    assert_lookup_only_in_its_field(page, recorder, lookup_of(app, receipt), {
        "/api/v1/reports", "/api/v1/mailbox", "/api/v1/mailbox/attachment",
        "/api/v1/mailbox/messages"})
    assert receipt not in page.url
    assert_nothing_stored(page)
    assert page.console_errors == []


# --- c: JavaScript off --------------------------------------------------------------------


def test_plain_forms_without_javascript(
    browser, base_url: str, app: Flask, db: Session, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{base_url}/report/{channel.slug}")
        expect(page.locator("#mode-off")).to_be_visible()  # "Basic mode (JavaScript is off)."
        expect(page.locator("#mode")).to_be_hidden()  # waits for a script: css/noscript.css
        fill_report_form(page, channel.slug)
        page.get_by_role("button", name="Send the report").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your report was received")
        text = page.locator("#receipt").inner_text().strip()
        assert RECEIPT_TEXT.match(text), text
        receipt = crypto.normalise_receipt(text)
        report = check_stored_report(app, db, channel, receipt, readers=set(channel.inspectors))

        page.goto(f"{base_url}/mailbox")
        page.fill("#receipt-input", text)
        page.get_by_role("button", name="Open").click()
        answers = page.locator("#report-answers")
        expect(answers).to_contain_text(REPORT_MARKER)
        expect(answers).to_contain_text("Documents, Messages")
        # A yes/no answer reads as the questionnaire words it, not as the stored "yes".
        ongoing = answers.locator("dt", has_text="Is it still going on?").locator("+ dd")
        expect(ongoing).to_have_text("Yes")
        page.fill("#reply-text", f"Without scripts. {REPLY_MARKER}")
        page.set_input_files("#reply-files", files=[
            {"name": "reply.bin", "mimeType": "application/octet-stream", "buffer": REPLY_FILE},
        ])
        page.locator("#reply-form").get_by_role("button", name="Send", exact=True).click()
        expect(page.get_by_text("Your message was sent.")).to_be_visible()
        expect(page.locator("#thread")).to_contain_text(REPLY_MARKER)
        check_reply(app, db, channel, report, f"Without scripts. {REPLY_MARKER}", REPLY_FILE)
        # The page carries a mailbox token for its forms, never the receipt.
        assert receipt not in page.content() and text not in page.content()
        with page.expect_download() as download:
            page.get_by_role("button", name="Download reply.bin").click()
        assert Path(download.value.path()).read_bytes() == REPLY_FILE
        assert context.cookies() == []  # the forms' tokens travel in the forms only
    finally:
        context.close()


# --- d: no WebAssembly --------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_without_wasm(playwright_instance):
    # V8 without its compilers has no WebAssembly, in the page and in workers alike (this
    # Chromium ignores --noexpose_wasm). Some hardened browser set-ups run JavaScript so.
    instance = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--js-flags=--jitless"])
    yield instance
    instance.close()


def test_without_webassembly_the_plain_form_goes_when_chosen(
    browser_without_wasm, base_url: str, recorder: RecordingApp, app: Flask, db: Session,
    channel: ChannelSetup,
) -> None:
    from playwright.sync_api import expect

    context = browser_without_wasm.new_context()
    page = context.new_page()
    try:
        page.goto(f"{base_url}/report/{channel.slug}")
        assert page.evaluate("typeof WebAssembly") == "undefined"
        warning = page.locator("#mode-warning")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("cannot seal the report")
        expect(page.locator("#mode")).to_have_attribute("data-mode", "plain")
        fill_report_form(page, channel.slug)
        # The script runs but cannot seal: the usual button sends nothing, it asks first.
        page.get_by_role("button", name="Send the report").click()
        expect(page.locator("#basic-choice")).to_be_visible()
        assert not recorder.posts(f"/report/{channel.slug}")
        page.get_by_role("button", name="Send in basic mode").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your report was received")
        receipt = crypto.normalise_receipt(page.locator("#receipt").inner_text())
        assert len(recorder.posts(f"/report/{channel.slug}")) == 1
        assert not recorder.posts("/api/v1/reports")
        check_stored_report(app, db, channel, receipt, readers=set(channel.inspectors))
        assert context.cookies() == []
    finally:
        context.close()


# --- more: the worker's integrity, and checks in the page ---------------------------------


def test_a_worker_script_that_fails_its_integrity_check_is_not_run(
    page, base_url: str, recorder: RecordingApp, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    def tampered(route) -> None:
        response = route.fetch()
        headers = {name: value for name, value in response.headers.items()
                   if name.lower() not in ("content-encoding", "content-length")}
        route.fulfill(status=200, headers=headers, body=response.body() + b"\n;self.tampered=1;")

    page.route(WORKER_SCRIPT, tampered)
    page.goto(f"{base_url}/report/{channel.slug}")
    expect(page.locator("#mode-warning")).to_be_visible()
    expect(page.locator("#mode")).to_have_attribute("data-mode", "plain")
    assert any(WORKER_SCRIPT.search(sent.url) for sent in page.sent)


def test_required_questions_and_limits_are_checked_in_the_page(
    page, base_url: str, recorder: RecordingApp, app: Flask, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/report/{channel.slug}")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    page.fill("#q-where", "somewhere")
    page.get_by_role("button", name="Send the report").click()
    error = page.locator("#what-error")
    expect(error).to_have_text("Please answer “What happened?”.")
    what = page.locator("#q-what")
    expect(what).to_be_focused()
    expect(what).to_have_attribute("aria-invalid", "true")
    assert "what-error" in (what.get_attribute("aria-describedby") or "").split()
    expect(page.locator("#report-form")).not_to_have_attribute("aria-busy", "true")
    assert not [r for r in recorder.received if r.method == "POST"]

    # Too many files: one clear sentence before anything is sent.
    limit = app.extensions["integrity.settings"].max_attachments
    page.fill("#q-what", "Something happened.")
    page.set_input_files("#files", files=[
        {"name": f"f{i}.txt", "mimeType": "text/plain", "buffer": b"x"} for i in range(limit + 1)
    ])
    page.get_by_role("button", name="Send the report").click()
    alert = page.locator("#form-error")
    expect(alert).to_have_text(f"A report or message takes at most {limit} attachments.")
    expect(alert).to_have_attribute("role", "alert")
    expect(page.locator("#what-error")).to_have_count(0)
    expect(page.get_by_role("button", name="Send the report")).to_be_enabled()
    assert not [r for r in recorder.received if r.method == "POST"]


def test_mailbox_refuses_a_malformed_or_unknown_receipt(
    page, base_url: str, recorder: RecordingApp, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/mailbox")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    page.fill("#receipt-input", "1234 5678")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#receipt-input-error")).to_have_text("A receipt has exactly 20 digits.")
    expect(page.locator("#receipt-input")).to_be_focused()
    assert not [r for r in recorder.received if r.method == "POST"]

    page.fill("#receipt-input", "1234 5678 9012 3456 7890")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#form-error")).to_have_text("Nothing matches this receipt.")
    expect(page.locator("#mailbox-view")).to_be_hidden()
    expect(page.locator("#receipt-input-error")).to_have_count(0)
    [asked] = recorder.posts("/api/v1/mailbox")
    assert list(json.loads(asked.body)) == ["lookup"]
    assert b"12345678" not in asked.body


def test_a_taken_receipt_is_drawn_again_and_a_refusal_is_shown(
    page, base_url: str, recorder: RecordingApp, app: Flask, db: Session, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    answers = iter([
        (400, {"error": "The category is not one of this channel's categories."}),
        (409, {"error": "This receipt is already in use: make a new one."}),
    ])

    def refuse_then_pass(route) -> None:
        answer = next(answers, None)
        if answer is None:
            route.continue_()
        else:
            status, body = answer
            route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    page.route("**/api/v1/reports", refuse_then_pass)
    page.goto(f"{base_url}/report/{channel.slug}")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    fill_report_form(page, channel.slug)
    button = page.get_by_role("button", name="Send the report")
    button.click()
    # A refusal: the server's sentence in an alert, the form as it was, the button usable again.
    alert = page.locator("#form-error")
    expect(alert).to_have_text("The category is not one of this channel's categories.")
    expect(alert).to_have_attribute("role", "alert")
    expect(button).to_be_enabled()
    expect(page.locator("#report-form")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#progress-area")).to_be_hidden()
    expect(page.locator("#q-what")).to_have_value(WHAT)

    # Sent again: 409 first, so the page draws a new receipt and files once more.
    button.click()
    expect(page.locator("#receipt-panel")).to_be_visible()
    expect(alert).to_be_hidden()
    receipt = crypto.normalise_receipt(page.locator("#receipt").inner_text())
    filings = [json.loads(sent.body) for sent in page.sent
               if sent.method == "POST" and sent.url.endswith("/api/v1/reports")]
    assert len(filings) == 3
    assert filings[1]["lookup"] != filings[2]["lookup"]
    assert filings[1]["attachments"] == filings[2]["attachments"]  # the uploads were kept
    assert filings[2]["lookup"] == lookup_of(app, receipt)
    assert len(recorder.posts("/api/v1/uploads")) == 2  # once per press of the button
    check_stored_report(app, db, channel, receipt, readers=set(channel.inspectors))
