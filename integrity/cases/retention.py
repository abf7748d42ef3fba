"""Retention: closed cases are deleted once their channel's retention period has passed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.audit_register import payload_digest
from integrity.models import Channel
from integrity.reporting.models import Attachment, Report, Status
from integrity.reporting.storage import AttachmentStore


@dataclass(frozen=True)
class Purged:
    report_id: int
    reference: str
    channel: str
    closed_on: date
    filed_on: date


def due_for_purge(session: Session, today: date) -> list[Purged]:
    """Closed cases whose channel's retention period ended on or before ``today``."""
    due: list[Purged] = []
    for channel in session.scalars(select(Channel)):
        cutoff = today - timedelta(days=channel.retention_days)
        rows = session.execute(
            select(Report.id, Report.reference, Report.closed_on, Report.created_on).where(
                Report.channel_id == channel.id, Report.status == Status.CLOSED,
                Report.closed_on <= cutoff)
        )
        due.extend(Purged(rid, reference, channel.slug, closed, filed)
                   for rid, reference, closed, filed in rows if closed)
    return due


def purge_cases(session: Session, store: AttachmentStore, today: date) -> list[Purged]:
    """Delete every due case: its ciphertext, thread, key slots, and files overwritten first.

    Each deletion is audited with the channel, the closing and filing days and the hash of the
    sealed payload (so that the daily register, integrity/audit_register.py, can tell this
    deletion from one behind the application's back), never content. The caller
    commits (files are overwritten at once: a failed commit leaves rows without files, which
    the next run deletes).
    """
    due = due_for_purge(session, today)
    for case in due:
        for attachment_id in session.scalars(
            select(Attachment.id).where(Attachment.report_id == case.report_id)
        ):
            store.shred(attachment_id)
        sealed = session.scalar(select(Report.payload).where(Report.id == case.report_id))
        # Messages, key slots, readers and attachment rows go with the report (ON DELETE CASCADE).
        session.execute(delete(Report).where(Report.id == case.report_id))
        record(session, actor=None, actor_label="system", action="case_purged",
               subject=f"report:{case.report_id}",
               # The reference names the deleted case on the audit page; it says nothing of
               # the report (it is drawn at random).
               details={"reference": case.reference, "channel": case.channel,
                        "closed_on": case.closed_on.isoformat(),
                        "filed_on": case.filed_on.isoformat(),
                        "sealed_sha256": payload_digest(sealed or b"").hex()})
    return due
