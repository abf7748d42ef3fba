"""Check-ins after a case closes: posted to the reporter's mailbox at 3, 6 and 12 months (the
channel's setting), audited, not after the reporter stopped them or the case was reopened."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from integrity.audit import AuditEntry
from integrity.cases.check_ins import CHECK_IN_TEXT, post_due_check_ins
from integrity.cases.deadlines import add_months
from integrity.cases.protection_models import CheckIn
from integrity.cases.workflow import change_status
from integrity.clock import Clock
from integrity.models import Channel
from integrity.reporting.models import Outcome, Report, Status
from integrity.scheduler import Scheduler
from tests.helpers.reports import filed_report_id
from tests.protocol_client import ReporterClient

CLOSED_ON = date(2027, 1, 31)


class StoppedClock(Clock):
    """A clock standing at one moment."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def _closed(db: Session, reporter: ReporterClient, slug: str, on: date = CLOSED_ON):
    filed = reporter.file(slug, {"what": "Bribes at the ferry terminal."})
    report = db.get(Report, filed_report_id(reporter.http.application, filed))
    report.final_notice_on = on
    change_status(db, report, report.readers[0], Status.CLOSED, Outcome.UNSUBSTANTIATED, on=on)
    db.commit()
    return filed, report


def _audited(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "check_in_posted")) or 0


def _check_ins(reporter: ReporterClient, receipt: str) -> list[dict]:
    return reporter.mailbox(receipt)["check_ins"]


def test_check_ins_are_posted_at_three_six_and_twelve_months(
        app, db: Session, channel, reporter: ReporterClient) -> None:
    filed, report = _closed(db, reporter, channel.slug)
    due = [c.due_on for c in db.scalars(select(CheckIn).where(CheckIn.report_id == report.id)
                                        .order_by(CheckIn.due_on))]
    assert due == [date(2027, 4, 30), date(2027, 7, 31), date(2028, 1, 31)]
    assert post_due_check_ins(db, date(2027, 4, 29)) == 0
    assert _check_ins(reporter, filed.receipt) == []
    assert post_due_check_ins(db, date(2027, 4, 30)) == 1
    db.commit()
    posted = _check_ins(reporter, filed.receipt)
    assert posted == [{"sent_on": "2027-04-30", "text": str(CHECK_IN_TEXT)}]
    # Once posted, a check-in is not posted again; the others come on their days.
    assert post_due_check_ins(db, date(2027, 5, 1)) == 0
    assert post_due_check_ins(db, date(2028, 2, 1)) == 2
    db.commit()
    assert len(_check_ins(reporter, filed.receipt)) == 3
    assert _audited(db) == 3
    # The mailbox shows the words in the request's language.
    keys = reporter.derive(filed.receipt)
    french = reporter.http.post("/api/v1/mailbox?lang=fr",
                                json={"lookup": crypto.b64encode(keys.lookup)}).get_json()
    assert french["check_ins"][0]["sent_on"] == "2027-04-30"


def test_no_check_in_after_the_reporter_stopped_them(
        app, db: Session, channel, reporter: ReporterClient) -> None:
    filed, report = _closed(db, reporter, channel.slug)
    lookup = crypto.b64encode(reporter.derive(filed.receipt).lookup)
    stopped = reporter.http.post("/api/v1/mailbox/check-ins/stop", json={"lookup": lookup})
    assert stopped.status_code == 200
    assert post_due_check_ins(db, date(2030, 1, 1)) == 0
    db.commit()
    box = reporter.mailbox(filed.receipt)
    assert box["check_ins"] == [] and box["check_ins_stopped"] is True
    # Reopened and closed again, the case still gets none.
    change_status(db, report, report.readers[0], Status.IN_PROGRESS)
    report.final_notice_on = CLOSED_ON
    change_status(db, report, report.readers[0], Status.CLOSED, Outcome.SUBSTANTIATED,
                  on=CLOSED_ON)
    db.commit()
    assert post_due_check_ins(db, date(2030, 1, 1)) == 0
    assert _audited(db) == 0


def test_a_reopened_case_gets_no_check_in_and_a_deleted_one_none_at_all(
        app, db: Session, channel, reporter: ReporterClient) -> None:
    _filed, report = _closed(db, reporter, channel.slug)
    change_status(db, report, report.readers[0], Status.IN_PROGRESS, on=date(2027, 2, 1))
    db.commit()
    assert post_due_check_ins(db, date(2030, 1, 1)) == 0
    _filed, other = _closed(db, reporter, channel.slug)
    db.delete(other)  # as retention deletes it
    db.commit()
    assert db.scalar(select(func.count()).select_from(CheckIn).where(
        CheckIn.report_id == other.id)) == 0
    assert post_due_check_ins(db, date(2030, 1, 1)) == 0


@pytest.mark.parametrize(("setting", "months"), [("", []), ("6", [6])])
def test_the_channel_setting_changes_or_turns_off_the_check_ins(
        app, db: Session, channel, reporter: ReporterClient, setting: str,
        months: list[int]) -> None:
    db.scalar(select(Channel).where(Channel.slug == channel.slug)).check_in_months = setting
    db.commit()
    _filed, report = _closed(db, reporter, channel.slug)
    assert [c.due_on for c in db.scalars(select(CheckIn).where(
        CheckIn.report_id == report.id))] == [add_months(CLOSED_ON, m) for m in months]


def test_the_scheduler_posts_the_check_ins_when_the_clock_reaches_them(
        app, db: Session, channel, reporter: ReporterClient) -> None:
    start = datetime(2027, 1, 31, 12, 0, tzinfo=Clock().now().tzinfo)
    filed, _report = _closed(db, reporter, channel.slug)
    first = Scheduler(app, clock=StoppedClock(start), lease_seconds=3)
    first.start()
    try:
        assert first.wait_until_running()
    finally:
        first.shutdown()
    for moment, expected in ((start + timedelta(days=40), 0),
                             (datetime(2027, 4, 30, 6, 0, tzinfo=start.tzinfo), 1),
                             (datetime(2027, 8, 1, 6, 0, tzinfo=start.tzinfo), 2),
                             (datetime(2028, 2, 1, 6, 0, tzinfo=start.tzinfo), 3)):
        again = Scheduler(app, clock=StoppedClock(moment), lease_seconds=3)
        again.start()
        try:
            assert again.wait_until_running()
            deadline = datetime.now() + timedelta(seconds=20)
            while _audited(db) < expected and datetime.now() < deadline:
                db.rollback()
                time.sleep(0.05)
        finally:
            again.shutdown()
        db.rollback()
        assert _audited(db) == expected
    assert len(_check_ins(reporter, filed.receipt)) == 3
