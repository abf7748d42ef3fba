"""Impartiality on the case page, in Chromium: a closing waits for a second inspector, who
confirms it, then steps away from the case and can no longer open it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry
from integrity.models import Channel, Role, User
from integrity.reporting.models import KeySlot, Report
from tests.conftest import ChannelSetup
from tests.helpers.browser import sign_in_in_browser
from tests.helpers.reports import file_report


def test_a_closing_is_confirmed_by_a_colleague_who_then_steps_away(
        open_page, base_url: str, app, db: Session, channel: ChannelSetup,
        make_account) -> None:
    from playwright.sync_api import expect

    asking, confirming = make_account(Role.INSPECTOR), make_account(Role.INSPECTOR)
    row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    row.closing_needs_confirmation = True
    row.recipients.extend([db.get(User, asking.id), db.get(User, confirming.id)])
    db.commit()
    report_id = file_report(app.test_client(), channel)
    db.get(Report, report_id).final_notice_on = date.today()  # closing needs one sent
    db.commit()
    case_url = f"{base_url}/cases/{report_id}"

    first = open_page()
    sign_in_in_browser(first, base_url, asking)
    first.wait_for_url("**/cases/")
    first.goto(case_url)
    first.get_by_label("New status").select_option("closed")
    first.get_by_label("Outcome", exact=True).select_option("substantiated")
    first.get_by_role("button", name="Change status").click()
    expect(first.locator(".messages")).to_contain_text(
        "The case will close when another inspector of the case confirms it.")
    expect(first.locator("#closing-request")).to_contain_text("“Substantiated”")
    expect(first.get_by_role("button", name="Confirm the closing")).to_have_count(0)
    expect(first.get_by_role("button", name="Withdraw the request")).to_be_visible()

    second = open_page()
    sign_in_in_browser(second, base_url, confirming)
    second.wait_for_url("**/cases/")
    second.goto(case_url)
    second.get_by_role("button", name="Confirm the closing").click()
    expect(second.locator(".messages")).to_contain_text("The case is closed.")
    expect(second.locator("#case-status")).to_contain_text("Closed (Substantiated)")

    second.get_by_label("Why you step away").fill("I worked for years with the shift chief.")
    second.get_by_role("button", name="Step away from the case").click()
    second.wait_for_url("**/cases/")
    expect(second.locator(".messages")).to_contain_text("You stepped away from the case")
    assert second.goto(case_url).status == 404
    db.expire_all()
    assert db.get(Report, report_id).status == "closed"
    assert not db.scalars(select(KeySlot).where(KeySlot.reader == str(confirming.id))).all()
    actions = list(db.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == f"report:{report_id}", AuditEntry.action != "case_opened")
        .order_by(AuditEntry.seq)))
    assert actions == ["closing_requested", "closing_confirmed", "status_changed",
                       "case_recused"]
