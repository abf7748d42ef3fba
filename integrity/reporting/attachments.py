"""Sealed uploads: received as a stream, claimed by a report or message, purged if unclaimed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import crypto
from integrity.config import Settings
from integrity.models import utcnow
from integrity.reporting.errors import ProtocolError
from integrity.reporting.models import Attachment
from integrity.reporting.storage import AttachmentStore, new_attachment_id


def check_upload_length(settings: Settings, length: int) -> None:
    """Refuse a sealed length that does not decompose into chunks (400) or is over the limit
    (413), before any of the upload is read."""
    try:
        crypto.check_stream_length(length, settings.max_attachment_bytes)
    except crypto.TooLargeError as exc:
        raise ProtocolError(exc, 413) from exc
    except crypto.ShapeError as exc:
        raise ProtocolError(exc) from exc


def receive_attachment(
    session: Session, settings: Settings, store: AttachmentStore, stream: Any,
    declared_length: int | None,
) -> Attachment:
    """Stream a sealed upload to the store, check its length decomposes into chunks, record
    it."""
    if declared_length is not None:
        check_upload_length(settings, declared_length)
    # Stale uploads go as new ones arrive, so none outlives its hour by much even without
    # the scheduler.
    purge_unclaimed_attachments(session, settings, store, limit=20)
    attachment_id = new_attachment_id()
    try:
        size = store.write_stream(attachment_id, stream, settings.max_attachment_bytes)
    except crypto.TooLargeError as exc:
        raise ProtocolError(exc, 413) from exc
    if not crypto.valid_stream_length(size):
        store.shred(attachment_id)
        raise ProtocolError(_l("The attachment is not a secretstream of 65,536-byte chunks "
                               "with a final chunk."))
    attachment = Attachment(id=attachment_id, size=size, uploaded_at=utcnow())
    session.add(attachment)
    return attachment


def purge_unclaimed_attachments(
    session: Session, settings: Settings, store: AttachmentStore, now: datetime | None = None,
    limit: int | None = None,
) -> int:
    """Delete uploads that no report claimed within the configured time; returns how many."""
    cutoff = (now or utcnow()) - timedelta(minutes=settings.unclaimed_upload_minutes)
    stale = list(session.scalars(select(Attachment).where(
        Attachment.report_id.is_(None), Attachment.uploaded_at < cutoff
    ).limit(limit)))
    for attachment in stale:
        store.shred(attachment.id)
        session.delete(attachment)
    return len(stale)


def claim_attachments(session: Session, store: AttachmentStore, ids: list[str], report_id: int,
                      message_id: int | None) -> None:
    """Give the uploads ``ids`` to a report (or its message); refused if one was claimed."""
    if not ids:
        return
    claimed = session.execute(
        update(Attachment)
        .where(Attachment.id.in_(ids), Attachment.report_id.is_(None),
               Attachment.received.is_(None))  # never one still arriving
        .values(report_id=report_id, message_id=message_id, uploaded_at=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != len(ids):
        raise ProtocolError(_l("An attachment is unknown or already belongs to a report."))
    for attachment_id in ids:
        store.blur_time(attachment_id)
