"""The inspector's inbox: the cases sealed to them, sorted, filtered and paged by keyset.

Only cleartext metadata is read here (channel, category, unit, days, status, reference);
content is opened in the inspector's browser.

Pages continue from the sort key and id of the row at their edge (``?after=2026-12-01.1234``)
rather than skipping rows with OFFSET, so that the last page costs what the first does. Which
cases are a reader's is on ``report_readers`` while the sort keys are on ``reports``: when the
reader has few cases (or few unseen), their ids are gathered from the readers index first;
otherwise ``reports`` is walked in order on its (key, id) index, each row checked against the
readers' primary key. Either way a page reads about as many rows as it shows, whatever plan
the database's statistics would suggest (bench/inbox.py measures both).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from integrity.cases.deadlines import ACKNOWLEDGE_DAYS, FEEDBACK_MONTHS, Deadlines, add_months
from integrity.cases.deadlines import deadlines as deadlines_of
from integrity.cases.meetings import OPEN, MeetingMark, open_marks
from integrity.cases.persons import review_due_cases
from integrity.cases.references import normalise_reference
from integrity.models import Category, Channel, OrgUnit, User
from integrity.reporting.models import (
    MeetingRequest,
    MeetingState,
    Report,
    Status,
    report_readers,
)
from integrity.translated import translated

PER_PAGE = 25
# Up to this many matching readers' rows, a page is picked from their ids; above it, the walk
# along ``reports`` finds a page's rows within about ``PER_PAGE × cases / GATHER_LIMIT`` steps.
GATHER_LIMIT = 2000
# Made once: building an alias costs more than the rest of a page's statements.
_ASSIGNEE = aliased(User)


class DeadlineFilter(enum.StrEnum):
    ACKNOWLEDGE_OVERDUE = "acknowledge_overdue"
    FEEDBACK_OVERDUE = "feedback_overdue"
    OVERDUE = "overdue"
    MEETING = "meeting"  # a request for a meeting or a call not yet held or declined
    MEETING_OVERDUE = "meeting_overdue"  # one not answered by its due day


class Sort(enum.StrEnum):
    NEWEST = "newest"  # by filing day, the latest first
    DUE = "due"  # by the day the pending deadline falls due, the nearest first; none last


def _pick(enum_type: type[enum.StrEnum], value: str | None) -> Any:
    return enum_type(value) if value in set(enum_type) else None


@dataclass(frozen=True)
class InboxFilters:
    status: Status | None = None
    channel: str | None = None
    category: str | None = None
    deadline: DeadlineFilter | None = None
    new: bool = False  # only cases with activity the reader has not seen
    sort: Sort = Sort.NEWEST

    @classmethod
    def parse(cls, args: Any) -> InboxFilters:
        """Filters from query-string values; unknown values are ignored."""
        return cls(status=_pick(Status, args.get("status")), channel=args.get("channel") or None,
                   category=args.get("category") or None,
                   deadline=_pick(DeadlineFilter, args.get("deadline")),
                   new=args.get("new") == "1", sort=_pick(Sort, args.get("sort")) or Sort.NEWEST)

    @property
    def narrowed(self) -> bool:
        """Whether anything but the reader's own cases (and unseen activity) is asked for."""
        return any(value is not None
                   for value in (self.status, self.channel, self.category, self.deadline))

    def args(self) -> dict[str, str]:
        """The query-string values that give these filters back (for the pager's links)."""
        values = {"status": self.status, "channel": self.channel, "category": self.category,
                  "deadline": self.deadline, "new": "1" if self.new else None,
                  "sort": self.sort if self.sort is not Sort.NEWEST else None}
        return {name: str(value) for name, value in values.items() if value is not None}


@dataclass(frozen=True)
class Cursor:
    """A row's place in a sort: its key (None: no pending deadline) and its id."""

    key: date | None
    id: int

    def __str__(self) -> str:
        return f"{self.key.isoformat() if self.key else 'none'}.{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """``2026-12-01.1234`` or ``none.1234``; None for anything else."""
        key, _, number = (text or "").partition(".")
        if not (number.isascii() and number.isdigit() and len(number) <= 18 and key.isascii()):
            return None
        try:
            day = None if key == "none" else date.fromisoformat(key)
        except ValueError:
            return None
        return cls(day, int(number))


@dataclass(frozen=True)
class Position:
    """Where a page starts: after a cursor, before one, at the last page, or at the first."""

    after: Cursor | None = None
    before: Cursor | None = None
    last: bool = False

    @classmethod
    def parse(cls, args: Any) -> Position:
        """The page asked for in the query string; the first page for anything malformed."""
        after, before = Cursor.parse(args.get("after")), Cursor.parse(args.get("before"))
        if after is not None:
            return cls(after=after)
        if before is not None:
            return cls(before=before)
        return cls(last=args.get("page") == "last")


@dataclass(frozen=True)
class InboxRow:
    id: int
    reference: str
    created_on: date
    last_activity_on: date
    unseen: bool
    status: str
    outcome: str | None
    channel: str
    category: str | None
    org_unit: str | None
    assignee: str | None
    deadlines: Deadlines
    # A person concerned whose deferred information is due for review (cases/persons.py).
    review_due: bool = False
    meeting: MeetingMark | None = None  # an open request for a meeting or a call
    kind: str = "report"  # "retaliation": a report of retaliation linked to another case


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int | None  # None when counting the matches would cost more than the page
    previous: Cursor | None  # the first row's cursor when there are rows before it
    next: Cursor | None  # the last row's cursor when there are rows after it


@dataclass(frozen=True)
class _Segment:
    """A stretch of a sort walked along one index: rows where ``where`` holds, by key then id."""

    key: Any  # the sort column, or None when the stretch is ordered by id alone
    descending: bool
    where: Any = None


_SORTS: dict[Sort, tuple[_Segment, ...]] = {
    Sort.NEWEST: (_Segment(Report.created_on, descending=True),),
    # Two stretches, so that both databases walk the (next_due_on, id) index in order
    # (SQLite puts NULL first, PostgreSQL last): cases with a pending deadline, then the rest.
    Sort.DUE: (_Segment(Report.next_due_on, False, Report.next_due_on.isnot(None)),
               _Segment(None, False, Report.next_due_on.is_(None))),
}


def feedback_start_cutoff(today: date) -> date:
    """The earliest start day whose feedback deadline is not yet past on ``today``.

    Feedback is due ``FEEDBACK_MONTHS`` after its start day (clamped at month ends); a case
    is overdue when its start day is before this cutoff. Computed here so the query stays
    portable across databases.
    """
    day = add_months(today, -FEEDBACK_MONTHS) - timedelta(days=3)
    while add_months(day, FEEDBACK_MONTHS) < today:
        day += timedelta(days=1)
    return day


def _meeting_condition(kind: DeadlineFilter, today: date) -> Any:
    waiting: Any
    if kind is DeadlineFilter.MEETING:
        waiting = MeetingRequest.state.in_(OPEN)
    else:
        waiting = and_(MeetingRequest.state == MeetingState.REQUESTED,
                       MeetingRequest.due_on < today)
    return exists().where(MeetingRequest.report_id == Report.id, waiting)


def _deadline_condition(kind: DeadlineFilter, today: date) -> Any:
    if kind in (DeadlineFilter.MEETING, DeadlineFilter.MEETING_OVERDUE):
        return _meeting_condition(kind, today)
    acknowledge_late = and_(Report.acknowledged_on.is_(None),
                            Report.created_on < today - timedelta(days=ACKNOWLEDGE_DAYS))
    cutoff = feedback_start_cutoff(today)
    feedback_late = and_(
        Report.feedback_on.is_(None), Report.status != Status.CLOSED,
        or_(and_(Report.acknowledged_on.isnot(None), Report.acknowledged_on < cutoff),
            and_(Report.acknowledged_on.is_(None),
                 Report.created_on < cutoff - timedelta(days=ACKNOWLEDGE_DAYS))),
    )
    if kind is DeadlineFilter.ACKNOWLEDGE_OVERDUE:
        return acknowledge_late
    if kind is DeadlineFilter.FEEDBACK_OVERDUE:
        return feedback_late
    return or_(acknowledge_late, feedback_late)


def _conditions(filters: InboxFilters, today: date) -> list[Any]:
    conditions: list[Any] = []
    if filters.status is not None:
        conditions.append(Report.status == filters.status)
    if filters.channel is not None:
        conditions.append(Report.channel_id.in_(
            select(Channel.id).where(Channel.slug == filters.channel).scalar_subquery()))
    if filters.category is not None:
        conditions.append(Report.category_id.in_(
            select(Category.id).where(Category.slug == filters.category).scalar_subquery()))
    if filters.deadline is not None:
        conditions.append(_deadline_condition(filters.deadline, today))
    return conditions


def _reader_rows(user: User, new: bool) -> list[Any]:
    rows = [report_readers.c.user_id == user.id]
    if new:
        rows.append(report_readers.c.unseen.is_(True))
    return rows


def _readers_condition(session: Session, user: User, new: bool, count: int,
                       gather_limit: int) -> Any:
    """Restrict ``reports`` to the reader's cases (with unseen activity when ``new``)."""
    if count <= gather_limit:
        ids = session.scalars(select(report_readers.c.report_id)
                              .where(*_reader_rows(user, new))).all()
        return Report.id.in_(ids)
    return exists().where(report_readers.c.report_id == Report.id, *_reader_rows(user, new))


def _segment_of(sort: Sort, cursor: Cursor) -> int | None:
    """Which stretch of ``sort`` a cursor points into; None if it fits none."""
    if sort is Sort.DUE:
        return 0 if cursor.key is not None else 1
    return 0 if cursor.key is not None else None


def _stretch(session: Session, conditions: list[Any], segment: _Segment,
             start: Cursor | None, forward: bool, limit: int) -> list[Cursor]:
    """Up to ``limit`` cursors of one stretch, from ``start`` (excluded) or its end."""
    columns = [Report.id] if segment.key is None else [segment.key, Report.id]
    descending = segment.descending == forward
    query = select(*columns).where(*conditions)
    if segment.where is not None:
        query = query.where(segment.where)
    if start is not None:
        here = tuple_(*columns) if segment.key is not None else Report.id
        mark = tuple_(start.key, start.id) if segment.key is not None else start.id
        query = query.where(here < mark if descending else here > mark)
    query = query.order_by(*(c.desc() if descending else c.asc() for c in columns))
    rows = session.execute(query.limit(limit)).all()
    return [Cursor(row[0], row[1]) if segment.key is not None else Cursor(None, row[0])
            for row in rows]


def _walk(session: Session, conditions: list[Any], sort: Sort, start: Cursor | None,
          forward: bool, limit: int) -> list[Cursor]:
    """Up to ``limit`` rows in ``sort`` order (reversed when not ``forward``) from ``start``
    (excluded), or from the beginning (the end when not ``forward``)."""
    segments = _SORTS[sort]
    index = _segment_of(sort, start) if start is not None else None
    if index is None:
        index, start = (0 if forward else len(segments) - 1), None
    found: list[Cursor] = []
    while 0 <= index < len(segments) and len(found) < limit:
        found += _stretch(session, conditions, segments[index], start, forward,
                          limit - len(found))
        start, index = None, index + (1 if forward else -1)
    return found


def _page(session: Session, conditions: list[Any], sort: Sort, position: Position,
          per_page: int) -> tuple[list[Cursor], Cursor | None, Cursor | None]:
    """The page's rows and the cursors of its neighbours (None where there is none)."""
    forward = position.before is None and not position.last
    start = position.after if forward else position.before
    found = _walk(session, conditions, sort, start, forward, per_page + 1)
    rows = found[:per_page] if forward else list(reversed(found[:per_page]))
    if not rows:
        if start is not None:  # a stale or made-up cursor: the first page instead
            return _page(session, conditions, sort, Position(), per_page)
        return [], None, None
    more = len(found) > per_page
    if forward:
        before = start is not None and bool(_walk(session, conditions, sort, rows[0], False, 1))
        return rows, rows[0] if before else None, rows[-1] if more else None
    after = start is not None and bool(_walk(session, conditions, sort, rows[-1], True, 1))
    return rows, rows[0] if more else None, rows[-1] if after else None


def _details(session: Session, user: User, ids: Sequence[int], today: date) -> list[InboxRow]:
    """What the inbox shows of each case in ``ids``, in that order."""
    assignee = _ASSIGNEE
    rows = session.execute(
        select(Report.id, Report.reference, Report.created_on, Report.last_activity_on,
               report_readers.c.unseen, Report.status, Report.outcome, Report.acknowledged_on,
               Report.feedback_on, Channel.name, Channel.translations, Category.name,
               Category.translations, OrgUnit.name, OrgUnit.translations, assignee.name,
               Report.kind)
        .join(report_readers, and_(report_readers.c.report_id == Report.id,
                                   report_readers.c.user_id == user.id))
        .join(Channel, Channel.id == Report.channel_id)
        .outerjoin(Category, Category.id == Report.category_id)
        .outerjoin(OrgUnit, OrgUnit.id == Report.org_unit_id)
        .outerjoin(assignee, assignee.id == Report.assignee_id)
        .where(Report.id.in_(ids))
    )
    reviews = review_due_cases(session, ids, today)
    found = {
        # Names in the inspector's language, the default language's where there is none.
        rid: InboxRow(rid, reference, created, last or created, unseen, status, outcome,
                      translated(channel, channel_texts, "name"),
                      translated(category, category_texts, "name"),
                      translated(org_unit, org_unit_texts, "name"), assignee_name,
                      deadlines_of(created, acknowledged, feedback, today),
                      review_due=rid in reviews, kind=kind)
        for (rid, reference, created, last, unseen, status, outcome, acknowledged, feedback,
             channel, channel_texts, category, category_texts, org_unit, org_unit_texts,
             assignee_name, kind) in rows
    }
    return [found[i] for i in ids if i in found]


def inbox(session: Session, user: User, filters: InboxFilters, position: Position, today: date,
          per_page: int = PER_PAGE, gather_limit: int = GATHER_LIMIT) -> InboxPage:
    """One page of the cases sealed to ``user``, in the order and with the filters asked."""
    # The reader's cases (or those with unseen activity) are counted from the readers index
    # alone; with other filters the count would read every case, so it is not shown.
    count = session.scalar(select(func.count()).select_from(report_readers)
                           .where(*_reader_rows(user, filters.new))) or 0
    conditions = [_readers_condition(session, user, filters.new, count, gather_limit),
                  *_conditions(filters, today)]
    rows, previous, following = _page(session, conditions, filters.sort, position, per_page)
    details = _details(session, user, [row.id for row in rows], today)
    marks = open_marks(session, [row.id for row in details], today)
    details = [replace(row, meeting=marks.get(row.id)) for row in details]
    return InboxPage(details, None if filters.narrowed else count, previous, following)


def case_for(session: Session, user: User, report_id: int) -> Report | None:
    """The case if it was sealed to ``user``; None otherwise (it may as well not exist)."""
    report = session.get(Report, report_id)
    if report is None or user not in report.readers:
        return None
    return report


def case_by_reference(session: Session, user: User, reference: str) -> Report | None:
    """The case with this reference if it was sealed to ``user``; None otherwise, whether or
    not another case has it (a reference must not tell who else holds which case)."""
    normalised = normalise_reference(reference)
    if normalised is None:
        return None
    return session.scalar(select(Report).where(
        Report.reference == normalised,
        exists().where(report_readers.c.report_id == Report.id,
                       report_readers.c.user_id == user.id)))

