"""Who and which case an audit entry names, looked up when the log is shown.

The log keeps numbers (``actor_id``, subjects such as ``report:12`` and ``user:3``) and is
never rewritten, so names and case references are read from the accounts and cases as they
are now, when a page shows the entries: an account or a case deleted since shows as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry
from integrity.models import User
from integrity.reporting.models import Report


@dataclass(frozen=True)
class Party:
    """Someone or something an entry names: the account when it still exists, else a label."""

    label: str
    user: User | None = None


def subject_id(subject: str, kind: str) -> int | None:
    """The number in a subject such as ``report:12`` when it is of ``kind``; None otherwise."""
    prefix, _sep, number = subject.partition(":")
    if prefix != kind or not (number.isascii() and number.isdigit()):
        return None
    return int(number)


def deleted_account(user_id: int) -> str:
    """How an account that no longer exists is named."""
    return _("account %(id)d (deleted)", id=user_id)


@dataclass(frozen=True)
class Names:
    """The accounts and case references some entries name, read in two queries."""

    users: dict[int, User]
    references: dict[int, str]

    def account(self, user_id: int) -> Party:
        """The account ``user_id``, or its number marked as deleted."""
        user = self.users.get(user_id)
        return Party(user.name, user) if user else Party(deleted_account(user_id))

    def actor(self, entry: AuditEntry) -> Party:
        """Who did it: the account, or the label of the part of the system that did."""
        if entry.actor_id is not None:
            return self.account(entry.actor_id)
        return Party(actor_label(entry.actor))

    def case(self, report_id: int) -> Party:
        """The case by its reference, or "deleted case"."""
        reference = self.references.get(report_id)
        return Party(_("Case %(reference)s", reference=reference) if reference
                     else _("deleted case"))

    def subject(self, entry: AuditEntry) -> Party:
        """What the entry is about: a case, an account, or the subject as recorded."""
        report_id = subject_id(entry.subject, "report")
        if report_id is not None:
            return self.case(report_id)
        user_id = subject_id(entry.subject, "user")
        if user_id is not None:
            return self.account(user_id)
        return Party(entry.subject)


def actor_label(label: str) -> str:
    """An entry without an account: who recorded it, in plain words."""
    known = {"system": _("the system"), "cli": _("the command line"),
             "reporter": _("the reporter"), "unknown account": _("an unknown account"),
             "pseudonymised": _("a staff member (name removed after the retention period)")}
    return known.get(label, label)


def names_for(session: Session, entries: Iterable[AuditEntry],
              user_ids: Iterable[int] = ()) -> Names:
    """The accounts (actors, ``user:`` subjects and ``user_ids``) and case references that
    ``entries`` name."""
    entries = list(entries)
    wanted_users = set(user_ids) | {e.actor_id for e in entries if e.actor_id is not None}
    wanted_users |= {i for e in entries if (i := subject_id(e.subject, "user")) is not None}
    wanted_reports = {i for e in entries if (i := subject_id(e.subject, "report")) is not None}
    users = ({user.id: user for user in session.scalars(
        select(User).where(User.id.in_(wanted_users)))} if wanted_users else {})
    references = ({rid: reference for rid, reference in session.execute(
        select(Report.id, Report.reference).where(Report.id.in_(wanted_reports)))}
        if wanted_reports else {})
    return Names(users, references)
