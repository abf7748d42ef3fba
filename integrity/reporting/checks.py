"""The shape checks of request bodies: base64url fields, payloads, key slots, lists and the
attachments a report or message claims. Each refuses with one clear ``ProtocolError``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity.config import Settings
from integrity.reporting.errors import ProtocolError
from integrity.reporting.models import Attachment


def checked_b64(body: Mapping[str, Any], field: str, length: int | None = None) -> bytes:
    """A base64url field of ``body``, of ``length`` bytes if given."""
    if field not in body:
        raise ProtocolError(_l("The field “%(field)s” is missing.", field=field))
    try:
        return crypto.b64decode(body[field], length, what=f"field “{field}”")
    except crypto.EncodingError as exc:
        raise ProtocolError(exc) from exc


def checked_payload(body: Mapping[str, Any], settings: Settings, pad_block: int) -> bytes:
    """A payload field, checked for base64url and the padded length; 413 past the limit."""
    payload = checked_b64(body, "payload")
    check_payload_length(payload, settings, pad_block)
    return payload


def check_payload_length(payload: bytes, settings: Settings, pad_block: int) -> None:
    """400 unless ``payload`` is padded to ``pad_block``; 413 past the limit."""
    try:
        crypto.check_payload_length(len(payload), pad_block, settings.max_payload_bytes)
    except crypto.TooLargeError as exc:
        raise ProtocolError(exc, 413) from exc
    except crypto.ShapeError as exc:
        raise ProtocolError(exc) from exc


def checked_key_slots(body: Mapping[str, Any], expected: set[str]) -> dict[str, bytes]:
    """The key slots, 80 bytes each, naming exactly the ``expected`` readers."""
    slots = decoded_key_slots(body)
    check_slot_readers(slots, expected)
    return slots


def decoded_key_slots(body: Mapping[str, Any]) -> dict[str, bytes]:
    """The key slots by reader, 80 bytes each, whoever they name."""
    raw = body.get("key_slots")
    if not isinstance(raw, dict) or not raw:
        raise ProtocolError(_l("The field “key_slots” must be an object of key slots."))
    slots = {}
    for reader, value in raw.items():
        try:
            slots[reader] = crypto.b64decode(value, crypto.SLOT_BYTES, what="key slot")
        except crypto.EncodingError as exc:
            raise ProtocolError(exc) from exc
    return slots


def check_slot_readers(slots: Mapping[str, bytes], expected: set[str]) -> None:
    """400 unless the key slots name exactly the ``expected`` readers."""
    missing, extra = expected - slots.keys(), slots.keys() - expected
    if missing:
        raise ProtocolError(_l("A key slot is missing for: %(readers)s.",
                               readers=", ".join(sorted(missing))))
    if extra:
        raise ProtocolError(_l("There is a key slot for a reader who must not have one: "
                               "%(readers)s.", readers=", ".join(sorted(extra))))


def checked_string_list(body: Mapping[str, Any], field: str) -> list[str]:
    """A list of unique strings (or an absent field, as an empty list)."""
    value = body.get(field, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(_l("The field “%(field)s” must be a list of strings.", field=field))
    if len(set(value)) != len(value):
        raise ProtocolError(_l("The field “%(field)s” lists an entry twice.", field=field))
    return value


def checked_claimable_attachments(
    session: Session, settings: Settings, ids: Sequence[str]
) -> list[Attachment]:
    """The uploads named, if none belongs to a report yet and they fit the limits."""
    if len(ids) > settings.max_attachments:
        raise ProtocolError(lazy_ngettext(
            "A report or message takes at most %(count)d attachment.",
            "A report or message takes at most %(count)d attachments.",
            settings.max_attachments, count=settings.max_attachments), 413)
    if not ids:
        return []
    found = list(session.scalars(select(Attachment).where(Attachment.id.in_(ids))))
    if len(found) != len(ids) or any(a.report_id is not None for a in found):
        raise ProtocolError(_l("An attachment is unknown or already belongs to a report."))
    if any(a.received is not None for a in found):
        raise ProtocolError(_l("An attachment has not finished arriving."), 409)
    if sum(a.size for a in found) > settings.max_report_attachment_bytes:
        raise ProtocolError(_l("The attachments together are larger than this server accepts."),
                            413)
    return found
