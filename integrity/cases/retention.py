"""Retention: what is deleted when, and the legal hold that stops it.

A closed case is deleted once its channel's retention period has passed since it was closed;
cases closed as unsubstantiated or not in scope may have a shorter period of their own. A
channel may also set a maximum age for cases never closed: such a case is deleted that many
days after it was filed, its readers warned ``WARNING_DAYS`` beforehand. A case on legal
hold (proceedings run) is deleted by neither rule until the hold is lifted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, defer

from integrity.audit import record
from integrity.audit_register import payload_digest
from integrity.dashboard.snapshots import keep_figures
from integrity.models import Channel, User
from integrity.notifications.outbox import Kind, notify_once
from integrity.reporting.models import Attachment, Outcome, Report, Status
from integrity.reporting.storage import AttachmentStore

WARNING_DAYS = 30
# The outcomes a channel's shorter retention period applies to.
SHORT_OUTCOMES = (Outcome.UNSUBSTANTIATED, Outcome.NOT_IN_SCOPE)
MAX_REASON = 200


class RetentionError(ValueError):
    """A hold that cannot be placed or lifted; the message says why."""


@dataclass(frozen=True)
class Purged:
    report_id: int
    reference: str
    channel: str
    closed_on: date | None
    filed_on: date
    # "retention" (closed, its period over) or "max_age" (never closed, too old).
    rule: str = "retention"


def retention_days(channel: Channel, outcome: Outcome | None) -> int:
    """How long a case closed with ``outcome`` is kept after closing, in days."""
    if outcome in SHORT_OUTCOMES and channel.short_retention_days:
        return channel.short_retention_days
    return channel.retention_days


def deletion_day(report: Report) -> date | None:
    """The day retention deletes ``report``, or None while nothing will (on hold, or open
    in a channel without a maximum age)."""
    if report.held:
        return None
    channel = report.channel
    if report.status == Status.CLOSED and report.closed_on is not None:
        return report.closed_on + timedelta(days=retention_days(channel, report.outcome))
    if channel.max_open_days:
        return report.created_on + timedelta(days=channel.max_open_days)
    return None


def due_for_purge(session: Session, today: date) -> list[Purged]:
    """The cases retention deletes on ``today``: closed ones whose period has ended, never
    closed ones past their channel's maximum age; none on legal hold."""
    due: list[Purged] = []
    for channel in session.scalars(select(Channel).order_by(Channel.id)):
        full = today - timedelta(days=channel.retention_days)
        short = today - timedelta(days=channel.short_retention_days or channel.retention_days)
        closed = Report.outcome.in_([str(outcome) for outcome in SHORT_OUTCOMES])
        rows = session.execute(
            select(Report.id, Report.reference, Report.closed_on, Report.created_on).where(
                Report.channel_id == channel.id, Report.status == Status.CLOSED,
                Report.held.is_(False),
                or_(Report.closed_on <= full, closed & (Report.closed_on <= short)))
            .order_by(Report.created_on, Report.reference))
        due.extend(Purged(rid, reference, channel.slug, closed_on, filed_on)
                   for rid, reference, closed_on, filed_on in rows if closed_on)
        if channel.max_open_days:
            too_old = today - timedelta(days=channel.max_open_days)
            old_ones = session.execute(
                select(Report.id, Report.reference, Report.created_on).where(
                    Report.channel_id == channel.id, Report.status != Status.CLOSED,
                    Report.held.is_(False), Report.created_on <= too_old)
                .order_by(Report.created_on, Report.reference))
            due.extend(Purged(rid, reference, channel.slug, None, filed_on, "max_age")
                       for rid, reference, filed_on in old_ones)
    return due


def purge_cases(session: Session, store: AttachmentStore, today: date) -> list[Purged]:
    """Delete every due case: its ciphertext, thread, key slots, and files overwritten first.

    Their share of the dashboard's figures is kept first (integrity/dashboard/snapshots.py).
    Each deletion is audited with the channel, the rule, the closing and filing days and the
    hash of the sealed payload (so that the daily register, integrity/audit_register.py, can
    tell this deletion from one behind the application's back), never content. The caller
    commits (files are overwritten at once: a failed commit leaves rows without files, which
    the next run deletes).
    """
    due = due_for_purge(session, today)
    # The dashboard keeps their figures first, so that no past month changes.
    keep_figures(session, [case.report_id for case in due], today)
    for case in due:
        for attachment_id in session.scalars(
            select(Attachment.id).where(Attachment.report_id == case.report_id)
        ):
            store.shred(attachment_id)
        sealed = session.scalar(select(Report.payload).where(Report.id == case.report_id))
        # Messages, key slots, readers and attachment rows go with the report (ON DELETE CASCADE).
        session.execute(delete(Report).where(Report.id == case.report_id))
        details = {"reference": case.reference, "channel": case.channel,
                   "filed_on": case.filed_on.isoformat(),
                   "sealed_sha256": payload_digest(sealed or b"").hex()}
        if case.closed_on is not None:
            details["closed_on"] = case.closed_on.isoformat()
        if case.rule != "retention":
            details["rule"] = case.rule
        record(session, actor=None, actor_label="system", action="case_purged",
               subject=f"report:{case.report_id}",
               # The reference names the deleted case on the audit page; it says nothing of
               # the report (it is drawn at random).
               details=details)
    return due


def warn_before_max_age(session: Session, today: date, now: datetime) -> int:
    """Tell the readers of every case never closed whose maximum age falls within
    ``WARNING_DAYS`` that it will be deleted (once per reader and case); returns how many
    notices were written."""
    written = 0
    for channel in session.scalars(select(Channel).where(Channel.max_open_days.isnot(None))):
        assert channel.max_open_days is not None
        first = today - timedelta(days=channel.max_open_days)
        last = first + timedelta(days=WARNING_DAYS)
        for report in session.scalars(
                select(Report).options(defer(Report.payload)).where(
                    Report.channel_id == channel.id, Report.status != Status.CLOSED,
                    Report.held.is_(False), Report.created_on > first,
                    Report.created_on <= last).order_by(Report.created_on, Report.reference)):
            day = report.created_on + timedelta(days=channel.max_open_days)
            for user in report.readers:
                if user.active:
                    written += notify_once(
                        session, Kind.CASE_EXPIRING, user_id=user.id, due_at=now,
                        dedup_key=f"{Kind.CASE_EXPIRING}:{report.id}:{user.id}:{day}")
    return written


def _reason(text: str) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise RetentionError(_l("Give the reason, such as the reference of the proceedings."))
    if len(reason) > MAX_REASON:
        raise RetentionError(lazy_ngettext("Keep the reason under %(num)d character.",
                                           "Keep the reason under %(num)d characters.",
                                           MAX_REASON))
    return reason


def place_hold(session: Session, report: Report, actor: User, reason: str) -> None:
    """Put ``report`` on legal hold: retention deletes nothing of it until lifted."""
    if report.held:
        raise RetentionError(_l("The case is already on legal hold."))
    details = {"reason": _reason(reason)}
    report.held = True
    record(session, actor=actor, action="case_held", subject=f"report:{report.id}",
           details=details)


def lift_hold(session: Session, report: Report, actor: User, reason: str) -> None:
    """Lift the legal hold of ``report``: retention applies again from today."""
    if not report.held:
        raise RetentionError(_l("The case is not on legal hold."))
    details = {"reason": _reason(reason)}
    report.held = False
    record(session, actor=actor, action="case_hold_lifted", subject=f"report:{report.id}",
           details=details)
