"""Oral reports in real Chromium: an inspector records one in the workspace (protocol 1, and
protocol 2 with an organisation key pinned); the receipt shown once opens the reporter's
mailbox, where the record is read and agreed; the agreement is recorded and audited, and
shown on the case page. No plaintext and no receipt travel in any request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from crypto.certificates import OrgKey
from integrity.audit import AuditEntry, verify
from integrity.models import Channel, Role, User
from integrity.reporting.models import Message, MessageKind, Report
from tests.conftest import ChannelSetup
from tests.helpers.browser import RecordingApp, sign_in_in_browser
from tests.helpers.protocol2 import browser_key, certify

ORG = OrgKey.from_seed(bytes(range(64, 96)))
MINUTES = "MARKER-ORAL: met at the canteen on 2 December; the officer at gate 2 takes cash."
INTACT = "Authentic: every message is as its writer sent it, in its place."


@pytest.fixture(params=[1, 2])
def protocol(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def settings_overrides(protocol: int) -> dict[str, object]:
    return {"org_public_key": crypto.b64encode(ORG.public_key)} if protocol == 2 else {}


@pytest.fixture
def inspectors(db: Session, make_account, channel: ChannelSetup) -> tuple[Any, Any]:
    """Inspector a (a key made in the browser) and offline inspector b, the channel's
    recipients, both keys certified."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.recipients.clear()
    a = make_account(Role.INSPECTOR, key=False)
    browser_key(db, a, ORG)
    b = make_account(Role.INSPECTOR, key=False)
    certify(db, b.id, ORG, crypto.KeyPair.generate().public_key)
    for account in (a, b):
        ch.recipients.append(db.get(User, account.id))
    db.commit()
    return a, b


def test_an_oral_report_recorded_in_the_workspace_is_agreed_by_the_reporter(
    open_page, base_url: str, recorder: RecordingApp, db: Session, channel: ChannelSetup,
    inspectors: tuple[Any, Any], protocol: int
) -> None:
    from playwright.sync_api import expect

    a, b = inspectors
    inspector = open_page()
    sign_in_in_browser(inspector, base_url, a)
    inspector.wait_for_url("**/cases/")
    inspector.get_by_role("link", name="Record an oral report").click()
    inspector.wait_for_url("**/cases/oral")
    inspector.get_by_role("button", name="Seal and record the report").click()
    expect(inspector.locator("#oral-minutes-error")).to_contain_text(
        "Write the minutes or the transcript.")
    inspector.get_by_label("Minutes or transcript").fill(MINUTES)
    inspector.get_by_role("button", name="Seal and record the report").click()
    expect(inspector.locator("#oral-receipt")).to_be_visible()
    shown = inspector.locator("#receipt").inner_text()
    receipt = crypto.normalise_receipt(shown)
    # Sent: ciphertext and the lookup; neither the minutes nor the receipt.
    for request in recorder.received:
        assert b"MARKER-ORAL" not in request.body and receipt.encode() not in request.body
    body = json.loads(recorder.posts("/cases/oral")[-1].body)
    assert body["protocol"] == protocol
    assert set(body["key_slots"]) == {str(a.id), str(b.id), "reporter"}
    assert set(body["record"]["key_slots"]) == set(body["key_slots"])
    db.expire_all()
    report = db.scalar(select(Report))
    assert report.oral and report.protocol == protocol
    (record,) = db.scalars(select(Message)).all()
    assert record.kind == MessageKind.RECORD and record.author_id == a.id
    assert (record.chain, record.seq) == (("thread", 1) if protocol == 2 else (None, None))
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "oral_report_recorded"))

    reporter = open_page()
    reporter.goto(f"{base_url}/mailbox")
    expect(reporter.locator("#mode")).to_have_attribute("data-mode", "browser")
    reporter.fill("#receipt-input", shown)
    reporter.get_by_role("button", name="Open").click()
    expect(reporter.locator("#report-answers")).to_contain_text("Minutes of the oral report")
    expect(reporter.locator("#report-answers")).to_contain_text(MINUTES)
    item = reporter.locator("#thread > li", has_text=MINUTES)
    expect(item).to_contain_text("Do you agree that this record is accurate?")
    if protocol == 2:
        expect(reporter.locator("#thread-status")).to_have_text(INTACT)
    item.get_by_role("button", name="I agree").click()
    expect(reporter.locator("#mailbox-view .message-success")).to_have_text(
        "Thank you: your agreement was recorded.")
    expect(reporter.locator("#thread > li", has_text=MINUTES)).to_contain_text(
        "You agreed on")
    db.expire_all()
    assert db.scalar(select(Message)).agreed_on is not None
    # Entered in the audit log by the next night's register, not at the moment.
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "record_agreed")) is None
    assert verify(db).ok

    inspector.locator("#oral-case-link").click()
    inspector.wait_for_selector('#case-content[data-opened="1"]')
    expect(inspector.locator("#case-answers")).to_contain_text(MINUTES)
    expect(inspector.locator("#case-thread")).to_contain_text("Agreed by the reporter on")
    expect(inspector.locator("main")).to_contain_text("Oral report, recorded by an inspector")
