"""Case workflow rules, tested without HTTP."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from integrity.cases.workflow import WorkflowError, assign, change_status, note_message
from integrity.models import User
from integrity.reporting.models import MessageKind, Outcome, Report, Status
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
    note_message(report, MessageKind.FINAL_NOTICE, on=date(2027, 1, 9))
    with pytest.raises(WorkflowError):
        change_status(db, report, inspector, Status.CLOSED)
    with pytest.raises(WorkflowError):
        change_status(db, report, inspector, Status.IN_PROGRESS, Outcome.SUBSTANTIATED)
    change_status(db, report, inspector, Status.CLOSED, Outcome.PARTLY_SUBSTANTIATED,
                  on=date(2027, 1, 10))
    assert (report.closed_on, report.outcome) == (date(2027, 1, 10), "partly_substantiated")
    with pytest.raises(WorkflowError):
        change_status(db, report, inspector, Status.ACKNOWLEDGED)
    change_status(db, report, inspector, Status.IN_PROGRESS)
    assert report.closed_on is None and report.outcome is None
    db.commit()


def test_closing_is_refused_until_the_reporter_was_sent_a_final_notice(db, case) -> None:
    report, (inspector, _) = case
    note_message(report, MessageKind.FEEDBACK, on=date(2027, 1, 5))
    with pytest.raises(WorkflowError, match="final notice"):
        change_status(db, report, inspector, Status.CLOSED, Outcome.UNSUBSTANTIATED)
    assert report.status == "acknowledged" and report.closed_on is None
    note_message(report, MessageKind.FINAL_NOTICE, on=date(2027, 2, 1))
    change_status(db, report, inspector, Status.CLOSED, Outcome.UNSUBSTANTIATED)
    # Reopened on new facts: the old notice is no longer final, a new one is needed.
    change_status(db, report, inspector, Status.IN_PROGRESS)
    with pytest.raises(WorkflowError, match="final notice"):
        change_status(db, report, inspector, Status.CLOSED, Outcome.SUBSTANTIATED)
    note_message(report, MessageKind.FINAL_NOTICE, on=date(2027, 3, 1))
    change_status(db, report, inspector, Status.CLOSED, Outcome.SUBSTANTIATED)
    assert report.outcome == "substantiated" and report.feedback_on == date(2027, 1, 5)
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


def test_any_message_acknowledges_but_only_feedback_is_feedback(db, case) -> None:
    report, _ = case
    note_message(report, MessageKind.MESSAGE, on=date(2026, 12, 2))
    assert report.status == "acknowledged" and report.acknowledged_on == date(2026, 12, 2)
    assert report.feedback_on is None and report.final_notice_on is None
    note_message(report, MessageKind.FEEDBACK, on=date(2026, 12, 20))
    note_message(report, MessageKind.FEEDBACK, on=date(2027, 1, 20))
    assert report.feedback_on == date(2026, 12, 20) and report.final_notice_on is None


def test_a_final_notice_counts_as_feedback_when_none_was_given(db, case) -> None:
    report, _ = case
    note_message(report, MessageKind.FINAL_NOTICE, on=date(2027, 1, 7))
    assert report.acknowledged_on == report.feedback_on == report.final_notice_on \
        == date(2027, 1, 7)
