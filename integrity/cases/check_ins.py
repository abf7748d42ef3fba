"""Check-ins after a case closes (ISO 37002 8.4.3): at 3, 6 and 12 months by default (the
channel's ``check_in_months``), the reporter's mailbox shows "Has anything happened to you
since your report?", with the way to report retaliation.

The check-in is the same words for every reporter, published here: it is stored as a clear
row (the case and the day), and the mailbox shows it in the language of its page, apart from
the conversation. Sealing it would hide nothing the row does not already say, and the server
could not seal it for a protocol 2 report anyway: it keeps no key of that reporter's, by
design, nor the thread's secret that authenticates the conversation (docs/protocol.md#check-ins).
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.cases.deadlines import add_months
from integrity.cases.protection_models import CheckIn, CheckInState
from integrity.reporting.models import Report, Status

CHECK_IN_TEXT = _l("Has anything happened to you since your report? If you have suffered "
                   "retaliation, you can report it here.")
MAX_MONTHS = 120


class CheckInError(ValueError):
    """A setting of check-in months that cannot be used; the message says why."""


def parse_months(text: str | None) -> list[int]:
    """``"3, 6,12"`` as ``[3, 6, 12]``; empty: none. Raises ``CheckInError``."""
    parts = [part.strip() for part in (text or "").split(",") if part.strip()]
    if not all(part.isascii() and part.isdigit() and 1 <= int(part) <= MAX_MONTHS
               for part in parts):
        raise CheckInError(_l("Give whole numbers of months from 1 to %(most)d, separated by "
                              "commas, or nothing for no check-ins.", most=MAX_MONTHS))
    return sorted({int(part) for part in parts})


def months_text(months: list[int]) -> str:
    return ",".join(str(m) for m in months)


def _months(report: Report) -> list[int]:
    try:
        return parse_months(report.channel.check_in_months)
    except CheckInError:
        return []


def schedule_check_ins(session: Session, report: Report, closed_on: date) -> None:
    """The case closed on ``closed_on``: schedule its check-ins, unless its reporter stopped
    them (a case reopened and closed again gets them counted from the new closing)."""
    existing = list(session.scalars(select(CheckIn).where(CheckIn.report_id == report.id)))
    if any(c.state == CheckInState.STOPPED for c in existing):
        return
    for months in _months(report):
        session.add(CheckIn(report_id=report.id, months=months,
                            due_on=add_months(closed_on, months),
                            state=CheckInState.SCHEDULED))


def cancel_check_ins(session: Session, report: Report, day: date) -> None:
    """The case was reopened: the check-ins still to come are not posted."""
    for check_in in _scheduled(session, report):
        check_in.state, check_in.done_on = CheckInState.SKIPPED, day


def stop_check_ins(session: Session, reports: list[Report], day: date) -> int:
    """The reporter asked for no more check-ins, for these cases of their receipt. Not
    audited, like everything a reporter does: an entry would carry the time of day."""
    stopped = 0
    for report in reports:
        for check_in in _scheduled(session, report):
            check_in.state, check_in.done_on = CheckInState.STOPPED, day
            stopped += 1
        # Remembered even with none scheduled yet: a case closed later gets none.
        session.add(CheckIn(report_id=report.id, months=0, due_on=day,
                            state=CheckInState.STOPPED, done_on=day))
    return stopped


def _scheduled(session: Session, report: Report) -> list[CheckIn]:
    return list(session.scalars(select(CheckIn).where(
        CheckIn.report_id == report.id, CheckIn.state == CheckInState.SCHEDULED)))


def post_due_check_ins(session: Session, today: date) -> int:
    """Post every check-in due by ``today`` (the scheduler's daily job); each is audited,
    without content. One whose case is no longer closed is skipped."""
    posted = 0
    for check_in in session.scalars(select(CheckIn).where(
            CheckIn.state == CheckInState.SCHEDULED, CheckIn.due_on <= today)
            .order_by(CheckIn.due_on, CheckIn.report_id, CheckIn.position)):
        report = session.get(Report, check_in.report_id)
        if report is None or report.status != Status.CLOSED:
            check_in.state, check_in.done_on = CheckInState.SKIPPED, today
            continue
        check_in.state, check_in.done_on = CheckInState.POSTED, today
        record(session, actor=None, action="check_in_posted", subject=f"report:{report.id}",
               details={"months": check_in.months})
        posted += 1
    return posted


def posted_check_ins(session: Session, report: Report) -> list[CheckIn]:
    """The check-ins the mailbox shows for ``report``, oldest first."""
    return list(session.scalars(select(CheckIn).where(
        CheckIn.report_id == report.id, CheckIn.state == CheckInState.POSTED)
        .order_by(CheckIn.done_on, CheckIn.position)))


def check_ins_json(session: Session, report: Report) -> list[dict[str, str]]:
    """The posted check-ins as ``POST /api/v1/mailbox`` gives them: the day and the words in
    the request's language."""
    return [{"sent_on": c.done_on.isoformat() if c.done_on else c.due_on.isoformat(),
             "text": str(CHECK_IN_TEXT)} for c in posted_check_ins(session, report)]


def stopped(session: Session, report: Report) -> bool:
    return session.scalar(select(CheckIn.id).where(
        CheckIn.report_id == report.id, CheckIn.state == CheckInState.STOPPED).limit(1)) \
        is not None


def planned(session: Session, report: Report) -> list[CheckIn]:
    """Every check-in of the case, for its page: clear days only."""
    return list(session.scalars(select(CheckIn).where(
        CheckIn.report_id == report.id, CheckIn.months > 0)
        .order_by(CheckIn.due_on, CheckIn.position)))
