"""The scheduler's lease watched from the web servers, and what the administration's
overview shows of the checks and of the outbox."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from integrity import current
from integrity.db import new_session
from integrity.i18n import language_of
from integrity.mail import Mailer, MailError
from integrity.notifications import messages
from integrity.notifications.checks import AUDIT, check_row
from integrity.notifications.models import HealthCheck, Notification
from integrity.notifications.outbox import naive
from integrity.notifications.reminders import administrators, failing_notices
from integrity.scheduler_lease import LEASE_NAME, SchedulerLease

log = logging.getLogger(__name__)

SCHEDULER = "scheduler"
SCHEDULER_GRACE = timedelta(minutes=10)  # a lease older than this: no scheduler runs
WATCH_SECONDS = 300


def scheduler_stopped_since(session: Session, now: datetime) -> datetime | None:
    """When the scheduler's lease ran out, if that was more than 10 minutes ago."""
    lease = session.get(SchedulerLease, LEASE_NAME)
    if lease is None or lease.expires_at + SCHEDULER_GRACE > naive(now):
        return None
    return lease.expires_at


def check_scheduler(session: Session, now: datetime,
                    mailer: type[Mailer] = Mailer) -> bool:
    """Tell the administrators, directly (the outbox is the scheduler's to send), once per
    stop, that no scheduler runs; True when they were told now. Any server may call it: the
    first to mark the stop sends, the others find it marked."""
    settings = current.settings()
    stopped = scheduler_stopped_since(session, now)
    row = check_row(session, SCHEDULER, naive(now).date())
    if stopped is None:
        if not row.ok:
            row.ok, row.alerted_at, row.checked_on = True, None, naive(now).date()
        session.commit()
        return False
    claimed = session.execute(
        update(HealthCheck)
        .where(HealthCheck.name == SCHEDULER,
               (HealthCheck.alerted_at.is_(None)) | (HealthCheck.alerted_at < stopped))
        .values(ok=False, alerted_at=naive(now), checked_on=naive(now).date(),
                detail=stopped.isoformat(timespec="minutes")))
    session.commit()
    if not getattr(claimed, "rowcount", 0):
        return False
    since = stopped.strftime("%Y-%m-%d %H:%M")
    try:
        with mailer(settings) as connection:
            for admin in administrators(session):
                connection.send(messages.scheduler_down(
                    settings, admin.email, language_of(admin), since,
                    f"scheduler-{stopped:%Y%m%d%H%M}-{admin.id}"))
    except MailError:
        log.error("the administrators could not be told that the scheduler is not running")
        session.execute(update(HealthCheck).where(HealthCheck.name == SCHEDULER)
                        .values(alerted_at=None))  # try again at the next check
        session.commit()
        return False
    return True


class Watchdog:
    """A thread in each server process that checks every 5 minutes that a scheduler runs."""

    def __init__(self, app: Flask, seconds: float = WATCH_SECONDS) -> None:
        self.app = app
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler-watchdog",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                with self.app.app_context():
                    session = new_session(self.app)
                    try:
                        check_scheduler(session, datetime.now().astimezone())
                    finally:
                        session.close()
            except Exception:  # the database may be away; the next round tries again
                log.exception("the scheduler watchdog could not check the lease")


@dataclass(frozen=True)
class Health:
    """What the administration's overview shows."""

    scheduler_seen: bool  # a scheduler has run at least once
    scheduler_running: bool
    scheduler_stopped_since: datetime | None
    audit_checked_on: date | None
    audit_ok: bool | None
    audit_entry: str
    waiting: int  # notices not sent yet
    failing: int  # of which the mail server refused or could not be reached
    last_error: str | None


def health(session: Session, now: datetime) -> Health:
    lease = session.get(SchedulerLease, LEASE_NAME)
    audit = session.get(HealthCheck, AUDIT)
    waiting = session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.sent_at.is_(None))) or 0
    last_error = session.scalar(
        select(Notification.last_error).where(Notification.sent_at.is_(None),
                                              Notification.attempts > 0)
        .order_by(Notification.retry_at.desc()).limit(1))
    return Health(
        scheduler_seen=lease is not None,
        scheduler_running=lease is not None and lease.expires_at >= naive(now),
        scheduler_stopped_since=scheduler_stopped_since(session, now),
        audit_checked_on=audit.checked_on if audit else None,
        audit_ok=audit.ok if audit else None, audit_entry=audit.detail if audit else "",
        waiting=waiting, failing=failing_notices(session), last_error=last_error)
