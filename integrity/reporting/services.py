"""The reporting protocol's rules: what is accepted, what is stored, what the mailbox shows.

Every function checks the whole request before it adds anything to the session, and the
caller commits; a refusal raises ``ProtocolError`` and leaves nothing behind.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import crypto
from integrity.config import Settings
from integrity.models import (
    Category,
    Channel,
    ChannelState,
    Installation,
    OrgUnit,
    Role,
    User,
    utcnow,
)
from integrity.reporting.models import (
    Attachment,
    KeySlot,
    Message,
    PowChallenge,
    Report,
    Sender,
)
from integrity.reporting.storage import AttachmentStore, new_attachment_id

REPORTER = "reporter"
RECOVERY = "recovery"


class ProtocolError(Exception):
    """A refused request: ``status`` is the HTTP status, the message one clear sentence."""

    def __init__(self, message: object, status: int = 400) -> None:
        super().__init__(str(message))
        self.status = status


# --- installation -------------------------------------------------------------------------


def installation(session: Session) -> Installation:
    """The installation's fixed parameters, created with a fresh salt the first time."""
    row = session.get(Installation, 1)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = Installation(id=1, kdf_salt=secrets.token_bytes(crypto.keys.SALT_BYTES))
            session.add(row)
    except IntegrityError:
        row = session.get(Installation, 1)
        assert row is not None
    return row


# --- channels and recipients --------------------------------------------------------------


def channel_recipients(channel: Channel) -> list[User]:
    """Inspectors a report in ``channel`` can be sealed to: active, with a public key."""
    return [
        user for user in channel.recipients
        if user.active and user.role == Role.INSPECTOR.value and user.public_key is not None
    ]


def open_channels(session: Session) -> list[Channel]:
    """Channels that take reports and are listed to reporters."""
    return list(session.scalars(
        select(Channel).where(Channel.state == ChannelState.OPEN.value).order_by(Channel.name)
    ))


def public_config(session: Session, settings: Settings) -> dict[str, Any]:
    """``GET /api/v1/config``: everything a client needs to derive, seal and file."""
    inst = installation(session)
    units = session.scalars(select(OrgUnit).order_by(OrgUnit.parent_id, OrgUnit.name))
    return {
        "protocol": 1,
        "salt": crypto.b64encode(inst.kdf_salt),
        "argon2id": {"opslimit": settings.kdf_opslimit, "memlimit": settings.kdf_memlimit},
        "pad_block": settings.pad_block,
        "recovery_key": crypto.b64encode(inst.recovery_public_key)
        if inst.recovery_public_key else None,
        "pow_bits": settings.pow_bits,
        "max_attachment_bytes": settings.max_attachment_bytes,
        "max_attachments": settings.max_attachments,
        "channels": [_channel_config(channel) for channel in open_channels(session)],
        "org_units": [
            {"id": str(unit.id), "name": unit.name,
             "parent": str(unit.parent_id) if unit.parent_id is not None else None}
            for unit in units
        ],
    }


def _channel_config(channel: Channel) -> dict[str, Any]:
    recipients = channel_recipients(channel)
    return {
        "slug": channel.slug,
        "name": channel.name,
        "description": channel.description,
        "allow_exclusion": channel.allow_exclusion,
        "accepts_reports": bool(recipients),
        "asks_category": channel.asks_category,
        "asks_unit": channel.asks_unit,
        "recipients": [
            {"id": str(user.id), "name": user.name,
             "public_key": crypto.b64encode(user.public_key or b"")}
            for user in recipients
        ],
        "categories": [
            {"slug": category.slug, "name": category.name}
            for category in channel.categories if not category.retired
        ],
        "questions": [
            {"key": q.key, "kind": q.kind, "label": q.label, "help": q.help_text,
             "required": q.required, "options": list(q.options or [])}
            for q in channel.questions
        ],
    }


# --- proof of work ------------------------------------------------------------------------


def issue_challenge(session: Session, settings: Settings) -> dict[str, Any]:
    """A fresh challenge, good once for ``pow_ttl_seconds``; expired ones are swept."""
    now = utcnow()
    session.execute(delete(PowChallenge).where(PowChallenge.expires_at < now))
    challenge = secrets.token_bytes(16)
    session.add(PowChallenge(
        challenge=challenge, bits=settings.pow_bits,
        expires_at=now + timedelta(seconds=settings.pow_ttl_seconds),
    ))
    return {"challenge": crypto.b64encode(challenge), "bits": settings.pow_bits,
            "expires_in": settings.pow_ttl_seconds}


def redeem_challenge(session: Session, settings: Settings, pow_field: object) -> None:
    """Check and spend a proof of work; missing, wrong, expired or reused ones get 429."""
    if settings.pow_bits == 0:
        return
    if not isinstance(pow_field, dict):
        raise ProtocolError(_l("A proof of work is required: get one from /api/v1/pow."), 429)
    try:
        challenge = crypto.b64decode(pow_field.get("challenge"), 16, what="challenge")
    except crypto.EncodingError as exc:
        raise ProtocolError(exc, 400) from exc
    nonce = pow_field.get("nonce")
    row = session.get(PowChallenge, challenge)
    if row is None or row.expires_at < utcnow():
        raise ProtocolError(_l("The proof of work is unknown, expired or already used."), 429)
    if not crypto.verify_work(challenge, nonce, row.bits):  # type: ignore[arg-type]
        raise ProtocolError(_l("The proof of work does not solve its challenge."), 429)
    # Deleting the row is what makes the challenge single-use across every worker.
    spent = session.execute(delete(PowChallenge).where(PowChallenge.challenge == challenge))
    if getattr(spent, "rowcount", 0) != 1:
        raise ProtocolError(_l("The proof of work is unknown, expired or already used."), 429)


# --- shapes -------------------------------------------------------------------------------


def _b64(body: Mapping[str, Any], field: str, length: int | None = None) -> bytes:
    if field not in body:
        raise ProtocolError(_l("The field “%(field)s” is missing.", field=field))
    try:
        return crypto.b64decode(body[field], length, what=f"field “{field}”")
    except crypto.EncodingError as exc:
        raise ProtocolError(exc) from exc


def _payload(body: Mapping[str, Any], settings: Settings) -> bytes:
    payload = _b64(body, "payload")
    try:
        crypto.check_payload_length(len(payload), settings.pad_block, settings.max_payload_bytes)
    except crypto.TooLargeError as exc:
        raise ProtocolError(exc, 413) from exc
    except crypto.ShapeError as exc:
        raise ProtocolError(exc) from exc
    return payload


def _key_slots(body: Mapping[str, Any], expected: set[str]) -> dict[str, bytes]:
    raw = body.get("key_slots")
    if not isinstance(raw, dict) or not raw:
        raise ProtocolError(_l("The field “key_slots” must be an object of key slots."))
    slots = {}
    for reader, value in raw.items():
        try:
            slots[reader] = crypto.b64decode(value, crypto.SLOT_BYTES, what="key slot")
        except crypto.EncodingError as exc:
            raise ProtocolError(exc) from exc
    missing, extra = expected - slots.keys(), slots.keys() - expected
    if missing:
        raise ProtocolError(_l("A key slot is missing for: %(readers)s.",
                               readers=", ".join(sorted(missing))))
    if extra:
        raise ProtocolError(_l("There is a key slot for a reader who must not have one: "
                               "%(readers)s.", readers=", ".join(sorted(extra))))
    return slots


def _string_list(body: Mapping[str, Any], field: str) -> list[str]:
    value = body.get(field, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(_l("The field “%(field)s” must be a list of strings.", field=field))
    if len(set(value)) != len(value):
        raise ProtocolError(_l("The field “%(field)s” lists an entry twice.", field=field))
    return value


def _claimable_attachments(
    session: Session, settings: Settings, ids: Sequence[str]
) -> list[Attachment]:
    if len(ids) > settings.max_attachments:
        raise ProtocolError(_l("A report or message takes at most %(count)d attachments.",
                               count=settings.max_attachments), 413)
    if not ids:
        return []
    found = list(session.scalars(select(Attachment).where(Attachment.id.in_(ids))))
    if len(found) != len(ids) or any(a.report_id is not None for a in found):
        raise ProtocolError(_l("An attachment is unknown or already belongs to a report."))
    if sum(a.size for a in found) > settings.max_report_attachment_bytes:
        raise ProtocolError(_l("The attachments together are larger than this server accepts."),
                            413)
    return found


def _claim(session: Session, store: AttachmentStore, attachments: list[Attachment],
           report: Report, message: Message | None) -> None:
    ids = [a.id for a in attachments]
    if not ids:
        return
    claimed = session.execute(
        update(Attachment)
        .where(Attachment.id.in_(ids), Attachment.report_id.is_(None))
        .values(report_id=report.id, message_id=message.id if message else None,
                uploaded_at=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != len(ids):
        raise ProtocolError(_l("An attachment is unknown or already belongs to a report."))
    for attachment_id in ids:
        store.blur_time(attachment_id)


# --- filing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filing:
    """A checked report, ready to store."""

    channel: Channel
    category: Category | None
    org_unit: OrgUnit | None
    lookup_hash: bytes
    reporter_public_key: bytes
    payload: bytes
    slots: dict[str, bytes]
    readers: list[User]
    attachments: list[Attachment]


def check_filing(session: Session, settings: Settings, body: object) -> Filing:
    """Every shape rule of ``POST /api/v1/reports``; raises ``ProtocolError`` on the first."""
    if not isinstance(body, dict):
        raise ProtocolError(_l("The request body must be a JSON object."))
    if body.get("protocol") != 1:
        raise ProtocolError(_l("Only protocol version 1 is understood."))
    channel = _channel(session, body.get("channel"))
    category = resolve_category(channel, body.get("category"))
    org_unit = resolve_org_unit(session, channel, body.get("org_unit"))
    lookup = _b64(body, "lookup", 32)
    reporter_public_key = _b64(body, "reporter_public_key", 32)
    payload = _payload(body, settings)
    readers = resolve_readers(channel, _string_list(body, "excluded"))
    expected = {str(user.id) for user in readers} | {REPORTER}
    if installation(session).recovery_public_key is not None:
        expected.add(RECOVERY)
    slots = _key_slots(body, expected)
    attachments = _claimable_attachments(session, settings, _string_list(body, "attachments"))
    return Filing(channel, category, org_unit, crypto.lookup_hash(lookup), reporter_public_key,
                  payload, slots, readers, attachments)


def _channel(session: Session, slug: object) -> Channel:
    if not isinstance(slug, str):
        raise ProtocolError(_l("The field “channel” must name a channel."))
    channel = session.scalar(select(Channel).where(Channel.slug == slug))
    if channel is None or channel.state == ChannelState.CLOSED.value:
        raise ProtocolError(_l("There is no open channel “%(slug)s”.", slug=slug))
    return channel


def resolve_category(channel: Channel, slug: object) -> Category | None:
    if slug is None:
        return None
    for category in channel.categories:
        if category.slug == slug and not category.retired:
            return category
    raise ProtocolError(_l("The category is not one of this channel's categories."))


def resolve_org_unit(session: Session, channel: Channel, unit_id: object) -> OrgUnit | None:
    if unit_id is None:
        return None
    unit = (
        session.get(OrgUnit, int(unit_id))
        if isinstance(unit_id, str) and unit_id.isdigit() and len(unit_id) < 12 else None
    )
    if unit is None:
        raise ProtocolError(_l("The organisational unit is unknown."))
    return unit


def resolve_readers(channel: Channel, excluded: list[str]) -> list[User]:
    recipients = channel_recipients(channel)
    if not recipients:
        raise ProtocolError(_l("This channel has no inspector with a key yet and cannot take "
                               "reports."))
    if excluded and not channel.allow_exclusion:
        raise ProtocolError(_l("This channel does not allow excluding inspectors."))
    known = {str(user.id) for user in recipients}
    if set(excluded) - known:
        raise ProtocolError(_l("An excluded inspector is not a recipient of this channel."))
    readers = [user for user in recipients if str(user.id) not in excluded]
    if not readers:
        raise ProtocolError(_l("At least one inspector must remain to receive the report."))
    return readers


def store_filing(session: Session, store: AttachmentStore, filing: Filing) -> Report:
    """Add the report, its key slots, readers and attachments; 409 if the lookup is taken."""
    if session.scalar(select(Report.id).where(Report.lookup_hash == filing.lookup_hash)):
        raise ProtocolError(_l("This receipt is already in use: draw a new one."), 409)
    report = Report(
        channel=filing.channel, category=filing.category, org_unit=filing.org_unit,
        lookup_hash=filing.lookup_hash, reporter_public_key=filing.reporter_public_key,
        payload=filing.payload, readers=list(filing.readers),
    )
    session.add(report)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ProtocolError(_l("This receipt is already in use: draw a new one."), 409) from exc
    session.add_all(KeySlot(report_id=report.id, reader=reader, slot=slot)
                    for reader, slot in filing.slots.items())
    _claim(session, store, filing.attachments, report, None)
    return report


def file_report(
    session: Session, settings: Settings, store: AttachmentStore, body: object
) -> Report:
    """Check, spend the proof of work, and store a report; the caller commits."""
    filing = check_filing(session, settings, body)
    redeem_challenge(session, settings, body.get("pow") if isinstance(body, dict) else None)
    return store_filing(session, store, filing)


# --- attachments --------------------------------------------------------------------------


def receive_attachment(
    session: Session, settings: Settings, store: AttachmentStore, stream: Any,
    declared_length: int | None,
) -> Attachment:
    """Stream a sealed upload to disk, check its length decomposes into chunks, record it."""
    if declared_length is not None:
        try:
            crypto.check_stream_length(declared_length, settings.max_attachment_bytes)
        except crypto.TooLargeError as exc:
            raise ProtocolError(exc, 413) from exc
        except crypto.ShapeError as exc:
            raise ProtocolError(exc) from exc
    attachment_id = new_attachment_id()
    try:
        size = store.write_stream(attachment_id, stream, settings.max_attachment_bytes)
    except crypto.TooLargeError as exc:
        raise ProtocolError(exc, 413) from exc
    if not crypto.valid_stream_length(size):
        store.path(attachment_id).unlink(missing_ok=True)
        raise ProtocolError(_l("The attachment is not a secretstream of 65,536-byte chunks "
                               "with a final chunk."))
    attachment = Attachment(id=attachment_id, size=size, uploaded_at=utcnow())
    session.add(attachment)
    return attachment


def purge_unclaimed_attachments(
    session: Session, settings: Settings, store: AttachmentStore, now: datetime | None = None
) -> int:
    """Delete uploads that no report claimed within the configured time; returns how many."""
    cutoff = (now or utcnow()) - timedelta(minutes=settings.unclaimed_upload_minutes)
    stale = list(session.scalars(select(Attachment).where(
        Attachment.report_id.is_(None), Attachment.uploaded_at < cutoff
    )))
    for attachment in stale:
        store.shred(attachment.id)
        session.delete(attachment)
    return len(stale)


# --- mailbox ------------------------------------------------------------------------------


def find_report(session: Session, body: object) -> Report:
    """The report whose lookup is in ``body``; 404 for anything else, whatever the reason."""
    lookup = body.get("lookup") if isinstance(body, dict) else None
    try:
        digest = crypto.lookup_hash(crypto.b64decode(lookup, 32))
    except crypto.EncodingError:
        # Hash anyway so a malformed lookup costs what a wrong one does.
        crypto.lookup_hash(secrets.token_bytes(32))
        digest = b""
    report = session.scalar(select(Report).where(Report.lookup_hash == digest)) if digest else None
    if report is None:
        raise ProtocolError(_l("Nothing matches this receipt."), 404)
    return report


def mailbox_readers(report: Report) -> list[User]:
    """The inspectors a reporter's message is sealed to: the case's current readers."""
    return [user for user in report.readers if user.active and user.public_key is not None]


def mailbox_view(session: Session, report: Report) -> dict[str, Any]:
    """``POST /api/v1/mailbox``: the report and its thread, each with the reporter's key slot."""
    slots = session.execute(
        select(KeySlot.message_id, KeySlot.slot)
        .where(KeySlot.report_id == report.id, KeySlot.reader == REPORTER)
    ).all()
    by_message = {message_id: slot for message_id, slot in slots}
    return {
        "report": {
            "status": report.status, "created_on": report.created_on.isoformat(),
            "channel": report.channel.slug, "payload": crypto.b64encode(report.payload),
            "key_slot": crypto.b64encode(by_message[None]),
        },
        "recipients": [
            {"id": str(user.id), "name": user.name,
             "public_key": crypto.b64encode(user.public_key or b"")}
            for user in mailbox_readers(report)
        ],
        "messages": [
            {"id": str(message.id), "from": message.sender,
             "sent_on": message.sent_on.isoformat(), "payload": crypto.b64encode(message.payload),
             "key_slot": crypto.b64encode(by_message[message.id])}
            for message in report.messages if message.id in by_message
        ],
    }


def post_reporter_message(
    session: Session, settings: Settings, store: AttachmentStore, body: object
) -> Message:
    """``POST /api/v1/mailbox/messages``: a reporter's message sealed to the case's readers."""
    report = find_report(session, body)
    assert isinstance(body, dict)
    payload = _payload(body, settings)
    expected = {str(user.id) for user in mailbox_readers(report)} | {REPORTER}
    if installation(session).recovery_public_key is not None:
        expected.add(RECOVERY)
    slots = _key_slots(body, expected)
    attachments = _claimable_attachments(session, settings, _string_list(body, "attachments"))
    return add_message(session, store, report, Sender.REPORTER, None, payload, slots, attachments)


def add_message(
    session: Session, store: AttachmentStore, report: Report, sender: Sender,
    author: User | None, payload: bytes, slots: Mapping[str, bytes],
    attachments: list[Attachment],
) -> Message:
    """Store a message of the thread with its key slots and attachments."""
    message = Message(report=report, sender=sender.value, author_id=author.id if author else None,
                      payload=payload)
    session.add(message)
    session.flush()
    session.add_all(KeySlot(report_id=report.id, message_id=message.id, reader=reader, slot=slot)
                    for reader, slot in slots.items())
    _claim(session, store, attachments, report, message)
    return message


def mailbox_attachment(session: Session, body: object) -> Attachment:
    """An attachment of the report (or its thread) the lookup opens; 404 for anything else."""
    report = find_report(session, body)
    attachment_id = body.get("id") if isinstance(body, dict) else None
    attachment = session.get(Attachment, attachment_id) if isinstance(attachment_id, str) else None
    if attachment is None or attachment.report_id != report.id:
        raise ProtocolError(_l("Nothing matches this receipt."), 404)
    return attachment
