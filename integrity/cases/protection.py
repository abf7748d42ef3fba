"""Risk assessments and protective measures on a case (ISO 37002 8.3.2, 8.4.2; EU Directive
2019/1937 Art. 19-21).

Each is an internal note, sealed in the inspector's browser to the case's readers and the
recovery key, never to the reporter, in the case's ``"notes"`` chain: so sharing a case
re-seals it, stepping away removes it, and a protocol 2 case authenticates it, as any note.
Its level and reasons, or the measure, its day and details, are inside. In clear there is only
a ``ProtectionRecord`` saying which of the two it is, and the note's day.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.cases.activity import record_activity
from integrity.cases.protection_models import ProtectionRecord, RecordKind
from integrity.config import Settings
from integrity.installation import get_installation
from integrity.models import User
from integrity.reporting.checks import checked_key_slots, checked_payload
from integrity.reporting.errors import ProtocolError
from integrity.reporting.links import NOTES, check_place, checked_link
from integrity.reporting.mailbox import add_message, current_recipients
from integrity.reporting.models import Message, Report, Sender
from integrity.reporting.routing import REPORTER, expected_readers
from integrity.reporting.storage import AttachmentStore

AUDIT_ACTIONS = {RecordKind.RISK_ASSESSMENT: "risk_assessed",
                 RecordKind.MEASURE: "protective_measure_recorded"}


def post_record(session: Session, settings: Settings, store: AttachmentStore, report: Report,
                user: User, body: object) -> Message:
    """``POST /cases/<id>/protection``: a sealed risk assessment or measure, as a note."""
    if not isinstance(body, dict):
        raise ProtocolError(_l("The request body must be a JSON object."))
    kind = body.get("record")
    if not isinstance(kind, str) or kind not in set(RecordKind):
        raise ProtocolError(_l("The record must be “risk_assessment” or “measure”."))
    installation = get_installation(session, settings)
    payload = checked_payload(body, settings, installation.pad_block)
    readers = {str(u.id): u.public_key or b"" for u in current_recipients(report)}
    expected = expected_readers(readers, installation.recovery_public_key)
    expected.discard(REPORTER)  # never the reporter's: a note of the inspectors
    slots = checked_key_slots(body, expected)
    link = checked_link(body, report, NOTES)
    if link is not None:
        check_place(session, report, link)
    message = add_message(session, store, report, Sender.NOTE, user, payload, slots, [], link)
    session.add(ProtectionRecord(message_id=message.id, report_id=report.id,
                                 kind=RecordKind(kind)))
    record_activity(session, settings, report, user)
    # Without content: that it was made, by whom and on which case.
    record(session, actor=user, action=AUDIT_ACTIONS[RecordKind(kind)],
           subject=f"report:{report.id}")
    return message


def record_kinds(session: Session, report: Report) -> dict[int, RecordKind]:
    """Which notes of the case are risk assessments or measures, by message id."""
    return {message_id: kind for message_id, kind in session.execute(
        select(ProtectionRecord.message_id, ProtectionRecord.kind)
        .where(ProtectionRecord.report_id == report.id))}


def mark_sealed_case(session: Session, report: Report, sealed: dict[str, Any]) -> None:
    """Name, in the case page's data, each note that is a risk assessment or a measure."""
    kinds = record_kinds(session, report)
    for message in sealed["messages"]:
        found = kinds.get(int(message["id"]))
        if found is not None:
            message["record"] = found.value


def assessed_on(session: Session, report: Report) -> list[date]:
    """The days the case's risk was assessed, in clear: that it was, and when."""
    return list(session.scalars(
        select(Message.sent_on).join(ProtectionRecord, ProtectionRecord.message_id == Message.id)
        .where(ProtectionRecord.report_id == report.id,
               ProtectionRecord.kind == RecordKind.RISK_ASSESSMENT)
        .order_by(Message.sent_on)))
