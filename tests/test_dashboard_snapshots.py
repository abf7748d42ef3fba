"""The retention purge leaves the dashboard's past figures as they were: before it deletes
cases, their share of every figure is kept by filing month (integrity/dashboard/snapshots.py),
and the dashboard adds it to the live counts. Checked figure by figure and withheld cell by
withheld cell over every scope and breakdown, on the pages and in the CSV, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import re
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity import current
from integrity.audit import AuditEntry, verify
from integrity.cases.retention import purge_cases
from integrity.dashboard.kept import KeptFigures
from integrity.dashboard.kpis import (
    Dimension,
    Granularity,
    KpiQuery,
    Scope,
    breakdown,
    count_reports,
    period_table,
)
from integrity.dashboard.units import UnitTree
from integrity.models import Category, Channel, OrgUnit, Role
from integrity.reporting.models import Message, Report
from tests.helpers.pages import sign_in

TODAY = date(2027, 6, 15)
CSRF = re.compile(rb'name="csrf_token" value="[^"]*"')
OUTCOMES = ("substantiated", "partly_substantiated", "unsubstantiated", "not_in_scope")


def _unit(db: Session, name: str, headcount: int, parent: OrgUnit | None = None) -> OrgUnit:
    org_unit = OrgUnit(name=name, kind="crossing_point" if parent else "agency",
                       headcount=headcount, parent_id=parent.id if parent else None,
                       crossing_type="land" if parent else None)
    db.add(org_unit)
    db.flush()
    return org_unit


def _organisation(db: Session, today: date) -> dict[str, object]:
    """Two channels (one deleting closed cases after 200 days and open ones after 400), two
    categories, an agency with three posts, and 160 cases over 18 months before ``today``."""
    purging = Channel(slug="purging", name="Purging channel", retention_days=200,
                      short_retention_days=120, max_open_days=400)
    keeping = Channel(slug="keeping", name="Keeping channel", retention_days=36500)
    db.add_all([purging, keeping])
    db.flush()
    categories = [Category(channel_id=purging.id, slug=f"c{n}", name=f"Category {n}",
                           position=n) for n in range(2)]
    db.add_all(categories)
    agency = _unit(db, "Agency", 0)
    posts = [_unit(db, f"Post {n}", 30 + 10 * n, agency) for n in range(3)]
    chance = random.Random(20270615)  # noqa: S311 (test data, not secrets)
    for _ in range(160):
        created = today - timedelta(days=chance.randrange(15, 540))
        acknowledged = (created + timedelta(days=chance.randrange(1, 12))
                        if chance.random() < 0.85 else None)
        feedback = (acknowledged + timedelta(days=chance.randrange(10, 120))
                    if acknowledged and chance.random() < 0.7 else None)
        closed = (max(feedback, created + timedelta(days=chance.randrange(20, 300)))
                  if feedback and chance.random() < 0.8 else None)
        if closed is not None and closed >= today:
            closed = None
        report = Report(
            channel_id=chance.choice([purging, purging, keeping]).id,
            category_id=chance.choice(categories).id
            if chance.random() < 0.9 else None,
            org_unit_id=chance.choice([*posts, agency]).id if chance.random() < 0.9 else None,
            created_on=created, lookup_hash=os.urandom(32), reporter_public_key=os.urandom(32),
            payload=os.urandom(64),
            status="closed" if closed else ("in_progress" if acknowledged else "new"),
            acknowledged_on=acknowledged, feedback_on=feedback, closed_on=closed,
            outcome=chance.choice(OUTCOMES) if closed else None)
        db.add(report)
        db.flush()
        if chance.random() < 0.3:
            db.add(Message(report_id=report.id, sender="reporter",
                           sent_on=created + timedelta(days=2), payload=os.urandom(32)))
    db.commit()
    return {"channel": purging.id, "category": categories[0].id, "agency": agency.id,
            "post": posts[1].id}


def _scopes(ids: dict[str, object]) -> list[Scope | None]:
    return [None, Scope(Dimension.UNIT, ids["agency"]), Scope(Dimension.UNIT, ids["post"]),
            Scope(Dimension.UNIT, None), Scope(Dimension.CHANNEL, ids["channel"]),
            Scope(Dimension.CATEGORY, ids["category"]), Scope(Dimension.CATEGORY, None)]


def _every_table(db: Session, ids: dict[str, object], today: date, threshold: int) -> list:
    """Every period table and breakdown of the last 18 months, by month and by quarter."""
    tables = []
    for granularity in Granularity:
        base = KpiQuery(granularity, today - timedelta(days=560), today)
        base = KpiQuery(granularity, base.periods[0].start, base.periods[-1].end)
        for scope in _scopes(ids):
            query = base.with_scope(scope)
            tables.append(period_table(db, query, today, threshold))
            tables.extend(breakdown(db, query, dimension, today, threshold)
                          for dimension in Dimension)
    return tables


def _stored(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Report)) or 0


@pytest.mark.parametrize("threshold", [3, 10])
def test_a_purge_leaves_every_past_figure_and_withheld_cell_as_it_was(
        app: Flask, db: Session, threshold: int) -> None:
    ids = _organisation(db, TODAY)
    before = _every_table(db, ids, TODAY, threshold)
    live_before = count_reports(db, KpiQuery(Granularity.MONTH, date(2020, 1, 1), TODAY),
                                TODAY, {}, UnitTree.load(db))
    stored = _stored(db)
    purged = purge_cases(db, current.attachment_store(app), TODAY)
    db.commit()
    assert len(purged) > 20 and {case.rule for case in purged} == {"retention", "max_age"}
    assert _stored(db) == stored - len(purged)
    # The live counts alone lost the deleted cases: without what was kept, figures would move.
    live_after = count_reports(db, KpiQuery(Granularity.MONTH, date(2020, 1, 1), TODAY),
                               TODAY, {}, UnitTree.load(db))
    assert live_after[()].received == live_before[()].received - len(purged)
    after = _every_table(db, ids, TODAY, threshold)
    assert [table.rows for table in after] == [table.rows for table in before]
    assert [table.total for table in after] == [table.total for table in before]
    withheld = [row.withheld for table in after for row in table.rows]
    assert any(withheld) if threshold == 10 else True
    # A second purge on the same day finds nothing more to keep.
    assert purge_cases(db, current.attachment_store(app), TODAY) == []
    db.commit()
    assert [table.rows for table in _every_table(db, ids, TODAY, threshold)] == \
        [table.rows for table in before]


def test_what_is_kept_is_counts_by_filing_month_and_the_purge_is_audited(
        app: Flask, db: Session) -> None:
    _organisation(db, TODAY)
    purged = purge_cases(db, current.attachment_store(app), TODAY)
    db.commit()
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "report_figures_kept"))
    assert entry is not None and entry.actor_id is None
    facts = json.loads(entry.details)
    assert set(facts) == {"reports", "months", "from", "to"}
    assert facts["reports"] == len(purged)
    first, last = min(c.filed_on for c in purged), max(c.filed_on for c in purged)
    assert (facts["from"], facts["to"]) == (first.strftime("%Y-%m"), last.strftime("%Y-%m"))
    # Every pair of dimensions adds up to the reports deleted, month by month.
    for pair in ("unit:channel", "unit:category", "channel:category"):
        rows = db.scalars(select(KeptFigures).where(KeptFigures.pair == pair)).all()
        assert sum(row.received for row in rows) == len(purged)
        assert all(row.month.day == 1 for row in rows)
    columns = set(KeptFigures.__table__.columns.keys())
    assert not columns & {"report_id", "reference", "created_on", "closed_on", "payload"}
    assert verify(db).ok


def _csv_and_pages(client, start: str, end: str, ids: dict[str, object]) -> list[bytes]:
    bodies = []
    for granularity in ("month", "quarter"):
        for scope in ("", f"unit:{ids['agency']}", f"channel:{ids['channel']}"):
            for dimension in ("unit", "channel", "category"):
                args = (f"granularity={granularity}&start={start}&end={end}&scope={scope}"
                        f"&dimension={dimension}")
                for url in (f"/dashboard/?{args}", f"/dashboard/export/periods.csv?{args}",
                            f"/dashboard/export/breakdown.csv?{args}"):
                    response = client.get(url)
                    assert response.status_code == 200, url
                    # The sign-out form's token carries its time; nothing else may change.
                    bodies.append(CSRF.sub(b"", response.data))
    return bodies


def test_the_pages_and_csv_files_show_the_same_past_figures_after_a_purge(
        app: Flask, db: Session, make_account) -> None:
    today = date.today()
    ids = _organisation(db, today)
    client = app.test_client()
    sign_in(client, make_account(Role.MANAGER))
    first = (today - timedelta(days=560)).strftime("%Y-%m")
    last = today.strftime("%Y-%m")
    before = _csv_and_pages(client, first, last, ids)
    assert b"withheld" in b"".join(before)
    purged = purge_cases(db, current.attachment_store(app), today)
    db.commit()
    assert purged
    after = _csv_and_pages(client, first, last, ids)
    assert after == before

