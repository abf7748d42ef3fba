"""Asking for a meeting or a call in the pages with JavaScript: the report form's tick box and
the mailbox's both create a tracked request, sent in clear beside the sealed text; the mailbox
then says where it stands, and the inspector's inbox marks the case."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity.reporting.models import MeetingRequest, MeetingState
from tests.conftest import ChannelSetup
from tests.helpers.browser import RecordingApp, fill_report_form
from tests.protocol_client import ReporterClient


def _requests(db: Session) -> list[MeetingRequest]:
    db.expire_all()
    return list(db.scalars(select(MeetingRequest).order_by(MeetingRequest.requested_on,
                                                              MeetingRequest.position)))


def test_the_form_and_the_mailbox_ask_for_a_meeting_in_protected_mode(
    app, open_page, base_url: str, recorder: RecordingApp, db: Session, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    page = open_page()
    page.goto(f"{base_url}/report/{channel.slug}")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    fill_report_form(page, channel.slug)
    page.get_by_label("I would also like a meeting or a call with an inspector").check()
    page.get_by_role("button", name="Send the report").click()
    expect(page.locator("#receipt-panel")).to_be_visible()
    assert json.loads(recorder.posts("/api/v1/reports")[-1].body)["meeting"] is True
    assert [r.state for r in _requests(db)] == [MeetingState.REQUESTED]

    # A report filed without asking; its reporter asks in the mailbox, with the details sealed.
    filed = ReporterClient(app.test_client()).file(channel.slug, {"what": "No meeting yet."})
    mailbox = open_page()
    mailbox.goto(f"{base_url}/mailbox")
    expect(mailbox.locator("#mode")).to_have_attribute("data-mode", "browser")
    mailbox.fill("#receipt-input", crypto.format_receipt(filed.receipt))
    mailbox.get_by_role("button", name="Open").click()
    expect(mailbox.locator("#mailbox-view")).to_be_visible()
    expect(mailbox.locator("#report-meeting")).to_have_count(0)
    mailbox.fill("#reply-text", "MARKER-MEETING: call me after six, on the number I gave.")
    mailbox.get_by_label("I ask for a meeting or a call with an inspector").check()
    mailbox.get_by_role("button", name="Send", exact=True).click()
    expect(mailbox.locator("#report-meeting")).to_contain_text("You asked on")
    expect(mailbox.locator("#report-meeting")).to_contain_text("The inspectors answer by")
    sent = recorder.posts("/api/v1/mailbox/messages")[-1].body
    assert json.loads(sent)["meeting"] is True and b"MARKER-MEETING" not in sent
    requests = _requests(db)
    assert len(requests) == 2 and requests[1].report_id != requests[0].report_id
    page_errors: Any = mailbox.console_errors
    assert not page_errors
