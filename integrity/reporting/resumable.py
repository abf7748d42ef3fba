"""Resumable uploads (docs/protocol.md#resumable-uploads): a sealed upload that declares its
length first, then arrives in one or more requests, each appending at the offset the server
holds. A request cut off keeps the bytes that reached the store; the client asks for the offset
and sends the rest. Only a complete upload can be claimed; an unclaimed one, complete or not, is
purged like any other (``attachments.purge_unclaimed_attachments``).

The database's ``received`` is the truth: stored bytes past it (a write that reached the store
but whose count was never committed) are cut back before the next append. One append at a
time per upload: a second one while the first runs is refused with 409 (a lock on the file, or
on PostgreSQL an advisory lock held by the append's transaction).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import ClientDisconnected

from crypto.errors import TooLargeError
from integrity.config import Settings
from integrity.models import utcnow
from integrity.reporting.attachments import check_upload_length, purge_unclaimed_attachments
from integrity.reporting.errors import ProtocolError
from integrity.reporting.models import Attachment
from integrity.reporting.storage import READ_SIZE, AttachmentStore, Busy, new_attachment_id


class OffsetMismatch(ProtocolError):
    """An append at another offset than the one held; the answer says which one is."""

    def __init__(self, offset: int) -> None:
        super().__init__(_l("The upload does not continue at that offset: the server holds "
                            "%(offset)d bytes of it.", offset=offset), 409)
        self.offset = offset


def start_upload(session: Session, settings: Settings, store: AttachmentStore,
                 length: object) -> Attachment:
    """Record an upload of ``length`` sealed bytes (a valid secretstream length within the
    limit)."""
    if isinstance(length, bool) or not isinstance(length, int):
        raise ProtocolError(_l("The field “length” must be a whole number of bytes."))
    check_upload_length(settings, length)
    purge_unclaimed_attachments(session, settings, store, limit=20)
    attachment = Attachment(id=new_attachment_id(), size=length, received=0,
                            uploaded_at=utcnow())
    session.add(attachment)  # its file is made by the first append
    return attachment


def unclaimed_upload(session: Session, upload_id: str) -> Attachment:
    """The upload ``upload_id`` while no report has claimed it; 404 otherwise (the same for
    an id that never existed: the id is the only thing that names it)."""
    attachment = session.scalar(select(Attachment).where(
        Attachment.id == upload_id, Attachment.report_id.is_(None)))
    if attachment is None:
        raise ProtocolError(_l("No upload has this id."), 404)
    return attachment


def held(attachment: Attachment) -> int:
    """The bytes of ``attachment`` the server holds."""
    return attachment.size if attachment.received is None else attachment.received


def append(session: Session, store: AttachmentStore, upload_id: str, offset: object,
           stream: IO[bytes]) -> Attachment:
    """Append the request body to the upload at ``offset``, keeping what arrives even if the
    request is cut off. 409 (with the offset held) for another offset or a second writer."""
    attachment = unclaimed_upload(session, upload_id)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ProtocolError(_l("The header “Upload-Offset” must give a whole number of bytes."))
    if offset != held(attachment):
        raise OffsetMismatch(held(attachment))
    if attachment.received is None:
        return attachment  # complete already: nothing more to add
    try:
        written = store.append(upload_id, offset, _pieces(stream), attachment.size - offset)
    except Busy as exc:
        raise ProtocolError(_l("This upload is being sent in another request."), 409) from exc
    except TooLargeError as exc:  # refused: the upload stays as it was
        raise ProtocolError(_l("The upload is longer than the length it declared."),
                            413) from exc
    attachment.received = offset + written
    if attachment.received == attachment.size:
        attachment.received = None  # complete: a report or message may claim it now
    return attachment


def _pieces(stream: IO[bytes]) -> Iterator[bytes]:
    """The request body in 64 KiB pieces, ending where the client cut the request off: what
    arrived until then is kept, and counted."""
    while True:
        try:
            piece = stream.read(READ_SIZE)
        except ClientDisconnected:
            return
        if not piece:
            return
        yield piece


def upload_json(attachment: Attachment) -> dict[str, object]:
    """What the upload routes answer: its id, the bytes held, its length, whether complete."""
    return {"id": attachment.id, "offset": held(attachment), "length": attachment.size,
            "complete": attachment.received is None}
