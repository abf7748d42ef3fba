"""What is new in a case, for whom: the inbox's markers and the notices they cause.

Every activity (a new case, a message from the reporter or an inspector, a note, a share)
marks the case unseen for each of its readers but the one who acted, moves its day of last
activity, and, for the kinds inspectors are told about, writes a notice into the outbox in the
same transaction. Opening the case clears the marker for that reader alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import true, update
from sqlalchemy.orm import Session

from integrity.config import Settings
from integrity.models import User, today
from integrity.notifications.outbox import Kind, notify_activity
from integrity.reporting.models import Report, report_readers


def record_activity(session: Session, settings: Settings, report: Report, actor: User | None,
                    notify: Kind | None = None, readers: Iterable[User] | None = None) -> None:
    """Mark ``report`` unseen for its readers other than ``actor`` (the reporter when None);
    with ``notify``, tell those readers (or only ``readers`` when given)."""
    report.last_activity_on = today()
    mark_unseen(session, report, actor)
    if notify is not None:
        told = readers if readers is not None else report.readers
        notify_activity(session, settings, notify,
                        [user.id for user in told
                         if user.active and (actor is None or user.id != actor.id)])


def mark_unseen(session: Session, report: Report, actor: User | None) -> None:
    """Something in ``report`` waits for its readers other than ``actor`` (a closing to
    confirm, for one): the inbox marks it new for them."""
    others = report_readers.c.user_id != actor.id if actor is not None else true()
    session.execute(update(report_readers)
                    .where(report_readers.c.report_id == report.id, others)
                    .values(unseen=True))


def mark_seen(session: Session, report: Report, reader: User) -> None:
    """``reader`` has seen everything in ``report`` so far."""
    session.execute(update(report_readers)
                    .where(report_readers.c.report_id == report.id,
                           report_readers.c.user_id == reader.id,
                           report_readers.c.unseen.is_(True))
                    .values(unseen=False))
