"""Report figures for managers, checked against answers worked out by hand: deadlines at their
edges (day 7 and day 8, 3 months across month ends), medians, outcomes, backlog, and small
cells withheld with their complementary cells; on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.cases.deadlines import deadlines
from integrity.dashboard.kpis import (
    Dimension,
    Granularity,
    KpiQuery,
    Scope,
    breakdown,
    median,
    period_table,
)
from integrity.dashboard.sqldates import day_key
from integrity.models import Category, Channel, OrgUnit
from integrity.reporting.models import Message, Report
from surveys.suppression import Reason

TODAY = date(2027, 6, 15)


def _unit(db: Session, name: str, headcount: int, parent: OrgUnit | None = None) -> OrgUnit:
    org_unit = OrgUnit(name=name, kind="crossing_point" if parent else "agency",
                       headcount=headcount, parent_id=parent.id if parent else None,
                       crossing_type="land" if parent else None)
    db.add(org_unit)
    db.flush()
    return org_unit


def _report(db: Session, channel: Channel, created: date, *, org_unit: OrgUnit | None = None,
            category: Category | None = None, acknowledged: date | None = None,
            feedback: date | None = None, closed: date | None = None,
            outcome: str | None = None, status: str | None = None,
            reporter_wrote: bool = False, inspector_wrote: bool = False) -> Report:
    if status is None:
        status = "closed" if closed else ("in_progress" if acknowledged else "new")
    report = Report(channel_id=channel.id, category_id=category.id if category else None,
                    org_unit_id=org_unit.id if org_unit else None, created_on=created,
                    lookup_hash=os.urandom(32), reporter_public_key=os.urandom(32),
                    payload=os.urandom(64), status=status, acknowledged_on=acknowledged,
                    feedback_on=feedback, closed_on=closed, outcome=outcome)
    db.add(report)
    db.flush()
    if reporter_wrote:
        db.add(Message(report_id=report.id, sender="reporter", sent_on=created + timedelta(3),
                       payload=os.urandom(32)))
    if inspector_wrote:
        db.add(Message(report_id=report.id, sender="inspector", sent_on=created + timedelta(2),
                       payload=os.urandom(32)))
    return report


@pytest.fixture
def cases(db: Session):
    """Twelve cases whose figures are worked out by hand in the tests below."""
    channel = Channel(slug="kpi", name="KPI channel")
    db.add(channel)
    db.flush()
    c1 = Category(channel_id=channel.id, slug="bribery", name="Bribery", position=0)
    c2 = Category(channel_id=channel.id, slug="fraud", name="Fraud", position=1)
    db.add_all([c1, c2])
    agency = _unit(db, "Agency A", 0)
    x = _unit(db, "Post X", 40, agency)
    y = _unit(db, "Post Y", 60, agency)
    z = _unit(db, "Post Z", 20, agency)
    d = date
    # 2027 Q1. Acknowledged on day 7 (on time) and day 8 (late); feedback exactly 3 months
    # after the acknowledgement, and one day later.
    _report(db, channel, d(2027, 1, 10), org_unit=x, category=c1, acknowledged=d(2027, 1, 17),
            feedback=d(2027, 4, 17), closed=d(2027, 5, 1), outcome="substantiated",
            reporter_wrote=True)
    _report(db, channel, d(2027, 1, 10), org_unit=x, category=c1, acknowledged=d(2027, 1, 18),
            feedback=d(2027, 4, 19), closed=d(2027, 2, 10), outcome="unsubstantiated",
            inspector_wrote=True)
    # Acknowledged on 31 January: feedback is due by 30 April (April has no 31st).
    _report(db, channel, d(2027, 1, 24), org_unit=x, category=c1, acknowledged=d(2027, 1, 31),
            feedback=d(2027, 4, 30), closed=d(2027, 5, 10), outcome="partly_substantiated")
    _report(db, channel, d(2027, 1, 24), org_unit=x, category=c1, acknowledged=d(2027, 1, 31),
            feedback=d(2027, 5, 1))
    _report(db, channel, d(2027, 2, 20), org_unit=agency, acknowledged=d(2027, 2, 25))
    _report(db, channel, d(2027, 3, 14), acknowledged=d(2027, 3, 15))
    # 2026 Q4. Acknowledged on 30 November: feedback due by 28 February 2027.
    _report(db, channel, d(2026, 11, 23), org_unit=y, category=c1, acknowledged=d(2026, 11, 30),
            feedback=d(2027, 2, 28), closed=d(2027, 3, 1), outcome="not_in_scope")
    _report(db, channel, d(2026, 11, 23), org_unit=y, category=c1, acknowledged=d(2026, 11, 30),
            feedback=d(2027, 3, 1))
    # 2027 Q2, not acknowledged yet: due on 8, 17, 15 and 14 June; today is 15 June.
    _report(db, channel, d(2027, 6, 1), org_unit=y, category=c2, reporter_wrote=True)
    _report(db, channel, d(2027, 6, 10), org_unit=y, category=c2)
    _report(db, channel, d(2027, 6, 8), org_unit=z, category=c2)
    _report(db, channel, d(2027, 6, 7), org_unit=z, category=c2)
    db.commit()
    return {"agency": agency, "x": x, "y": y, "z": z, "c1": c1, "c2": c2, "channel": channel}


QUARTERS = KpiQuery(Granularity.QUARTER, date(2026, 10, 1), date(2027, 6, 30))


def test_quarterly_figures_match_the_hand_computation(db: Session, cases) -> None:
    table = period_table(db, QUARTERS, TODAY, threshold=10)
    assert [row.key for row in table.rows] == ["2026-Q4", "2027-Q1", "2027-Q2"]
    q4, q1, q2 = (row.figures for row in table.rows)
    assert (q4.received, q1.received, q2.received) == (2, 6, 4)
    # Per 100 staff: 120 staff in all (the agency itself has none of its own).
    assert q1.per_100_staff == pytest.approx(5.0)
    # Acknowledged within 7 days: day 7 counts, day 8 does not; reports still inside their
    # 7 days (filed 8 and 10 June) are not counted yet; 7 June is past.
    assert (q1.acknowledged_in_time.part, q1.acknowledged_in_time.whole) == (5, 6)
    assert (q4.acknowledged_in_time.part, q4.acknowledged_in_time.whole) == (2, 2)
    assert (q2.acknowledged_in_time.part, q2.acknowledged_in_time.whole) == (0, 2)
    assert q1.median_days_to_acknowledge == 7  # 1, 5, 7, 7, 7, 8
    assert q2.median_days_to_acknowledge is None
    # Feedback within 3 months: 17 Jan -> 17 Apr on time, 18 Jan -> 19 Apr late, 31 Jan ->
    # 30 Apr on time and 1 May late, 30 Nov -> 28 Feb on time and 1 Mar late; the case
    # acknowledged on 25 Feb without feedback is overdue (25 May), the one of 15 Mar is due
    # today and not counted yet.
    assert (q1.feedback_in_time.part, q1.feedback_in_time.whole) == (2, 5)
    assert (q4.feedback_in_time.part, q4.feedback_in_time.whole) == (1, 2)
    assert q2.feedback_in_time.whole == 0
    # Closing: 31, 106 and 111 days; outcomes and the substantiated share of those in scope.
    assert q1.median_days_to_close == 106
    assert q1.outcomes == {"substantiated": 1, "partly_substantiated": 1,
                           "unsubstantiated": 1, "not_in_scope": 0}
    assert (q1.substantiated.part, q1.substantiated.whole) == (2, 3)
    assert q4.substantiated.whole == 0 and q4.median_days_to_close == 98
    # Reporters who came back to their mailbox: a reporter message after filing.
    assert (q1.came_back.part, q1.came_back.whole) == (1, 6)
    assert (q2.came_back.part, q2.came_back.whole) == (1, 4)
    # Backlog: still open, and overdue today (not acknowledged by day 7, or no feedback in
    # time): 7 June and 1 June unacknowledged; 25 Feb without feedback.
    assert (q4.open, q1.open, q2.open) == (1, 3, 4)
    assert (q4.overdue, q1.overdue, q2.overdue) == (0, 1, 2)
    total = table.total.figures
    assert total.received == 12
    assert (total.acknowledged_in_time.part, total.acknowledged_in_time.whole) == (7, 10)
    assert (total.feedback_in_time.part, total.feedback_in_time.whole) == (3, 7)
    assert (total.open, total.overdue) == (8, 3)


def test_months_add_up_to_quarters(db: Session, cases) -> None:
    months = KpiQuery(Granularity.MONTH, date(2026, 10, 1), date(2027, 6, 30))
    table = period_table(db, months, TODAY, threshold=10)
    assert len(table.rows) == 9
    received = {row.key: row.figures.received for row in table.rows}
    assert received == {"2026-10": 0, "2026-11": 2, "2026-12": 0, "2027-01": 4, "2027-02": 1,
                        "2027-03": 1, "2027-04": 0, "2027-05": 0, "2027-06": 4}
    assert table.total.figures == period_table(db, QUARTERS, TODAY, threshold=10).total.figures


def test_small_unit_cells_are_withheld_with_their_complements(db: Session, cases) -> None:
    table = breakdown(db, QUARTERS, Dimension.UNIT, TODAY, threshold=3)
    rows = {row.label or row.key: row for row in table.rows}
    # Post Z (2) and the report without a unit (1) are too few. With the total published,
    # the agency (11 of 12) would give the lone unit-less report away: withheld too. Under
    # the agency, Z and the report filed at the agency itself (1) pool to 3 but would be a
    # single withheld cell: the smaller of X and Y (4 each, X listed first) goes as well.
    assert rows["Post Z"].withheld is Reason.TOO_FEW
    assert rows["unit:none"].withheld is Reason.TOO_FEW
    assert rows["Agency A"].withheld is Reason.COMPLEMENTARY
    assert rows["Post X"].withheld is Reason.COMPLEMENTARY
    assert rows["Post Y"].withheld is None
    y = rows["Post Y"].figures
    assert y.received == 4 and y.per_100_staff == pytest.approx(100 * 4 / 60)
    assert (y.open, y.overdue) == (3, 1)
    assert rows["Post Y"].depth == 1
    assert table.total.figures.received == 12
    # Nothing withheld carries a number.
    assert all(row.figures is None for row in table.rows if row.withheld)
    # With a threshold of 1 everything shows, and the tree adds up.
    open_table = breakdown(db, QUARTERS, Dimension.UNIT, TODAY, threshold=1)
    shown = {row.label or row.key: row.figures.received for row in open_table.rows}
    assert shown == {"Agency A": 11, "Post X": 4, "Post Y": 4, "Post Z": 2, "unit:none": 1}


def test_categories_and_channels_are_withheld_like_survey_cells(db: Session, cases) -> None:
    table = breakdown(db, QUARTERS, Dimension.CATEGORY, TODAY, threshold=3)
    rows = {row.label or row.key: row for row in table.rows}
    assert rows["Bribery"].figures.received == 6
    assert rows["category:none"].withheld is Reason.TOO_FEW  # 2 without a category
    assert rows["Fraud"].withheld is Reason.COMPLEMENTARY  # else 12 - 6 - 4 gives the 2
    channels = breakdown(db, QUARTERS, Dimension.CHANNEL, TODAY, threshold=3)
    assert [(row.label, row.figures.received) for row in channels.rows] == [("KPI channel", 12)]


def test_a_scope_shows_only_what_its_breakdown_shows(db: Session, cases) -> None:
    y_scope = QUARTERS.with_scope(Scope(Dimension.UNIT, cases["y"].id))
    table = period_table(db, y_scope, TODAY, threshold=3)
    assert table.withheld is None and table.total.figures.received == 4
    # Within Post Y the quarters (2, 0, 2 reports) are cells of 4: each of them is too few.
    assert [row.withheld for row in table.rows] == [Reason.TOO_FEW, Reason.TOO_FEW,
                                                    Reason.TOO_FEW]
    x_scope = QUARTERS.with_scope(Scope(Dimension.UNIT, cases["x"].id))
    hidden = period_table(db, x_scope, TODAY, threshold=3)
    assert hidden.withheld is Reason.COMPLEMENTARY
    assert hidden.total.figures is None and all(row.figures is None for row in hidden.rows)
    bribery = QUARTERS.with_scope(Scope(Dimension.CATEGORY, cases["c1"].id))
    assert period_table(db, bribery, TODAY, threshold=2).total.figures.received == 6


def test_median_of_a_histogram() -> None:
    assert median({}) is None
    assert median({3: 1}) == 3
    assert median({1: 1, 5: 1, 7: 3, 8: 1}) == 7
    assert median({2: 2, 10: 2}) == 6
    assert median({0: 5, 100: 4}) == 0


def test_database_deadline_rules_agree_with_the_deadlines_service(db: Session) -> None:
    """Every filing day of two years (a leap February included), acknowledged and answered
    around the deadlines: the counts in SQL equal those of integrity.cases.deadlines."""
    channel = Channel(slug="edges", name="Edges")
    db.add(channel)
    db.flush()
    rng = random.Random(11)
    today = date(2028, 9, 1)
    expected = {"ack_due": 0, "ack_ok": 0, "fb_due": 0, "fb_ok": 0, "overdue": 0}
    day = date(2027, 1, 1)
    while day < date(2028, 6, 1):
        acknowledged = day + timedelta(rng.choice([0, 6, 7, 8, 9])) if rng.random() < 0.9 else None
        facts = deadlines(day, acknowledged, None, today)
        feedback = (facts.feedback_by + timedelta(rng.choice([-1, 0, 1, 2]))
                    if acknowledged and rng.random() < 0.8 else None)
        closed = rng.random() < 0.3 and feedback is not None
        facts = deadlines(day, acknowledged, feedback, today)
        _report(db, channel, day, acknowledged=acknowledged, feedback=feedback,
                closed=feedback if closed else None,
                outcome="unsubstantiated" if closed else None)
        expected["ack_due"] += acknowledged is not None or today > facts.acknowledge_by
        expected["ack_ok"] += acknowledged is not None and not facts.acknowledge_overdue
        expected["fb_due"] += feedback is not None or today > facts.feedback_by
        expected["fb_ok"] += feedback is not None and not facts.feedback_overdue
        expected["overdue"] += not closed and (
            (acknowledged is None and today > facts.acknowledge_by)
            or (feedback is None and today > facts.feedback_by))
        day += timedelta(days=1)
    db.commit()
    query = KpiQuery(Granularity.QUARTER, date(2027, 1, 1), date(2028, 6, 30))
    total = period_table(db, query, today, threshold=1).total.figures
    assert total.received == (date(2028, 6, 1) - date(2027, 1, 1)).days
    assert total.acknowledged_in_time.whole == expected["ack_due"]
    assert total.acknowledged_in_time.part == expected["ack_ok"]
    assert total.feedback_in_time.whole == expected["fb_due"]
    assert total.feedback_in_time.part == expected["fb_ok"]
    assert total.overdue == expected["overdue"]
    assert 0 < expected["fb_ok"] < expected["fb_due"]


def test_day_numbers_keep_the_order_of_days() -> None:
    day = date(2027, 12, 25)
    keys = []
    for _ in range(100):
        keys.append(day_key(day))
        day += timedelta(days=1)
    assert keys == sorted(keys) and len(set(keys)) == 100


def test_units_come_from_the_tree(db: Session, cases) -> None:
    names = list(db.scalars(select(OrgUnit.name).order_by(OrgUnit.name)))
    assert names == ["Agency A", "Post X", "Post Y", "Post Z"]


@pytest.fixture
def uneven(db: Session):
    """Cells large enough to publish whose figures rest on fewer reports: Post X has 12
    reports, 10 of them acknowledged (the other 2 are not due yet); Post Y has 30, 12 closed of
    which 10 in scope; Post Z has 20, 15 closed in scope."""
    channel = Channel(slug="uneven", name="Uneven")
    db.add(channel)
    db.flush()
    agency = _unit(db, "Agency B", 0)
    x, y, z = (_unit(db, name, staff, agency) for name, staff in
               (("Post X", 40), ("Post Y", 60), ("Post Z", 30)))
    d = date
    for i in range(12):
        _report(db, channel, d(2027, 6, 12), org_unit=x,
                acknowledged=d(2027, 6, 13) if i < 10 else None)
    for i in range(30):
        closed = i < 12
        _report(db, channel, d(2027, 4, 1), org_unit=y, acknowledged=d(2027, 4, 5),
                feedback=d(2027, 4, 20) if closed else None,
                closed=d(2027, 5, 1) if closed else None,
                outcome=(None if not closed else "not_in_scope" if i >= 10
                         else "substantiated" if i < 6 else "unsubstantiated"))
    for i in range(20):
        closed = i < 15
        _report(db, channel, d(2027, 4, 1), org_unit=z, acknowledged=d(2027, 4, 3),
                closed=d(2027, 5, 20) if closed else None,
                outcome="unsubstantiated" if closed else None)
    db.commit()
    return {"x": x, "y": y, "z": z, "agency": agency}


Q2 = KpiQuery(Granularity.QUARTER, date(2027, 4, 1), date(2027, 6, 30))


def test_figures_resting_on_fewer_reports_than_their_cell_are_withheld_at_k_minus_one(
        db: Session, uneven) -> None:
    from integrity.dashboard.pages import kpi_csv

    names = {uneven[n].id: n for n in ("x", "y", "z", "agency")}

    def rows(threshold: int) -> dict[str, object]:
        table = breakdown(db, Q2, Dimension.UNIT, TODAY, threshold)
        return {names[int(row.key.split(":")[1])]: row for row in table.rows}

    # k = 10: Post X's 10 acknowledged reports and Post Y's 10 closed in scope are enough.
    shown = rows(10)
    assert all(row.figures is not None for row in shown.values())
    x, y = shown["x"].figures, shown["y"].figures
    assert (x.acknowledged_in_time.part, x.acknowledged_in_time.whole) == (10, 10)
    assert x.median_days_to_acknowledge == 1 and not x.withheld
    assert (y.substantiated.part, y.substantiated.whole) == (6, 10)
    assert y.outcomes["not_in_scope"] == 2
    # k = 11: every cell still has 12 reports or more, but X's acknowledgement figures rest on
    # 10 and Y's outcomes on 10: withheld. With the total shown, the agency's figure minus Z's
    # would give X's back, so Z's acknowledgement share goes too; likewise Z's outcomes.
    hidden = rows(11)
    assert all(row.withheld is None for row in hidden.values())
    x, y, z = (hidden[n].figures for n in ("x", "y", "z"))
    assert x.received == 12 and x.acknowledged_in_time is None
    assert x.median_days_to_acknowledge is None
    assert x.withheld == {"acknowledged_in_time": Reason.TOO_FEW,
                          "median_days_to_acknowledge": Reason.TOO_FEW}
    assert z.acknowledged_in_time is None
    assert z.withheld["acknowledged_in_time"] is Reason.COMPLEMENTARY
    assert z.median_days_to_acknowledge == 2  # a median cannot be worked out from others
    assert y.acknowledged_in_time.whole == 30
    assert y.substantiated is None and y.outcomes is None
    assert y.withheld["substantiated"] is Reason.TOO_FEW
    assert z.substantiated is None and z.outcomes is None
    assert z.withheld["substantiated"] is Reason.COMPLEMENTARY
    assert x.substantiated.whole == 0  # nothing closed: no figure to hide
    agency = hidden["agency"].figures
    assert agency.acknowledged_in_time.whole == 60 and agency.substantiated.whole == 25
    # The CSV and the scope of one unit withhold the same.
    lines = kpi_csv(breakdown(db, Q2, Dimension.UNIT, TODAY, 11)).splitlines()
    header = lines[0].split(",")
    post_x = dict(zip(header, next(line for line in lines if line.startswith("Post X"))
                      .split(","), strict=True))
    assert post_x["reports"] == "12" and post_x["acknowledged_in_7_days"] == "withheld"
    assert post_x["acknowledge_due"] == "withheld"
    assert post_x["median_days_to_acknowledge"] == "withheld"
    post_y = dict(zip(header, next(line for line in lines if line.startswith("Post Y"))
                      .split(","), strict=True))
    assert post_y["substantiated_share"] == "withheld" and post_y["not_in_scope"] == "withheld"
    assert post_y["acknowledged_in_7_days"] == "30"
    for threshold, expected in ((10, (10, 10)), (11, None)):
        scoped = period_table(db, Q2.with_scope(Scope(Dimension.UNIT, uneven["x"].id)), TODAY,
                              threshold)
        figures = scoped.total.figures
        ratio = figures.acknowledged_in_time
        assert (None if ratio is None else (ratio.part, ratio.whole)) == expected
        # The quarter holds all of them: it would give the scope's figure back.
        quarter = scoped.row("2027-Q2").figures
        assert quarter.received == 12
        assert (quarter.acknowledged_in_time is None) == (expected is None)


def test_overdue_means_a_deadline_still_unmet_today(db: Session) -> None:
    """A late acknowledgement already made is not overdue; a report on its 7th day is not
    overdue yet; feedback missing after its deadline is; a closed report never is."""
    channel = Channel(slug="late", name="Late")
    db.add(channel)
    db.flush()

    def day(days_ago: int) -> date:
        return TODAY - timedelta(days=days_ago)

    expected = {
        "acknowledged late, feedback not due yet": (False, dict(
            created=day(20), acknowledged=day(10))),
        "not acknowledged on day 10": (True, dict(created=day(10))),
        "not acknowledged on day 7": (False, dict(created=day(7))),
        "not acknowledged on day 8": (True, dict(created=day(8))),
        "no feedback a day after its deadline": (True, dict(
            created=date(2027, 3, 1), acknowledged=date(2027, 3, 14))),
        "no feedback on its last day": (False, dict(
            created=date(2027, 3, 5), acknowledged=date(2027, 3, 15))),
        "feedback given late": (False, dict(
            created=date(2027, 1, 4), acknowledged=date(2027, 1, 20),
            feedback=date(2027, 5, 2))),
        "closed without feedback": (False, dict(
            created=date(2027, 1, 4), acknowledged=date(2027, 1, 5), closed=date(2027, 2, 1),
            outcome="unsubstantiated")),
    }
    for _, facts in expected.values():
        _report(db, channel, facts.pop("created"), **facts)
    db.commit()
    total = period_table(db, KpiQuery(Granularity.QUARTER, date(2027, 1, 1),
                                      date(2027, 6, 30)), TODAY, threshold=1).total.figures
    assert total.open == 7
    assert total.overdue == sum(overdue for overdue, _ in expected.values()) == 3


def test_pages_say_which_periods_are_provisional_and_where_per_staff_is_empty(
        app, db: Session, cases, make_account) -> None:
    import csv
    import io

    from integrity.models import Role
    from tests.helpers.pages import sign_in

    client = app.test_client()
    sign_in(client, make_account(Role.MANAGER))
    args = "granularity=quarter&start=2026-10&end=2027-06"
    page = client.get(f"/dashboard/?{args}&dimension=category").get_data(as_text=True)
    # 2026 Q4 and 2027 Q1 and Q2 still have open cases: marked, and the mark explained.
    assert 'id="provisional-note"' in page
    periods = page[page.index('id="periods"'):page.index('id="outcomes"')]
    assert periods.count('class="provisional"') == 3
    assert 'id="per-staff-note"' in page
    assert 'id="per-staff-note"' not in client.get(f"/dashboard/?{args}&dimension=unit"
                                                   ).get_data(as_text=True)
    chart = client.get(f"/dashboard/charts/reports.svg?{args}").get_data(as_text=True)
    assert "Q2 2027*" in chart and "provisional" in chart
    # Per 100 staff has no value for a channel: an empty CSV cell, not a quote or a dash.
    exported = client.get(f"/dashboard/export/breakdown.csv?{args}&dimension=channel")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True), newline="")))
    channel = next(row for row in rows if row["channel"] == "KPI channel")
    assert channel["reports"] == "12" and channel["per_100_staff"] == ""


@pytest.mark.parametrize("settings_overrides", [{"survey_min_responses": 10},
                                                {"survey_min_responses": 11}])
def test_the_breakdown_page_withholds_figures_resting_on_too_few_reports(
        app, db: Session, uneven, make_account, settings_overrides) -> None:
    import re

    from integrity.models import Role
    from tests.helpers.pages import sign_in

    client = app.test_client()
    sign_in(client, make_account(Role.MANAGER))
    page = client.get("/dashboard/?granularity=quarter&start=2027-04&end=2027-06"
                      "&dimension=unit").get_data(as_text=True)
    breakdown_html = page[page.index('id="breakdown"'):]
    row = re.search(r"Post X</th>(.*?)</tr>", breakdown_html, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[0] == "12"  # the cell itself is shown either way
    outcomes = page[page.index('id="outcomes"'):page.index('id="retaliation-heading"')]
    if settings_overrides["survey_min_responses"] == 10:
        assert "100%" in cells[2] and "withheld" not in row
    else:
        assert "withheld" in cells[2] and "(10/10)" not in row
        assert "withheld" in cells[3]  # the median of the 10 acknowledged reports
    # Over the whole organisation the quarter is shown in full, outcomes included.
    assert "withheld" not in outcomes


def test_feedback_within_3_months_counts_feedback_and_final_notices_only(
        app, client, login, make_account, channel, db: Session) -> None:
    """Three cases, each answered on its filing day: a question, feedback, a final notice.
    Three months and a day later the question's case counts as due and not met."""
    import crypto
    from integrity.cases.deadlines import add_months
    from integrity.models import Role, User, today
    from tests.conftest import csrf_token
    from tests.helpers.reports import file_report, seal_item

    account = make_account(Role.INSPECTOR)
    user = db.get(User, account.id)
    user.public_key = crypto.KeyPair.generate().public_key
    # Held by a name: the session keeps loaded objects only as long as something refers to them.
    channel_row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    channel_row.recipients.append(user)
    db.commit()
    reports = [file_report(client, channel) for _ in range(3)]
    login(account)
    for report_id, kind in zip(reports, ("message", "feedback", "final_notice"), strict=True):
        data = client.get(f"/cases/{report_id}/sealed").get_json()
        body = {**seal_item(data, {"text": "…", "attachments": []}, note=False), "kind": kind}
        assert client.post(f"/cases/{report_id}/messages", json=body, headers={
            "X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}).status_code == 201
    db.expire_all()
    later = add_months(today(), 3) + timedelta(days=1)
    query = KpiQuery(Granularity.MONTH, today().replace(day=1), today())
    figures = period_table(db, query, later, threshold=0).total.figures
    assert (figures.feedback_in_time.part, figures.feedback_in_time.whole) == (2, 3)
    assert figures.overdue == 1  # the case that only had a question
