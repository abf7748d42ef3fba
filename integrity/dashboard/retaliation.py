"""Retaliation figures for managers (docs/dashboard.md#retaliation): reports of retaliation
per period, the share acknowledged within 7 days, the share whose risk was assessed, and the
check-ins posted; withheld below the threshold like every other small cell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from integrity.cases.deadlines import ACKNOWLEDGE_DAYS
from integrity.cases.protection_models import CheckIn, CheckInState, ProtectionRecord, RecordKind
from integrity.dashboard.kpis import KpiQuery, Period, Ratio
from integrity.dashboard.sqldates import DateSql
from integrity.reporting.models import Report
from surveys.suppression import Reason, Thresholds, suppressed

TOTAL = "total"


@dataclass(frozen=True)
class RetaliationRow:
    """One period (or the total): each figure None when withheld, with ``reason``."""

    key: str
    period: Period | None  # None for the total
    received: int | None
    acknowledged_in_time: Ratio | None
    risk_assessed: Ratio | None
    check_ins: int | None
    reason: Reason | None = None  # why ``received`` is withheld


@dataclass(frozen=True)
class _Counts:
    received: int = 0
    due: int = 0  # whose acknowledgement deadline passed, or that were acknowledged
    in_time: int = 0
    assessed: int = 0
    check_ins: int = 0


def _count(session: Session, start: date, end: date, today: date) -> _Counts:
    sql = DateSql(session.get_bind().dialect.name)
    linked = (Report.kind == "retaliation", Report.created_on >= start, Report.created_on <= end)
    assessed = exists().where(ProtectionRecord.report_id == Report.id,
                              ProtectionRecord.kind == RecordKind.RISK_ASSESSMENT)
    received, due, in_time, risk = session.execute(select(
        func.count(),
        func.count().filter((Report.acknowledged_on.isnot(None))
                            | (Report.created_on < today - timedelta(days=ACKNOWLEDGE_DAYS))),
        func.count().filter(Report.acknowledged_on.isnot(None),
                            sql.days_between(Report.acknowledged_on, Report.created_on)
                            <= ACKNOWLEDGE_DAYS),
        func.count().filter(assessed),
    ).where(*linked)).one()
    check_ins = session.scalar(select(func.count()).select_from(CheckIn).where(
        CheckIn.state == CheckInState.POSTED, CheckIn.done_on >= start, CheckIn.done_on <= end))
    return _Counts(received, due, in_time, risk, check_ins or 0)


def _ratio(part: int, whole: int, threshold: int) -> Ratio | None:
    return Ratio(part, whole) if whole >= threshold else None


def retaliation_table(session: Session, query: KpiQuery, today: date,
                      threshold: int) -> list[RetaliationRow]:
    """The figures per period of ``query`` (whole organisation), then their total. A period
    with fewer reports of retaliation than ``threshold`` is withheld, and with it another so
    that the total does not give it back; a share rests on its own base, withheld below it;
    check-ins are withheld below the threshold too."""
    periods: Sequence[Period] = query.periods
    counts = {p.key: _count(session, p.start, p.end, today) for p in periods}
    total = _count(session, query.start, query.end, today)
    hidden = suppressed({k: c.received for k, c in counts.items()},
                        thresholds=Thresholds(index=threshold))
    if total.received < threshold:
        hidden = {k: Reason.TOO_FEW for k in counts}
    check_ins_hidden = suppressed({k: c.check_ins for k, c in counts.items()},
                                  thresholds=Thresholds(index=threshold))
    rows = []
    for period in periods:
        c = counts[period.key]
        shown = period.key not in hidden
        rows.append(RetaliationRow(
            period.key, period, c.received if shown else None,
            _ratio(c.in_time, c.due, threshold) if shown else None,
            _ratio(c.assessed, c.received, threshold) if shown else None,
            c.check_ins if period.key not in check_ins_hidden else None,
            hidden.get(period.key)))
    whole = total.received >= threshold
    rows.append(RetaliationRow(
        TOTAL, None, total.received if whole else None,
        _ratio(total.in_time, total.due, threshold) if whole else None,
        _ratio(total.assessed, total.received, threshold) if whole else None,
        total.check_ins if total.check_ins >= threshold else None,
        None if whole else Reason.TOO_FEW))
    return rows
