"""Checks run by the scheduler whose failures administrators are told about."""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy.orm import Session

from integrity.audit import verify
from integrity.notifications.models import HealthCheck
from integrity.notifications.outbox import Kind, naive, notify_once
from integrity.notifications.reminders import administrators

log = logging.getLogger(__name__)

AUDIT = "audit"


def check_row(session: Session, name: str, today: date) -> HealthCheck:
    row = session.get(HealthCheck, name)
    if row is None:
        row = HealthCheck(name=name, checked_on=today, ok=True, detail="")
        session.add(row)
        session.flush()
    return row


def verify_audit(session: Session, today: date, now: datetime) -> bool:
    """The nightly verification of the audit chain; on a fault, each administrator is told
    (once per night). The result stays for the overview page."""
    result = verify(session)
    row = check_row(session, AUDIT, today)
    row.checked_on, row.ok = today, result.ok
    row.detail = "" if result.ok else str(result.first_broken or 0)
    if not result.ok:
        log.error("the audit log failed its verification at entry %s", result.first_broken)
        for admin in administrators(session):
            notify_once(session, Kind.AUDIT_FAILED, user_id=admin.id, due_at=naive(now),
                        dedup_key=f"{Kind.AUDIT_FAILED}:{admin.id}:{today.isoformat()}",
                        params={"entry": result.first_broken or 0})
    return result.ok
