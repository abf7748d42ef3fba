"""Checks run by the scheduler whose failures administrators are told about."""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy.orm import Session

from integrity.audit import verify
from integrity.audit_register import check_register, write_register
from integrity.cases.records import audit_agreements
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
    """The nightly audit: write the register of the days past (integrity/audit_register.py)
    and the records the reporters agreed on those days (integrity/cases/records.py), then
    verify the chain and the register; on a fault, each administrator is told (once per
    night). The result stays for the overview page."""
    for day in write_register(session, today):
        audit_agreements(session, day)
    result = verify(session)
    broken = result.first_broken if not result.ok else None
    if result.ok:
        register = check_register(session)
        if not register.ok:
            log.error("the daily register does not match on %s",
                      ", ".join(gap.day.isoformat() for gap in register.gaps))
            broken = register.gaps[0].seq
    else:
        log.error("the audit log failed its verification at entry %s", result.first_broken)
    ok = result.ok and broken is None
    row = check_row(session, AUDIT, today)
    row.checked_on, row.ok = today, ok
    row.detail = "" if ok else str(broken or 0)
    if not ok:
        for admin in administrators(session):
            notify_once(session, Kind.AUDIT_FAILED, user_id=admin.id, due_at=naive(now),
                        dedup_key=f"{Kind.AUDIT_FAILED}:{admin.id}:{today.isoformat()}",
                        params={"entry": broken or 0})
    return ok
