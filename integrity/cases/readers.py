"""Leaving a case: an inspector recuses themselves, or a reader takes a colleague off it.

Impartiality (ISO 37002 8.2, Directive 2019/1937 Art. 9(1)(c)): an inspector with a conflict
of interest steps away from a case. Leaving drops them from the case's readers and deletes
every key slot of the case sealed to them, so later messages and notes are not sealed to them
and the server holds nothing more they could open; their page of the case answers "not
found", as to any inspector who does not read it. The reason is about staff, not about what
was reported, so it is kept in the audit entry's details (docs/inspectors.md#leaving-a-case).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import delete
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.cases.persons import drop_reader as drop_persons_slots
from integrity.config import Settings
from integrity.models import User
from integrity.notifications.outbox import Kind, notify_activity
from integrity.reporting.mailbox import current_recipients
from integrity.reporting.models import KeySlot, Report, report_readers
from integrity.reporting.tombstones import drop_reader as drop_reason_slots

MAX_REASON = 500


class ReaderError(ValueError):
    """A change of the case's readers that cannot be made; the message says why."""


def checked_reason(reason: object) -> str:
    """The reason, on one line; refused when empty or too long."""
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text:
        raise ReaderError(_l("Say why."))
    if len(text) > MAX_REASON:
        raise ReaderError(lazy_ngettext("Keep the reason under %(count)d character.",
                                        "Keep the reason under %(count)d characters.",
                                        MAX_REASON, count=MAX_REASON))
    return text


def _drop(session: Session, report: Report, user: User) -> bool:
    """Take ``user`` off the case: no longer a reader, no key slot left, not responsible.
    Returns whether they were responsible for it."""
    session.execute(delete(report_readers).where(report_readers.c.report_id == report.id,
                                                 report_readers.c.user_id == user.id))
    session.execute(delete(KeySlot).where(KeySlot.report_id == report.id,
                                          KeySlot.reader == str(user.id)))
    drop_persons_slots(session, report, user)
    drop_reason_slots(session, [report.id], user)
    responsible = report.assignee_id == user.id
    if responsible:
        report.assignee_id = None
    session.expire(report, ["readers"])
    return responsible


def _others_remain(report: Report, leaving: User) -> bool:
    return any(user.id != leaving.id for user in current_recipients(report))


def recuse(session: Session, report: Report, inspector: User, reason: object) -> None:
    """``inspector`` steps away from the case (a conflict of interest); the caller commits."""
    text = checked_reason(reason)
    if inspector not in report.readers:
        raise ReaderError(_l("Only an inspector the case was sealed to can change it."))
    if not _others_remain(report, inspector):
        raise ReaderError(_l("You are the only inspector who can read this case: share it "
                             "with a colleague first, then step away."))
    responsible = _drop(session, report, inspector)
    record(session, actor=inspector, action="case_recused", subject=f"report:{report.id}",
           details={"reason": text, "was_responsible": responsible})


def remove_reader(session: Session, settings: Settings, report: Report, actor: User,
                  reader: User, reason: object) -> None:
    """``actor``, a reader, takes ``reader`` off the case; ``reader`` is told, without a word
    of which case. The caller commits."""
    text = checked_reason(reason)
    if actor not in report.readers:
        raise ReaderError(_l("Only an inspector the case was sealed to can change it."))
    if reader.id == actor.id:
        raise ReaderError(_l("To leave the case yourself, step away from it."))
    if reader not in report.readers:
        raise ReaderError(_l("This inspector does not read the case."))
    responsible = _drop(session, report, reader)
    if reader.active:
        notify_activity(session, settings, Kind.CASE_REMOVED, [reader.id])
    record(session, actor=actor, action="reader_removed", subject=f"report:{report.id}",
           details={"reader": reader.id, "reason": text, "was_responsible": responsible})
