"""Case workflow rules, tested without HTTP."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from integrity.cases.workflow import WorkflowError, assign, change_status, note_feedback
from integrity.models import User
from integrity.reporting.models import Outcome, Report, Status
from tests.protocol_client import ReporterClient


@pytest.fixture
def case(client, channel, db):
    ReporterClient(client).file(channel.slug, {"what": "Cash for stamps at the ferry port."})
    report = db.scalar(select(Report))
    return report, [db.get(User, int(rid)) for rid in channel.inspectors]


def test_acknowledging_dates_the_case_and_is_audited(db, case) -> None:
    from integrity.audit import AuditEntry, verify

    report, (inspector, _) = case
    change_status(db, report, inspector, Status.ACKNOWLEDGED, on=date(2026, 11, 30))
    db.commit()
    assert report.acknowledged_on == date(2026, 11, 30) and report.status == "acknowledged"
    entry = db.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()))
    assert entry.action == "status_changed" and entry.subject == f"report:{report.id}"
    assert verify(db).ok


def test_closing_needs_an_outcome_and_reopening_clears_it(db, case) -> None:
    report, (inspector, _) = case
    with pytest.raises(WorkflowError):
        change_status(db, report, inspector, Status.CLOSED)
    with pytest.raises(WorkflowError):
        change_status(db, report, inspector, Status.IN_PROGRESS, Outcome.SUBSTANTIATED)
    change_status(db, report, inspector, Status.CLOSED, Outcome.PARTLY_SUBSTANTIATED,
                  on=date(2027, 1, 10))
    assert (report.closed_on, report.outcome) == (date(2027, 1, 10), "partly_substantiated")
    assert report.acknowledged_on == date(2027, 1, 10)
    with pytest.raises(WorkflowError):
        change_status(db, report, inspector, Status.ACKNOWLEDGED)
    change_status(db, report, inspector, Status.IN_PROGRESS)
    assert report.closed_on is None and report.outcome is None
    db.commit()


def test_the_database_refuses_a_closed_case_without_outcome(db, case) -> None:
    report, _ = case
    with pytest.raises(IntegrityError):
        db.execute(text("UPDATE reports SET status = 'closed' WHERE id = :id"), {"id": report.id})
        db.flush()
    db.rollback()


def test_only_readers_change_or_receive_a_case(db, case, make_account) -> None:
    from integrity.models import Role

    report, (first, second) = case
    outsider = db.get(User, make_account(Role.INSPECTOR).id)
    with pytest.raises(WorkflowError):
        change_status(db, report, outsider, Status.ACKNOWLEDGED)
    with pytest.raises(WorkflowError):
        assign(db, report, first, outsider)
    assign(db, report, first, second)
    assert report.assignee_id == second.id
    db.commit()


def test_first_reply_is_feedback_and_acknowledgement(db, case) -> None:
    report, _ = case
    note_feedback(report, on=date(2026, 12, 2))
    note_feedback(report, on=date(2026, 12, 20))
    assert report.status == "acknowledged"
    assert report.acknowledged_on == report.feedback_on == date(2026, 12, 2)
