"""Figures for the dashboard, computed in the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity.models import OrgUnit, UnitKind


@dataclass(frozen=True)
class KindCount:
    kind: UnitKind
    crossing_type: str | None
    units: int
    headcount: int


def staff_by_unit_kind(session: Session) -> list[KindCount]:
    """Units and headcount per kind of unit (and crossing type for crossing points)."""
    rows = session.execute(
        select(
            OrgUnit.kind, OrgUnit.crossing_type, func.count(OrgUnit.id), func.sum(OrgUnit.headcount)
        )
        .group_by(OrgUnit.kind, OrgUnit.crossing_type)
        .order_by(OrgUnit.kind, OrgUnit.crossing_type)
    )
    return [
        KindCount(UnitKind(kind), crossing, int(units), int(headcount or 0))
        for kind, crossing, units, headcount in rows
    ]
