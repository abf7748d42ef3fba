"""How long the audit log names staff: after the installation's period (``audit_staff_years``,
5 years unless set on the settings page), the staff member who acted is pseudonymised.

The entry keeps its time, action, subject and details, and the digest of its actor that its
hash covers (integrity/audit.py); the account number, the address and the salt that the digest
was keyed with are removed, so the chain still verifies and the digest can no longer be tied to
anyone. Each run that removes any is recorded (how many, up to which entry, older than when),
and ``verify`` accepts a removed actor only within what these records cover.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from integrity.audit import PSEUDONYMISED, AuditEntry, record


def years_before(moment: datetime, years: int) -> datetime:
    """The same moment ``years`` earlier (28 February for 29 February), without time zone."""
    moment = moment.replace(tzinfo=None, microsecond=0)
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def pseudonymise_staff(session: Session, now: datetime, years: int) -> int:
    """Remove the staff member from every entry older than ``years`` before ``now``; returns
    how many entries changed. Recorded in the log; the caller commits."""
    before = years_before(now, years)
    expired = (AuditEntry.at < before, AuditEntry.actor_id.isnot(None),
               AuditEntry.actor_salt.isnot(None))
    count, through = session.execute(
        select(func.count(), func.max(AuditEntry.seq)).where(*expired)).one()
    if not count:
        return 0
    session.execute(update(AuditEntry).where(*expired, AuditEntry.seq <= through)
                    .values(actor_id=None, actor=PSEUDONYMISED, actor_salt=None)
                    .execution_options(synchronize_session=False))
    # The action's name is PSEUDONYMISE_ACTION, which verify reads back.
    record(session, actor=None, actor_label="system", action="audit_staff_pseudonymised",
           subject="audit", details={"entries": int(count), "through": int(through),
                                     "before": before.isoformat(), "years": years})
    return int(count)
