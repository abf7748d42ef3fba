"""Records the reporter is asked to agree: minutes or a transcript of an oral report, a
meeting or a voice message, sent by an inspector as a message of kind ``record``.

EU Directive 2019/1937 Art. 18(2)-(4) and ISO 37002 8.2: where a report is made orally, the
organisation may document it by a recording, a transcript or minutes, and shall offer the
reporter the opportunity to check, rectify and agree it. The reporter agrees a record in the
mailbox (``agree_record``) or sends a correction as an ordinary reply that names it
(``note_correction``). Only the days are clear, like the kind; the record and the correction
stay sealed.

Any part of the code that writes a record (an oral report, a voice message's transcript) posts
it through the inspectors' message path with ``kind`` ``record``: ``POST /cases/<id>/messages``,
or ``integrity.cases.thread.post_record`` in Python.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.cases.activity import record_activity
from integrity.config import Settings
from integrity.models import today
from integrity.notifications.outbox import Kind
from integrity.reporting.errors import ProtocolError
from integrity.reporting.models import Message, MessageKind, Report, Sender


class RecordState(enum.StrEnum):
    AWAITING = "awaiting"  # neither agreed nor corrected yet
    AGREED = "agreed"
    CORRECTED = "corrected"  # the reporter sent a correction, and has not agreed since


def is_record(message: Message) -> bool:
    """Whether ``message`` is a record an inspector asked the reporter to agree."""
    return message.kind == MessageKind.RECORD and message.sender == Sender.INSPECTOR


def record_state(message: Message) -> RecordState:
    """Where a record stands: agreed (the latest word), corrected, or awaiting agreement."""
    if message.agreed_on is not None and (
            message.corrected_on is None or message.agreed_on >= message.corrected_on):
        return RecordState.AGREED
    if message.corrected_on is not None:
        return RecordState.CORRECTED
    return RecordState.AWAITING


def record_json(message: Message) -> dict[str, Any]:
    """The clear facts of a record, beside its sealed content: ``{}`` for any other message,
    so that answers without records keep exactly their former bytes."""
    if not is_record(message):
        return {}
    return {"agreed_on": _day(message.agreed_on), "corrected_on": _day(message.corrected_on)}


def _day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def reporter_thread(report: Report) -> list[Message]:
    """The messages the reporter sees, in the order the mailbox numbers them (1, 2, ...)."""
    return [m for m in report.messages if m.sender != Sender.NOTE]


def record_at(report: Report, place: object) -> Message:
    """The record at ``place`` (the mailbox's id of a message: "1", "2", ...); 400 for a place
    that holds no record."""
    thread = reporter_thread(report)
    if isinstance(place, str) and place.isascii() and place.isdigit() and len(place) < 10 \
            and 1 <= int(place) <= len(thread) and is_record(thread[int(place) - 1]):
        return thread[int(place) - 1]
    raise ProtocolError(_l("No record of this conversation has this id."))


def place_of(report: Report, message: Message) -> str:
    """The mailbox's id of ``message``."""
    return str(reporter_thread(report).index(message) + 1)


def agree_record(session: Session, settings: Settings, report: Report, message: Message,
                 on: date | None = None) -> None:
    """The reporter agrees that the record is accurate: dated, and the inspectors told as of a
    reporter's message. Agreeing again, with no correction since, is refused. The audit log
    gets the agreement with the day's register (``audit_agreements``), never at the moment:
    an entry made now would time the reporter's action to the second."""
    if record_state(message) is RecordState.AGREED:
        raise ProtocolError(_l("You have already agreed to this record."))
    message.agreed_on = on or today()
    record_activity(session, settings, report, None, Kind.REPORTER_MESSAGE)


def audit_agreements(session: Session, day: date) -> int:
    """Enter in the audit log the records agreed on ``day`` (``record_agreed``, actor
    "reporter", the day in its details), once that day is over: the nightly audit calls it
    for each day it registers. Returns how many."""
    agreed = session.scalars(select(Message).where(
        Message.agreed_on == day, Message.kind == MessageKind.RECORD,
        Message.sender == Sender.INSPECTOR).order_by(Message.report_id, Message.position)).all()
    for message in agreed:
        record(session, actor=None, actor_label="reporter", action="record_agreed",
               subject=f"report:{message.report_id}",
               details={"message": message.id, "day": day.isoformat()})
    return len(agreed)


def note_correction(report: Report, message: Message, on: date | None = None) -> None:
    """The reporter's message just stored corrects the record ``message``."""
    message.corrected_on = on or today()
