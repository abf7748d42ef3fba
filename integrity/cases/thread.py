"""What the case page's script needs to open a case, and the messages inspectors send.

The server hands out ciphertext and the caller's own key slots only; the browser opens them.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity.audit import record
from integrity.cases.activity import record_activity
from integrity.cases.meetings import MeetingError, answer_meeting, checked_answer
from integrity.cases.records import record_json
from integrity.cases.sharing import share_candidates
from integrity.cases.workflow import WorkflowError, change_status, check_status, note_message
from integrity.config import Settings
from integrity.installation import get_installation
from integrity.models import User
from integrity.reporting import texts
from integrity.reporting.checks import (
    checked_claimable_attachments,
    checked_key_slots,
    checked_payload,
    checked_string_list,
)
from integrity.reporting.errors import ProtocolError
from integrity.reporting.links import NOTES, THREAD, check_place, checked_link, link_json
from integrity.reporting.mailbox import add_message, current_recipients
from integrity.reporting.models import (
    Attachment,
    KeySlot,
    MeetingState,
    Message,
    MessageKind,
    Outcome,
    Report,
    Sender,
    Status,
)
from integrity.reporting.routing import REPORTER, expected_readers
from integrity.reporting.storage import AttachmentStore
from integrity.reporting.tombstones import deleted_messages, tombstones_json


def sealed_case(session: Session, settings: Settings, report: Report, user: User,
                org_public_key: bytes | None = None) -> dict[str, Any]:
    """The case as ciphertext, each document with ``user``'s key slot, and who can read it."""
    installation = get_installation(session, settings)
    mine = {message_id: slot for message_id, slot in session.execute(
        select(KeySlot.message_id, KeySlot.slot)
        .where(KeySlot.report_id == report.id, KeySlot.reader == str(user.id)))}
    deleted = deleted_messages(session, report)
    attachments = {a.id: a.size for a in session.scalars(
        select(Attachment).where(Attachment.report_id == report.id))}
    return {
        "id": str(report.id), "pad_block": installation.pad_block,
        "max_attachments": settings.max_attachments,
        "max_attachment_bytes": settings.max_attachment_bytes,
        "recovery_key": crypto.b64encode(installation.recovery_public_key)
        if installation.recovery_public_key else None,
        "recovery_certificate": crypto.b64encode(installation.recovery_certificate)
        if installation.recovery_public_key and installation.recovery_certificate else None,
        # Protocol 1 only; a protocol 2 report carries the key inside its sealed document.
        "reporter_public_key": crypto.b64encode(report.reporter_public_key)
        if report.reporter_public_key else None,
        "protocol": report.protocol,
        # The cleartext route as stored, which a protocol 2 page compares with the sealed one.
        "route": {"channel": report.channel.slug,
                  "category": report.category.slug if report.category else None,
                  "org_unit": str(report.org_unit_id) if report.org_unit_id is not None else None},
        "recipients": [{"id": str(u.id), "name": u.name,
                        "public_key": crypto.b64encode(u.public_key or b""),
                        "certificate": crypto.b64encode(u.key_certificate)
                        if u.key_certificate else None}
                       for u in current_recipients(report)],
        "report": {"payload": crypto.b64encode(report.payload),
                   "key_slot": _slot(mine.get(None))},
        "messages": [
            {"id": str(m.id), "from": m.sender, "sent_on": m.sent_on.isoformat(),
             "author": m.author_id and str(m.author_id), "kind": m.kind,
             "payload": crypto.b64encode(m.payload), "key_slot": _slot(mine.get(m.id)),
             "deleted": m.id in deleted, "link": link_json(m), **record_json(m)}
            for m in report.messages
        ],
        # Files and messages deleted and passages redacted: who, when, and why sealed.
        "tombstones": tombstones_json(session, report, reader=user),
        "attachment_sizes": attachments,
        # The questionnaire, so the page shows each answer in its words (kind and options) in
        # the inspector's language, and maps a choice from the language it was sealed in.
        "questions": texts.reader_questions(report.channel.questions),
        # Whom the page may offer to share the case with (never an excluded inspector).
        "share_candidates": [{"id": str(u.id), "name": u.name,
                              "public_key": crypto.b64encode(u.public_key or b""),
                              "certificate": crypto.b64encode(u.key_certificate)
                              if u.key_certificate else None}
                             for u in share_candidates(session, report, org_public_key)],
    }


def _slot(slot: bytes | None) -> str | None:
    return crypto.b64encode(slot) if slot is not None else None


def checked_kind(body: dict[str, Any], *, note: bool) -> tuple[MessageKind, Outcome | None]:
    """The ``kind`` of an inspector's message ("message" when absent) and the ``outcome`` a
    final notice may close the case with."""
    kind, outcome = body.get("kind", MessageKind.MESSAGE.value), body.get("outcome")
    if not isinstance(kind, str) or kind not in set(MessageKind):
        raise ProtocolError(_l("The kind must be “message”, “feedback”, “final_notice” or "
                               "“record”."))
    if note and kind != MessageKind.MESSAGE:
        raise ProtocolError(_l("An internal note never reaches the reporter: it can be neither "
                               "feedback, a final notice nor a record."))
    if outcome is None:
        return MessageKind(kind), None
    if kind != MessageKind.FINAL_NOTICE or not isinstance(outcome, str) \
            or outcome not in set(Outcome):
        raise ProtocolError(_l("Only a final notice closes the case, with one of the outcomes."))
    return MessageKind(kind), Outcome(outcome)


def checked_decline(body: dict[str, Any], report: Report, *, note: bool) -> bool:
    """Whether the message declines the reporter's open request for a meeting or a call
    (``"meeting": "declined"``): the message gives the reporter the reason."""
    value = body.get("meeting")
    if value is None:
        return False
    if value != MeetingState.DECLINED.value or note:
        raise ProtocolError(_l("Only a message to the reporter declines a meeting, with "
                               "“meeting”: “declined”."))
    try:
        checked_answer(report, MeetingState.DECLINED)
    except MeetingError as exc:
        raise ProtocolError(str(exc)) from exc
    return True


def post_message(session: Session, settings: Settings, store: AttachmentStore, report: Report,
                 user: User, body: object, *, note: bool) -> Message:
    """An inspector's message to the reporter, or an internal note for the case's inspectors.

    A message is sealed to the reporter, every reader of the case and the recovery key; a note
    to the readers and the recovery key only, never to the reporter. A message's ``kind``
    (feedback, final notice) is clear; a final notice with an ``outcome`` closes the case.
    """
    if not isinstance(body, dict):
        raise ProtocolError(_l("The request body must be a JSON object."))
    kind, outcome = checked_kind(body, note=note)
    declines = checked_decline(body, report, note=note)
    if outcome is not None:
        try:  # before anything is stored: a refused close sends nothing either
            check_status(report, user, Status.CLOSED, outcome, final_notice=True)
        except WorkflowError as exc:
            raise ProtocolError(str(exc)) from exc
    installation = get_installation(session, settings)
    payload = checked_payload(body, settings, installation.pad_block)
    readers = {str(u.id): u.public_key or b"" for u in current_recipients(report)}
    expected = expected_readers(readers, installation.recovery_public_key)
    if note:
        expected.discard(REPORTER)
    slots = checked_key_slots(body, expected)
    attachments = checked_claimable_attachments(
        session, settings, checked_string_list(body, "attachments"))
    link = checked_link(body, report, NOTES if note else THREAD)
    if link is not None:
        check_place(session, report, link)
    sender = Sender.NOTE if note else Sender.INSPECTOR
    message = add_message(session, store, report, sender, user, payload, slots,
                          [a.id for a in attachments], link, kind)
    if not note:
        note_message(report, kind)
    record_activity(session, settings, report, user)
    details: dict[str, Any] = {"attachments": len(attachments)}
    if kind is not MessageKind.MESSAGE:
        details["kind"] = kind.value
    record(session, actor=user, action="note_written" if note else "message_sent",
           subject=f"report:{report.id}", details=details)
    if declines:
        answer_meeting(session, report, user, MeetingState.DECLINED)
    if outcome is not None:
        change_status(session, report, user, Status.CLOSED, outcome)
    return message


def post_record(session: Session, settings: Settings, store: AttachmentStore, report: Report,
                user: User, body: dict[str, Any]) -> Message:
    """A record for the reporter to agree (integrity/cases/records.py), through the message
    path: ``body`` as for ``POST /cases/<id>/messages``, its kind made ``record``."""
    return post_message(session, settings, store, report, user,
                        {**body, "kind": MessageKind.RECORD.value}, note=False)
