"""Requests for a meeting or a call (EU Directive 2019/1937 Art. 9(2); ISO 37002 8.2).

A reporter may ask, on the report form or in the mailbox, to report or talk in a physical
meeting or by phone. The server keeps only that a request exists, its day, the day it must be
answered by (the channel's ``meeting_days`` later, 14 by default) and its answer: arranged,
held, or declined (the reason goes to the reporter as a message, sealed like any other). When
and how to reach the reporter is in the sealed text that goes with the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.models import User, today
from integrity.reporting.errors import ProtocolError
from integrity.reporting.models import MeetingRequest, MeetingState, Report

# Answered: the deadline is met. Arranged stays on the inbox until it is marked held.
OPEN = (MeetingState.REQUESTED, MeetingState.ARRANGED)


class MeetingError(ValueError):
    """An answer that does not fit the request's state; the message says why."""


def open_request(report: Report) -> MeetingRequest | None:
    """The request still waiting to be answered or held, if any."""
    return next((m for m in report.meeting_requests if m.state in OPEN), None)


def request_meeting(session: Session, report: Report, on: date | None = None) -> MeetingRequest:
    """Record the reporter's request, due within the channel's days; a request still open
    stands for a new one (asking twice does not move its day)."""
    found = open_request(report)
    if found is not None:
        return found
    day = on or today()
    due = day + timedelta(days=report.channel.meeting_days)
    request = MeetingRequest(requested_on=day, due_on=due, state=MeetingState.REQUESTED)
    report.meeting_requests.append(request)
    session.flush()
    return request


def checked_answer(report: Report, answer: MeetingState) -> MeetingRequest:
    """The open request ``answer`` applies to; refuses an answer that does not fit it."""
    request = open_request(report)
    if request is None:
        raise MeetingError(_l("No request for a meeting or a call is waiting on this case."))
    if answer is MeetingState.REQUESTED or (
            answer is MeetingState.ARRANGED and request.state is MeetingState.ARRANGED):
        raise MeetingError(_l("This request for a meeting or a call was already arranged."))
    return request


def answer_meeting(session: Session, report: Report, actor: User, answer: MeetingState,
                   on: date | None = None) -> MeetingRequest:
    """An inspector records that the meeting or call was arranged, held, or declined (with a
    message to the reporter giving the reason, sent in the same request)."""
    if actor not in report.readers:
        raise MeetingError(_l("Only an inspector the case was sealed to can change it."))
    request = checked_answer(report, answer)
    day = on or today()
    if request.answered_on is None:
        request.answered_on = day  # the first answer meets the deadline
    request.state = answer
    request.answered_by_id = actor.id
    record(session, actor=actor, action="meeting_answered", subject=f"report:{report.id}",
           details={"state": answer.value, "requested_on": request.requested_on.isoformat(),
                    "due_on": request.due_on.isoformat()})
    return request


def overdue(request: MeetingRequest, day: date) -> bool:
    """Not answered and past its due day."""
    return request.state is MeetingState.REQUESTED and day > request.due_on


@dataclass(frozen=True)
class MeetingMark:
    """What the inbox and the case page show of a case's open request."""

    state: str
    requested_on: date
    due_on: date
    overdue: bool


def open_marks(session: Session, report_ids: list[int], day: date) -> dict[int, MeetingMark]:
    """The open request of each case in ``report_ids`` that has one."""
    if not report_ids:
        return {}
    rows = session.execute(
        select(MeetingRequest.report_id, MeetingRequest.state, MeetingRequest.requested_on,
               MeetingRequest.due_on)
        .where(MeetingRequest.report_id.in_(report_ids), MeetingRequest.state.in_(OPEN)))
    return {rid: MeetingMark(state, requested, due,
                             state is MeetingState.REQUESTED and day > due)
            for rid, state, requested, due in rows}


def meeting_json(report: Report) -> dict[str, Any]:
    """The reporter's latest request as the mailbox gives it, under ``meeting``; ``{}`` when
    they never asked, so that such an answer keeps its former bytes."""
    if not report.meeting_requests:
        return {}
    latest = report.meeting_requests[-1]
    return {"meeting": {
        "state": latest.state.value, "requested_on": latest.requested_on.isoformat(),
        "due_on": latest.due_on.isoformat(),
        "answered_on": latest.answered_on.isoformat() if latest.answered_on else None}}


def checked_flag(body: dict[str, Any]) -> bool:
    """The optional ``meeting`` of a report or a reporter's message: true asks for one."""
    value = body.get("meeting", False)
    if not isinstance(value, bool):
        raise ProtocolError(_l("The field “meeting” must be true or false."))
    return value
