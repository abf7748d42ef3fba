"""The scheduler's lease: one row naming the scheduler that runs jobs, until when.

Exactly one scheduler runs jobs (integrity/scheduler.py); another started beside it waits as
a standby until the holder's lease runs out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, String, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from integrity.db import Base

LEASE_NAME = "scheduler"


class SchedulerLease(Base):
    """Who runs jobs, until when (one row per scheduler name)."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime)


def take_lease(session: Session, holder: str, seconds: float,
               now: datetime | None = None) -> bool:
    """Take or renew the lease for ``holder``; False while another holder's is current."""
    moment = (now or datetime.now(UTC)).replace(tzinfo=None)
    until = moment + timedelta(seconds=seconds)
    result = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME,
               (SchedulerLease.holder == holder) | (SchedulerLease.expires_at < moment))
        .values(holder=holder, expires_at=until)
    )
    if not getattr(result, "rowcount", 0):
        if session.get(SchedulerLease, LEASE_NAME) is not None:
            session.rollback()
            return False
        try:
            session.execute(insert(SchedulerLease).values(name=LEASE_NAME, holder=holder,
                                                          expires_at=until))
        except IntegrityError:  # another scheduler inserted it first
            session.rollback()
            return False
    session.commit()
    return True


def release_lease(session: Session, holder: str) -> None:
    session.execute(update(SchedulerLease).where(
        SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder,
    ).values(expires_at=datetime(1970, 1, 1)))
    session.commit()


def lease_holder(session: Session, now: datetime | None = None) -> str | None:
    """The holder of a current lease, if any."""
    moment = (now or datetime.now(UTC)).replace(tzinfo=None)
    lease = session.get(SchedulerLease, LEASE_NAME)
    return lease.holder if lease is not None and lease.expires_at >= moment else None
