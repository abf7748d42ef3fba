"""The PDF integrity reports being built, and built, kept in the database for an hour.

A report is built in a thread of the server that was asked for it; its progress and the
finished file are rows of ``report_builds``, so that any server (and any worker) answers the
progress requests and hands out the file. Each build belongs to the account that started it:
another account's token is as unknown as a made-up one. A build silent for five minutes died
with its worker.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, defer, mapped_column

from integrity.db import Base
from integrity.models import utcnow

KEEP = timedelta(hours=1)
STALE = timedelta(minutes=5)
RUNNING, DONE, FAILED = "running", "done", "failed"


class ReportBuild(Base):
    """One PDF report: whose it is, how far it got, and the file once it is done."""

    __tablename__ = "report_builds"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))  # running, done or failed
    step: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[int] = mapped_column(Integer, default=1)
    message: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    pdf: Mapped[Optional[bytes]] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class BuildStatus:
    state: str
    step: int
    steps: int
    message: str


def start_build(session: Session, owner_id: int, message: str) -> str:
    """A new build of ``owner_id``'s, running; its token. Builds older than an hour go."""
    now = utcnow()
    session.execute(delete(ReportBuild).where(ReportBuild.updated_at < now - KEEP))
    token = secrets.token_hex(16)
    session.add(ReportBuild(token=token, owner_id=owner_id, state=RUNNING, step=0, steps=1,
                            message=message, updated_at=now))
    return token


def record_progress(session: Session, token: str, step: int, steps: int, message: str) -> None:
    build = session.get(ReportBuild, token, options=[defer(ReportBuild.pdf)])
    if build is not None:
        build.step, build.steps, build.message, build.updated_at = step, steps, message, utcnow()


def finish_build(session: Session, token: str, pdf: bytes | None, message: str) -> None:
    """The build is done with ``pdf``, or failed (``pdf`` None) with ``message``."""
    build = session.get(ReportBuild, token, options=[defer(ReportBuild.pdf)])
    if build is None:
        return
    build.state = DONE if pdf is not None else FAILED
    if pdf is not None:
        build.step = build.steps
    build.pdf, build.message, build.updated_at = pdf, message, utcnow()


def build_status(session: Session, token: str, owner_id: int, interrupted: str
                 ) -> BuildStatus | None:
    """How far ``owner_id``'s build is; None for a token not theirs. A running build silent
    for too long is reported failed with ``interrupted``."""
    if not token.isalnum() or len(token) > 64:
        return None
    build = session.get(ReportBuild, token, options=[defer(ReportBuild.pdf)])
    if build is None or build.owner_id != owner_id:
        return None
    if build.state == RUNNING and utcnow() - build.updated_at > STALE:
        return BuildStatus(FAILED, build.step, build.steps, interrupted)
    return BuildStatus(build.state, build.step, build.steps, build.message)


def built_pdf(session: Session, token: str, owner_id: int) -> bytes | None:
    """The finished file of ``owner_id``'s build, or None."""
    if not token.isalnum() or len(token) > 64:
        return None
    found = session.execute(select(ReportBuild.pdf).where(
        ReportBuild.token == token, ReportBuild.owner_id == owner_id,
        ReportBuild.state == DONE)).scalar()
    return bytes(found) if found is not None else None
