"""The report figures kept of the cases the retention purge deleted.

Before the purge deletes a case, its share of the report figures (integrity.dashboard.snapshots)
is added to the cells of its filing month here, as counts only, in the two-way cross-tables
the dashboard can show: unit by channel, unit by category, channel by category. The figures
of a month are then the live counts of its reports still stored plus what was kept of those
deleted, so a purge changes no past figure. Nothing finer than a cell the dashboard can show
is kept, and small cells are withheld when shown exactly as live ones (integrity.dashboard.kpis).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from datetime import date
from typing import Any, Optional

from sqlalchemy import Date, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from integrity.dashboard.tally import COUNTS, Tally
from integrity.db import Base

# Each pair of the dashboard's dimensions (the scope and the breakdown), first and second.
PAIRS = (("unit", "channel"), ("unit", "category"), ("channel", "category"))
MONTH = "month"


class KeptFigures(Base):
    """One cell of a filing month: the counts of the deleted reports it held."""

    __tablename__ = "kept_report_figures"
    __table_args__ = (Index("ix_kept_report_figures_pair_month", "pair", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the filing month
    pair: Mapped[str] = mapped_column(String(24))  # "unit:channel", as in PAIRS
    first_id: Mapped[Optional[int]] = mapped_column(Integer)  # None: not given
    second_id: Mapped[Optional[int]] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer, default=0)
    acknowledge_due: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_in_time: Mapped[int] = mapped_column(Integer, default=0)
    feedback_due: Mapped[int] = mapped_column(Integer, default=0)
    feedback_in_time: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    came_back: Mapped[int] = mapped_column(Integer, default=0)
    open: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    # JSON objects of counts: outcome -> reports, days -> reports (for the medians).
    outcomes: Mapped[str] = mapped_column(Text, default="{}")
    days_to_acknowledge: Mapped[str] = mapped_column(Text, default="{}")
    days_to_close: Mapped[str] = mapped_column(Text, default="{}")

    def tally(self) -> Tally:
        result = Tally()
        for name in COUNTS:
            setattr(result, name, int(getattr(self, name) or 0))
        result.outcomes.update(json.loads(self.outcomes or "{}"))
        for name in ("days_to_acknowledge", "days_to_close"):
            histogram: Counter[int] = getattr(result, name)
            histogram.update({int(k): v for k, v in json.loads(getattr(self, name) or "{}")
                              .items()})
        return result

    def add(self, tally: Tally) -> None:
        for name in COUNTS:
            setattr(self, name, int(getattr(self, name) or 0) + getattr(tally, name))
        merged = self.tally()
        merged.outcomes.update(tally.outcomes)
        merged.days_to_acknowledge.update(tally.days_to_acknowledge)
        merged.days_to_close.update(tally.days_to_close)
        self.outcomes = json.dumps(dict(sorted(merged.outcomes.items())))
        self.days_to_acknowledge = json.dumps(
            {str(k): v for k, v in sorted(merged.days_to_acknowledge.items())})
        self.days_to_close = json.dumps(
            {str(k): v for k, v in sorted(merged.days_to_close.items())})


def pair_name(pair: tuple[str, str]) -> str:
    return f"{pair[0]}:{pair[1]}"


def pair_for(dimensions: Collection[str]) -> tuple[str, str]:
    """The first cross-table that holds every one of ``dimensions`` (at most two)."""
    return next(pair for pair in PAIRS if set(dimensions) <= set(pair))


def kept_tallies(session: Session, start: date, end: date, by: str,
                 scope: tuple[str, Collection[int | None]] | None = None
                 ) -> dict[tuple[Any, ...], Tally]:
    """What was kept of the reports filed from ``start`` to ``end`` (whole months), within
    ``scope`` (a dimension and the ids it allows), by ``MONTH`` (keys (year, month)) or by a
    dimension (keys (id,)), as integrity.dashboard.kpis.count_reports groups live reports."""
    needed = {name for name in (by, scope[0] if scope else MONTH) if name != MONTH}
    pair = pair_for(needed)
    tallies: dict[tuple[Any, ...], Tally] = {}
    rows = session.scalars(select(KeptFigures).where(
        KeptFigures.pair == pair_name(pair), KeptFigures.month >= start.replace(day=1),
        KeptFigures.month <= end))
    for row in rows:
        ids = {pair[0]: row.first_id, pair[1]: row.second_id}
        if scope is not None and ids[scope[0]] not in scope[1]:
            continue
        key = (row.month.year, row.month.month) if by == MONTH else (ids[by],)
        tallies.setdefault(key, Tally()).add(row.tally())
    return tallies
