"""The outbox: notifications written with the event that causes them, sent by the scheduler."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from integrity.db import Base


class Notification(Base):
    """One notice to one person, due from ``due_at``.

    No creation time is kept: a notice written in the same transaction as a filing would date
    the filing. ``due_at`` is a batch time (with its random delay), ``sent_at`` when the mail
    server took it. ``params`` holds counts and days, never anything from a report.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # For a recipient without an account (survey reminders); else the account's address.
    address: Mapped[Optional[str]] = mapped_column(String(254))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Makes a notice that may be written twice (a daily reminder) written once.
    dedup_key: Mapped[Optional[str]] = mapped_column(String(120), unique=True)
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When to try again after a failure (None: at due_at).
    retry_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_error: Mapped[Optional[str]] = mapped_column(String(200))
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)


class HealthCheck(Base):
    """The last result of a check the administrators are told about (the audit chain's
    nightly verification, the scheduler's lease, the mail server)."""

    __tablename__ = "health_checks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    checked_on: Mapped[date] = mapped_column(Date)
    ok: Mapped[bool] = mapped_column(default=True)
    detail: Mapped[str] = mapped_column(String(200), default="")
    # When administrators were last told about a failure of this check (once per failure).
    alerted_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
