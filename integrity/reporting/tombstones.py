"""The tombstones a case's pages show where a file or a message was deleted or a passage
redacted (integrity/cases/redaction.py): who and which day; why, for the case's readers only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.reporting.models import Report, Tombstone, TombstoneKind


def deleted_messages(session: Session, report: Report) -> set[int]:
    """The ids of the messages and notes of ``report`` that a reader deleted."""
    return set(session.scalars(select(Tombstone.message_id).where(
        Tombstone.report_id == report.id, Tombstone.kind == TombstoneKind.MESSAGE,
        Tombstone.message_id.isnot(None))))


def tombstones_json(session: Session, report: Report, *, for_reporter: bool,
                    places: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """The case's tombstones for a page: the message each stands in (its id, or for the
    reporter its place in the thread), the file, the day and who; the reason for readers only.
    The reporter sees none about an internal note."""
    found = []
    for tombstone in session.scalars(select(Tombstone).where(Tombstone.report_id == report.id)
                                     .order_by(Tombstone.id)):
        message = tombstone.message_id
        if for_reporter and message is not None and (places is None or message not in places):
            continue  # a note's, or a message the reporter never had
        item: dict[str, Any] = {
            "kind": tombstone.kind.value,
            "message": (places or {}).get(message, str(message)) if message is not None
            else None,
            "attachment": tombstone.attachment_id, "on": tombstone.made_on.isoformat(),
            "by": tombstone.by.name if tombstone.by else "",
        }
        if not for_reporter:
            item["reason"] = tombstone.reason
        found.append(item)
    return found
