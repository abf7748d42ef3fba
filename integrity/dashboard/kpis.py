"""Report figures for managers: volume, deadlines, outcomes and backlog, never a case.

Everything is counted in the database (GROUP BY over the reports' cleartext metadata: the
day of filing, status, outcome, workflow days, channel, category, unit), then added up here
over months into quarters and over the organisation tree. Medians come from per-day
histograms counted the same way, so they add up too. Deadlines follow the deadlines service
(integrity.cases.deadlines): acknowledged on time means by day 7 after filing, feedback on
time means by the same day 3 months after the acknowledgement (or after day 7).

Breakdown cells with too few reports are withheld, with complementary cells, by the same
rules as survey figures (surveys.suppression). A figure that rests on fewer reports than its
cell (the deadlines met, out of the reports due; the medians; the outcomes of the closed
reports in scope) is withheld on its own when those reports are too few, with the same
complementary cells, so that no total minus the published cells gives it back.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from integrity.cases.deadlines import ACKNOWLEDGE_DAYS, FEEDBACK_MONTHS
from integrity.dashboard.kept import MONTH, kept_tallies
from integrity.dashboard.sqldates import DateSql
from integrity.dashboard.tally import Tally
from integrity.dashboard.units import UnitTree
from integrity.models import Category, Channel
from integrity.reporting.models import Message, Outcome, Report, Sender, Status
from surveys.suppression import ItemKind, Reason, Thresholds, suppressed

TOTAL = "total"
NOT_GIVEN = "none"
OUTCOMES = tuple(Outcome)
SUBSTANTIATED = (Outcome.SUBSTANTIATED, Outcome.PARTLY_SUBSTANTIATED)


class Granularity(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


class Dimension(enum.StrEnum):
    UNIT = "unit"
    CHANNEL = "channel"
    CATEGORY = "category"


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month or quarter."""

    granularity: Granularity
    year: int
    number: int  # the month (1-12) or the quarter (1-4)

    @classmethod
    def of(cls, granularity: Granularity, day: date) -> Period:
        if granularity is Granularity.QUARTER:
            return cls(granularity, day.year, (day.month - 1) // 3 + 1)
        return cls(granularity, day.year, day.month)

    @property
    def months(self) -> int:
        return 3 if self.granularity is Granularity.QUARTER else 1

    @property
    def start(self) -> date:
        first_month = (self.number - 1) * 3 + 1 if self.months == 3 else self.number
        return date(self.year, first_month, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> Period:
        index = self.year * 12 + (self.start.month - 1) + self.months
        return Period.of(self.granularity, date(index // 12, index % 12 + 1, 1))

    @property
    def key(self) -> str:
        if self.granularity is Granularity.QUARTER:
            return f"{self.year}-Q{self.number}"
        return f"{self.year}-{self.number:02d}"

    @property
    def label(self) -> str:
        if self.granularity is Granularity.QUARTER:
            return f"{self.year} Q{self.number}"  # the CSV's name; pages say it per language
        return f"{self.year}-{self.number:02d}"


def periods(granularity: Granularity, start: date, end: date) -> list[Period]:
    """Every period from the one holding ``start`` to the one holding ``end``."""
    result, period = [], Period.of(granularity, start)
    while period.start <= end:
        result.append(period)
        period = period.next()
    return result


@dataclass(frozen=True)
class Scope:
    """Only the reports of one unit (with the units under it), channel or category."""

    dimension: Dimension
    id: int | None  # None: the reports that did not name one (category, unit)

    @property
    def key(self) -> str:
        return f"{self.dimension.value}:{self.id if self.id is not None else NOT_GIVEN}"

    @classmethod
    def parse(cls, text: str | None) -> Scope | None:
        """``unit:5``, ``channel:2``, ``category:none``; None for anything else."""
        name, _, value = (text or "").partition(":")
        if name not in {d.value for d in Dimension}:
            return None
        if value == NOT_GIVEN and name != Dimension.CHANNEL.value:
            return cls(Dimension(name), None)
        return cls(Dimension(name), int(value)) if value.isdigit() else None


@dataclass(frozen=True)
class KpiQuery:
    """The reports filed from ``start`` to ``end`` (whole periods), optionally in a scope."""

    granularity: Granularity
    start: date
    end: date
    scope: Scope | None = None

    @classmethod
    def recent(cls, today: date, granularity: Granularity = Granularity.QUARTER,
               count: int | None = None) -> KpiQuery:
        """The last ``count`` periods up to today's (4 quarters or 12 months)."""
        count = count or (4 if granularity is Granularity.QUARTER else 12)
        first = Period.of(granularity, today)
        for _ in range(count - 1):
            first = _previous(first)
        return cls(granularity, first.start, Period.of(granularity, today).end)

    @property
    def periods(self) -> list[Period]:
        return periods(self.granularity, self.start, self.end)

    def with_scope(self, scope: Scope | None) -> KpiQuery:
        return replace(self, scope=scope)


def _previous(period: Period) -> Period:
    return Period.of(period.granularity, period.start - timedelta(days=1))


# --- counting in the database ---------------------------------------------------------------


def _sum(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _conditions(query: KpiQuery, org_units: UnitTree) -> list[Any]:
    conditions: list[Any] = [Report.created_on >= query.start, Report.created_on <= query.end]
    scope = query.scope
    if scope is None:
        return conditions
    column = {Dimension.UNIT: Report.org_unit_id, Dimension.CHANNEL: Report.channel_id,
              Dimension.CATEGORY: Report.category_id}[scope.dimension]
    if scope.id is None:
        conditions.append(column.is_(None))
    elif scope.dimension is Dimension.UNIT:
        conditions.append(column.in_(sorted(org_units.subtree(scope.id))))
    else:
        conditions.append(column == scope.id)
    return conditions


def count_reports(session: Session, query: KpiQuery, today: date, group: Mapping[str, Any],
                  org_units: UnitTree, only: Collection[int] | None = None
                  ) -> dict[tuple[Any, ...], Tally]:
    """One tally per value of the ``group`` columns (name -> SQL expression), of the
    reports stored (``only`` those with these ids, if given)."""
    sql = DateSql(session.get_bind().dialect.name)
    where = _conditions(query, org_units)
    if only is not None:
        where.append(Report.id.in_(list(only)))
    columns = [expression.label(name) for name, expression in group.items()]
    acknowledged = Report.acknowledged_on.isnot(None)
    acknowledge_late_now = and_(Report.acknowledged_on.is_(None),
                                Report.created_on < today - timedelta(days=ACKNOWLEDGE_DAYS))
    # Feedback is due FEEDBACK_MONTHS after the acknowledgement, or after day 7 without one.
    start = func.coalesce(Report.acknowledged_on,
                          sql.plus_days(Report.created_on, ACKNOWLEDGE_DAYS))
    feedback_past = sql.months_after_before(start, FEEDBACK_MONTHS, today)
    is_open = Report.status != Status.CLOSED
    came_back = Report.id.in_(select(Message.report_id)
                              .where(Message.sender == Sender.REPORTER))
    counts = session.execute(
        select(*columns, func.count(),
               _sum(or_(acknowledged, acknowledge_late_now)),
               _sum(and_(acknowledged, Report.acknowledged_on
                         <= sql.plus_days(Report.created_on, ACKNOWLEDGE_DAYS))),
               _sum(or_(Report.feedback_on.isnot(None), feedback_past)),
               _sum(and_(Report.feedback_on.isnot(None),
                         sql.on_or_before_months_after(Report.feedback_on, start,
                                                       FEEDBACK_MONTHS))),
               _sum(Report.status == Status.CLOSED),
               _sum(came_back),
               _sum(is_open),
               _sum(and_(is_open, or_(acknowledge_late_now,
                                      and_(Report.feedback_on.is_(None), feedback_past)))),
               *(_sum(Report.outcome == outcome) for outcome in OUTCOMES))
        .where(*where).group_by(*columns))
    width = len(columns)
    tallies: dict[tuple[Any, ...], Tally] = {}
    for row in counts:
        key = tuple(row[:width])
        values = [int(v or 0) for v in row[width:]]
        (received, acknowledge_due, acknowledged_in_time, feedback_due, feedback_in_time,
         closed, returned, is_open_count, overdue) = values[:9]
        tally = Tally(received, acknowledge_due, acknowledged_in_time, feedback_due,
                      feedback_in_time, closed, returned, is_open_count, overdue)
        tally.outcomes.update({o: n for o, n in zip(OUTCOMES, values[9:], strict=True) if n})
        tallies[key] = tally
    for days, attribute, condition, later in (
            ("ack", "days_to_acknowledge", acknowledged, Report.acknowledged_on),
            ("close", "days_to_close", and_(Report.status == Status.CLOSED,
                                            Report.closed_on.isnot(None)), Report.closed_on)):
        spread = sql.days_between(later, Report.created_on).label(f"days_{days}")
        for row in session.execute(select(*columns, spread, func.count())
                                   .where(*where, condition).group_by(*columns, spread)):
            key = tuple(row[:width])
            histogram: Counter[int] = getattr(tallies.setdefault(key, Tally()), attribute)
            histogram[int(row[width])] += int(row[width + 1])
    return tallies


def _with_kept(session: Session, query: KpiQuery, by: str, org_units: UnitTree,
               tallies: dict[tuple[Any, ...], Tally]) -> dict[tuple[Any, ...], Tally]:
    """``tallies`` of the reports stored, plus what was kept of those the purge deleted."""
    scope, allowed = query.scope, None
    if scope is not None:
        ids = ({scope.id} if scope.dimension is not Dimension.UNIT or scope.id is None
               else org_units.subtree(scope.id))
        allowed = (scope.dimension.value, ids)
    for key, tally in kept_tallies(session, query.start, query.end, by, allowed).items():
        tallies.setdefault(key, Tally()).add(tally)
    return tallies


# --- from counts to figures ------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """``part`` of ``whole``; no value when the whole is zero."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


def median(histogram: Mapping[int, int]) -> float | None:
    """The median of the values counted in ``histogram`` (the mean of the middle two)."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]
    found: list[int] = []
    seen = 0
    for value in sorted(histogram):
        count = histogram[value]
        while wanted and wanted[0] < seen + count:
            found.append(value)
            wanted.pop(0)
        seen += count
    return (found[0] + found[1]) / 2


class Measure(enum.StrEnum):
    """A figure that rests on only some of its cell's reports, withheld on its own."""

    ACKNOWLEDGED = "acknowledged_in_time"  # of the reports due for acknowledgement
    DAYS_TO_ACKNOWLEDGE = "median_days_to_acknowledge"  # of the acknowledged reports
    FEEDBACK = "feedback_in_time"  # of the reports due for feedback
    DAYS_TO_CLOSE = "median_days_to_close"  # of the closed reports
    SUBSTANTIATED = "substantiated"  # and the outcomes: of the closed reports in scope


# A median cannot be worked out from other medians: only its own count decides.
MEDIANS = (Measure.DAYS_TO_ACKNOWLEDGE, Measure.DAYS_TO_CLOSE)


def _in_scope(tally: Tally) -> int:
    return tally.closed - tally.outcomes.get(Outcome.NOT_IN_SCOPE, 0)


def base(tally: Tally, measure: Measure) -> int:
    """The number of reports ``measure`` is computed from."""
    return {
        Measure.ACKNOWLEDGED: tally.acknowledge_due,
        Measure.DAYS_TO_ACKNOWLEDGE: sum(tally.days_to_acknowledge.values()),
        Measure.FEEDBACK: tally.feedback_due,
        Measure.DAYS_TO_CLOSE: sum(tally.days_to_close.values()),
        Measure.SUBSTANTIATED: _in_scope(tally),
    }[measure]


@dataclass(frozen=True)
class Figures:
    """What the dashboard shows of one cell; a figure in ``withheld`` is None."""

    received: int
    per_100_staff: float | None
    acknowledged_in_time: Ratio | None
    median_days_to_acknowledge: float | None
    feedback_in_time: Ratio | None
    median_days_to_close: float | None
    closed: int
    outcomes: dict[str, int] | None  # withheld with the substantiated share
    substantiated: Ratio | None
    came_back: Ratio
    open: int
    overdue: int
    withheld: dict[str, Reason] = field(default_factory=dict)  # measure -> why


def figures(tally: Tally, headcount: int | None,
            withheld: Mapping[Measure, Reason] | None = None) -> Figures:
    hidden = dict(withheld or {})
    shown = {measure: measure not in hidden for measure in Measure}
    return Figures(
        received=tally.received,
        per_100_staff=100 * tally.received / headcount if headcount else None,
        acknowledged_in_time=Ratio(tally.acknowledged_in_time, tally.acknowledge_due)
        if shown[Measure.ACKNOWLEDGED] else None,
        median_days_to_acknowledge=median(tally.days_to_acknowledge)
        if shown[Measure.DAYS_TO_ACKNOWLEDGE] else None,
        feedback_in_time=Ratio(tally.feedback_in_time, tally.feedback_due)
        if shown[Measure.FEEDBACK] else None,
        median_days_to_close=median(tally.days_to_close)
        if shown[Measure.DAYS_TO_CLOSE] else None,
        closed=tally.closed,
        outcomes={outcome: tally.outcomes.get(outcome, 0) for outcome in OUTCOMES}
        if shown[Measure.SUBSTANTIATED] else None,
        substantiated=Ratio(sum(tally.outcomes.get(o, 0) for o in SUBSTANTIATED),
                            _in_scope(tally)) if shown[Measure.SUBSTANTIATED] else None,
        came_back=Ratio(tally.came_back, tally.received),
        open=tally.open,
        overdue=tally.overdue,
        withheld={measure.value: reason for measure, reason in hidden.items()},
    )


@dataclass(frozen=True)
class Row:
    """One line of a table: a period or a unit, channel or category; withheld without figures."""

    key: str
    label: str
    figures: Figures | None
    withheld: Reason | None = None
    depth: int = 0

    @property
    def provisional(self) -> bool:
        """Some of its cases are still open, so its figures will still change."""
        return self.figures is not None and self.figures.open > 0


@dataclass(frozen=True)
class KpiTable:
    query: KpiQuery
    title_key: str  # "periods", or the dimension of a breakdown
    rows: list[Row]
    total: Row
    threshold: int
    withheld: Reason | None = None  # the whole scope is withheld

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.key == key), None)


def _withhold(counts: dict[Any, int], parent: dict[Any, Any], threshold: int,
              withheld: Mapping[Any, Reason] | None = None) -> dict[Any, Reason]:
    thresholds = Thresholds(index=threshold, distribution=threshold, sensitive=threshold)
    return suppressed(counts, kind=ItemKind.DISTRIBUTION, thresholds=thresholds, parent=parent,
                      withheld=withheld)


def _measures_withheld(cells: Mapping[str, Tally], total: Tally, parent: dict[str, str],
                       rows: Mapping[str, Reason], total_withheld: Mapping[Measure, Reason],
                       threshold: int) -> dict[str, dict[Measure, Reason]]:
    """The measures to withhold in each cell not withheld as a whole.

    Each measure is suppressed on its own counts, over the same tree as the cells, taking the
    rows withheld as a whole (and the total, where the scope withholds it) as withheld. A
    measure of no report at all has no value to hide.
    """
    found: dict[str, dict[Measure, Reason]] = {key: {} for key in cells}
    for measure in Measure:
        counts = {TOTAL: base(total, measure)}
        counts.update({key: base(tally, measure) for key, tally in cells.items()})
        if measure in MEDIANS:
            hidden = {key: Reason.TOO_FEW for key, n in counts.items() if n < threshold}
        else:
            already = dict(rows)
            if measure in total_withheld:
                already[TOTAL] = total_withheld[measure]
            hidden = _withhold(counts, parent, threshold, already)
        for key in cells:
            if key in hidden and key not in rows and counts[key] > 0:
                found[key][measure] = hidden[key]
    return found


@dataclass(frozen=True)
class _ScopeShown:
    """How much of the scope its breakdown shows: nothing (``reason``), or all but some
    measures."""

    reason: Reason | None
    measures: dict[Measure, Reason]


def _scope_withheld(session: Session, query: KpiQuery, today: date, threshold: int,
                    org_units: UnitTree) -> _ScopeShown:
    """What of the scope's figures must not be shown: what its breakdown withholds."""
    scope = query.scope
    if scope is None:
        return _ScopeShown(None, {})
    table = breakdown(session, query.with_scope(None), scope.dimension, today, threshold, org_units)
    row = table.row(scope.key)
    if row is None:
        return _ScopeShown(Reason.TOO_FEW if threshold > 0 else None, {})
    measures = row.figures.withheld if row.figures else {}
    return _ScopeShown(row.withheld, {Measure(m): r for m, r in measures.items()})


def _headcount(query: KpiQuery, org_units: UnitTree) -> int | None:
    scope = query.scope
    if scope is None:
        return org_units.headcount() or None
    if scope.dimension is Dimension.UNIT and scope.id is not None:
        return org_units.headcount(scope.id) or None
    return None


def period_table(session: Session, query: KpiQuery, today: date, threshold: int,
                 org_units: UnitTree | None = None) -> KpiTable:
    """The figures of each period of ``query``, and of all of them together.

    Over the whole organisation every period is shown. Within a scope, periods are cells of
    the scope's breakdown in time and are withheld like any breakdown cell.
    """
    org_units = org_units or UnitTree.load(session)
    sql = DateSql(session.get_bind().dialect.name)
    tallies = _with_kept(session, query, MONTH, org_units, count_reports(session, query, today, {
        "year": sql.part("year", Report.created_on),
        "month": sql.part("month", Report.created_on)}, org_units))
    per_period: dict[Period, Tally] = {period: Tally() for period in query.periods}
    for (year, month), tally in tallies.items():
        period = Period.of(query.granularity, date(int(year), int(month), 1))
        per_period.setdefault(period, Tally()).add(tally)
    total = Tally()
    for tally in per_period.values():
        total.add(tally)
    headcount = _headcount(query, org_units)
    hidden: dict[Any, Reason] = {}
    measures: dict[str, dict[Measure, Reason]] = {}
    scope = _scope_withheld(session, query, today, threshold, org_units)
    scope_reason = scope.reason
    if query.scope is not None:
        cells = {p.key: t for p, t in per_period.items()}
        parent = {key: TOTAL for key in cells}
        counts: dict[Any, int] = {TOTAL: total.received}
        counts.update({key: t.received for key, t in cells.items()})
        hidden = _withhold(counts, parent, threshold)
        measures = _measures_withheld(cells, total, parent, hidden, scope.measures, threshold)
    rows = []
    for period in sorted(per_period):
        reason = scope_reason or hidden.get(period.key)
        rows.append(Row(period.key, period.label, None if reason else
                        figures(per_period[period], headcount, measures.get(period.key)),
                        reason))
    total_row = Row(TOTAL, "", None if scope_reason else
                    figures(total, headcount, scope.measures), scope_reason)
    return KpiTable(query, "periods", rows, total_row, threshold, scope_reason)


def breakdown(session: Session, query: KpiQuery, dimension: Dimension, today: date,
              threshold: int, org_units: UnitTree | None = None) -> KpiTable:
    """The figures of each unit (rolled up the tree), channel or category over the query."""
    org_units = org_units or UnitTree.load(session)
    column = {Dimension.UNIT: Report.org_unit_id, Dimension.CHANNEL: Report.channel_id,
              Dimension.CATEGORY: Report.category_id}[dimension]
    live = count_reports(session, query, today, {"cell": column}, org_units)
    tallies = {key[0]: tally for key, tally in
               _with_kept(session, query, dimension.value, org_units, live).items()}
    total = Tally()
    for tally in tallies.values():
        total.add(tally)
    cells: dict[str, Tally] = {}
    parent: dict[str, str] = {}
    labels: dict[str, str] = {}
    depth: dict[str, int] = {}
    order: list[str] = []
    if dimension is Dimension.UNIT:
        rolled: dict[int, Tally] = {}
        scope = query.scope
        inside = (org_units.subtree(scope.id) if scope and scope.dimension is Dimension.UNIT
                  and scope.id is not None else None)
        for org_unit_id, tally in tallies.items():
            if org_unit_id is None:
                continue
            for ancestor in org_units.ancestors(org_unit_id):
                if inside is None or ancestor in inside:
                    rolled.setdefault(ancestor, Tally()).add(tally)
        for uid in org_units.ordered():
            if uid in rolled:
                key = f"unit:{uid}"
                up = org_units.nodes[uid].parent_id
                cells[key], labels[key] = rolled[uid], org_units.nodes[uid].name
                parent[key] = f"unit:{up}" if up in rolled else TOTAL
                depth[key] = org_units.depth(uid)
                order.append(key)
    else:
        model = Channel if dimension is Dimension.CHANNEL else Category
        names = dict(session.execute(select(model.id, model.name)  # type: ignore[attr-defined]
                                     .where(model.id.in_([k for k in tallies if k is not None]))
                                     ).all())
        for cell_id in sorted((k for k in tallies if k is not None),
                              key=lambda k: (names.get(k, ""), k)):
            key = f"{dimension.value}:{cell_id}"
            cells[key], labels[key], parent[key] = tallies[cell_id], names.get(cell_id, ""), TOTAL
            order.append(key)
    if None in tallies:
        key = f"{dimension.value}:{NOT_GIVEN}"
        cells[key], labels[key], parent[key] = tallies[None], "", TOTAL
        order.append(key)
    counts: dict[Any, int] = {TOTAL: total.received}
    counts.update({key: tally.received for key, tally in cells.items()})
    hidden = _withhold(counts, parent, threshold)
    scope_shown = _scope_withheld(session, query, today, threshold, org_units)
    scope_reason = scope_shown.reason
    measures = _measures_withheld(cells, total, parent, hidden, scope_shown.measures, threshold)
    rows = []
    for key in order:
        reason = scope_reason or hidden.get(key)
        headcount = (org_units.headcount(int(key.split(":")[1])) or None
                     if dimension is Dimension.UNIT and not key.endswith(NOT_GIVEN) else None)
        rows.append(Row(key, labels[key], None if reason else
                        figures(cells[key], headcount, measures[key]), reason, depth.get(key, 0)))
    total_row = Row(TOTAL, "", None if scope_reason else
                    figures(total, _headcount(query, org_units), scope_shown.measures),
                    scope_reason)
    return KpiTable(query, dimension.value, rows, total_row, threshold, scope_reason)
