"""Voice messages and redaction in real Chromium, with a fake microphone: a reporter records a
voice message on the report form, it is sealed and sent like any file; the inspector plays it
in the case page, transcribes it into a record and the recording is deleted with a tombstone;
the inspector removes a passage and deletes a message, and both sides still open and verify
the thread; why is sealed in the page and opened there again, shared with a colleague, and
never seen by the reporter. Without JavaScript there is no recorder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from crypto.certificates import OrgKey
from integrity.models import Channel, Installation, Role, User
from integrity.reporting.models import (
    Attachment,
    Message,
    MessageKind,
    Report,
    Tombstone,
    TombstoneKeySlot,
)
from tests.conftest import ChannelSetup
from tests.helpers.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RECEIPT_TEXT,
    RecordingApp,
    fill_report_form,
    sign_in_in_browser,
)
from tests.helpers.protocol2 import browser_key
from tests.helpers.stored import sealed_bytes
from tests.protocol2_client import Reporter2Client

ORG = OrgKey.from_seed(bytes(range(128, 160)))
INTACT = "Authentic: every message is as its writer sent it, in its place."
REASON = "Names a colleague who is not part of the case."
DELETE_REASON = "REASON-MARKER: gives the reporter's shift at lane 3"
EBML = b"\x1a\x45\xdf\xa3"  # the first bytes of a WebM recording


@pytest.fixture(scope="module")
def browser(playwright_instance: Any) -> Iterator[Any]:
    """Chromium with a fake microphone that it grants without asking."""
    instance = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
    yield instance
    instance.close()


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"org_public_key": crypto.b64encode(ORG.public_key)}


@pytest.fixture
def inspector(db: Session, make_account, channel: ChannelSetup) -> Any:
    """The channel's only recipient, whose certified key was made in the browser."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.recipients.clear()
    account = make_account(Role.INSPECTOR, key=False)
    browser_key(db, account, ORG)
    user = db.get(User, account.id)
    user.name = "Inspector V"
    ch.recipients.append(user)
    db.commit()
    return account


@pytest.fixture
def colleague(db: Session, make_account) -> tuple[Any, crypto.KeyPair]:
    """An inspector with a certified key who does not read the case: one to share it with."""
    account = make_account(Role.INSPECTOR, key=False)
    pair = browser_key(db, account, ORG)
    db.get(User, account.id).name = "Inspector W"
    db.commit()
    return account, pair


def _report_id(db: Session) -> int:
    """The one case filed (ids are random: the newest is not the largest)."""
    db.expire_all()
    return db.scalars(select(Report.id)).one()


def _open_case(page: Any, base_url: str, report_id: int) -> None:
    page.goto(f"{base_url}/cases/{report_id}")
    page.wait_for_selector('#case-content[data-opened="1"]')


def _open_mailbox(page: Any, base_url: str, receipt: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/mailbox")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    page.fill("#receipt-input", crypto.format_receipt(receipt))
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#mailbox-view")).to_be_visible()


def test_a_voice_message_is_recorded_sealed_played_transcribed_and_deleted(
    open_page, base_url: str, recorder: RecordingApp, app, db: Session, channel: ChannelSetup,
    inspector: Any
) -> None:
    from playwright.sync_api import expect

    reporter = open_page(viewport={"width": 360, "height": 780})  # a small phone
    reporter.goto(f"{base_url}/report/{channel.slug}")
    expect(reporter.locator("#mode")).to_have_attribute("data-mode", "browser")
    fill_report_form(reporter, channel.slug)
    # Before recording, the page says plainly that a voice identifies a person.
    expect(reporter.locator("#files-voice-warning")).to_contain_text("A voice can identify you")
    record = reporter.get_by_role("button", name="Record")
    expect(record).to_have_attribute("aria-describedby", "files-voice-warning")
    record.focus()
    reporter.keyboard.press("Enter")  # by keyboard
    expect(reporter.locator("#files-voice-status")).to_contain_text("Recording…")
    stop = reporter.get_by_role("button", name="Stop")
    expect(stop).to_be_focused()
    reporter.wait_for_timeout(1500)  # a second and a half of the fake microphone's tone
    reporter.keyboard.press("Enter")
    expect(reporter.locator("#files-voice-status")).to_contain_text("Recorded: 0:01")
    expect(reporter.locator("#files-voice-player")).to_be_visible()
    expect(reporter.locator("#files-checks")).to_contain_text("voice-message.webm")
    expect(reporter.locator("#files-checks")).to_contain_text("evidence.bin")
    assert reporter.evaluate("() => document.documentElement.scrollWidth") <= 360
    # Discard, record again: a discarded recording leaves the files.
    reporter.get_by_role("button", name="Discard the recording").click()
    expect(reporter.locator("#files-voice-status")).to_have_text("The recording was discarded.")
    expect(reporter.locator("#files-checks")).not_to_contain_text("voice-message.webm")
    reporter.get_by_role("button", name="Record").click()
    reporter.wait_for_timeout(1500)
    reporter.get_by_role("button", name="Stop").click()
    expect(reporter.locator("#files-checks")).to_contain_text("voice-message.webm")
    reporter.get_by_role("button", name="Send the report").click()
    expect(reporter.locator("#receipt-panel")).to_be_visible()
    receipt = crypto.normalise_receipt(reporter.locator("#receipt").inner_text().strip())
    assert RECEIPT_TEXT.match(crypto.format_receipt(receipt))
    # Two sealed files went up; no request carried the recording in clear.
    report_id = _report_id(db)
    assert len(db.scalars(select(Attachment).where(Attachment.report_id == report_id)).all()) == 2
    assert not any(EBML in r.body for r in recorder.received)
    assert not any(sealed_bytes(app, a).startswith(EBML) for a in db.scalars(
        select(Attachment.id).where(Attachment.report_id == report_id)))

    page = open_page()
    sign_in_in_browser(page, base_url, inspector)
    page.wait_for_url("**/cases/")
    _open_case(page, base_url, report_id)
    page.get_by_role("button", name="Play the voice message").click()
    audio = page.locator("#case-file-list audio")
    expect(audio).to_be_visible()
    page.wait_for_function("() => document.querySelector('#case-file-list audio').readyState >= 1")
    assert page.evaluate("() => document.querySelector('#case-file-list audio').src") \
        .startswith("blob:")
    page.get_by_text("Transcribe, then delete the recording").click()
    page.get_by_role("textbox", name="Transcript").fill(
        "Voice: the tanker is emptied at 2 a.m. MARKER-VOICE")
    page.get_by_role("button", name="Send the transcript and delete the recording").click()
    expect(page.locator("#case-announce")).to_have_text(
        "The transcript was sent to the reporter and the recording was deleted.")
    expect(page.locator("#case-file-list")).to_contain_text(
        "Transcribed: the record replaces the recording.")
    expect(page.locator("#case-thread")).to_contain_text("MARKER-VOICE")
    db.expire_all()
    assert len(db.scalars(select(Attachment).where(Attachment.report_id == report_id)).all()) == 1
    assert db.scalar(select(Message.kind).where(Message.report_id == report_id)) \
        == MessageKind.RECORD

    _open_mailbox(reporter, base_url, receipt)
    expect(reporter.locator("#thread")).to_contain_text("MARKER-VOICE")
    expect(reporter.locator("#thread-status")).to_have_text(INTACT)
    expect(reporter.get_by_text("A file was deleted on")).to_be_visible()
    expect(reporter.locator("#mailbox-view")).not_to_contain_text("Transcribed")
    # The transcript is a record the reporter can agree (integrity/cases/records.py).
    reporter.get_by_role("button", name="I agree").click()
    expect(reporter.locator("#thread")).to_contain_text("You agreed on")
    # The mailbox offers the recorder too.
    expect(reporter.locator("#reply-files-voice-warning")).to_be_visible()
    assert not page.console_errors and not reporter.console_errors


def test_a_passage_removed_and_a_message_deleted_in_the_case_page_still_verify(
    open_page, base_url: str, recorder: RecordingApp, app, db: Session, channel: ChannelSetup,
    inspector: Any, colleague: tuple[Any, crypto.KeyPair]
) -> None:
    from playwright.sync_api import expect

    client = Reporter2Client(app.test_client(), ORG.public_key, check_floors=False)
    filed = client.file(channel.slug, {"what": "Fuel sold at night"})
    assert client.reply(filed.receipt, "Ask Sergeant Petrov, he saw it.").status_code == 201
    assert client.reply(filed.receipt, "Delete this one please.").status_code == 201
    report_id = _report_id(db)
    page = open_page()
    sign_in_in_browser(page, base_url, inspector)
    page.wait_for_url("**/cases/")
    _open_case(page, base_url, report_id)
    item = page.locator("#case-thread > li", has_text="Sergeant Petrov")
    item.get_by_text("Delete or remove a passage").click()
    copy = item.get_by_label("Copy of the message")
    copy.evaluate("(el) => { el.focus(); el.setSelectionRange(4, 19); }")  # "Sergeant Petrov"
    item.get_by_label("Why").fill(REASON)
    item.get_by_role("button", name="Remove the selected passage").click()
    expect(page.locator("#case-announce")).to_have_text("The passage was removed.")
    expect(page.locator("#case-thread")).to_contain_text("Ask [removed], he saw it.")
    expect(page.locator("#case-thread")).to_contain_text(REASON)
    expect(page.locator("#case-thread-status")).to_have_text(INTACT)
    other = page.locator("#case-thread > li", has_text="Delete this one please.")
    other.get_by_text("Delete or remove a passage").click()
    other.get_by_label("Why").fill(DELETE_REASON)
    other.get_by_role("button", name="Delete the whole message").click()
    expect(page.locator("#case-announce")).to_have_text("The message was deleted.")
    expect(page.locator("#case-thread")).not_to_contain_text("Delete this one please.")
    expect(page.locator("#case-thread")).to_contain_text("A message was deleted on")
    expect(page.locator("#case-thread-status")).to_have_text(INTACT)
    # The reasons left the page sealed: no request carried them, the database holds none.
    for body in (r.body for r in recorder.received):
        assert REASON.encode() not in body and DELETE_REASON.encode() not in body
    sent = json.loads(recorder.posts(f"/cases/{report_id}/messages/"
                                     f"{_message_id(db, report_id, -1)}/delete")[-1].body)
    assert set(sent["reason"]) == {"payload", "key_slots"}
    assert set(sent["reason"]["key_slots"]) == {str(inspector.id)}  # never the reporter's
    db.expire_all()
    assert all(t.reason_payload and b"REASON-MARKER" not in t.reason_payload
               for t in db.scalars(select(Tombstone)))
    # Opened again after a reload, from the sealed reasons alone.
    page.reload()
    page.wait_for_selector('#case-content[data-opened="1"]')
    expect(page.locator("#case-thread .tombstone[data-kind=message]")).to_contain_text(
        f"by Inspector V: {DELETE_REASON}")
    expect(page.locator("#case-thread .tombstone[data-kind=passage]")).to_contain_text(
        f"by Inspector V: {REASON}")
    # Shared with a colleague, the reasons go with the rest of the case.
    account, pair = colleague
    page.select_option("#share-inspector", str(account.id))
    page.fill("#share-reason", "A second reader for the evidence.")
    page.get_by_role("button", name="Share").click()
    expect(page.locator("#case-announce")).to_have_text("The case was shared with Inspector W.")
    db.expire_all()
    slots = db.scalars(select(TombstoneKeySlot).where(
        TombstoneKeySlot.reader == str(account.id))).all()
    assert len(slots) == 2
    pad_block = db.scalar(select(Installation.pad_block))
    opened = {crypto.open_document(db.get(Tombstone, s.tombstone_id).reason_payload, s.slot,
                                   pair.secret_key, pad_block)["reason"] for s in slots}
    assert opened == {REASON, DELETE_REASON}

    reporter = open_page()
    _open_mailbox(reporter, base_url, filed.receipt)
    expect(reporter.locator("#thread-status")).to_have_text(INTACT)
    expect(reporter.locator("#thread")).to_contain_text("Ask [removed], he saw it.")
    expect(reporter.locator("#thread")).to_contain_text("A message was deleted on")
    expect(reporter.locator("#thread")).to_contain_text("A passage was removed on")
    expect(reporter.locator("#mailbox-view")).not_to_contain_text(REASON)
    expect(reporter.locator("#mailbox-view")).not_to_contain_text("Petrov")
    assert not page.console_errors and not reporter.console_errors


def _message_id(db: Session, report_id: int, index: int) -> int:
    db.expire_all()
    return db.scalars(select(Message.id).where(Message.report_id == report_id)
                      .order_by(Message.position)).all()[index]


def test_without_javascript_there_is_no_recorder(
    open_page, base_url: str, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    page = open_page(java_script_enabled=False)
    for url in (f"/report/{channel.slug}", "/mailbox"):
        page.goto(base_url + url)
        expect(page.locator("form").first).to_be_visible()
        expect(page.locator(".voice-recorder")).to_have_count(0)
        expect(page.get_by_role("button", name="Record")).to_have_count(0)
