"""Organisational units: the tree, headcounts, and CSV import and export.

Every change is recorded in the audit log by the function that makes it; the caller commits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.paging import Page, slice_page
from integrity.audit import record
from integrity.db import database_int
from integrity.models import CrossingType, OrgUnit, UnitKind, User

CSV_COLUMNS = ("id", "parent_id", "name", "kind", "crossing_type", "headcount")
MAX_NAME = 200
MAX_IMPORT_ROWS = 10000


class UnitError(ValueError):
    """A unit, or a line of a CSV file, that cannot be stored; the message says why."""


@dataclass(frozen=True)
class TreeRow:
    org_unit: OrgUnit
    depth: int
    path: str


def tree(session: Session) -> list[TreeRow]:
    """Every unit, each after its parent, children by name."""
    org_units = list(session.scalars(select(OrgUnit).order_by(OrgUnit.name, OrgUnit.id)))
    children: dict[int | None, list[OrgUnit]] = {}
    for org_unit in org_units:
        children.setdefault(org_unit.parent_id, []).append(org_unit)
    rows: list[TreeRow] = []

    def walk(parent: int | None, depth: int, path: str) -> None:
        for org_unit in children.get(parent, []):
            here = f"{path} / {org_unit.name}" if path else org_unit.name
            rows.append(TreeRow(org_unit, depth, here))
            walk(org_unit.id, depth + 1, here)

    walk(None, 0, "")
    return rows


def tree_page(session: Session, *, query: str = "", page: int = 1) -> Page[TreeRow]:
    rows = tree(session)
    if query:
        needle = query.casefold()
        rows = [row for row in rows if needle in row.org_unit.name.casefold()]
    return slice_page(rows, page)


def descendants(session: Session, org_unit: OrgUnit) -> set[int]:
    """The ids of ``unit`` and everything under it."""
    found = {org_unit.id}
    for row in tree(session):
        if row.org_unit.parent_id in found:
            found.add(row.org_unit.id)
    return found


@dataclass(frozen=True)
class UnitFields:
    name: str
    kind: str  # as given; a UnitKind (and crossing_type a CrossingType) once checked
    crossing_type: str | None
    headcount: int
    parent_id: int | None


def _checked(session: Session, fields: UnitFields, org_unit: OrgUnit | None) -> UnitFields:
    name = " ".join(fields.name.split())
    if not name:
        raise UnitError(_l("A unit needs a name."))
    if len(name) > MAX_NAME:
        raise UnitError(lazy_ngettext("Keep the name under %(count)d character.",
                                      "Keep the name under %(count)d characters.",
                                      MAX_NAME, count=MAX_NAME))
    if fields.kind not in set(UnitKind):
        raise UnitError(_l("Choose the kind of unit."))
    crossing = fields.crossing_type or None
    if fields.kind == UnitKind.CROSSING_POINT:
        if crossing not in set(CrossingType):
            raise UnitError(_l("Say whether the border crossing point is on land, at sea or "
                               "at an airport."))
    elif crossing is not None:
        raise UnitError(_l("Only a border crossing point has a crossing type."))
    if not isinstance(fields.headcount, int) or fields.headcount < 0:
        raise UnitError(_l("The headcount is a whole number, 0 or more."))
    if fields.parent_id is not None:
        parent = session.get(OrgUnit, fields.parent_id)
        if parent is None:
            raise UnitError(_l("The parent unit does not exist."))
        if org_unit is not None and parent.id in descendants(session, org_unit):
            raise UnitError(_l("A unit cannot be placed under itself or one of its own units."))
    twin = session.scalar(select(OrgUnit.id).where(
        OrgUnit.parent_id.is_(None) if fields.parent_id is None
        else OrgUnit.parent_id == fields.parent_id, OrgUnit.name == name))
    if twin is not None and (org_unit is None or twin != org_unit.id):
        raise UnitError(_l("A unit of that name already exists in the same place."))
    return UnitFields(name, UnitKind(fields.kind), CrossingType(crossing) if crossing else None,
                      fields.headcount, fields.parent_id)


def add_unit(session: Session, actor: User, fields: UnitFields) -> OrgUnit:
    fields = _checked(session, fields, None)
    org_unit = OrgUnit(name=fields.name, kind=fields.kind, crossing_type=fields.crossing_type,
                       headcount=fields.headcount, parent_id=fields.parent_id)
    session.add(org_unit)
    session.flush()
    record(session, actor=actor, action="unit_added", subject=f"unit:{org_unit.id}",
           details={"kind": org_unit.kind, "parent": org_unit.parent_id,
                    "headcount": org_unit.headcount})
    return org_unit


def update_unit(session: Session, actor: User, org_unit: OrgUnit, fields: UnitFields) -> bool:
    fields = _checked(session, fields, org_unit)
    changed = {name: getattr(fields, name) for name in ("name", "kind", "crossing_type",
                                                         "headcount", "parent_id")
               if getattr(org_unit, name) != getattr(fields, name)}
    if not changed:
        return False
    for name, value in changed.items():
        setattr(org_unit, name, value)
    session.flush()
    if "name" in changed:
        changed["name"] = True
    record(session, actor=actor, action="unit_changed", subject=f"unit:{org_unit.id}",
           details=changed)
    return True


# --- CSV ------------------------------------------------------------------------------------


def export_csv(session: Session) -> str:
    """Every unit, parents before children: ``id,parent_id,name,kind,crossing_type,headcount``.

    The ids only tie a row to its parent within the file; importing matches units by name
    under their parent.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in tree(session):
        org_unit = row.org_unit
        writer.writerow([org_unit.id, org_unit.parent_id if org_unit.parent_id is not None else "",
                         _safe_cell(org_unit.name), org_unit.kind, org_unit.crossing_type or "",
                         org_unit.headcount])
    return out.getvalue()


def _safe_cell(text: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet that opens the file.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _unsafe_cell(text: str) -> str:
    return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@", "\t", "\r") else text


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int

    def summary(self) -> str:
        """What the import did, one sentence per count so each takes its plural form."""
        return " ".join(str(part) for part in (
            _l("Import done."),
            lazy_ngettext("%(num)d unit was added.", "%(num)d units were added.", self.added),
            lazy_ngettext("%(num)d unit was updated.", "%(num)d units were updated.",
                          self.updated),
            lazy_ngettext("%(num)d unit was already up to date.",
                          "%(num)d units were already up to date.", self.unchanged),
        ))


def _read_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != list(CSV_COLUMNS):
        raise UnitError(_l("The first line must name the columns: %(columns)s.",
                           columns=",".join(CSV_COLUMNS)))
    for number, row in enumerate(reader, start=2):
        if number > MAX_IMPORT_ROWS + 1:
            raise UnitError(lazy_ngettext("A file holds at most %(count)d unit.",
                                          "A file holds at most %(count)d units.",
                                          MAX_IMPORT_ROWS, count=MAX_IMPORT_ROWS))
        if None in row or any(value is None for value in row.values()):
            raise UnitError(_l("Line %(line)d does not have exactly six columns.", line=number))
        yield number, {key.strip(): (value or "").strip() for key, value in row.items()}


def import_csv(session: Session, actor: User, text: str) -> ImportResult:
    """Add the units of the file that are missing and update the others' kind, type and
    headcount. A unit is matched by its name under its parent; units not in the file stay.

    All or nothing: the caller rolls back on UnitError, which names the line.
    """
    placed: dict[str, OrgUnit] = {}
    pending = list(_read_rows(text))
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    while pending:
        waiting = []
        for number, row in pending:
            if row["parent_id"] and row["parent_id"] not in placed:
                waiting.append((number, row))
                continue
            _import_row(session, actor, number, row, placed, counts)
        if len(waiting) == len(pending):
            number = waiting[0][0]
            raise UnitError(_l("Line %(line)d names a parent that is not in the file (or the "
                               "parents go round in a circle).", line=number))
        pending = waiting
    record(session, actor=actor, action="units_imported", subject="org_units", details=counts)
    return ImportResult(**counts)


def _import_row(session: Session, actor: User, number: int, row: dict[str, str],
                placed: dict[str, OrgUnit], counts: dict[str, int]) -> None:
    if not row["id"] or row["id"] in placed:
        raise UnitError(_l("Line %(line)d needs an id of its own.", line=number))
    parent = placed[row["parent_id"]] if row["parent_id"] else None
    try:
        headcount = database_int(row["headcount"] or "0")
    except ValueError as exc:
        raise UnitError(_l("Line %(line)d: the headcount is not a whole number.",
                           line=number)) from exc
    name = " ".join(_unsafe_cell(row["name"]).split())
    existing = session.scalar(select(OrgUnit).where(
        OrgUnit.parent_id.is_(None) if parent is None else OrgUnit.parent_id == parent.id,
        OrgUnit.name == name))
    fields = UnitFields(name, row["kind"], row["crossing_type"] or None, headcount,
                        parent.id if parent else None)
    try:
        fields = _checked(session, fields, existing)
    except UnitError as exc:
        raise UnitError(_l("Line %(line)d: %(reason)s", line=number, reason=str(exc))) from exc
    if existing is None:
        existing = OrgUnit(name=fields.name, kind=fields.kind, crossing_type=fields.crossing_type,
                           headcount=fields.headcount, parent_id=fields.parent_id)
        session.add(existing)
        session.flush()
        counts["added"] += 1
    elif _same(existing, fields):
        counts["unchanged"] += 1
    else:
        existing.kind = UnitKind(fields.kind)
        existing.crossing_type = (CrossingType(fields.crossing_type) if fields.crossing_type
                                  else None)
        existing.headcount = fields.headcount
        counts["updated"] += 1
    placed[row["id"]] = existing


def _same(org_unit: OrgUnit, fields: UnitFields) -> bool:
    values: tuple[Any, ...] = (org_unit.kind, org_unit.crossing_type, org_unit.headcount)
    return values == (fields.kind, fields.crossing_type, fields.headcount)
