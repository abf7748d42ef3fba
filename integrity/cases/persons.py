"""Persons concerned by a case, and the steps of their information and hearing.

EU Directive 2019/1937 Art. 22 protects the persons a report is about; GDPR Art. 14 says they
are informed, Art. 23 lets that information be deferred while it would endanger the inquiry
or the reporter, and ISO 37002 8.4.4 asks that they be heard. Each person is an entry of the
case, sealed in the inspector's browser to the case's readers (and the recovery key) like an
internal note: who they are, and what each step says (the reason for a deferral, a statement),
never reach the server in clear. The server keeps what its rules need: the state, the day of
each step, the day a deferral is to be reviewed, and the day a person was cleared.

A cleared person's data (their entry, every step and statement file) can be deleted at once,
and is deleted ``Channel.person_deletion_days`` after the clearing, though the case is kept: a
tombstone (the entry with its days and no ciphertext) and the audit log say that it was. A case
on legal hold deletes nothing. Every step is audited without content. The caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from integrity.audit import record
from integrity.cases.person_models import (
    Person,
    PersonKeySlot,
    PersonState,
    PersonStep,
    StepKind,
    person_attachments,
)
from integrity.config import Settings
from integrity.installation import get_installation
from integrity.models import Channel, User
from integrity.notifications.outbox import Kind, notify_once
from integrity.reporting.attachments import claim_attachments
from integrity.reporting.checks import (
    checked_claimable_attachments,
    checked_key_slots,
    checked_payload,
    checked_string_list,
)
from integrity.reporting.errors import ProtocolError
from integrity.reporting.mailbox import current_recipients
from integrity.reporting.models import Attachment, Report
from integrity.reporting.routing import REPORTER, expected_readers
from integrity.reporting.storage import AttachmentStore

# The longest a deferral may run before it is reviewed again: a deferral is an exception
# (GDPR Art. 23), looked at again at least once a year.
MAX_DEFERRAL_DAYS = 366
# A reminder is written when the review day comes, then once a week while it is not done.
REMINDER_WEEK = 7

# Which steps may follow which state.
_FOLLOWS: dict[StepKind, frozenset[PersonState]] = {
    StepKind.INFORMED: frozenset({PersonState.ADDED, PersonState.DEFERRED}),
    StepKind.DEFERRED: frozenset({PersonState.ADDED, PersonState.DEFERRED}),
    StepKind.HEARD: frozenset({PersonState.INFORMED, PersonState.HEARD}),
    StepKind.OUTCOME_NOTIFIED: frozenset({PersonState.INFORMED, PersonState.HEARD}),
    StepKind.CLEARED: frozenset({PersonState.ADDED, PersonState.INFORMED, PersonState.DEFERRED,
                                 PersonState.HEARD, PersonState.OUTCOME_NOTIFIED}),
}
AUDIT_ACTIONS = {
    StepKind.INFORMED: "person_informed",
    StepKind.DEFERRED: "person_information_deferred",
    StepKind.HEARD: "person_heard",
    StepKind.OUTCOME_NOTIFIED: "person_outcome_notified",
    StepKind.CLEARED: "person_cleared",
}
ENTRY = "person"  # the name of a person's entry among the documents of a share
STEP = "person-step"


def _subject(report: Report) -> str:
    return f"report:{report.id}"


# --- reading ---------------------------------------------------------------------------------


def _slots_of(session: Session, report: Report, user: User) -> dict[tuple[int, int | None],
                                                                     bytes]:
    return {(person_id, step_id): slot for person_id, step_id, slot in session.execute(
        select(PersonKeySlot.person_id, PersonKeySlot.step_id, PersonKeySlot.slot)
        .join(Person, Person.id == PersonKeySlot.person_id)
        .where(Person.report_id == report.id, PersonKeySlot.reader == str(user.id)))}


def _b64(value: bytes | None) -> str | None:
    return crypto.b64encode(value) if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def persons_of(session: Session, report: Report) -> list[Person]:
    return list(session.scalars(select(Person).where(Person.report_id == report.id)
                                .order_by(Person.added_on, Person.position)))


def persons_json(session: Session, report: Report, user: User, today: date) -> dict[str, Any]:
    """``GET /cases/<id>/persons``: every person of the case with ``user``'s key slots."""
    slots = _slots_of(session, report, user)
    files: dict[int | None, list[str]] = {}
    for attachment_id, step_id in session.execute(
            select(person_attachments.c.attachment_id, person_attachments.c.step_id)
            .join(Person, Person.id == person_attachments.c.person_id)
            .where(Person.report_id == report.id)):
        files.setdefault(step_id, []).append(attachment_id)
    return {"persons": [{
        "id": str(person.id), "number": person.position, "state": person.state,
        "added_on": _day(person.added_on),
        "review_on": _day(person.review_on), "cleared_on": _day(person.cleared_on),
        "deleted_on": _day(person.deleted_on), "review_due": review_due(person, today),
        "deletion_on": _day(automatic_deletion_day(person, report)),
        "payload": _b64(person.payload), "key_slot": _b64(slots.get((person.id, None))),
        "steps": [{"id": str(step.id), "kind": step.kind, "done_on": _day(step.done_on),
                   "review_on": _day(step.review_on),
                   "author": str(step.author_id) if step.author_id else None,
                   "payload": _b64(step.payload), "key_slot": _b64(slots.get((person.id, step.id))),
                   "attachments": sorted(files.get(step.id, []))}
                  for step in person.steps],
    } for person in persons_of(session, report)]}


def review_due(person: Person, today: date) -> bool:
    """Whether the deferral of ``person``'s information is due for review on ``today``."""
    return (person.state == PersonState.DEFERRED and person.review_on is not None
            and person.review_on <= today)


def automatic_deletion_day(person: Person, report: Report) -> date | None:
    """The day a cleared person's data is deleted; None for anyone else, or on legal hold."""
    if person.state != PersonState.CLEARED or person.cleared_on is None or report.held:
        return None
    return person.cleared_on + timedelta(days=report.channel.person_deletion_days)


def review_due_cases(session: Session, report_ids: Iterable[int], today: date) -> set[int]:
    """Which of ``report_ids`` have a person whose deferred information is due for review."""
    ids = list(report_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Person.report_id).where(
        Person.report_id.in_(ids), Person.state == PersonState.DEFERRED,
        Person.review_on <= today)))


def person_of(session: Session, report: Report, person_id: int) -> Person | None:
    """The person ``person_id`` of this case, or None."""
    person = session.get(Person, person_id)
    return person if person is not None and person.report_id == report.id else None


# --- writing ---------------------------------------------------------------------------------


def _sealed(session: Session, settings: Settings, report: Report,
            body: Mapping[str, Any]) -> tuple[bytes, dict[str, bytes]]:
    """The payload and key slots of a sealed document of the case's inspectors: one slot for
    each current reader and the recovery key, none for the reporter (as for a note)."""
    installation = get_installation(session, settings)
    payload = checked_payload(body, settings, installation.pad_block)
    readers = {str(u.id): u.public_key or b"" for u in current_recipients(report)}
    expected = expected_readers(readers, installation.recovery_public_key)
    expected.discard(REPORTER)
    return payload, checked_key_slots(body, expected)


def _body(body: object) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise ProtocolError(_l("The request body must be a JSON object."))
    return body


def _check_reader(report: Report, user: User) -> None:
    if user not in report.readers:
        raise ProtocolError(_l("Only an inspector the case was sealed to can change it."), 404)


def add_person(session: Session, settings: Settings, report: Report, user: User,
               body: object) -> Person:
    """A new person concerned, sealed in the browser: ``{"payload", "key_slots"}``."""
    _check_reader(report, user)
    payload, slots = _sealed(session, settings, report, _body(body))
    person = Person(report_id=report.id, state=PersonState.ADDED, payload=payload)
    session.add(person)
    session.flush()
    _store_slots(session, person, None, slots)
    record(session, actor=user, action="person_added", subject=_subject(report),
           details={"person": person.id})
    return person


def _store_slots(session: Session, person: Person, step: PersonStep | None,
                 slots: Mapping[str, bytes]) -> None:
    session.add_all(PersonKeySlot(person_id=person.id, step_id=step.id if step else None,
                                  reader=reader, slot=slot) for reader, slot in slots.items())


def _checked_day(value: object, what: str) -> date:
    refusal = ProtocolError(_l("The field “%(field)s” must be a day (YYYY-MM-DD).",
                               field=what))
    if not isinstance(value, str) or len(value) != 10:
        raise refusal
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise refusal from None


def _checked_kind(value: object) -> StepKind:
    if not isinstance(value, str) or value not in set(StepKind):
        raise ProtocolError(_l("The kind must be “informed”, “deferred”, “heard”, "
                               "“outcome_notified” or “cleared”."))
    return StepKind(value)


def _check_days(report: Report, kind: StepKind, done_on: date, review_on: date | None,
                today: date) -> None:
    if done_on > today or done_on < report.created_on:
        raise ProtocolError(_l("The day must be between the day the report arrived and today."))
    if kind is not StepKind.DEFERRED:
        if review_on is not None:
            raise ProtocolError(_l("Only a deferral has a review day."))
        return
    if review_on is None or not today < review_on <= today + timedelta(days=MAX_DEFERRAL_DAYS):
        raise ProtocolError(_l("A deferral needs a review day after today and within a year."))


def add_step(session: Session, settings: Settings, store: AttachmentStore, report: Report,
             user: User, person: Person, body: object, today: date) -> PersonStep:
    """A step of ``person``'s history: ``{"kind", "on", "review_on" (a deferral only),
    "payload", "key_slots", "attachments" (a hearing only)}``."""
    _check_reader(report, user)
    fields = _body(body)
    kind = _checked_kind(fields.get("kind"))
    done_on = _checked_day(fields.get("on"), "on")
    raw_review = fields.get("review_on")
    review_on = _checked_day(raw_review, "review_on") if raw_review is not None else None
    if person.state not in _FOLLOWS[kind]:
        raise ProtocolError(_l("This step cannot follow where the person's entry stands."), 409)
    _check_days(report, kind, done_on, review_on, today)
    payload, slots = _sealed(session, settings, report, fields)
    ids = checked_string_list(fields, "attachments")
    if ids and kind is not StepKind.HEARD:
        raise ProtocolError(_l("Only a statement takes files."))
    attachments = checked_claimable_attachments(session, settings, ids)
    step = PersonStep(person_id=person.id, kind=kind, done_on=done_on, review_on=review_on,
                      author_id=user.id, payload=payload)
    session.add(step)
    session.flush()
    _store_slots(session, person, step, slots)
    if attachments:
        claim_attachments(session, store, [a.id for a in attachments], report.id, None)
        session.execute(person_attachments.insert(), [
            {"attachment_id": a.id, "person_id": person.id, "step_id": step.id}
            for a in attachments])
    _move(person, kind, done_on, review_on)
    details: dict[str, Any] = {"person": person.id, "on": done_on.isoformat()}
    if review_on is not None:
        details["review_on"] = review_on.isoformat()
    if attachments:
        details["attachments"] = len(attachments)
    record(session, actor=user, action=AUDIT_ACTIONS[kind], subject=_subject(report),
           details=details)
    return step


def _move(person: Person, kind: StepKind, done_on: date, review_on: date | None) -> None:
    person.state = PersonState(kind.value)
    person.review_on = review_on
    if kind is StepKind.CLEARED:
        person.cleared_on = done_on


# --- deleting a cleared person's data --------------------------------------------------------


def delete_person_data(session: Session, store: AttachmentStore, report: Report,
                       person: Person, actor: User | None, today: date) -> None:
    """Delete a cleared person's entry, steps, key slots and statement files; keep the
    tombstone. By ``actor`` (a reader), or by the scheduler when ``actor`` is None."""
    if actor is not None:
        _check_reader(report, actor)
    if person.state != PersonState.CLEARED:
        raise ProtocolError(_l("Only a cleared person's data can be deleted."), 409)
    if report.held:
        raise ProtocolError(_l("The case is on legal hold: nothing of it is deleted until the "
                               "hold is lifted."), 409)
    files = list(session.scalars(select(person_attachments.c.attachment_id)
                                 .where(person_attachments.c.person_id == person.id)))
    for attachment_id in files:
        store.shred(attachment_id)
    if files:
        session.execute(delete(Attachment).where(Attachment.id.in_(files)))
    session.execute(delete(PersonKeySlot).where(PersonKeySlot.person_id == person.id))
    session.execute(delete(PersonStep).where(PersonStep.person_id == person.id))
    session.expire(person, ["steps"])
    person.payload = None
    person.state = PersonState.DELETED
    person.deleted_on = today
    details: dict[str, Any] = {"person": person.id, "files": len(files)}
    if actor is None:
        details["rule"] = "after_clearing"
    record(session, actor=actor, actor_label=None if actor else "system",
           action="person_data_deleted", subject=_subject(report), details=details)


def purge_cleared_persons(session: Session, store: AttachmentStore, today: date) -> int:
    """Delete the data of every person cleared at least their channel's
    ``person_deletion_days`` ago, in cases not on legal hold; returns how many."""
    done = 0
    for channel in session.scalars(select(Channel).order_by(Channel.id)):
        last = today - timedelta(days=channel.person_deletion_days)
        for person in session.scalars(
                select(Person).join(Report, Report.id == Person.report_id).where(
                    Report.channel_id == channel.id, Report.held.is_(False),
                    Person.state == PersonState.CLEARED, Person.cleared_on <= last)
                .order_by(Person.cleared_on, Person.report_id, Person.position)):
            report = session.get(Report, person.report_id)
            assert report is not None
            delete_person_data(session, store, report, person, None, today)
            done += 1
    return done


# --- reminders -------------------------------------------------------------------------------


def remind_reviews(session: Session, today: date, now: datetime) -> int:
    """Tell the case's readers that a deferral of a person's information is due for review:
    on its review day, then once a week until it is reviewed. Returns the notices written."""
    written = 0
    for person in session.scalars(select(Person).where(
            Person.state == PersonState.DEFERRED, Person.review_on <= today)
            .order_by(Person.review_on, Person.report_id, Person.position)):
        assert person.review_on is not None
        week = (today - person.review_on).days // REMINDER_WEEK
        report = session.get(Report, person.report_id)
        assert report is not None
        for user in report.readers:
            if user.active:
                written += notify_once(
                    session, Kind.PERSON_REVIEW_DUE, user_id=user.id, due_at=now,
                    dedup_key=f"{Kind.PERSON_REVIEW_DUE}:{person.id}:{user.id}:"
                              f"{person.review_on.isoformat()}:{week}")
    return written


# --- readers: sharing the persons with a colleague, taking a colleague off -------------------


def documents_of(session: Session, report: Report, user: User) -> list[str]:
    """The persons' documents ``user`` holds a key slot for, as a share request names them:
    ``person:<id>`` for an entry, ``person-step:<id>`` for a step."""
    return [f"{ENTRY}:{person_id}" if step_id is None else f"{STEP}:{step_id}"
            for (person_id, step_id) in sorted(_slots_of(session, report, user),
                                               key=lambda key: (key[0], key[1] or 0))]


def add_reader_slots(session: Session, report: Report, reader: User,
                     slots: Mapping[str, bytes]) -> int:
    """Store the persons' key slots of a share (``documents_of``'s names); returns how many."""
    steps = {step_id: person_id for step_id, person_id in session.execute(
        select(PersonStep.id, PersonStep.person_id).join(Person)
        .where(Person.report_id == report.id))}
    rows = []
    for name, slot in slots.items():
        kind, _sep, number = name.partition(":")
        if kind == ENTRY:
            rows.append(PersonKeySlot(person_id=int(number), step_id=None,
                                      reader=str(reader.id), slot=slot))
        elif kind == STEP:
            rows.append(PersonKeySlot(person_id=steps[int(number)], step_id=int(number),
                                      reader=str(reader.id), slot=slot))
    session.add_all(rows)
    return len(rows)


def is_person_document(name: str) -> bool:
    """Whether a share request's document name is a person's entry or step."""
    return name.startswith((f"{ENTRY}:", f"{STEP}:"))


def drop_reader(session: Session, report: Report, user: User) -> None:
    """Delete every persons' key slot of the case sealed to ``user`` (they leave the case)."""
    drop_reader_slots(session, [report.id], user)


def drop_reader_slots(session: Session, report_ids: Iterable[int], user: User) -> None:
    """Delete every persons' key slot of these cases sealed to ``user`` (they leave them, or
    their key is gone)."""
    persons = select(Person.id).where(Person.report_id.in_(list(report_ids)))
    session.execute(delete(PersonKeySlot).where(PersonKeySlot.person_id.in_(persons),
                                                PersonKeySlot.reader == str(user.id)))


def person_attachment_ids(session: Session, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are files of persons' statements."""
    wanted = list(ids)
    if not wanted:
        return set()
    return set(session.scalars(select(person_attachments.c.attachment_id)
                               .where(person_attachments.c.attachment_id.in_(wanted))))
