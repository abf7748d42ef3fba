"""Real Chromium: the reporter reports retaliation from the protected mailbox (sealed in the
page), follows it there, and the inspector reads it and records a risk assessment and a
protective measure, sealed in the case page; nothing readable reaches the server."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity.cases.protection_models import ProtectionRecord
from integrity.reporting.models import Message, Report
from tests.conftest import ChannelSetup
from tests.helpers.browser import RecordingApp, inspector_with_a_case, sign_in_in_browser

REPORT_MARK = "MARKER-FIRST-REPORT-51d0"
RETALIATION_MARK = "MARKER-RETALIATION-9a3c: moved to the night shift after my report"
RISK_MARK = "MARKER-RISK-0e77: the shift chief can tell who reported"
MEASURE_MARK = "MARKER-MEASURE-4b21: transfer at her request"


def _receipt(app: Flask, channel: ChannelSetup) -> str:
    from tests.protocol_client import ReporterClient

    return ReporterClient(app.test_client()).file(channel.slug, {"what": REPORT_MARK}).receipt


def test_retaliation_reported_from_the_mailbox_and_protected_on_the_case_page(
        open_page: Any, base_url: str, recorder: RecordingApp, app: Flask, db: Session,
        channel: ChannelSetup, make_account: Any) -> None:
    from playwright.sync_api import expect

    account, _pair = inspector_with_a_case(app, db, make_account, channel, "unused")
    receipt = _receipt(app, channel)

    # The reporter opens the mailbox with JavaScript and reports retaliation there.
    reporter = open_page()
    reporter.goto(f"{base_url}/mailbox")
    expect(reporter.locator("#mode")).to_have_attribute("data-mode", "browser")
    reporter.get_by_label("Your 20-digit receipt").fill(crypto.format_receipt(receipt))
    reporter.get_by_role("button", name="Open", exact=True).click()
    expect(reporter.locator("#report-answers")).to_contain_text(REPORT_MARK)
    reporter.get_by_role("button", name="Send the report of retaliation").click()
    expect(reporter.locator("#retaliation-text-error")).to_contain_text("Say what happened")
    reporter.locator("#retaliation-text").fill(RETALIATION_MARK)
    reporter.get_by_role("button", name="Send the report of retaliation").click()
    expect(reporter.locator("#mailbox-view .message-success")).to_contain_text(
        "Your report of retaliation was sent")
    expect(reporter.locator("#report-answers")).to_contain_text(RETALIATION_MARK)
    expect(reporter.locator("#linked-cases")).to_be_visible()
    reporter.get_by_role("button", name="Back to your first report").click()
    expect(reporter.locator("#report-answers")).to_contain_text(REPORT_MARK)
    assert reporter.console_errors == []

    db.expire_all()
    linked = db.scalar(select(Report).where(Report.kind == "retaliation"))
    assert linked is not None and linked.retaliation_of is not None
    assert account.id in {u.id for u in linked.readers}

    # The inspector reads it, and records a risk assessment and a measure on it.
    inspector = open_page()
    sign_in_in_browser(inspector, base_url, account)
    inspector.wait_for_url("**/cases/")
    expect(inspector.locator(".badge.retaliation")).to_have_count(1)
    inspector.goto(f"{base_url}/cases/{linked.id}")
    inspector.wait_for_selector('#case-content[data-opened="1"]')
    expect(inspector.locator("#case-answers")).to_contain_text(RETALIATION_MARK)
    expect(inspector.locator("#case-linked")).to_contain_text(linked.retaliation_of.reference)
    inspector.get_by_label("High risk").check()
    inspector.locator("#risk-reasoning").fill(RISK_MARK)
    inspector.get_by_role("button", name="Save the assessment").click()
    expect(inspector.locator("#case-announce")).to_contain_text("risk assessment was sealed")
    inspector.locator("#measure-type").select_option("transfer")
    inspector.locator("#measure-day").fill("2027-02-01")
    inspector.locator("#measure-details").fill(MEASURE_MARK)
    inspector.get_by_role("button", name="Record the measure").click()
    expect(inspector.locator("#case-announce")).to_contain_text("measure was sealed")
    records = inspector.locator("#protection-records")
    expect(records).to_contain_text(RISK_MARK)
    expect(records).to_contain_text("High risk")
    expect(records).to_contain_text(MEASURE_MARK)
    expect(inspector.locator("#case-thread")).not_to_contain_text(RISK_MARK)
    assert inspector.console_errors == []

    # In clear: only what the records are. Nothing readable reached or stays on the server.
    db.expire_all()
    assert sorted(r.kind for r in db.scalars(select(ProtectionRecord))) == [
        "measure", "risk_assessment"]
    stored = b"".join([r.payload for r in db.scalars(select(Report))]
                      + [m.payload for m in db.scalars(select(Message))])
    for mark in (RETALIATION_MARK, RISK_MARK, MEASURE_MARK, "High risk"):
        assert mark.encode() not in stored
        for received in recorder.received:
            assert mark.encode() not in received.body, f"{mark} reached {received.path}"
