"""Organisational units in the administration: the tree, headcounts, CSV round trip."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from admin import units
from integrity.audit import AuditEntry, verify
from integrity.demo import load_organisation
from integrity.models import OrgUnit, User
from tests.helpers.pages import post, signed_in


def _snapshot(db: Session) -> list[tuple]:
    """The tree as paths, independent of ids."""
    db.expire_all()
    return sorted((row.path, row.org_unit.kind, row.org_unit.crossing_type, row.org_unit.headcount)
                  for row in units.tree(db))


def _upload(client, text: str):
    return post(client, "/admin/units/import",
                {"file": (io.BytesIO(text.encode()), "units.csv")},
                page="/admin/units/import", content_type="multipart/form-data")


def test_units_csv_round_trip(app, db, admin) -> None:
    load_organisation(db)
    hq = OrgUnit(name="=HYPERLINK(\"x\")", kind="headquarters", headcount=12)
    db.add(hq)
    db.commit()
    before = _snapshot(db)
    assert len(before) > 5 and any(kind == "crossing_point" for _, kind, _, _ in before)
    client = signed_in(app, admin)
    exported = client.get("/admin/units/export.csv")
    assert exported.mimetype == "text/csv"
    text = exported.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(units.CSV_COLUMNS) and len(rows) == len(before)
    # A name a spreadsheet would run as a formula is written so that it does not.
    assert any(row["name"] == "'=HYPERLINK(\"x\")" for row in rows)

    # Into the same installation: nothing changes.
    response = _upload(client, text)
    assert response.status_code == 302
    assert _snapshot(db) == before
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "units_imported"))
    assert entry.facts == {"added": 0, "updated": 0, "unchanged": len(before)}

    # Into an empty installation: the same tree comes back.
    while db.scalar(select(OrgUnit.id).limit(1)) is not None:
        parents = select(OrgUnit.parent_id).where(OrgUnit.parent_id.isnot(None))
        db.execute(delete(OrgUnit).where(OrgUnit.id.not_in(parents)))
    db.commit()
    assert _snapshot(db) == []
    _upload(client, text)
    assert _snapshot(db) == before
    # And exporting again gives the same file, up to the ids.
    again = list(csv.DictReader(io.StringIO(client.get("/admin/units/export.csv").get_data(
        as_text=True))))
    assert [{k: v for k, v in r.items() if "id" not in k} for r in again] == \
        [{k: v for k, v in r.items() if "id" not in k} for r in rows]
    assert verify(db).ok


def test_an_import_updates_headcounts_and_refuses_a_wrong_line_whole(app, db, admin) -> None:
    client = signed_in(app, admin)
    good = ("id,parent_id,name,kind,crossing_type,headcount\r\n"
            "1,,Customs,agency,,500\r\n"
            "2,1,North,region,,120\r\n"
            "3,2,Port of Ammo,crossing_point,sea,40\r\n")
    assert _upload(client, good).status_code == 302
    assert len(_snapshot(db)) == 3
    changed = good.replace(",40", ",45")
    _upload(client, changed)
    db.expire_all()
    port = db.scalar(select(OrgUnit).where(OrgUnit.name == "Port of Ammo"))
    assert port.headcount == 45
    bad = changed.replace(",45", ",45\r\n4,9,Orphan,region,,1") + "5,1,Air,crossing_point,air,3\r\n"
    response = _upload(client, bad)
    assert response.status_code == 200
    assert "Line 5 names a parent that is not in the file" in response.get_data(as_text=True)
    assert "Air" not in [row[0].rsplit(" / ", 1)[-1] for row in _snapshot(db)]
    no_type = good + "5,1,Airport,crossing_point,,3\r\n"
    message = _upload(client, no_type).get_data(as_text=True)
    assert "Line 5:" in message and "on land, at sea or at an airport" in message
    assert "Airport" not in [row[0] for row in _snapshot(db)]
    columns = _upload(client, "name,kind\r\nX,agency\r\n").get_data(as_text=True)
    assert "The first line must name the columns" in columns


def test_units_are_added_edited_and_listed_as_a_tree(app, db, admin) -> None:
    client = signed_in(app, admin)
    post(client, "/admin/units/new", {"name": "Border Police", "kind": "agency",
                                      "crossing_type": "", "parent_id": "", "headcount": "900"})
    agency = db.scalar(select(OrgUnit).where(OrgUnit.name == "Border Police"))
    post(client, "/admin/units/new", {"name": "Airport East", "kind": "crossing_point",
                                      "crossing_type": "air", "parent_id": str(agency.id),
                                      "headcount": "35"})
    point = db.scalar(select(OrgUnit).where(OrgUnit.name == "Airport East"))
    assert (point.parent_id, point.crossing_type, point.headcount) == (agency.id, "air", 35)
    # A unit cannot go under its own unit.
    refused = post(client, f"/admin/units/{agency.id}", {
        "name": "Border Police", "kind": "agency", "crossing_type": "",
        "parent_id": str(point.id), "headcount": "900"})
    assert refused.status_code == 200
    post(client, f"/admin/units/{point.id}", {
        "name": "Airport East", "kind": "crossing_point", "crossing_type": "air",
        "parent_id": str(agency.id), "headcount": "40"})
    db.expire_all()
    assert db.get(OrgUnit, point.id).headcount == 40
    listing = client.get("/admin/units?q=airport").get_data(as_text=True)
    assert "Border Police / Airport East" in listing and "1 unit" in listing
    negative = post(client, "/admin/units/new", {"name": "X", "kind": "region",
                                                 "crossing_type": "", "parent_id": "",
                                                 "headcount": "-1"})
    assert "0 or more" in negative.get_data(as_text=True)
    actions = list(db.scalars(select(AuditEntry.action)))
    assert actions.count("unit_added") == 2 and actions.count("unit_changed") == 1


def test_the_unit_list_is_paginated(app, db, admin) -> None:
    actor = db.get(User, admin.id)
    for n in range(30):
        units.add_unit(db, actor, units.UnitFields(f"Unit {n:02d}", "region", None, n, None))
    db.commit()
    client = signed_in(app, admin)
    first = client.get("/admin/units").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Unit 24" in first and "Unit 25" not in first
    assert "Unit 25" in client.get("/admin/units?page=2").get_data(as_text=True)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Import done. 2 units were added. 1 unit was updated. 1 unit was already up to date."),
    ("ru", "Импорт завершён. Добавлено 2 подразделения. Обновлено 1 подразделение. "
           "1 подразделение уже было актуальным."),
])
def test_the_import_says_each_count_with_its_plural_form(app, db, admin, language: str,
                                                         expected: str) -> None:
    db.get(User, admin.id).language = language
    db.commit()
    client = signed_in(app, admin)
    first = ("id,parent_id,name,kind,crossing_type,headcount\r\n"
             "1,,Customs,agency,,500\r\n"
             "2,1,North,region,,120\r\n")
    _upload(client, first)
    client.get("/admin/units")  # the first import's message, read
    again = first.replace(",120", ",121") + "3,2,Port of Ammo,crossing_point,sea,40\r\n" \
        "4,2,Rail yard,crossing_point,land,12\r\n"
    response = _upload(client, again)
    assert response.status_code == 302
    assert expected in client.get(response.headers["Location"]).get_data(as_text=True)
