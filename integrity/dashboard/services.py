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
        KindCount(kind, crossing, int(units), int(headcount or 0))
        for kind, crossing, units, headcount in rows
    ]


def unit_choices(session: Session) -> list[tuple[int, str]]:
    """Every unit, depth first, indented by its depth (for lists of checkboxes and selects)."""
    from integrity.dashboard.names import names
    from integrity.dashboard.units import UnitTree

    tree, shown = UnitTree.load(session), names(session, "unit")
    return [(uid, "\u2003" * tree.depth(uid) + shown.get(uid, tree.nodes[uid].name))
            for uid in tree.ordered()]


def scope_choices(session: Session) -> list[tuple[str, str]]:
    """What the figures can be limited to: a unit (and those under it), a channel, a category."""
    from flask_babel import gettext as _

    from integrity.models import Category, Channel

    choices = [(f"unit:{uid}", name) for uid, name in unit_choices(session)]
    choices += [(f"channel:{c.id}", _("Channel: %(name)s", name=c.text("name"))) for c in
                session.scalars(select(Channel).order_by(Channel.name))]
    choices += [(f"category:{c.id}", _("Category: %(name)s", name=c.text("name"))) for c in
                session.scalars(select(Category).order_by(Category.position, Category.id))]
    return choices
