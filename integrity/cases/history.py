"""A case's history for its readers: what was done on it, by whom, on which day.

Read from the audit log (the entries whose subject is ``report:<id>``), so it holds facts
only: never report content. Days only, though the log keeps the time: a reader needs no more
to follow the case, and a time of day says more than needed about colleagues' habits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry
from integrity.audit_names import Names, names_for
from integrity.cases.person_models import Person
from integrity.db import LARGEST_ID
from integrity.formatting import day as format_day

PER_PAGE = 100

STATUS_NAMES = {
    "new": _l("New"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "closed": lazy_pgettext("case status", "Closed"),
}
OUTCOME_NAMES = {
    "substantiated": _l("Substantiated"),
    "partly_substantiated": _l("Partly substantiated"),
    "unsubstantiated": _l("Unsubstantiated"),
    "not_in_scope": _l("Not in scope"),
}


@dataclass(frozen=True)
class HistoryLine:
    day: date
    who: str  # a name, "the reporter" or "the system"
    what: str  # what was done, in plain words


@dataclass(frozen=True)
class HistoryPage:
    lines: list[HistoryLine]
    page: int
    pages: int
    total: int


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _name(names: Names, value: object) -> str:
    user_id = _number(value)
    return names.account(user_id).label if user_id is not None else _("nobody")


def _status(value: object) -> str:
    return str(STATUS_NAMES.get(str(value), value))


def _status_changed(facts: dict[str, Any], _names: Names) -> str:
    old, new = _status(facts.get("from")), _status(facts.get("to"))
    outcome = facts.get("outcome")
    if outcome:
        return _("Changed the status from “%(old)s” to “%(new)s”, with the outcome "
                 "“%(outcome)s”", old=old, new=new,
                 outcome=str(OUTCOME_NAMES.get(str(outcome), outcome)))
    return _("Changed the status from “%(old)s” to “%(new)s”", old=old, new=new)


def _assigned(facts: dict[str, Any], names: Names) -> str:
    if _number(facts.get("to")) is None:
        return _("Left the case with no responsible inspector")
    return _("Made %(name)s the responsible inspector", name=_name(names, facts.get("to")))


def _reason(facts: dict[str, Any]) -> str:
    reason = facts.get("reason")
    return reason if isinstance(reason, str) else ""


def _shared(facts: dict[str, Any], names: Names) -> str:
    name = _name(names, facts.get("with"))
    if _reason(facts):
        return _("Shared the case with %(name)s. Why: %(reason)s", name=name,
                 reason=_reason(facts))
    return _("Shared the case with %(name)s", name=name)


def _recused(facts: dict[str, Any], _names: Names) -> str:
    return _("Stepped away from the case. Why: %(reason)s", reason=_reason(facts))


def _removed(facts: dict[str, Any], names: Names) -> str:
    return _("Took %(name)s off the case. Why: %(reason)s",
             name=_name(names, facts.get("reader")), reason=_reason(facts))


def _outcome(facts: dict[str, Any]) -> str:
    outcome = facts.get("outcome")
    return str(OUTCOME_NAMES.get(str(outcome), outcome))


def _closing_requested(facts: dict[str, Any], _names: Names) -> str:
    return _("Asked to close the case with the outcome “%(outcome)s”", outcome=_outcome(facts))


def _closing_confirmed(facts: dict[str, Any], names: Names) -> str:
    return _("Confirmed the closing %(name)s asked for",
             name=_name(names, facts.get("requested_by")))


def _closing_declined(facts: dict[str, Any], names: Names) -> str:
    return _("Declined the closing %(name)s asked for",
             name=_name(names, facts.get("requested_by")))


def _files(facts: dict[str, Any]) -> int:
    return _number(facts.get("attachments")) or 0


def _message(facts: dict[str, Any], _names: Names) -> str:
    files = _files(facts)
    kind = facts.get("kind")
    if kind == "feedback":
        return _("Gave the reporter feedback") if not files else ngettext(
            "Gave the reporter feedback, with %(num)d file",
            "Gave the reporter feedback, with %(num)d files", files)
    if kind == "final_notice":
        return _("Sent the reporter the final notice") if not files else ngettext(
            "Sent the reporter the final notice, with %(num)d file",
            "Sent the reporter the final notice, with %(num)d files", files)
    if kind == "record":
        return _("Sent the reporter a record to agree") if not files else ngettext(
            "Sent the reporter a record to agree, with %(num)d file",
            "Sent the reporter a record to agree, with %(num)d files", files)
    if not files:
        return _("Wrote to the reporter")
    return ngettext("Wrote to the reporter, with %(num)d file",
                    "Wrote to the reporter, with %(num)d files", files)


def _note(facts: dict[str, Any], _names: Names) -> str:
    files = _files(facts)
    if not files:
        return _("Wrote an internal note")
    return ngettext("Wrote an internal note, with %(num)d file",
                    "Wrote an internal note, with %(num)d files", files)


def _purged(facts: dict[str, Any], _names: Names) -> str:
    if facts.get("rule") == "max_age":
        return _("Deleted the case: it was never closed and reached the longest time its "
                 "channel keeps an open case")
    return _("Deleted the case after its retention period")


def _person(facts: dict[str, Any]) -> int:
    return _number(facts.get("person")) or 0


def _on(facts: dict[str, Any], key: str) -> str:
    value = facts.get(key)
    try:
        return format_day(value) if isinstance(value, str) else "—"
    except ValueError:
        return "—"


def _deferred(facts: dict[str, Any], _names: Names) -> str:
    return _("Deferred informing person %(person)d until a review on %(day)s",
             person=_person(facts), day=_on(facts, "review_on"))


def _heard(facts: dict[str, Any], _names: Names) -> str:
    files = _files(facts)
    if not files:
        return _("Heard person %(person)d", person=_person(facts))
    return ngettext("Heard person %(person)d, with %(num)d file",
                    "Heard person %(person)d, with %(num)d files", files, person=_person(facts))


def _person_deleted(facts: dict[str, Any], _names: Names) -> str:
    if facts.get("rule") == "after_clearing":
        return _("Deleted the data of person %(person)d, cleared longer ago than the channel "
                 "keeps it", person=_person(facts))
    return _("Deleted the data of person %(person)d, who was cleared", person=_person(facts))


def _meeting_answered(facts: dict[str, Any], _names: Names) -> str:
    state = facts.get("state")
    if state == "arranged":
        return _("Recorded that the meeting or call the reporter asked for was arranged")
    if state == "held":
        return _("Recorded that the meeting or call the reporter asked for was held")
    return _("Declined the meeting or call the reporter asked for, telling them why")


def _oral_recorded(facts: dict[str, Any], _names: Names) -> str:
    files = _files(facts)
    if not files:
        return _("Recorded an oral report and handed the reporter its receipt")
    return ngettext("Recorded an oral report, with %(num)d file, and handed the reporter its "
                    "receipt", "Recorded an oral report, with %(num)d files, and handed the "
                    "reporter its receipt", files)


# Every action recorded with a case as its subject (grep: subject=f"report:).
DESCRIPTIONS: dict[str, Callable[[dict[str, Any], Names], str]] = {
    "case_opened": lambda _facts, _names: _("Opened the case"),
    "status_changed": _status_changed,
    "assigned": _assigned,
    "case_shared": _shared,
    "case_recused": _recused,
    "reader_removed": _removed,
    "closing_requested": _closing_requested,
    "closing_confirmed": _closing_confirmed,
    "closing_declined": _closing_declined,
    "message_sent": _message,
    "note_written": _note,
    "case_purged": _purged,
    "meeting_answered": _meeting_answered,
    "record_agreed": lambda _facts, _names: _("Agreed that a record is accurate"),
    "oral_report_recorded": _oral_recorded,
    "case_held": lambda facts, _names: _("Placed the case on legal hold: %(reason)s",
                                         reason=str(facts.get("reason", ""))),
    "case_hold_lifted": lambda facts, _names: _("Lifted the legal hold: %(reason)s",
                                                reason=str(facts.get("reason", ""))),
    # Persons concerned are named by their number in the case, never by who they are.
    "person_added": lambda facts, _names: _("Added person %(person)d concerned by the case",
                                            person=_person(facts)),
    "person_informed": lambda facts, _names: _("Recorded that person %(person)d was informed on "
                                               "%(day)s", person=_person(facts),
                                               day=_on(facts, "on")),
    "person_information_deferred": _deferred,
    "person_heard": _heard,
    "person_outcome_notified": lambda facts, _names: _(
        "Recorded that person %(person)d was told the outcome on %(day)s", person=_person(facts),
        day=_on(facts, "on")),
    "person_cleared": lambda facts, _names: _("Recorded that person %(person)d was cleared on "
                                              "%(day)s", person=_person(facts),
                                              day=_on(facts, "on")),
    "person_data_deleted": _person_deleted,
    "risk_assessed": lambda _facts, _names: _("Assessed the risk of harm to the reporter"),
    "protective_measure_recorded": lambda _facts, _names: _("Recorded a protective measure"),
    "attachment_deleted": lambda _facts, _names: _("Deleted a file"),
    "message_deleted": lambda _facts, _names: _("Deleted a message"),
    "message_redacted": lambda _facts, _names: _("Removed a passage of a message"),
    "voice_transcribed": lambda _facts, _names: _("Transcribed a voice message into a record"),
}

# The accounts a detail names, by action: looked up with the actors.
NAMED_IN_DETAILS = {"assigned": ("from", "to"), "case_shared": ("with",),
                    "reader_removed": ("reader",), "closing_confirmed": ("requested_by",),
                    "closing_declined": ("requested_by",)}


def describe(entry: AuditEntry, names: Names, persons: Mapping[int, int] | None = None) -> str:
    """What ``entry`` did to the case, in the reader's language; a person concerned, which
    the entry names by id, by its number in the case (``persons``: id to number)."""
    facts = entry.facts or {}
    person = _number(facts.get("person"))
    if person is not None and persons:
        facts = {**facts, "person": persons.get(person, person)}
    describe_action = DESCRIPTIONS.get(entry.action)
    if describe_action is None:
        return _("Other action (%(code)s)", code=entry.action)
    return describe_action(facts, names)


def who(entry: AuditEntry, names: Names) -> str:
    """The person's name, or "the reporter" or "the system" for entries without an account."""
    if entry.actor_id is None and entry.actor not in ("reporter", "pseudonymised"):
        return _("the system")
    return names.actor(entry).label


def _day_of(entry: AuditEntry) -> date:
    """The day the action was done: a reporter's agreement is entered with the next night's
    register, its own day in its details."""
    day = (entry.facts or {}).get("day") if entry.action == "record_agreed" else None
    try:
        return date.fromisoformat(day) if isinstance(day, str) else entry.at.date()
    except ValueError:
        return entry.at.date()


def _named_users(entries: list[AuditEntry]) -> set[int]:
    found = set()
    for entry in entries:
        facts = entry.facts or {}
        for key in NAMED_IN_DETAILS.get(entry.action, ()):
            if (user_id := _number(facts.get(key))) is not None:
                found.add(user_id)
    return found


def _persons(session: Session, report_id: int, entries: list[AuditEntry]) -> dict[int, int]:
    """The number in the case (``Person.position``) of each person the entries name."""
    ids = {person for entry in entries
           if (person := _number((entry.facts or {}).get("person"))) is not None
           and 0 < person <= LARGEST_ID}
    if not ids:
        return {}
    return {person_id: position for person_id, position in session.execute(
        select(Person.id, Person.position).where(Person.report_id == report_id,
                                                 Person.id.in_(ids)))}


def case_history(session: Session, report_id: int, page: int,
                 per_page: int = PER_PAGE) -> HistoryPage:
    """One page of what was done on the case, oldest first."""
    subject = AuditEntry.subject == f"report:{report_id}"
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(subject)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    entries = list(session.scalars(
        select(AuditEntry).where(subject).order_by(AuditEntry.seq)
        .limit(per_page).offset((page - 1) * per_page)))
    names = names_for(session, entries, _named_users(entries))
    persons = _persons(session, report_id, entries)
    lines = [HistoryLine(_day_of(entry), who(entry, names), describe(entry, names, persons))
             for entry in entries]
    return HistoryPage(lines, page, pages, total)
