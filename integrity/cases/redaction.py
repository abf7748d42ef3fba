"""Deleting a file or a message of a case, or redacting a passage of a message, leaving a
tombstone (EU Directive 2019/1937, Art. 17: personal data manifestly not relevant to the
handling of a report is deleted).

What goes is gone for good: a file's sealed bytes are overwritten and unlinked and its row
deleted; a deleted message keeps its row (its place in the thread) with an empty payload and
no key slot; a redacted message's payload is replaced by one the reader's browser sealed again
to the same readers, with the passage replaced by a visible marker. Each leaves a tombstone in
the thread (who and which day; and why, which can itself name what was removed, so it arrives
sealed in the reader's browser as a note is, to the case's readers and never to the reporter)
and an audit entry that names ids, sizes and the SHA-256 of what was removed, never content.

A protocol 2 message keeps the hash of the payload first sent, which its link covers, and
carries the authenticator of its replacement, made in the reader's browser with the thread
secret (docs/protocol.md#redactions-and-deletions): the chain still verifies, and a payload
replaced by someone without the secret does not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

import crypto
from crypto.documents import PAYLOAD_OVERHEAD
from crypto.framing import generichash
from integrity.audit import record
from integrity.cases.activity import record_activity
from integrity.config import Settings
from integrity.db import LARGEST_ID
from integrity.installation import get_installation
from integrity.models import User
from integrity.reporting.checks import checked_key_slots, checked_payload
from integrity.reporting.errors import ProtocolError
from integrity.reporting.mailbox import current_recipients
from integrity.reporting.models import (
    Attachment,
    KeySlot,
    Message,
    Report,
    Sender,
    Tombstone,
    TombstoneKeySlot,
    TombstoneKind,
)
from integrity.reporting.routing import REPORTER, expected_readers
from integrity.reporting.storage import AttachmentStore, digest

MAX_REASON = 500  # characters, as the pages keep it; the server sees only the sealed size
# The longest plaintext a sealed reason may hold: a reason of MAX_REASON characters in the
# reason document, in any script and with every escape JSON may write, fits in it.
MAX_REASON_BYTES = 4096


@dataclass(frozen=True)
class SealedReason:
    """Why, sealed in the reader's browser: the payload and a key slot by reader."""

    payload: bytes
    key_slots: dict[str, bytes]


def inspector_readers(session: Session, settings: Settings, report: Report) -> set[str]:
    """Whom a document of the case's inspectors is sealed to, as a note is: the case's current
    readers and the recovery key when configured, never the reporter."""
    readers = {str(u.id): u.public_key or b"" for u in current_recipients(report)}
    expected = expected_readers(readers, get_installation(session, settings).recovery_public_key)
    expected.discard(REPORTER)
    return expected


def max_reason_payload(pad_block: int) -> int:
    """The longest payload of a sealed reason: ``MAX_REASON_BYTES`` of plaintext, padded."""
    return PAYLOAD_OVERHEAD + (MAX_REASON_BYTES // pad_block + 1) * pad_block


def checked_reason(session: Session, settings: Settings, report: Report,
                   body: dict[str, Any]) -> SealedReason:
    """Why, sealed as a note is: ``body["reason"]`` is ``{"payload", "key_slots"}`` with a
    slot for exactly the readers of a note; its payload no longer than a reason needs."""
    field = body.get("reason")
    if field is None:
        raise ProtocolError(_l("Say why it is deleted."))
    if not isinstance(field, dict):
        raise ProtocolError(_l("The reason must be sealed to the case's readers: an object with "
                               "“payload” and “key_slots”."))
    pad_block = get_installation(session, settings).pad_block
    payload = checked_payload(field, settings, pad_block)
    if len(payload) > max_reason_payload(pad_block):
        raise ProtocolError(lazy_ngettext(
            "The sealed reason is longer than a reason of %(num)d character needs.",
            "The sealed reason is longer than a reason of %(num)d characters needs.",
            MAX_REASON), 413)
    slots = checked_key_slots(field, inspector_readers(session, settings, report))
    return SealedReason(payload, slots)


def file_digest(store: AttachmentStore, attachment_id: str) -> str:
    """SHA-256 (hex) of a sealed file as stored; of nothing when the file is already gone."""
    return digest(store, attachment_id)


def case_message(session: Session, report: Report, message_id: object) -> Message:
    """A message or note of ``report``; 404 for any other id."""
    message = None
    if isinstance(message_id, str) and message_id.isascii() and message_id.isdigit() \
            and int(message_id) <= LARGEST_ID:  # past any id, and past what SQLite can bind
        message = session.get(Message, int(message_id))
    if message is None or message.report_id != report.id:
        raise ProtocolError(_l("This case has no such message."), 404)
    return message


def is_deleted(session: Session, message: Message) -> bool:
    return session.scalar(select(Tombstone.id).where(
        Tombstone.message_id == message.id, Tombstone.kind == TombstoneKind.MESSAGE)) is not None


def _removed_file(session: Session, store: AttachmentStore,
                  attachment: Attachment) -> dict[str, Any]:
    """Overwrite, unlink and forget one sealed file; what the audit entry says of it."""
    facts = {"id": attachment.id, "size": attachment.size,
             "sha256": file_digest(store, attachment.id)}
    # Overwritten at once, as the retention purge does: a failed commit leaves a row without
    # its file (the page then says the file cannot be opened), never the bytes.
    store.shred(attachment.id)
    session.delete(attachment)
    return facts


def _tombstone(session: Session, report: Report, user: User, kind: TombstoneKind,
               reason: SealedReason, message: Message | None = None,
               attachment_id: str | None = None) -> Tombstone:
    tombstone = Tombstone(
        report_id=report.id, message_id=message.id if message else None,
        attachment_id=attachment_id, kind=kind, by_id=user.id, reason_payload=reason.payload,
        key_slots=[TombstoneKeySlot(reader=reader, slot=slot)
                   for reader, slot in reason.key_slots.items()])
    session.add(tombstone)
    return tombstone


def delete_attachment(session: Session, settings: Settings, store: AttachmentStore,
                      report: Report, user: User, attachment_id: str,
                      body: object) -> Tombstone:
    """Delete one file of the case for good, with a tombstone where it was listed."""
    body = _object(body)
    reason = checked_reason(session, settings, report, body)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.report_id != report.id:
        raise ProtocolError(_l("This case has no such file."), 404)
    message_id = attachment.message_id
    facts = _removed_file(session, store, attachment)
    details: dict[str, Any] = {"attachment": facts["id"], "size": facts["size"],
                               "sha256": facts["sha256"]}
    if message_id is not None:
        details["message"] = message_id
    tombstone = _tombstone(session, report, user, TombstoneKind.ATTACHMENT, reason,
                           session.get(Message, message_id) if message_id else None,
                           facts["id"])
    record(session, actor=user, action="attachment_deleted", subject=f"report:{report.id}",
           details=details)
    record_activity(session, settings, report, user)
    return tombstone


def _replacement(body: dict[str, Any], message: Message, user: User) -> None:
    """Keep the hash of the payload first sent and, for protocol 2, take the authenticator
    of the replacement that the reader's browser made (the server cannot check it)."""
    if message.payload_hash is None:
        message.payload_hash = generichash(message.payload)
    if message.chain is None:
        return
    field = body.get("replacement")
    if not isinstance(field, dict):
        raise ProtocolError(_l("A message of a protocol 2 report needs the authenticator of "
                               "its replacement."))
    try:
        message.replacement_auth = crypto.b64decode(field.get("auth"), 32,
                                                    what="replacement's authenticator")
    except crypto.EncodingError as exc:
        raise ProtocolError(exc) from exc
    message.replaced_by = str(user.id)


def delete_message(session: Session, settings: Settings, store: AttachmentStore,
                   report: Report, user: User, message: Message, body: object) -> Tombstone:
    """Delete a message or note, and its files: its row stays, empty, for its place."""
    body = _object(body)
    reason = checked_reason(session, settings, report, body)
    if is_deleted(session, message):
        raise ProtocolError(_l("This message was already deleted."))
    old = message.payload
    _replacement(body, message, user)
    files = [_removed_file(session, store, attachment) for attachment in session.scalars(
        select(Attachment).where(Attachment.message_id == message.id))]
    message.payload = b""
    session.execute(delete(KeySlot).where(KeySlot.message_id == message.id))
    tombstone = _tombstone(session, report, user, TombstoneKind.MESSAGE, reason, message)
    record(session, actor=user, action="message_deleted", subject=f"report:{report.id}",
           details={"message": message.id, "size": len(old),
                    "sha256": hashlib.sha256(old).hexdigest(), "attachments": files})
    record_activity(session, settings, report, user)
    return tombstone


def message_readers(session: Session, settings: Settings, report: Report,
                    message: Message) -> set[str]:
    """Whom a redacted message is sealed to again: the case's readers, the reporter unless it
    is a note, and the recovery key when configured, as a new message would be."""
    if message.sender == Sender.NOTE:
        return inspector_readers(session, settings, report)
    readers = {str(u.id): u.public_key or b"" for u in current_recipients(report)}
    return expected_readers(readers, get_installation(session, settings).recovery_public_key)


def redact_message(session: Session, settings: Settings, report: Report, user: User,
                   message: Message, body: object) -> Tombstone:
    """Replace a message's payload by the one sealed again in the reader's browser, with a
    passage replaced by a visible marker."""
    body = _object(body)
    reason = checked_reason(session, settings, report, body)
    if is_deleted(session, message):
        raise ProtocolError(_l("This message was already deleted."))
    payload = checked_payload(body, settings, get_installation(session, settings).pad_block)
    slots = checked_key_slots(body, message_readers(session, settings, report, message))
    old = message.payload
    _replacement(body, message, user)
    message.payload = payload
    session.execute(delete(KeySlot).where(KeySlot.message_id == message.id))
    session.add_all(KeySlot(report_id=report.id, message_id=message.id, reader=reader, slot=slot)
                    for reader, slot in slots.items())
    tombstone = _tombstone(session, report, user, TombstoneKind.PASSAGE, reason, message)
    record(session, actor=user, action="message_redacted", subject=f"report:{report.id}",
           details={"message": message.id, "size": len(old),
                    "sha256": hashlib.sha256(old).hexdigest()})
    record_activity(session, settings, report, user)
    return tombstone


def _object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ProtocolError(_l("The request body must be a JSON object."))
    return body


def wipe_freed_pages(session: Session) -> None:
    """After the commit, on SQLite: move the write-ahead log into the database file and empty
    it, so that (with ``secure_delete``) the pages that held what was removed are overwritten
    now rather than at some later checkpoint. PostgreSQL reclaims dead rows by vacuuming
    (docs/administration.md)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        session.commit()

