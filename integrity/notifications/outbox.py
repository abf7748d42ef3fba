"""Writing notices into the outbox, in the transaction of the event that causes them.

A notice is one row per recipient: what kind of thing happened (never which case, nor
anything from it) and from when it may leave. Notices of case activity are due at the next
batch time of the installation (``INTEGRITY_NOTIFY_HOURS``) plus a random delay, so that no
mail leaves at the minute a report arrives; the sender (``sender.py``) then holds a digest
reader's notices for their hour and drops those of a reader who wants none.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from integrity.config import Settings
from integrity.notifications.models import Notification


class Kind(enum.StrEnum):
    """What a notice says happened. Activity notices go out in batches; the rest when due."""

    CASE_NEW = "case_new"  # a case was sealed to them
    REPORTER_MESSAGE = "reporter_message"  # a reporter wrote in one of their cases
    CASE_SHARED = "case_shared"  # a colleague shared a case with them
    CASE_REMOVED = "case_removed"  # a colleague took them off a case
    ACKNOWLEDGE_SOON = "acknowledge_soon"  # 2 days before acknowledgement is due
    FEEDBACK_SOON = "feedback_soon"  # 14 days before feedback is due
    ACKNOWLEDGE_OVERDUE = "acknowledge_overdue"
    FEEDBACK_OVERDUE = "feedback_overdue"
    CASE_EXPIRING = "case_expiring"  # a case never closed nears its channel's maximum age
    # The deferred information of a person concerned is due for review (GDPR Art. 23).
    PERSON_REVIEW_DUE = "person_review_due"
    # A reporter's request for a meeting or a call (Directive Art. 9(2)) awaits its answer.
    MEETING_SOON = "meeting_soon"  # 3 days before the request must be answered
    MEETING_OVERDUE = "meeting_overdue"
    # To administrators, as counts.
    ADMIN_SUMMARY = "admin_summary"  # overdue cases per channel, mail failing
    AUDIT_FAILED = "audit_failed"  # the audit chain failed its nightly verification


ACTIVITY = frozenset({Kind.CASE_NEW, Kind.REPORTER_MESSAGE, Kind.CASE_SHARED,
                      Kind.CASE_REMOVED})
# Sent whatever the reader chose on "My account".
ALWAYS = frozenset({Kind.ACKNOWLEDGE_OVERDUE, Kind.FEEDBACK_OVERDUE, Kind.MEETING_OVERDUE,
                    Kind.CASE_EXPIRING, Kind.PERSON_REVIEW_DUE, Kind.ADMIN_SUMMARY,
                    Kind.AUDIT_FAILED})


def naive(moment: datetime) -> datetime:
    """UTC without its zone, as the database stores it."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def batch_hours(settings: Settings) -> list[int]:
    return sorted({int(hour) for hour in settings.notify_hours})


def next_batch(now: datetime, hours: Iterable[int]) -> datetime:
    """The first batch time strictly after ``now`` (UTC, naive)."""
    now = naive(now)
    for days in range(2):
        day = now.date() + timedelta(days=days)
        for hour in sorted(hours):
            moment = datetime.combine(day, time(hour))
            if moment > now:
                return moment
    raise ValueError("no batch hour")  # hours is never empty (the settings check it)


def activity_due(settings: Settings, now: datetime) -> datetime:
    """When a notice of case activity written ``now`` may leave: the next batch time, plus
    a random delay of up to ``notify_delay_minutes``."""
    delay = secrets.randbelow(settings.notify_delay_minutes * 60 + 1)
    return next_batch(now, batch_hours(settings)) + timedelta(seconds=delay)


def notify_activity(session: Session, settings: Settings, kind: Kind, user_ids: Iterable[int],
                    now: datetime | None = None) -> None:
    """One notice of ``kind`` (an activity kind) to each of ``user_ids``, due at the next
    batch time. Written in the session: it commits or rolls back with the event."""
    rows = [{"kind": str(kind), "user_id": user_id, "params": {}, "attempts": 0,
             "due_at": activity_due(settings, now or datetime.now(UTC))}
            for user_id in sorted(set(user_ids))]
    if rows:
        session.execute(insert(Notification), rows)


def notify_once(session: Session, kind: Kind, *, dedup_key: str, due_at: datetime,
                user_id: int | None = None, address: str | None = None,
                params: dict[str, Any] | None = None) -> bool:
    """A notice that must be written once only (a reminder a job may reach twice): False
    when one with ``dedup_key`` already exists. Only the scheduler writes these, one job at a
    time; the unique key still refuses a second row should two ever race."""
    if session.scalar(select(Notification.id).where(Notification.dedup_key == dedup_key)):
        return False
    session.add(Notification(kind=str(kind), user_id=user_id, address=address,
                             params=params or {}, dedup_key=dedup_key, due_at=naive(due_at),
                             attempts=0))
    session.flush()
    return True
