"""The tombstones a case's pages show where a file or a message was deleted or a passage
redacted (integrity/cases/redaction.py): who and which day; why, sealed, for the case's readers
only. And the key slots of those sealed reasons, which follow the case's readers as every other
document's slots do (a share adds them, leaving the case deletes them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from integrity.models import User
from integrity.reporting.models import Report, Tombstone, TombstoneKeySlot, TombstoneKind

DOCUMENT = "tombstone"  # a reason's name among the documents of a share: "tombstone:<id>"


def deleted_messages(session: Session, report: Report) -> set[int]:
    """The ids of the messages and notes of ``report`` that a reader deleted."""
    return set(session.scalars(select(Tombstone.message_id).where(
        Tombstone.report_id == report.id, Tombstone.kind == TombstoneKind.MESSAGE,
        Tombstone.message_id.isnot(None))))


def _slots_of(session: Session, report: Report, user: User) -> dict[int, bytes]:
    """``user``'s key slots of the case's sealed reasons, by tombstone id."""
    return {tombstone_id: slot for tombstone_id, slot in session.execute(
        select(TombstoneKeySlot.tombstone_id, TombstoneKeySlot.slot)
        .join(Tombstone, Tombstone.id == TombstoneKeySlot.tombstone_id)
        .where(Tombstone.report_id == report.id, TombstoneKeySlot.reader == str(user.id)))}


def tombstones_json(session: Session, report: Report, *, reader: User | None = None,
                    places: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """The case's tombstones for a page: the message each stands in (its id, or for the
    reporter its place in the thread), the file, the day and who. For a ``reader`` of the case,
    also each tombstone's id and its sealed reason with the reader's own key slot; for the
    reporter (no ``reader``) never a reason, and none about an internal note."""
    slots = _slots_of(session, report, reader) if reader is not None else {}
    found = []
    for tombstone in session.scalars(select(Tombstone).where(Tombstone.report_id == report.id)
                                     .order_by(Tombstone.made_on, Tombstone.position)):
        message = tombstone.message_id
        if reader is None and message is not None and (places is None or message not in places):
            continue  # a note's, or a message the reporter never had
        item: dict[str, Any] = {
            "kind": tombstone.kind.value,
            "message": (places or {}).get(message, str(message)) if message is not None
            else None,
            "attachment": tombstone.attachment_id, "on": tombstone.made_on.isoformat(),
            "by": tombstone.by.name if tombstone.by else "",
        }
        if reader is not None:
            slot = slots.get(tombstone.id)
            item["id"] = str(tombstone.id)
            item["reason"] = None if tombstone.reason_payload is None else {
                "payload": crypto.b64encode(tombstone.reason_payload),
                "key_slot": crypto.b64encode(slot) if slot is not None else None}
        found.append(item)
    return found


# --- readers: sharing the reasons with a colleague, taking a colleague off -------------------


def documents_of(session: Session, report: Report, user: User) -> list[str]:
    """The sealed reasons ``user`` holds a key slot for, as a share request names them."""
    return [f"{DOCUMENT}:{tombstone_id}"
            for tombstone_id in sorted(_slots_of(session, report, user))]


def is_reason_document(name: str) -> bool:
    """Whether a share request's document name is a tombstone's sealed reason."""
    return name.startswith(f"{DOCUMENT}:")


def add_reader_slots(session: Session, reader: User, slots: Mapping[str, bytes]) -> int:
    """Store the reasons' key slots of a share (``documents_of``'s names, already checked
    against the sharer's); returns how many."""
    rows = [TombstoneKeySlot(tombstone_id=int(name.partition(":")[2]), reader=str(reader.id),
                             slot=slot)
            for name, slot in slots.items() if is_reason_document(name)]
    session.add_all(rows)
    return len(rows)


def drop_reader(session: Session, report_ids: Iterable[int], user: User) -> None:
    """Delete every key slot of a sealed reason of these cases sealed to ``user``."""
    ids = list(report_ids)
    if ids:
        session.execute(delete(TombstoneKeySlot).where(
            TombstoneKeySlot.reader == str(user.id),
            TombstoneKeySlot.tombstone_id.in_(
                select(Tombstone.id).where(Tombstone.report_id.in_(ids)))))
