"""The reporter's mailbox: the report and its thread, opened by the receipt's lookup, and
the messages added to it."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import crypto
from integrity.cases.activity import record_activity
from integrity.cases.meetings import checked_flag, meeting_json, request_meeting
from integrity.cases.person_models import person_attachments
from integrity.cases.records import note_correction, record_at, record_json
from integrity.config import Settings
from integrity.installation import get_installation
from integrity.models import User
from integrity.notifications.outbox import Kind
from integrity.reporting import texts
from integrity.reporting.attachments import claim_attachments
from integrity.reporting.checks import (
    checked_claimable_attachments,
    checked_key_slots,
    checked_payload,
    checked_string_list,
)
from integrity.reporting.errors import ProtocolError
from integrity.reporting.links import (
    MOVED_ON,
    THREAD,
    NewLink,
    check_place,
    checked_link,
    link_json,
)
from integrity.reporting.models import Attachment, KeySlot, Message, MessageKind, Report, Sender
from integrity.reporting.routing import REPORTER, expected_readers
from integrity.reporting.storage import AttachmentStore
from integrity.reporting.tombstones import deleted_messages, tombstones_json


def find_report(session: Session, body: object, lookup_key: bytes) -> Report:
    """The report whose lookup is in ``body``; 404 for anything else, whatever the reason.

    Stored hashes are keyed with ``lookup_key`` (from the installation secret, which the
    database does not hold), so a copy of the database cannot test a guessed receipt."""
    lookup = body.get("lookup") if isinstance(body, dict) else None
    try:
        digest = crypto.keyed_lookup_hash(crypto.b64decode(lookup, 32), lookup_key)
    except crypto.EncodingError:
        # Look up a random hash instead: a malformed lookup costs what a wrong one does.
        digest = crypto.keyed_lookup_hash(secrets.token_bytes(32), lookup_key)
    report = session.scalar(select(Report).where(Report.lookup_hash == digest))
    if report is None:
        raise ProtocolError(_l("Nothing matches this receipt."), 404)
    return report


def current_recipients(report: Report) -> list[User]:
    """The case's current recipients: its readers who are active and have a key, to whom a
    new message is sealed."""
    return [user for user in report.readers if user.active and user.public_key is not None]


def mailbox_view(session: Session, report: Report) -> dict[str, Any]:
    """``POST /api/v1/mailbox``: the report and its thread, each with the reporter's key slot."""
    slots = session.execute(
        select(KeySlot.message_id, KeySlot.slot)
        .where(KeySlot.report_id == report.id, KeySlot.reader == REPORTER)
    ).all()
    by_message = {message_id: slot for message_id, slot in slots}
    deleted = deleted_messages(session, report)
    listed = [message for message in (m for m in report.messages if m.sender != Sender.NOTE)
              if message.id in by_message or message.id in deleted]
    places = {message.id: str(position)
              for position, message in enumerate(
                  (m for m in report.messages if m.sender != Sender.NOTE), start=1)}
    places = {message.id: places[message.id] for message in listed}
    return {
        "report": {
            "status": report.status, "created_on": report.created_on.isoformat(),
            # Cleartext like the status: the outcome of a closed case, null before.
            "outcome": report.outcome,
            "channel": report.channel.slug, "payload": crypto.b64encode(report.payload),
            "key_slot": crypto.b64encode(by_message[None]), "protocol": report.protocol,
            **meeting_json(report),
        },
        "recipients": [
            {"id": str(user.id), "name": user.name,
             "public_key": crypto.b64encode(user.public_key or b""),
             "certificate": crypto.b64encode(user.key_certificate)
             if user.key_certificate else None}
            for user in current_recipients(report)
        ],
        # The questionnaire, so a client can label answers even once the channel is closed.
        "questions": texts.mailbox_questions(report.channel.questions),
        "messages": [
            # The id is the message's place in the thread (1, 2, ...), never the database id,
            # which is the server's own. A deleted message is listed without payload or key
            # slot, in its place (its link still counts in the chain).
            {"id": places[message.id], "from": message.sender, "kind": message.kind,
             "sent_on": message.sent_on.isoformat(), "payload": crypto.b64encode(message.payload),
             "key_slot": crypto.b64encode(by_message[message.id])
             if message.id in by_message else None,
             "deleted": message.id in deleted, "link": link_json(message),
             **record_json(message)}
            for message in listed
        ],
        # Where a reader deleted a file or a message, or redacted a passage: never why.
        "tombstones": tombstones_json(session, report, places=places),
    }


def post_reporter_message(
    session: Session, settings: Settings, store: AttachmentStore, report: Report,
    body: dict[str, Any],
) -> Message:
    """``POST /api/v1/mailbox/messages``: a reporter's message (``body``, whose lookup found
    ``report``) sealed to the case's readers; it may ask for a meeting (``meeting``) and
    correct a record (``corrects``, the record's id in the mailbox)."""
    installation = get_installation(session, settings)
    payload = checked_payload(body, settings, installation.pad_block)
    readers = {str(user.id): user.public_key or b"" for user in current_recipients(report)}
    slots = checked_key_slots(body, expected_readers(readers, installation.recovery_public_key))
    attachments = checked_claimable_attachments(
        session, settings, checked_string_list(body, "attachments"))
    link = checked_link(body, report, THREAD)
    if link is not None:
        check_place(session, report, link)
    meeting = checked_flag(body)
    corrected = record_at(report, body["corrects"]) if body.get("corrects") is not None else None
    message = add_message(session, store, report, Sender.REPORTER, None, payload, slots,
                          [a.id for a in attachments], link)
    reporter_extras(session, report, meeting, corrected)
    record_activity(session, settings, report, None, Kind.REPORTER_MESSAGE)
    return message


def reporter_extras(session: Session, report: Report, meeting: bool,
                    corrected: Message | None) -> None:
    """What a reporter's message says in clear besides its sealed text: a request for a
    meeting or a call, the correction of a record."""
    if meeting:
        request_meeting(session, report)
    if corrected is not None:
        note_correction(report, corrected)



def add_message(
    session: Session, store: AttachmentStore, report: Report, sender: Sender,
    author: User | None, payload: bytes, slots: Mapping[str, bytes],
    attachment_ids: list[str], link: NewLink | None = None,
    kind: MessageKind = MessageKind.MESSAGE,
) -> Message:
    """Store a message of the thread with its key slots, attachments and (protocol 2) its
    link; 409 if another message took its place in the chain meanwhile."""
    message = Message(report=report, sender=sender, author_id=author.id if author else None,
                      payload=payload, kind=kind)
    if link is not None:
        message.chain, message.seq, message.prev, message.auth = (
            link.chain, link.seq, link.prev, link.auth)
    session.add(message)
    try:
        session.flush()
    except IntegrityError as exc:  # uq_messages_link: a concurrent writer took the place
        raise ProtocolError(MOVED_ON, 409) from exc
    session.add_all(KeySlot(report_id=report.id, message_id=message.id, reader=reader, slot=slot)
                    for reader, slot in slots.items())
    claim_attachments(session, store, attachment_ids, report.id, message.id)
    return message


def mailbox_attachment(session: Session, report: Report, body: dict[str, Any]) -> Attachment:
    """An attachment of ``report`` (or its thread) named in ``body``; 404 for anything else."""
    attachment_id = body.get("id") if isinstance(body, dict) else None
    attachment = session.get(Attachment, attachment_id) if isinstance(attachment_id, str) else None
    if attachment is None or attachment.report_id != report.id or (
        attachment.message_id is not None
        and session.get(Message, attachment.message_id).sender == Sender.NOTE  # type: ignore[union-attr]
    ) or (attachment.message_id is None and session.scalar(  # a person's statement file
        select(person_attachments.c.person_id)
        .where(person_attachments.c.attachment_id == attachment.id)) is not None):
        raise ProtocolError(_l("Nothing matches this receipt."), 404)
    return attachment
