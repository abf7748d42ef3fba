"""The inspector's inbox: the cases sealed to them, newest first, filtered and paginated.

Only cleartext metadata is read here (channel, category, unit, days, status); content is
opened in the inspector's browser.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from integrity.cases.deadlines import ACKNOWLEDGE_DAYS, FEEDBACK_MONTHS, Deadlines, add_months
from integrity.cases.deadlines import deadlines as deadlines_of
from integrity.models import Category, Channel, OrgUnit, User
from integrity.reporting.models import Report, Status, report_readers
from integrity.translated import translated

PER_PAGE = 25


class DeadlineFilter(enum.StrEnum):
    ACKNOWLEDGE_OVERDUE = "acknowledge_overdue"
    FEEDBACK_OVERDUE = "feedback_overdue"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class InboxFilters:
    status: Status | None = None
    channel: str | None = None
    category: str | None = None
    deadline: DeadlineFilter | None = None

    @classmethod
    def parse(cls, args: Any) -> InboxFilters:
        """Filters from query-string values; unknown values are ignored."""
        def pick(enum_type: type[enum.StrEnum], value: str | None) -> Any:
            return enum_type(value) if value in set(enum_type) else None

        return cls(status=pick(Status, args.get("status")), channel=args.get("channel") or None,
                   category=args.get("category") or None,
                   deadline=pick(DeadlineFilter, args.get("deadline")))


@dataclass(frozen=True)
class InboxRow:
    id: int
    created_on: date
    status: str
    outcome: str | None
    channel: str
    category: str | None
    org_unit: str | None
    assignee: str | None
    deadlines: Deadlines


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    page: int
    pages: int
    total: int


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


def _deadline_condition(kind: DeadlineFilter, today: date) -> Any:
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


def _conditions(user: User, filters: InboxFilters, today: date) -> list[Any]:
    conditions: list[Any] = [report_readers.c.user_id == user.id]
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


def _count(session: Session, user: User, filters: InboxFilters, today: date) -> int:
    """How many cases match; without filters, from the readers index alone."""
    if filters == InboxFilters():
        query = select(func.count()).select_from(report_readers).where(
            report_readers.c.user_id == user.id)
    else:
        query = (select(func.count()).select_from(Report)
                 .join(report_readers, report_readers.c.report_id == Report.id)
                 .where(*_conditions(user, filters, today)))
    return session.scalar(query) or 0


def inbox(session: Session, user: User, filters: InboxFilters, page: int, today: date,
          per_page: int = PER_PAGE) -> InboxPage:
    """One page of the cases sealed to ``user``, newest first."""
    assignee = aliased(User)
    total = _count(session, user, filters, today)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        select(Report.id, Report.created_on, Report.status, Report.outcome,
               Report.acknowledged_on, Report.feedback_on, Channel.name, Channel.translations,
               Category.name, Category.translations, OrgUnit.name, OrgUnit.translations,
               assignee.name)
        .join(report_readers, report_readers.c.report_id == Report.id)
        .join(Channel, Channel.id == Report.channel_id)
        .outerjoin(Category, Category.id == Report.category_id)
        .outerjoin(OrgUnit, OrgUnit.id == Report.org_unit_id)
        .outerjoin(assignee, assignee.id == Report.assignee_id)
        .where(*_conditions(user, filters, today))
        .order_by(Report.created_on.desc(), Report.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    )
    items = [
        # Names in the inspector's language, the default language's where there is none.
        InboxRow(rid, created, status, outcome, translated(channel, channel_texts, "name"),
                 translated(category, category_texts, "name"),
                 translated(org_unit, org_unit_texts, "name"), assignee_name,
                 deadlines_of(created, acknowledged, feedback, today))
        for (rid, created, status, outcome, acknowledged, feedback, channel, channel_texts,
             category, category_texts, org_unit, org_unit_texts, assignee_name) in rows
    ]
    return InboxPage(items, page, pages, total)


def case_for(session: Session, user: User, report_id: int) -> Report | None:
    """The case if it was sealed to ``user``; None otherwise (it may as well not exist)."""
    report = session.get(Report, report_id)
    if report is None or user not in report.readers:
        return None
    return report
