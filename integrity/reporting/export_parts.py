"""The parts of a case the export carries beside its report and thread: the persons concerned,
the tombstones, the protection records, the records to agree, the check-ins, the meetings, a
closing waiting for confirmation and the retention facts (integrity/reporting/export.py).

What is sealed in the database goes out sealed, with its key slots; what is clear in the
database (states, days, kinds) goes out clear. Nothing else: no receipt, lookup hash or token.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import crypto
from integrity.cases.person_models import Person, PersonKeySlot, person_attachments
from integrity.cases.protection_models import CheckIn, CheckInState, ProtectionRecord
from integrity.cases.records import is_record, record_state
from integrity.cases.retention import deletion_day
from integrity.reporting.models import ClosingRequest, Message, Report, Tombstone

Slots = dict[str, str]


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _b64(value: bytes | None) -> str | None:
    return crypto.b64encode(value) if value is not None else None


class CaseParts:
    """Every case's parts, read once for the whole export, then handed out by case."""

    def __init__(self, session: Session, references: dict[int, str]) -> None:
        self.references = references
        self.protection = {message_id: kind.value for message_id, kind in session.execute(
            select(ProtectionRecord.message_id, ProtectionRecord.kind))}
        self.persons = self._persons(session)
        self.tombstones = self._tombstones(session)
        self.check_ins, self.stopped = self._check_ins(session)
        self.closings = self._closings(session)

    @staticmethod
    def _persons(session: Session) -> dict[int, list[dict[str, Any]]]:
        slots: dict[tuple[int, int | None], Slots] = {}
        for slot in session.scalars(select(PersonKeySlot)):
            slots.setdefault((slot.person_id, slot.step_id), {})[slot.reader] = (
                crypto.b64encode(slot.slot))
        files: dict[int | None, list[str]] = {}
        for attachment_id, step_id in session.execute(
                select(person_attachments.c.attachment_id, person_attachments.c.step_id)):
            files.setdefault(step_id, []).append(attachment_id)
        found: dict[int, list[dict[str, Any]]] = {}
        # Ids are random: a case's persons in the order the case page lists them, a person's
        # steps in the order they were recorded (Person.steps), each by its position.
        for person in session.scalars(select(Person).options(selectinload(Person.steps))
                                      .order_by(Person.added_on, Person.position)):
            found.setdefault(person.report_id, []).append({
                "id": str(person.id), "number": person.position, "state": person.state.value,
                "added_on": _day(person.added_on), "review_on": _day(person.review_on),
                "cleared_on": _day(person.cleared_on), "deleted_on": _day(person.deleted_on),
                "payload": _b64(person.payload), "key_slots": slots.get((person.id, None), {}),
                "steps": [{
                    "id": str(step.id), "kind": step.kind.value, "done_on": _day(step.done_on),
                    "review_on": _day(step.review_on), "payload": _b64(step.payload),
                    "key_slots": slots.get((person.id, step.id), {}),
                    "attachments": sorted(files.get(step.id, [])),
                } for step in person.steps],
            })
        return found

    @staticmethod
    def _tombstones(session: Session) -> dict[int, list[dict[str, Any]]]:
        found: dict[int, list[dict[str, Any]]] = {}
        for tombstone in session.scalars(
                select(Tombstone).options(selectinload(Tombstone.key_slots),
                                          selectinload(Tombstone.by))
                .order_by(Tombstone.made_on, Tombstone.position)):
            found.setdefault(tombstone.report_id, []).append({
                "id": str(tombstone.id), "kind": tombstone.kind.value,
                "message": str(tombstone.message_id) if tombstone.message_id else None,
                "attachment": tombstone.attachment_id, "made_on": _day(tombstone.made_on),
                "by": tombstone.by.name if tombstone.by else None,
                # Why, sealed to the case's inspectors and the recovery key; None only for a
                # reason dropped by migration 0038.
                "payload": _b64(tombstone.reason_payload),
                "key_slots": {slot.reader: crypto.b64encode(slot.slot)
                              for slot in tombstone.key_slots},
            })
        return found

    @staticmethod
    def _closings(session: Session) -> dict[int, dict[str, Any]]:
        """Each closing asked for and waiting for a second reader's confirmation: the outcome
        it will record, the day it was asked, and who asked."""
        return {request.report_id: {
            "outcome": request.outcome.value, "requested_on": _day(request.requested_on),
            "by": request.requested_by.name if request.requested_by else None}
            for request in session.scalars(
                select(ClosingRequest).options(selectinload(ClosingRequest.requested_by)))}

    @staticmethod
    def _check_ins(session: Session) -> tuple[dict[int, list[dict[str, Any]]], set[int]]:
        found: dict[int, list[dict[str, Any]]] = {}
        stopped: set[int] = set()
        for check_in in session.scalars(select(CheckIn).order_by(CheckIn.due_on, CheckIn.position)):
            if check_in.state == CheckInState.STOPPED:
                stopped.add(check_in.report_id)
            if check_in.months > 0:  # months 0: only the mark that the reporter stopped them
                found.setdefault(check_in.report_id, []).append({
                    "months": check_in.months, "due_on": _day(check_in.due_on),
                    "state": check_in.state.value, "done_on": _day(check_in.done_on)})
        return found, stopped

    def report_facts(self, report: Report) -> dict[str, Any]:
        """The clear facts and sealed parts of ``report`` beyond its document and thread."""
        return {
            "kind": report.kind,
            "retaliation_of": self.references.get(report.retaliation_of_id or 0),
            "oral": report.oral, "held": report.held, "closed_on": _day(report.closed_on),
            "deletion_on": _day(deletion_day(report)),
            "meetings": [{"requested_on": _day(m.requested_on), "due_on": _day(m.due_on),
                          "state": m.state.value, "answered_on": _day(m.answered_on)}
                         for m in sorted(report.meeting_requests,
                                         key=lambda m: (m.requested_on, m.id))],
            "check_ins": self.check_ins.get(report.id, []),
            "check_ins_stopped": report.id in self.stopped,
            "closing_requested": self.closings.get(report.id),
            "persons": self.persons.get(report.id, []),
            "tombstones": self.tombstones.get(report.id, []),
        }

    def message_facts(self, message: Message) -> dict[str, Any]:
        """What is clear about a message beside its kind: its place in the thread, whether it
        is a risk assessment or a protective measure, and a record's agreement."""
        agreement = None
        if is_record(message):
            agreement = {"state": record_state(message).value,
                         "agreed_on": _day(message.agreed_on),
                         "corrected_on": _day(message.corrected_on)}
        return {"position": message.position, "protection": self.protection.get(message.id),
                "agreement": agreement}
