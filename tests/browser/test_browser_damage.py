"""Real Chromium with documents altered in the database or on disk: in the mailbox and on the
case page each document opens on its own, so one that is altered or damaged shows a sentence
in its place and the rest still opens and works. Files are saved as application/octet-stream
whatever type the reporter declared."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.secret
import nacl.utils
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity.models import Channel, Role, User
from integrity.reporting.models import KeySlot, Message, Report
from tests.conftest import ChannelSetup
from tests.helpers.browser import sign_in_in_browser
from tests.protocol_client import ReporterClient, Upload

DAMAGED_REPORT = "This report could not be opened: it was altered or damaged."
DAMAGED_MESSAGE = "This message could not be opened: it was altered or damaged."
DAMAGED_FILE = "This file could not be opened: it was altered or damaged."
REPORT_TEXT = "Cash changed hands at the weighbridge. MARKER-DAMAGE-REPORT"
# The thread, in order; how each message is damaged once filed (None: left whole).
THREAD = [
    ("First message, left whole. MARKER-OK-1", None),
    ("Second message, a byte of its payload flipped. MARKER-FLIPPED", "flip"),
    ("Third message, its key slot altered. MARKER-SLOT", "slot"),
    ("Fourth message, sealed with bad padding. MARKER-PAD", "padding"),
    ("Fifth message, sealed as text that is not JSON. MARKER-JSON", "json"),
    ("Sixth message, left whole. MARKER-OK-2", None),
]
PAGE_HTML = b"<html><body><script>alert(1)</script>MARKER-HTML-FILE</body></html>"
BROKEN_FILE = b"MARKER-BROKEN-FILE " * 200

# Notes the type of every Blob a page turns into a URL (a download goes through one).
RECORD_BLOB_TYPES = """
(() => {
  const original = URL.createObjectURL.bind(URL);
  window.blobTypes = [];
  URL.createObjectURL = (blob) => {
    window.blobTypes.push(blob && blob.type);
    return original(blob);
  };
})();
"""


@dataclass
class Thread:
    receipt: str
    keys: crypto.ReporterKeys
    report_id: int


def _flip(data: bytes, at: int = 40) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def file_with_thread(app: Flask, slug: str) -> Thread:
    """A report with two files ("page.html" declared text/html, "broken.bin") and THREAD,
    filed as a reporter's client would, derived once."""
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(slug, {"what": REPORT_TEXT}, uploads=[
        Upload("page.html", "text/html", PAGE_HTML),
        Upload("broken.bin", "application/pdf", BROKEN_FILE)])
    lookup = crypto.b64encode(filed.keys.lookup)
    box = reporter.http.post("/api/v1/mailbox", json={"lookup": lookup}).get_json()
    readers = reporter.readers(box["recipients"], filed.keys.public_key)
    for text, _damage in THREAD:
        sealed = crypto.seal_document({"text": text, "attachments": []}, readers,
                                      reporter.config["pad_block"])
        response = reporter.http.post("/api/v1/mailbox/messages", json={
            "lookup": lookup, "payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
            "attachments": []})
        assert response.status_code == 201, response.get_data(as_text=True)
    return Thread(filed.receipt, filed.keys, report_id=0)  # known once damaged


def damage_thread(app: Flask, db: Session, thread: Thread) -> None:
    """Damage each message of THREAD as it says, in the database, and the stored "broken.bin"."""
    db.expire_all()
    report = db.scalars(select(Report)).one()
    thread.report_id = report.id
    pad_block = int(app.extensions["integrity.settings"].pad_block)
    messages = db.scalars(select(Message).where(Message.report_id == report.id)
                          .order_by(Message.position)).all()
    assert len(messages) == len(THREAD)
    for message, (_text, damage) in zip(messages, THREAD, strict=True):
        slots = {s.reader: s for s in db.scalars(
            select(KeySlot).where(KeySlot.message_id == message.id))}
        key = crypto.open_key_slot(slots["reporter"].slot, thread.keys.secret_key)
        if damage == "flip":
            message.payload = _flip(message.payload)
        elif damage == "slot":
            for slot in slots.values():
                slot.slot = _flip(slot.slot, 50)
        elif damage == "padding":
            nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
            message.payload = bytes(nacl.secret.SecretBox(key).encrypt(bytes(pad_block), nonce))
        elif damage == "json":
            message.payload = crypto.seal_payload(b'{"text": "MARKER-JSON" not', key, pad_block)
    reporter_slot = next(s.slot for s in report.key_slots if s.reader == "reporter")
    document = crypto.open_document(report.payload, reporter_slot, thread.keys.secret_key,
                                    pad_block)
    broken = next(entry for entry in document["attachments"] if entry["name"] == "broken.bin")
    store = app.extensions["integrity.attachments"]
    with store.open(broken["id"]) as stored:
        sealed = stored.read()
    store.shred(broken["id"])
    store.write(broken["id"], [_flip(sealed, 100)], len(sealed))
    db.commit()


def damage_report(db: Session) -> None:
    db.expire_all()
    report = db.scalars(select(Report)).one()
    report.payload = _flip(report.payload)
    db.commit()


def check_thread(page: Any, selector: str) -> None:
    """Each message of THREAD in its place: its text, or the sentence for a damaged one."""
    from playwright.sync_api import expect

    items = page.locator(f"{selector} > li")
    expect(items).to_have_count(len(THREAD))
    for index, (text, damage) in enumerate(THREAD):
        item = items.nth(index)
        if damage is None:
            expect(item).to_contain_text(text)
            expect(item.locator(".damaged")).to_have_count(0)
        else:
            expect(item.locator(".damaged")).to_have_text(DAMAGED_MESSAGE)
            expect(item).not_to_contain_text("MARKER")


def check_downloads(page: Any, container: str, save: str) -> None:
    """The damaged file shows the sentence in its place; the other still saves, as octet-stream."""
    from playwright.sync_api import expect

    files = page.locator(container)
    files.get_by_role("button", name=f"{save} broken.bin").click()
    expect(files.locator(".damaged")).to_have_text(DAMAGED_FILE)
    expect(files.get_by_role("button", name=f"{save} broken.bin")).to_have_count(0)
    with page.expect_download() as info:
        files.get_by_role("button", name=f"{save} page.html").click()
    assert info.value.suggested_filename == "page.html"
    assert Path(info.value.path()).read_bytes() == PAGE_HTML
    # The Blob behind the download is typed application/octet-stream, not the declared text/html.
    types = page.evaluate("window.blobTypes")
    assert types[-1] == "application/octet-stream", types
    assert "text/html" not in types and "application/pdf" not in types


def test_the_mailbox_opens_each_document_on_its_own(
    page, base_url: str, app: Flask, db: Session, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    thread = file_with_thread(app, channel.slug)
    damage_thread(app, db, thread)
    page.add_init_script(RECORD_BLOB_TYPES)

    def open_mailbox() -> None:
        page.goto(f"{base_url}/mailbox")
        expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
        page.fill("#receipt-input", crypto.format_receipt(thread.receipt))
        page.get_by_role("button", name="Open").click()
        expect(page.locator("#mailbox-view")).to_be_visible()

    open_mailbox()
    expect(page.locator("#report-answers")).to_contain_text(REPORT_TEXT)
    check_thread(page, "#thread")
    check_downloads(page, "#mailbox-view > ul.files", "Download")
    # Replying still works, and the damaged messages stay in their places.
    page.fill("#reply-text", "A reply after the damage. MARKER-REPLY-AFTER")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Your message was sent.")).to_be_visible()
    expect(page.locator("#thread > li")).to_have_count(len(THREAD) + 1)
    expect(page.locator("#thread > li").last).to_contain_text("MARKER-REPLY-AFTER")
    expect(page.locator("#thread .damaged")).to_have_count(4)

    # The report itself altered: its sentence in place of the answers; the thread still opens.
    damage_report(db)
    open_mailbox()
    expect(page.locator("#report-answers")).to_have_text(DAMAGED_REPORT)
    expect(page.locator("#mailbox-view")).not_to_contain_text(REPORT_TEXT)
    expect(page.locator("#thread")).to_contain_text(THREAD[0][0])
    expect(page.locator("#thread")).to_contain_text("MARKER-REPLY-AFTER")
    expect(page.locator("#reply-form")).to_have_count(0)  # no reply without the report
    assert page.console_errors == []


def _inspector_with_browser_key(db: Session, make_account, slug: str) -> Any:
    account = make_account(Role.INSPECTOR, key=False)
    user = db.get(User, account.id)
    pair = crypto.KeyPair.generate()
    wrapping_key = crypto.derive_staff_keys(account.password, user.login_salt, user.login_opslimit,
                                            user.login_memlimit).wrapping_key
    user.public_key = pair.public_key
    user.wrapped_secret_key = crypto.wrap_private_key(pair.secret_key, wrapping_key)
    user.key_scheme = 1  # as stored before scheme 2: moved to scheme 2 at sign-in
    # Held in a name: the session keeps loaded objects only weakly until the commit.
    channel = db.scalar(select(Channel).where(Channel.slug == slug))
    channel.recipients.append(user)
    db.commit()
    return account


def test_the_case_page_opens_each_document_on_its_own(
    open_page, base_url: str, app: Flask, db: Session, channel: ChannelSetup, make_account
) -> None:
    from playwright.sync_api import expect

    account = _inspector_with_browser_key(db, make_account, channel.slug)
    thread = file_with_thread(app, channel.slug)
    damage_thread(app, db, thread)

    page = open_page()
    page.add_init_script(RECORD_BLOB_TYPES)
    sign_in_in_browser(page, base_url, account)
    page.wait_for_url("**/cases/")
    page.goto(f"{base_url}/cases/{thread.report_id}")
    page.wait_for_selector('#case-content[data-opened="1"]')
    expect(page.locator("#case-answers")).to_contain_text(REPORT_TEXT)
    check_thread(page, "#case-thread")
    check_downloads(page, "#case-file-list", "Save")
    # Replying and noting still work.
    page.fill("#reply-text", "An answer after the damage. MARKER-INSPECTOR-AFTER")
    page.get_by_role("button", name="Send to the reporter").click()
    expect(page.locator("#case-announce")).to_have_text("Your message was sent to the reporter.")
    expect(page.locator("#case-thread > li")).to_have_count(len(THREAD) + 1)
    expect(page.locator("#case-thread > li").last).to_contain_text("MARKER-INSPECTOR-AFTER")
    expect(page.locator("#case-thread .damaged")).to_have_count(4)

    # The report itself altered: its sentence, the thread still opens, no actions offered.
    damage_report(db)
    page.reload()
    page.wait_for_selector('#case-content[data-opened="1"]')
    expect(page.locator("#case-report-damaged")).to_have_text(DAMAGED_REPORT)
    expect(page.locator("#case-answers")).to_be_hidden()
    expect(page.locator("#case-files")).to_be_hidden()
    expect(page.locator("#case-thread")).to_contain_text(THREAD[0][0])
    expect(page.locator("#case-thread")).to_contain_text("MARKER-INSPECTOR-AFTER")
    expect(page.locator("#case-actions")).to_be_hidden()
    expect(page.locator("#case-locked")).to_be_hidden()
    assert page.console_errors == []
