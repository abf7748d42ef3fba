"""Sharing a case with another inspector: the browser re-seals the case's keys to them.

The server never sees a document key. It checks that the new reader may receive the case
(an active inspector with a key, not already a reader, not one the reporter excluded) and
that a new key slot arrives for every document the sharing inspector could open, then adds
the reader and the slots in one transaction.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.cases import persons
from integrity.cases.activity import record_activity
from integrity.cases.readers import ReaderError, checked_reason
from integrity.config import Settings
from integrity.db import database_int
from integrity.installation import get_installation
from integrity.models import Role, User
from integrity.notifications.outbox import Kind
from integrity.org_key import certified
from integrity.reporting import tombstones
from integrity.reporting.checks import checked_key_slots, checked_payload, decoded_key_slots
from integrity.reporting.errors import ProtocolError
from integrity.reporting.links import THREAD, check_place, checked_link
from integrity.reporting.mailbox import add_message, current_recipients
from integrity.reporting.models import (
    Attachment,
    KeySlot,
    Report,
    Sender,
    report_exclusions,
    report_readers,
)
from integrity.reporting.routing import expected_readers
from integrity.reporting.storage import AttachmentStore

REPORT_DOCUMENT = "report"  # the key of the report's own slot in a share request


def is_excluded(session: Session, report: Report, user: User) -> bool:
    """Whether the reporter left ``user`` out of this report."""
    return bool(session.scalar(select(exists().where(
        report_exclusions.c.report_id == report.id, report_exclusions.c.user_id == user.id))))


def share_candidates(session: Session, report: Report,
                     org_public_key: bytes | None = None) -> list[User]:
    """The inspectors the case may be shared with: active, with a key (certified by
    ``org_public_key`` for a protocol 2 case), neither reading it already nor excluded by the
    reporter."""
    readers = select(report_readers.c.user_id).where(report_readers.c.report_id == report.id)
    excluded = select(report_exclusions.c.user_id).where(
        report_exclusions.c.report_id == report.id)
    candidates = session.scalars(
        select(User).where(
            User.role == Role.INSPECTOR, User.active.is_(True),
            User.public_key.isnot(None), User.id.not_in(readers), User.id.not_in(excluded),
        ).order_by(User.name, User.id))
    if report.protocol != 2:
        return list(candidates)
    return [user for user in candidates if certified(user, org_public_key)]


def documents_of(session: Session, report: Report, user: User) -> list[str]:
    """The documents ``user`` holds a key slot for, as a share request names them: the
    report, its messages, the persons concerned (integrity/cases/persons.py) and the reasons of
    the tombstones (integrity/reporting/tombstones.py)."""
    thread = [REPORT_DOCUMENT if message_id is None else str(message_id)
              for message_id in session.scalars(
                  select(KeySlot.message_id).where(KeySlot.report_id == report.id,
                                                   KeySlot.reader == str(user.id))
                  .order_by(KeySlot.message_id.is_not(None), KeySlot.message_id))]
    return (thread + persons.documents_of(session, report, user)
            + tombstones.documents_of(session, report, user))


def share_case(session: Session, settings: Settings, store: AttachmentStore, report: Report,
               sharer: User, body: object, org_public_key: bytes | None = None) -> User:
    """Add the inspector named in ``body`` as a reader, with the key slots sealed to them.

    ``body`` is ``{"inspector": "<id>", "reason": "...", "key_slots": {"report": slot,
    "<message id>": slot, "person:<id>": slot, "tombstone:<id>": slot}}`` with a slot for
    exactly the documents the sharing inspector can open; the reason (why a colleague needs
    the case) goes into the audit log. For a protocol 2 report it also carries ``"message"``:
    the share message for the thread (payload, key slots for every current reader with the new
    one, link), and the new reader's key must be certified by ``org_public_key``. The caller
    commits.
    """
    if not isinstance(body, dict):
        raise ProtocolError(_l("The request body must be a JSON object."))
    reason = _reason(body.get("reason"))
    target = _target(session, report, body.get("inspector"))
    if report.protocol == 2 and not certified(target, org_public_key):
        raise ProtocolError(_l("This inspector cannot receive the case."))
    slots = _slots(body.get("key_slots"), set(documents_of(session, report, sharer)))
    session.execute(insert(report_readers).values(report_id=report.id, user_id=target.id))
    session.execute(insert(KeySlot), [
        {"report_id": report.id,
         "message_id": None if document == REPORT_DOCUMENT else int(document),
         "reader": str(target.id), "slot": slot}
        for document, slot in slots.items()
        if not persons.is_person_document(document)
        and not tombstones.is_reason_document(document)
    ])
    persons.add_reader_slots(session, report, target, slots)
    tombstones.add_reader_slots(session, target, slots)
    session.expire(report, ["readers"])
    if report.protocol == 2:
        _add_share_message(session, settings, store, report, sharer, body.get("message"))
    record_activity(session, settings, report, sharer, Kind.CASE_SHARED, readers=[target])
    record(session, actor=sharer, action="case_shared", subject=f"report:{report.id}",
           details={"with": target.id, "documents": len(slots), "reason": reason})
    return target


def _reason(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProtocolError(_l("Say why you share the case."))
    try:
        return checked_reason(value)
    except ReaderError as exc:
        raise ProtocolError(str(exc)) from None


def _add_share_message(session: Session, settings: Settings, store: AttachmentStore,
                       report: Report, sharer: User, message: object) -> None:
    """The share message of a protocol 2 case, sealed to every reader now (the new one
    included), the reporter and the recovery key, at the next place of the thread."""
    if not isinstance(message, dict):
        raise ProtocolError(_l("Sharing a protocol 2 case needs its share message."))
    row = get_installation(session, settings)
    payload = checked_payload(message, settings, row.pad_block)
    readers = {str(u.id): u.public_key or b"" for u in current_recipients(report)}
    slots = checked_key_slots(message, expected_readers(readers, row.recovery_public_key))
    link = checked_link(message, report, THREAD)
    assert link is not None  # a protocol 2 report
    check_place(session, report, link)
    add_message(session, store, report, Sender.INSPECTOR, sharer, payload, slots, [], link)


def _target(session: Session, report: Report, value: Any) -> User:
    unknown = ProtocolError(_l("This inspector cannot receive the case."))
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise unknown
    try:
        target = session.get(User, database_int(value))
    except ValueError:
        raise unknown from None
    if (target is None or target.role != Role.INSPECTOR or not target.active
            or target.public_key is None or is_excluded(session, report, target)):
        # One sentence for every reason: the refusal does not tell who was excluded.
        raise unknown
    if target in report.readers:
        raise ProtocolError(_l("This inspector already reads the case."), 409)
    return target


def _slots(raw: Any, expected: set[str]) -> dict[str, bytes]:
    """The new reader's key slots by document: one for each of ``expected``, and no other."""
    if isinstance(raw, dict) and raw and set(raw) != expected:
        raise ProtocolError(_l("A share needs a key slot for every document you can open, "
                               "and no other."))
    return decoded_key_slots({"key_slots": raw})


def case_attachment(session: Session, report: Report, attachment_id: str) -> Attachment | None:
    """An attachment of this case (of the report or one of its messages), or None."""
    return session.scalar(select(Attachment).where(
        Attachment.id == attachment_id, Attachment.report_id == report.id))
