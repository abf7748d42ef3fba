"""Keeping and reading the record, in Chromium: an inspector places a legal hold on the case
page with the keyboard, and the retention purge passes the case by until the hold is lifted;
an auditor signs in, checks the audit chain and the daily register, and reaches no case."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry
from integrity.audit_register import write_register
from integrity.cases.retention import purge_cases
from integrity.models import Channel, Role, today
from integrity.reporting.models import Report
from tests.conftest import ChannelSetup
from tests.helpers.browser import inspector_with_a_case, sign_in_in_browser
from tests.protocol_client import ReporterClient

TEXT = "The night shift waves through the red lorries MARKER-HOLD-3b1f."
PROCEEDINGS = "Court of Bihać, case K-12/2031"


def _purge(app, db: Session, day) -> list[int]:
    purged = [case.report_id for case in purge_cases(db, app.extensions["integrity.attachments"],
                                                     day)]
    db.commit()
    return purged


def test_a_legal_hold_placed_on_the_case_page_keeps_the_case_from_the_purge(
        open_page, base_url: str, app, db: Session, channel: ChannelSetup,
        make_account) -> None:
    from playwright.sync_api import expect

    account, _pair = inspector_with_a_case(app, db, make_account, channel, TEXT)
    report_id = db.scalar(select(Report.id))
    retention = db.scalar(select(Channel.retention_days).where(Channel.slug == channel.slug))
    closed_on = today() - timedelta(days=30)
    db.execute(update(Report).where(Report.id == report_id).values(
        status="closed", outcome="substantiated", closed_on=closed_on))
    db.commit()
    past_retention = closed_on + timedelta(days=retention + 1)

    page = open_page()
    sign_in_in_browser(page, base_url, account)
    page.wait_for_url("**/cases/")
    page.goto(f"{base_url}/cases/{report_id}")
    # Closed a month ago: the page says the day retention deletes it.
    expect(page.locator("#case-kept")).to_contain_text("Deleted on ")
    reason = page.get_by_label("Reason (such as the reference of the proceedings)")
    reason.fill(PROCEEDINGS)
    reason.press("Tab")
    expect(page.get_by_role("button", name="Place on legal hold")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#case-kept")).to_have_text(
        "On legal hold: not deleted until the hold is lifted")
    expect(page.get_by_role("status").filter(has_text="The case is on legal hold")).to_be_visible()

    # Past the retention period, the purge leaves the held case alone.
    assert _purge(app, db, past_retention) == []
    assert db.get(Report, report_id) is not None

    page.get_by_label("Reason (such as the reference of the proceedings)").fill("Judgment final")
    page.get_by_role("button", name="Lift the legal hold").click()
    expect(page.locator("#case-kept")).to_contain_text("Deleted on ")
    expect(page.get_by_role("button", name="Place on legal hold")).to_be_visible()
    page.goto(f"{base_url}/cases/{report_id}/history")
    expect(page.locator("main")).to_contain_text(f"Placed the case on legal hold: {PROCEEDINGS}")
    expect(page.locator("main")).to_contain_text("Judgment final")

    assert _purge(app, db, past_retention) == [report_id]
    db.expire_all()
    assert db.get(Report, report_id) is None
    actions = [a for a in db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq))
               if a in {"case_held", "case_hold_lifted", "case_purged"}]
    assert actions == ["case_held", "case_hold_lifted", "case_purged"]


def test_an_auditor_checks_the_chain_and_the_register_and_reaches_no_case(
        open_page, base_url: str, app, db: Session, channel: ChannelSetup,
        make_account) -> None:
    from playwright.sync_api import expect

    inspector_with_a_case(app, db, make_account, channel, TEXT)
    report_id = db.scalar(select(Report.id))
    # A second case, filed today, outside the registered day: the one the auditor asks for.
    ReporterClient(app.test_client()).file(channel.slug, {"what": TEXT})
    db.execute(update(Report).where(Report.id == report_id)
               .values(created_on=today() - timedelta(days=1)))
    write_register(db, today())
    db.commit()
    auditor = make_account(Role.AUDITOR, totp=True)

    page = open_page()
    sign_in_in_browser(page, base_url, auditor)
    page.wait_for_url("**/admin/audit")
    page.get_by_role("link", name="Check the chain now").click()
    expect(page.locator("#chain-state")).to_contain_text("Chain intact")
    expect(page.locator("#register-state")).to_have_text(
        "Register intact: 1 day matches its entry.")

    # A report deleted behind the application's back: the register shows the gap.
    db.execute(Report.__table__.delete().where(Report.id == report_id))
    db.commit()
    page.reload()
    expect(page.locator("#register-state")).to_contain_text(
        "1 registered day no longer matches its entry")

    # The cases are not the auditor's to read: refused, as for managers and administrators.
    other = db.scalar(select(Report.id).where(Report.id != report_id))
    for path in ("/cases/", f"/cases/{other}", f"/cases/{other}/sealed"):
        answer = page.goto(f"{base_url}{path}")
        assert answer is not None and answer.status == 403, path
