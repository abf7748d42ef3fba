"""Deadline reminders to inspectors and the daily summary to administrators.

Both are jobs of the scheduler, once a day. A reminder goes to the case's assignee, or to
every reader while nobody is assigned: 2 days before acknowledgement falls due, 14 days before
feedback falls due, and once a week while either is overdue; likewise 3 days before a
reporter's request for a meeting or a call must be answered, and weekly while it is late.
Each is written once, under a key naming the case, the person and the deadline (or the week
of lateness), so a job that runs twice, or late after a stop, writes nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from integrity.cases.deadlines import deadlines
from integrity.models import Role, User
from integrity.notifications.models import Notification
from integrity.notifications.outbox import Kind, naive, notify_once
from integrity.reporting.models import MeetingRequest, MeetingState, Report, Status

ACKNOWLEDGE_NOTICE_DAYS = 2
FEEDBACK_NOTICE_DAYS = 14
MEETING_NOTICE_DAYS = 3


def _told(report: Report) -> list[User]:
    assignee = report.assignee
    if assignee is not None and assignee.active and assignee in report.readers:
        return [assignee]
    return [user for user in report.readers if user.active]


def _reminder(report: Report, today: date) -> tuple[Kind, str] | None:
    """The reminder ``report`` calls for on ``today``, with its de-duplication stem."""
    due = deadlines(report.created_on, report.acknowledged_on, report.feedback_on, today)
    days_left = due.days_left
    if due.pending == "acknowledge" and days_left is not None:
        if days_left < 0:
            return Kind.ACKNOWLEDGE_OVERDUE, f"late-{(-days_left - 1) // 7}"
        if days_left <= ACKNOWLEDGE_NOTICE_DAYS:
            return Kind.ACKNOWLEDGE_SOON, due.acknowledge_by.isoformat()
    if due.pending == "feedback" and days_left is not None and report.status != Status.CLOSED:
        if days_left < 0:
            return Kind.FEEDBACK_OVERDUE, f"late-{(-days_left - 1) // 7}"
        if days_left <= FEEDBACK_NOTICE_DAYS:
            return Kind.FEEDBACK_SOON, due.feedback_by.isoformat()
    return None


def remind_deadlines(session: Session, today: date, now: datetime) -> int:
    """Write the deadline reminders due on ``today``; returns how many were written."""
    written = 0
    horizon = date.fromordinal(today.toordinal() + FEEDBACK_NOTICE_DAYS)
    for report in session.scalars(select(Report).options(defer(Report.payload))
                                  .where(Report.next_due_on.isnot(None),
                                         Report.next_due_on <= horizon)):
        found = _reminder(report, today)
        if found is None:
            continue
        kind, stem = found
        for user in _told(report):
            written += notify_once(session, kind, user_id=user.id, due_at=now,
                                   dedup_key=f"{kind}:{report.id}:{user.id}:{stem}")
    return written


def remind_meetings(session: Session, today: date, now: datetime) -> int:
    """Write the reminders of requests for a meeting or a call not yet answered (arranged or
    declined): 3 days before the day they must be answered by, then weekly once late."""
    written = 0
    horizon = date.fromordinal(today.toordinal() + MEETING_NOTICE_DAYS)
    for request in session.scalars(select(MeetingRequest).where(
            MeetingRequest.state == MeetingState.REQUESTED,
            MeetingRequest.answered_on.is_(None), MeetingRequest.due_on <= horizon)):
        report = session.get(Report, request.report_id)
        if report is None or report.status == Status.CLOSED:
            continue
        days_left = (request.due_on - today).days
        kind, stem = ((Kind.MEETING_OVERDUE, f"late-{(-days_left - 1) // 7}") if days_left < 0
                      else (Kind.MEETING_SOON, "soon"))
        for user in _told(report):
            written += notify_once(
                session, kind, user_id=user.id, due_at=now,
                dedup_key=f"{kind}:{report.id}:{user.id}:{request.requested_on}:{stem}")
    return written


def overdue_per_channel(session: Session, today: date) -> list[tuple[int, int]]:
    """(channel id, overdue cases) for every channel with any: a pending deadline past."""
    return [(int(channel), int(count)) for channel, count in session.execute(
        select(Report.channel_id, func.count())
        .where(Report.next_due_on < today, Report.status != Status.CLOSED)
        .group_by(Report.channel_id).order_by(Report.channel_id))]


def failing_notices(session: Session) -> int:
    """Notices waiting after the mail server refused them or could not be reached."""
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.sent_at.is_(None), Notification.attempts > 0)) or 0


def administrators(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == Role.ADMIN,
                                                   User.active.is_(True))))


def summarise_for_admins(session: Session, today: date, now: datetime) -> int:
    """The daily summary for each administrator, when there is anything to say: overdue
    cases per channel (counts), notices the mail server has not taken."""
    overdue = overdue_per_channel(session, today)
    failing = failing_notices(session)
    if not overdue and not failing:
        return 0
    return sum(notify_once(session, Kind.ADMIN_SUMMARY, user_id=admin.id, due_at=naive(now),
                           dedup_key=f"{Kind.ADMIN_SUMMARY}:{admin.id}:{today.isoformat()}",
                           params={"overdue": overdue, "failing": failing})
               for admin in administrators(session))
