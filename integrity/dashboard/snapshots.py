"""Keep the report figures of cases before the retention purge deletes them.

The dashboard counts reports by their filing month from what the database stores. A purge
deletes closed cases (and cases past their channel's maximum age), so without this their
months would lose them. Just before it deletes, the purge calls ``keep_figures``: the
deleted reports' share of every figure, as it stands on the day of the purge, is added to
the cells of their filing months (integrity.dashboard.kept), and the dashboard adds those
cells to the live counts. A closed case no longer changes, so its share is final.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.dashboard.kept import PAIRS, KeptFigures, pair_name
from integrity.dashboard.kpis import Granularity, KpiQuery, count_reports
from integrity.dashboard.sqldates import DateSql
from integrity.dashboard.tally import Tally
from integrity.dashboard.units import UnitTree
from integrity.reporting.models import Report

CHUNK = 500  # report ids per query: well under SQLite's limit of bound parameters
COLUMNS = {"unit": Report.org_unit_id, "channel": Report.channel_id,
           "category": Report.category_id}
EVERY_DAY = KpiQuery(Granularity.MONTH, date(1, 1, 1), date(9999, 12, 31))


def _cell(session: Session, month: date, pair: tuple[str, str], first: int | None,
          second: int | None) -> KeptFigures:
    name = pair_name(pair)
    row = session.scalar(select(KeptFigures).where(
        KeptFigures.month == month, KeptFigures.pair == name,
        KeptFigures.first_id.is_not_distinct_from(first),
        KeptFigures.second_id.is_not_distinct_from(second)))
    if row is None:
        row = KeptFigures(month=month, pair=name, first_id=first, second_id=second)
        row.add(Tally())
        session.add(row)
    return row


def _tallies(session: Session, report_ids: Sequence[int], today: date,
             pair: tuple[str, str]) -> dict[tuple[Any, ...], Tally]:
    sql = DateSql(session.get_bind().dialect.name)
    group = {"year": sql.part("year", Report.created_on),
             "month": sql.part("month", Report.created_on),
             "first": COLUMNS[pair[0]], "second": COLUMNS[pair[1]]}
    org_units = UnitTree.load(session)
    found: dict[tuple[Any, ...], Tally] = {}
    for start in range(0, len(report_ids), CHUNK):
        chunk = report_ids[start:start + CHUNK]
        for key, tally in count_reports(session, EVERY_DAY, today, group, org_units,
                                        only=chunk).items():
            found.setdefault(key, Tally()).add(tally)
    return found


def keep_figures(session: Session, report_ids: Sequence[int], today: date) -> Counter[str]:
    """Add the figures of the reports ``report_ids`` (about to be deleted), as they stand on
    ``today``, to what the dashboard keeps; returns the reports kept per filing month
    ("2027-03"). Audited without content; the caller deletes the reports and commits."""
    months: Counter[str] = Counter()
    # The rows locked first (PostgreSQL): a purge running beside this one waits, then no
    # longer finds the reports this one deletes, so nothing is kept twice.
    present: list[int] = []
    for start in range(0, len(report_ids), CHUNK):
        present += session.scalars(select(Report.id).where(
            Report.id.in_(list(report_ids[start:start + CHUNK]))).with_for_update())
    if not present:
        return months
    for pair in PAIRS:
        for (year, month, first, second), tally in sorted(
                _tallies(session, present, today, pair).items(),
                key=lambda item: tuple((v is None, v or 0) for v in item[0])):
            first_day = date(int(year), int(month), 1)
            _cell(session, first_day, pair, first, second).add(tally)
            if pair == PAIRS[0]:
                months[first_day.strftime("%Y-%m")] += tally.received
    facts: dict[str, Any] = {"reports": sum(months.values()), "months": len(months),
                             "from": min(months), "to": max(months)}
    record(session, actor=None, actor_label="system", action="report_figures_kept",
           subject="dashboard",
           details=facts)
    session.flush()
    return months
