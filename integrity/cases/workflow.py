"""Case workflow: new, acknowledged, in progress, closed with an outcome; assignment.

Every change is audited with what changed, never with content. What the inspectors' messages
to the reporter count for follows EU Directive 2019/1937: any message acknowledges receipt
(Art. 9(1)(b)); only feedback (the measures taken or planned and their grounds, Art. 5(13))
or a final notice meets the 3-month feedback deadline (Art. 9(1)(f)); and a case closes only
once the reporter was sent a final notice of its outcome. Where the channel asks for it,
closing waits for a second reader's confirmation (``ClosingRequest``): one inspector alone
does not end a case (ISO 37002 8.2).
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.cases.activity import mark_unseen
from integrity.cases.check_ins import cancel_check_ins, schedule_check_ins
from integrity.models import User, today
from integrity.reporting.mailbox import current_recipients
from integrity.reporting.models import ClosingRequest, MessageKind, Outcome, Report, Status

# Allowed moves; a closed case can be reopened (to in progress) if new facts arrive.
TRANSITIONS = {
    Status.NEW: {Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.CLOSED},
    Status.ACKNOWLEDGED: {Status.IN_PROGRESS, Status.CLOSED},
    Status.IN_PROGRESS: {Status.CLOSED},
    Status.CLOSED: {Status.IN_PROGRESS},
}


class WorkflowError(ValueError):
    """A change the workflow does not allow; the message says why."""


def _check_reader(report: Report, user: User) -> None:
    if user not in report.readers:
        raise WorkflowError(_l("Only an inspector the case was sealed to can change it."))


def check_status(report: Report, actor: User, status: Status, outcome: Outcome | None = None,
                 *, final_notice: bool = False) -> None:
    """Refuse a change the workflow does not allow; ``final_notice``: one goes with it."""
    _check_reader(report, actor)
    if report.closing_request is not None:
        raise WorkflowError(_l("A request to close the case waits for a second inspector: "
                               "confirm or decline it first."))
    current = report.status
    if status not in TRANSITIONS[current]:
        raise WorkflowError(_l("A case cannot go from “%(old)s” to “%(new)s”.",
                               old=current, new=status))
    if (status is Status.CLOSED) != (outcome is not None):
        raise WorkflowError(_l("Closing a case needs an outcome, and only closing takes one."))
    if status is Status.CLOSED and report.final_notice_on is None and not final_notice:
        raise WorkflowError(_l("Send the reporter a final notice (the outcome and its grounds) "
                               "before closing the case, or with it."))
    if outcome is not None and report.channel.closing_needs_confirmation and not any(
            user.id != actor.id for user in current_recipients(report)):
        raise WorkflowError(_l("Closing this case needs a second inspector's confirmation: "
                               "share it with a colleague first."))


def change_status(session: Session, report: Report, actor: User, status: Status,
                  outcome: Outcome | None = None, on: date | None = None) -> bool:
    """Move the case to ``status``; closing needs an outcome and a final notice sent.
    Acknowledging dates it; reopening needs a new final notice to close again.

    Returns False when the change waits: closing a case whose channel asks for a second
    inspector's confirmation only records the request.
    """
    check_status(report, actor, status, outcome)
    if outcome is not None and report.channel.closing_needs_confirmation:
        _request_closing(session, report, actor, outcome, on or today())
        return False
    _move(session, report, actor, status, outcome, on or today())
    return True


def _move(session: Session, report: Report, actor: User, status: Status,
          outcome: Outcome | None, day: date) -> None:
    current = report.status
    if report.acknowledged_on is None and status is not Status.NEW:
        # Any step beyond "new" tells the reporter the report was received.
        report.acknowledged_on = day
    if current is Status.CLOSED:
        report.final_notice_on = None  # reopened: what the reporter was told is no longer final
    report.status = status
    report.outcome = outcome
    report.closed_on = day if status is Status.CLOSED else None
    if status is Status.CLOSED:
        schedule_check_ins(session, report, day)
    elif current is Status.CLOSED:
        cancel_check_ins(session, report, day)
    record(session, actor=actor, action="status_changed", subject=f"report:{report.id}",
           details={"from": current, "to": status, **({"outcome": outcome} if outcome else {})})


def _request_closing(session: Session, report: Report, actor: User, outcome: Outcome,
                     day: date) -> None:
    report.closing_request = ClosingRequest(requested_by_id=actor.id, outcome=outcome,
                                            requested_on=day)
    mark_unseen(session, report, actor)  # the colleagues' inbox shows it has news
    record(session, actor=actor, action="closing_requested", subject=f"report:{report.id}",
           details={"outcome": outcome})


def _pending(report: Report, actor: User) -> ClosingRequest:
    _check_reader(report, actor)
    request = report.closing_request
    if request is None:
        raise WorkflowError(_l("No request to close this case is waiting."))
    return request


def confirm_closing(session: Session, report: Report, actor: User,
                    on: date | None = None) -> None:
    """A second reader confirms the closing another asked for: the case closes."""
    request = _pending(report, actor)
    if request.requested_by_id == actor.id:
        raise WorkflowError(_l("Another inspector must confirm the closing you asked for."))
    record(session, actor=actor, action="closing_confirmed", subject=f"report:{report.id}",
           details={"requested_by": request.requested_by_id, "outcome": request.outcome})
    outcome = request.outcome
    report.closing_request = None
    _move(session, report, actor, Status.CLOSED, outcome, on or today())


def decline_closing(session: Session, report: Report, actor: User) -> None:
    """A reader declines the closing (or its author withdraws it): the case stays open."""
    request = _pending(report, actor)
    record(session, actor=actor, action="closing_declined", subject=f"report:{report.id}",
           details={"requested_by": request.requested_by_id, "outcome": request.outcome})
    report.closing_request = None


def note_message(report: Report, kind: MessageKind, on: date | None = None) -> None:
    """What an inspector's message to the reporter counts for: any message acknowledges the
    case; only feedback or a final notice is feedback; a final notice allows closing."""
    day = on or today()
    if report.acknowledged_on is None:
        report.acknowledged_on = day
        if report.status == Status.NEW:
            report.status = Status.ACKNOWLEDGED
    if kind in (MessageKind.FEEDBACK, MessageKind.FINAL_NOTICE) and report.feedback_on is None:
        report.feedback_on = day
    if kind is MessageKind.FINAL_NOTICE:
        report.final_notice_on = day


def assign(session: Session, report: Report, actor: User, assignee: User | None) -> None:
    """Make ``assignee`` (an inspector who can read the case) responsible, or nobody."""
    _check_reader(report, actor)
    if assignee is not None and assignee not in report.readers:
        raise WorkflowError(_l("A case can only be assigned to an inspector who can read it."))
    previous = report.assignee_id
    report.assignee_id = assignee.id if assignee else None
    record(session, actor=actor, action="assigned", subject=f"report:{report.id}",
           details={"from": previous, "to": report.assignee_id})
