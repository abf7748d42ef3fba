"""Sending the outbox: the scheduler's job every few minutes.

Each run takes the notices that are due, keeps back what a reader's choice holds back (a
digest waits for its hour; a reader who wants none gets only overdue notices), and sends one
e-mail per recipient with everything due for them. A notice is deleted (activity) or marked
sent (reminders, whose keys must stay), in its own commit, as soon as the mail server took the
e-mail: a scheduler stopped in the middle of a run
sends the rest at its next run and none twice. A refused or unreachable server leaves the
notices waiting, tried again after 1, 2, 4 … minutes (at most 6 hours apart), never dropped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from integrity.config import Settings
from integrity.i18n import language_of
from integrity.mail import Mailer, MailError
from integrity.models import Channel, User
from integrity.notifications import messages
from integrity.notifications.models import Notification
from integrity.notifications.outbox import ACTIVITY, ALWAYS, Kind, naive

log = logging.getLogger(__name__)

MAX_RETRY = timedelta(hours=6)
KEEP_SENT = timedelta(days=30)  # long enough for every reminder's de-duplication key


@dataclass
class SendResult:
    sent: int = 0  # e-mails the server took
    notices: int = 0  # notices they carried
    failed: int = 0  # e-mails that must be tried again
    dropped: int = 0  # notices their reader did not want
    held: int = 0  # notices waiting for their reader's digest hour


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 1, 2, 4 … minutes, at most 6 h."""
    return min(timedelta(minutes=2 ** min(attempts - 1, 16)), MAX_RETRY)


def last_digest(now: datetime, hour: int) -> datetime:
    """The most recent moment at ``hour`` o'clock (UTC) not after ``now``."""
    today_at = datetime.combine(now.date(), time(hour))
    return today_at if today_at <= now else today_at - timedelta(days=1)


def _due(session: Session, now: datetime) -> list[Notification]:
    retry_or_due = func.coalesce(Notification.retry_at, Notification.due_at)
    return list(session.scalars(
        select(Notification)
        .where(Notification.sent_at.is_(None), Notification.due_at <= now, retry_or_due <= now)
        .order_by(Notification.id)))


def _wanted(notice: Notification, user: User, now: datetime) -> bool | None:
    """True to send now, None to hold for the digest, False to drop."""
    if notice.kind in ALWAYS or user.notify == "batch":
        return True
    if user.notify == "digest":
        return True if notice.due_at <= last_digest(now, user.digest_hour) else None
    return False


def _compose(session: Session, settings: Settings, user: User,
             notices: list[Notification]) -> list[tuple[list[Notification], EmailMessage]]:
    """The e-mails for one person's notices: one for an inspector's, one per administrator's
    notice (each stands alone)."""
    language = language_of(user)
    inspector = [n for n in notices if n.kind not in {Kind.ADMIN_SUMMARY, Kind.AUDIT_FAILED}]
    mails = []
    if inspector:
        key = f"n{inspector[0].id}-{len(inspector)}"
        mails.append((inspector, messages.inspector_notice(
            settings, user.email, language, [n.kind for n in inspector], key)))
    for notice in notices:
        key = f"n{notice.id}"
        if notice.kind == Kind.ADMIN_SUMMARY:
            names = {cid: name for cid, name in session.execute(select(Channel.id, Channel.name))}
            overdue = [(names.get(int(channel), "?"), int(count))
                       for channel, count in notice.params.get("overdue", [])]
            mails.append(([notice], messages.admin_summary(
                settings, user.email, language, overdue, int(notice.params.get("failing", 0)),
                key)))
        elif notice.kind == Kind.AUDIT_FAILED:
            mails.append(([notice], messages.audit_failed(
                settings, user.email, language, int(notice.params.get("entry", 0)), key)))
    return mails


def send_due(session: Session, settings: Settings, now: datetime,
             mailer: Callable[[Settings], Mailer] = Mailer) -> SendResult:
    """Send every notice due at ``now`` (UTC); commits as it goes."""
    now = naive(now)
    result = SendResult()
    by_user: dict[int, list[Notification]] = defaultdict(list)
    for notice in _due(session, now):
        if notice.user_id is not None:
            by_user[notice.user_id].append(notice)
    outgoing = []
    for user_id, notices in by_user.items():
        user = session.get(User, user_id)
        if user is None or not user.active:
            for notice in notices:
                session.delete(notice)
            result.dropped += len(notices)
            continue
        send = []
        for notice in notices:
            wanted = _wanted(notice, user, now)
            if wanted is None:
                result.held += 1
            elif wanted:
                send.append(notice)
            else:
                session.delete(notice)
                result.dropped += 1
        if send:
            outgoing += _compose(session, settings, user, send)
    session.commit()
    if not outgoing:
        return result
    tried = 0
    try:
        with mailer(settings) as connection:
            for notices, message in outgoing:
                try:
                    connection.send(message)
                except MailError as exc:
                    _failed(notices, now, str(exc))
                    result.failed += 1
                else:
                    _sent(session, notices, now)
                    result.sent += 1
                    result.notices += len(notices)
                session.commit()
                tried += 1
    except MailError as exc:  # the server could not be reached: the rest waits
        for notices, _message in outgoing[tried:]:
            _failed(notices, now, str(exc))
            result.failed += 1
        session.commit()
    if result.failed:
        log.warning("%d notification e-mails could not be sent; they wait for a retry",
                    result.failed)
    return result


def _sent(session: Session, notices: list[Notification], now: datetime) -> None:
    """Notices of activity go as soon as they are sent: kept, they would tell a copy of the
    database roughly when reports arrived. Reminders stay, marked, for their keys."""
    for notice in notices:
        if notice.kind in ACTIVITY:
            session.delete(notice)
        else:
            notice.sent_at = now


def _failed(notices: list[Notification], now: datetime, error: str) -> None:
    for notice in notices:
        notice.attempts += 1
        notice.retry_at = now + retry_delay(notice.attempts)
        notice.last_error = error[:200]


def purge_sent(session: Session, now: datetime) -> int:
    """Forget notices sent more than 30 days ago."""
    result = session.execute(delete(Notification).where(
        Notification.sent_at.isnot(None), Notification.sent_at < naive(now) - KEEP_SENT))
    return int(getattr(result, "rowcount", 0) or 0)
