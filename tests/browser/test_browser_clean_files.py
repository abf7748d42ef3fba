"""Real Chromium removes a photo's hidden details before sealing it, shows what it removed, and
sends the photo as it is only when the reporter ticks its box: the file is opened here with an
inspector's key."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity.reporting.clean_files import clean_file
from integrity.reporting.models import Report
from tests.conftest import ChannelSetup
from tests.helpers import clean_vectors
from tests.helpers.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EXPECTED_ANSWERS,
    RecordingApp,
    file_with_javascript,
    fill_report_form,
)

PHOTO = (clean_vectors.FOLDER / "photo.jpg").read_bytes()
VIDEO = (clean_vectors.FOLDER / "clip.mp4").read_bytes()
GPS_IFD = 0x8825


def _attach(page: Any, name: str, data: bytes, kind: str) -> None:
    page.set_input_files("#files", files=[{"name": name, "mimeType": kind, "buffer": data}])


def _file(page: Any, base_url: str, channel: ChannelSetup, name: str, data: bytes,
          kind: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/report/{channel.slug}")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    fill_report_form(page, channel.slug)
    _attach(page, name, data, kind)


def _sent_file(app: Flask, db: Session, channel: ChannelSetup) -> tuple[dict[str, Any], bytes]:
    """The one attachment of the one report, opened with an inspector's key."""
    db.expire_all()
    report = db.scalars(select(Report)).one()
    slots = {slot.reader: slot.slot for slot in report.key_slots}
    inspector = next(reader for reader in slots if reader in channel.inspectors)
    pad_block = int(app.extensions["integrity.settings"].pad_block)
    document = crypto.open_document(report.payload, slots[inspector],
                                    channel.inspectors[inspector].secret_key, pad_block)
    assert document["answers"] == EXPECTED_ANSWERS
    [entry] = document["attachments"]
    out = io.BytesIO()
    with app.extensions["integrity.attachments"].open(entry["id"]) as sealed:
        crypto.open_file(sealed, out, crypto.b64decode(entry["key"], 32), entry["size"])
    return entry, out.getvalue()


def _gps(data: bytes) -> dict[int, Any]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # the picture still decodes
        return dict(image.getexif().get_ifd(GPS_IFD))


def test_a_photo_is_sealed_without_its_position_and_the_page_says_so(
    page, base_url: str, app: Flask, db: Session, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    assert _gps(PHOTO)  # the sample carries a position
    _file(page, base_url, channel, "lane4.jpg", PHOTO, "image/jpeg")
    check = page.locator("#files-checks li")
    expect(check).to_contain_text("lane4.jpg")
    expect(check).to_contain_text("Found and removed: GPS position, camera or phone model, "
                                  "dates and times, software used, and other hidden details.")
    expect(check.get_by_label("Send this file as it is, with its details")).not_to_be_checked()
    expect(page.locator("#keep-details-choice")).to_be_hidden()
    page.get_by_role("button", name="Send the report").click()
    expect(page.locator("#receipt-panel")).to_be_visible()
    entry, sent = _sent_file(app, db, channel)
    assert sent == clean_file(PHOTO).data
    assert _gps(sent) == {} and clean_vectors.MODEL.encode() not in sent
    assert (entry["name"], entry["type"], entry["size"]) == ("lane4.jpg", "image/jpeg", len(sent))
    assert page.console_errors == []


def test_a_photo_goes_as_it_is_when_the_reporter_chooses_it(
    page, base_url: str, app: Flask, db: Session, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    _file(page, base_url, channel, "lane4.jpg", PHOTO, "image/jpeg")
    page.locator("#files-checks").get_by_label("Send this file as it is, with its details").check()
    page.get_by_role("button", name="Send the report").click()
    expect(page.locator("#receipt-panel")).to_be_visible()
    _, sent = _sent_file(app, db, channel)
    assert sent == PHOTO and _gps(sent)


def test_a_file_that_cannot_be_cleaned_waits_for_the_reporters_choice(
    page, base_url: str, app: Flask, db: Session, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    _file(page, base_url, channel, "lane4.mp4", VIDEO, "video/mp4")
    check = page.locator("#files-checks li")
    expect(check).to_contain_text("cannot be removed here")
    page.get_by_role("button", name="Send the report").click()
    error = page.locator("#files-error")
    expect(error).to_contain_text("“lane4.mp4” must be left out or sent as it is")
    box = check.get_by_label("Send this file as it is, with its details")
    expect(box).to_be_focused()
    assert db.scalars(select(Report)).first() is None
    box.check()
    page.get_by_role("button", name="Send the report").click()
    expect(page.locator("#receipt-panel")).to_be_visible()
    _, sent = _sent_file(app, db, channel)
    assert sent == VIDEO


def test_a_photo_sent_from_the_mailbox_is_cleaned_too(
    page, base_url: str, app: Flask, db: Session, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    from integrity.reporting.models import KeySlot, Message

    first, second = sorted(channel.inspectors, key=int)
    receipt = file_with_javascript(page, base_url, channel, exclude=second)
    page.goto(f"{base_url}/mailbox")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    page.fill("#receipt-input", crypto.format_receipt(receipt))
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#mailbox-view")).to_be_visible()
    page.fill("#reply-text", "The same lane, an hour later.")
    page.set_input_files("#reply-files", files=[
        {"name": "lane4-later.jpg", "mimeType": "image/jpeg", "buffer": PHOTO}])
    check = page.locator("#reply-files-checks li")
    expect(check).to_contain_text("Found and removed: GPS position")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Your message was sent.")).to_be_visible()
    db.expire_all()
    message = db.scalars(select(Message)).one()
    slot = db.scalars(select(KeySlot.slot).where(KeySlot.message_id == message.id,
                                                 KeySlot.reader == first)).one()
    pad_block = int(app.extensions["integrity.settings"].pad_block)
    document = crypto.open_document(message.payload, slot, channel.inspectors[first].secret_key,
                                    pad_block)
    [entry] = document["attachments"]
    out = io.BytesIO()
    with app.extensions["integrity.attachments"].open(entry["id"]) as sealed:
        crypto.open_file(sealed, out, crypto.b64decode(entry["key"], 32), entry["size"])
    assert out.getvalue() == clean_file(PHOTO).data and _gps(out.getvalue()) == {}


@pytest.fixture(scope="module")
def browser_without_wasm(playwright_instance):
    # As in test_browser_reporting: V8 without its compilers has no WebAssembly.
    instance = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--js-flags=--jitless"])
    yield instance
    instance.close()


def test_basic_mode_chosen_in_the_page_sends_the_files_as_the_page_cleaned_them(
    browser_without_wasm, base_url: str, recorder: RecordingApp, app: Flask, db: Session,
    channel: ChannelSetup,
) -> None:
    from playwright.sync_api import expect

    context = browser_without_wasm.new_context()
    page = context.new_page()
    try:
        page.goto(f"{base_url}/report/{channel.slug}")
        expect(page.locator("#mode")).to_have_attribute("data-mode", "plain")
        fill_report_form(page, channel.slug)
        page.set_input_files("#files", files=[
            {"name": "lane4.jpg", "mimeType": "image/jpeg", "buffer": PHOTO},
            {"name": "lane4.mp4", "mimeType": "video/mp4", "buffer": VIDEO}])
        checks = page.locator("#files-checks li")
        expect(checks).to_have_count(2)
        checks.nth(1).get_by_label("Send this file as it is, with its details").check()
        page.get_by_role("button", name="Send the report").click()
        page.get_by_role("button", name="Send in basic mode").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your report was received")
        # The photo left the page cleaned; the video as it was, by choice.
        [sent] = recorder.posts(f"/report/{channel.slug}")
        assert clean_vectors.MODEL.encode() not in sent.body
        assert b'name="keep_details"' in sent.body
        db.expire_all()
        report = db.scalars(select(Report)).one()
        slots = {slot.reader: slot.slot for slot in report.key_slots}
        inspector = next(reader for reader in slots if reader in channel.inspectors)
        document = crypto.open_document(report.payload, slots[inspector],
                                        channel.inspectors[inspector].secret_key,
                                        int(app.extensions["integrity.settings"].pad_block))
        stored = {}
        for entry in document["attachments"]:
            out = io.BytesIO()
            with app.extensions["integrity.attachments"].open(entry["id"]) as sealed:
                crypto.open_file(sealed, out, crypto.b64decode(entry["key"], 32), entry["size"])
            stored[entry["name"]] = out.getvalue()
        assert stored == {"lane4.jpg": clean_file(PHOTO).data, "lane4.mp4": VIDEO}
    finally:
        context.close()
