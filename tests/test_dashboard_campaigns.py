"""Survey trends and campaign effects: the series taken from the results service, the
difference in differences checked against a computation by hand, the change in report volume,
and campaigns recorded through the pages with an audit entry; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
import os
import statistics
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry
from integrity.dashboard.campaigns import (
    CampaignData,
    campaign_effects,
    save_campaign,
)
from integrity.dashboard.trends import survey_trends
from integrity.models import Campaign, CampaignKind, Channel, OrgUnit, Role, User
from integrity.reporting.models import Report
from surveys.definitions import NO, YES
from surveys.models import Answer, Survey, SurveyResponse, Wave
from surveys.results import wave_results
from surveys.suppression import Thresholds
from tests.conftest import csrf_token
from tests.helpers.pages import sign_in

DEFINITION = {
    "title": "Speaking up",
    "sections": [{"title": "All", "questions": [
        {"key": "climate", "type": "agreement", "index": "reporting_climate",
         "text": "If I saw a colleague take a bribe, I would report it."},
        {"key": "channel_aware", "type": "yesno",
         "text": "Do you know of a way to report corruption anonymously?"},
        {"key": "fear_retaliation", "type": "agreement", "reverse": True,
         "text": "People who report wrongdoing here suffer for it."},
    ]}],
}
Z95 = 1.959963984540054

# unit -> wave -> the points answered to "climate" (one respondent each)
POINTS = {
    "T1": {1: [2, 3, 3, 2, 4, 3, 2, 3, 3, 2, 3, 4], 2: [4, 4, 5, 3, 4, 4, 5, 4, 3, 4, 4, 5]},
    "T2": {1: [3, 3, 2, 2, 3, 4, 3, 2, 3, 3, 2], 2: [4, 3, 4, 4, 5, 3, 4, 4, 3, 4, 5]},
    "O1": {1: [3, 3, 4, 2, 3, 3, 4, 3, 2, 3, 3, 4, 3], 2: [3, 4, 3, 3, 3, 4, 3, 2, 4, 3, 3, 4, 3]},
    "O2": {1: [2, 3, 3, 3, 4, 2, 3, 3, 3, 2, 4], 2: [3, 3, 2, 4, 3, 3, 3, 4, 2, 3, 3]},
}
HEADCOUNTS = {"T1": 40, "T2": 25, "O1": 60, "O2": 30}


@pytest.fixture
def surveyed(db: Session):
    region = OrgUnit(name="Target region", kind="region", headcount=0)
    elsewhere = OrgUnit(name="Other region", kind="region", headcount=0)
    db.add_all([region, elsewhere])
    db.flush()
    org_units = {}
    for name, headcount in HEADCOUNTS.items():
        parent = region if name.startswith("T") else elsewhere
        org_units[name] = OrgUnit(name=name, kind="crossing_point", crossing_type="land",
                                  headcount=headcount, parent_id=parent.id)
        db.add(org_units[name])
    survey = Survey(title="Speaking up", introduction="", definition=json.dumps(DEFINITION))
    db.add(survey)
    db.flush()
    waves = {}
    for number, opens in ((1, date(2027, 1, 4)), (2, date(2027, 5, 3))):
        waves[number] = Wave(survey_id=survey.id, number=number, opens_on=opens,
                             closes_on=opens.replace(day=opens.day + 20), state="closed")
        db.add(waves[number])
    db.flush()
    for name, per_wave in POINTS.items():
        for number, points in per_wave.items():
            for i, point in enumerate(points):
                response = SurveyResponse(wave_id=waves[number].id, org_unit_id=org_units[name].id)
                db.add(response)
                db.flush()
                db.add_all([
                    Answer(response_id=response.id, question="climate", choice=point),
                    Answer(response_id=response.id, question="fear_retaliation",
                           choice=6 - point),
                    Answer(response_id=response.id, question="channel_aware",
                           choice=YES if (i + number) % 3 else NO)])
    campaign = Campaign(name="Posters at the crossings", kind="posters",
                        starts_on=date(2027, 2, 1), ends_on=date(2027, 3, 31), note="")
    campaign.org_units = [region]
    db.add(campaign)
    db.commit()
    return {"org_units": org_units, "survey": survey, "waves": waves, "campaign": campaign,
            "region": region}


def _by_hand(points: list[int], headcount: int) -> tuple[float, float]:
    """A unit's index and its standard error, from the raw points."""
    scores = [(p - 1) * 25 for p in points]
    n = len(scores)
    fpc = math.sqrt((headcount - n) / (headcount - 1))
    return statistics.fmean(scores), statistics.stdev(scores) / math.sqrt(n) * fpc


def _group(names: list[str], wave: int) -> tuple[float, float]:
    """Headcount-weighted value and variance of a group of units."""
    total = sum(HEADCOUNTS[n] for n in names)
    value = variance = 0.0
    for name in names:
        mean, se = _by_hand(POINTS[name][wave], HEADCOUNTS[name])
        weight = HEADCOUNTS[name] / total
        value += weight * mean
        variance += (weight * se) ** 2
    return value, variance


def test_trends_take_every_wave_from_the_results_service(db: Session, surveyed) -> None:
    thresholds = Thresholds(index=10, distribution=10, sensitive=20)
    trends = survey_trends(db, surveyed["survey"], thresholds)
    assert [w.number for w in trends.waves] == [1, 2]
    assert [t.key for t in trends.trends] == ["reporting_climate", "awareness",
                                              "fear_retaliation"]
    climate = trends.trend("reporting_climate")
    for point in climate.points:
        expected = wave_results(db, db.get(Wave, point.wave.id), thresholds)
        assert point.overall.estimate == expected.index("reporting_climate").overall.estimate
    # A share is shown in per cent; an item worded against what the series measures reads
    # the right way round ("fear", not "no fear").
    awareness = trends.trend("awareness")
    assert awareness.percent
    first = wave_results(db, db.get(Wave, awareness.points[0].wave.id), thresholds)
    assert awareness.points[0].overall.estimate.value == pytest.approx(
        100 * first.question("channel_aware").headline.estimate.value)
    fear = trends.trend("fear_retaliation")
    all_points = POINTS["T1"][1] + POINTS["T2"][1] + POINTS["O1"][1] + POINTS["O2"][1]
    assert fear.points[0].overall.estimate.value == pytest.approx(
        statistics.fmean((6 - p - 1) * 25 for p in all_points))


def test_difference_in_differences_matches_a_computation_by_hand(db: Session,
                                                                 surveyed) -> None:
    trends = survey_trends(db, surveyed["survey"], Thresholds(10, 10, 20))
    result = campaign_effects(db, surveyed["campaign"], trends, date(2027, 6, 30), 10)
    assert result.before.number == 1 and result.after.number == 2
    assert result.targets == {surveyed["region"].id, surveyed["org_units"]["T1"].id,
                              surveyed["org_units"]["T2"].id}
    effect = next(e for e in result.effects if e.key == "reporting_climate")
    tb, tb_var = _group(["T1", "T2"], 1)
    ta, ta_var = _group(["T1", "T2"], 2)
    ob, ob_var = _group(["O1", "O2"], 1)
    oa, oa_var = _group(["O1", "O2"], 2)
    did = (ta - tb) - (oa - ob)
    se = math.sqrt(tb_var + ta_var + ob_var + oa_var)
    assert effect.target.before.value == pytest.approx(tb)
    assert effect.others.after.value == pytest.approx(oa)
    assert (effect.target.units, effect.others.units) == (2, 2)
    assert effect.estimate.value == pytest.approx(did)
    assert effect.estimate.se == pytest.approx(se)
    assert effect.estimate.low == pytest.approx(did - Z95 * se)
    assert effect.estimate.high == pytest.approx(did + Z95 * se)
    assert did > 20 and effect.reading == "up" and effect.improved is True
    fear = next(e for e in result.effects if e.key == "fear_retaliation")
    assert fear.estimate.value == pytest.approx(-did) and fear.improved is True


def test_an_effect_needs_published_units_on_both_sides(db: Session, surveyed) -> None:
    trends = survey_trends(db, surveyed["survey"], Thresholds(12, 12, 20))
    # With 12 answers needed, T2 and O2 (11 each) are withheld: each side keeps one unit.
    result = campaign_effects(db, surveyed["campaign"], trends, date(2027, 6, 30), 10)
    effect = next(e for e in result.effects if e.key == "reporting_climate")
    assert (effect.target.units, effect.others.units) == (1, 1)
    strict = survey_trends(db, surveyed["survey"], Thresholds(14, 14, 20))
    none = campaign_effects(db, surveyed["campaign"], strict, date(2027, 6, 30), 10)
    assert all(e.estimate is None and e.missing for e in none.effects)
    assert none.effects[0].reading == "unknown"


def test_report_volume_before_and_after(db: Session, surveyed) -> None:
    channel = Channel(slug="v", name="V")
    db.add(channel)
    db.flush()
    org_units = surveyed["org_units"]

    def file(org_unit: str, day: date, count: int) -> None:
        for _ in range(count):
            db.add(Report(channel_id=channel.id, org_unit_id=org_units[org_unit].id, created_on=day,
                          lookup_hash=os.urandom(32), reporter_public_key=os.urandom(32),
                          payload=b"x", status="new"))

    file("T1", date(2027, 1, 15), 3)
    file("T2", date(2026, 11, 15), 2)  # 78 days before the start: inside the window
    file("T1", date(2026, 10, 1), 9)  # 123 days before: outside
    file("T1", date(2027, 4, 20), 12)
    file("O1", date(2027, 1, 20), 11)
    file("O2", date(2027, 5, 1), 13)
    file("O1", date(2027, 2, 15), 50)  # during the campaign: in neither window
    db.commit()
    result = campaign_effects(db, surveyed["campaign"], None, date(2027, 6, 30), 5)
    volume = result.volume
    assert (volume.target_before, volume.target_after) == (5, 12)
    assert (volume.others_before, volume.others_after) == (11, 13)
    assert (volume.target_staff, volume.others_staff) == (65, 90)
    assert volume.after_days == 91
    assert volume.rate(volume.target_after, 65, 91) == pytest.approx(12 / 65 * 100 * 30 / 91)
    # With 6 needed the five target reports before are withheld, and so are the others then.
    hidden = campaign_effects(db, surveyed["campaign"], None, date(2027, 6, 30), 6).volume
    assert hidden.target_before is None and hidden.others_before is None
    assert hidden.target_after == 12


def test_saving_a_campaign_is_audited(db: Session, surveyed, make_account) -> None:
    account = make_account(Role.MANAGER)
    actor = db.get(User, account.id)
    data = CampaignData("E-learning on gifts", CampaignKind.E_LEARNING, date(2027, 9, 1),
                        date(2027, 9, 30), [surveyed["org_units"]["O1"].id], "Mandatory module")
    campaign = save_campaign(db, actor, data)
    db.commit()
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry.action == "campaign_added" and entry.subject == f"campaign:{campaign.id}"
    assert entry.facts["units"] == [surveyed["org_units"]["O1"].id]
    assert "Mandatory" not in entry.details


def test_managers_record_change_and_remove_campaigns_through_the_pages(
        app, db: Session, surveyed, make_account) -> None:
    client = app.test_client()
    sign_in(client, make_account(Role.MANAGER))
    page = client.get("/dashboard/campaigns/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'for="name"' in html and 'for="starts_on"' in html
    token = csrf_token(client, "/dashboard/campaigns/new")
    org_unit_id = surveyed["org_units"]["T1"].id
    refused = client.post("/dashboard/campaigns/new", data={
        "csrf_token": token, "name": "Backwards", "kind": "training",
        "starts_on": "2027-10-10", "ends_on": "2027-10-01", "units": [str(org_unit_id)],
        "note": ""})
    assert refused.status_code == 200
    assert "cannot end before it starts" in refused.get_data(as_text=True)
    created = client.post("/dashboard/campaigns/new", data={
        "csrf_token": token, "name": "Leadership letter", "kind": "leadership",
        "starts_on": "2027-10-01", "ends_on": "2027-10-10", "units": [str(org_unit_id)],
        "note": "Signed by the director"})
    assert created.status_code == 302
    campaign = db.scalar(select(Campaign).where(Campaign.name == "Leadership letter"))
    assert campaign is not None and [u.id for u in campaign.org_units] == [org_unit_id]
    campaign_id = campaign.id
    listing = client.get("/dashboard/campaigns/").get_data(as_text=True)
    assert "Leadership letter" in listing and "Posters at the crossings" in listing
    effect_page = client.get(f"/dashboard/campaigns/{surveyed['campaign'].id}")
    assert effect_page.status_code == 200
    assert "Reporting climate" in effect_page.get_data(as_text=True)
    edit = f"/dashboard/campaigns/{campaign_id}/edit"
    changed = client.post(edit, data={
        "csrf_token": csrf_token(client, edit), "name": "Leadership letter 2",
        "kind": "leadership", "starts_on": "2027-10-01", "ends_on": "2027-10-12",
        "units": [str(org_unit_id)], "note": ""})
    assert changed.status_code == 302
    db.expire_all()
    assert db.get(Campaign, campaign_id).ends_on == date(2027, 10, 12)
    removed = client.post(f"/dashboard/campaigns/{campaign_id}/delete",
                          data={"csrf_token": csrf_token(client, edit)})
    assert removed.status_code == 302
    db.expire_all()
    assert db.get(Campaign, campaign_id) is None
    actions = list(db.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == f"campaign:{campaign_id}").order_by(AuditEntry.seq)))
    assert actions == ["campaign_added", "campaign_changed", "campaign_deleted"]


def test_a_closed_wave_summary_is_stored_and_read_back_unchanged(db: Session, surveyed) -> None:
    from integrity.dashboard.trends import summarise, summary_from_json, summary_json

    wave = surveyed["waves"][1]
    summary = summarise(wave_results(db, wave, Thresholds(10, 10, 20)))
    stored = json.loads(json.dumps(summary_json(summary)))
    assert summary_from_json(stored) == summary
    assert summary.series["reporting_climate"][0].estimate is not None
    withheld = summarise(wave_results(db, wave, Thresholds(12, 12, 20)))
    assert summary_from_json(json.loads(json.dumps(summary_json(withheld)))) == withheld


def test_csv_cells_are_guarded_against_formulas_and_empty_cells_stay_empty(
        app, db: Session, surveyed, make_account) -> None:
    import csv
    import io

    for name, note in (("=HYPERLINK(\"http://x\")", "+1"), ("@SUM(A1)", "-2"),
                       ("\tcmd", "\rcmd"), ("Plain - name", "")):
        campaign = Campaign(name=name, kind="posters", starts_on=date(2027, 8, 1),
                            ends_on=date(2027, 8, 2), note=note)
        campaign.org_units = [surveyed["region"]]
        db.add(campaign)
    db.commit()
    client = app.test_client()
    sign_in(client, make_account(Role.MANAGER))
    text = client.get("/dashboard/export/campaigns.csv").get_data(as_text=True)
    rows = {row[0]: row for row in csv.reader(io.StringIO(text, newline=""))}
    # An empty note is an empty cell, not a lone quote.
    assert rows["Posters at the crossings"][5] == ""
    assert rows["Plain - name"][5] == ""
    # Text that a spreadsheet would run as a formula starts with a quote.
    assert rows["'=HYPERLINK(\"http://x\")"][5] == "'+1"
    assert rows["'@SUM(A1)"][5] == "'-2"
    assert rows["'\tcmd"][5] == "'\rcmd"
    assert rows["Plain - name"][1:4] == ["posters", "2027-08-01", "2027-08-02"]


def test_waves_go_by_date_and_are_compared_with_the_closed_wave_before(
        app, db: Session, surveyed, make_account) -> None:
    """Wave 3 was added for March, between wave 1 (January) and wave 2 (May); wave 4 (July)
    is still open and wave 5 (August) is scheduled."""
    import csv
    import io

    from surveys.waves import previous_closed_wave, waves_in_time

    survey, waves = surveyed["survey"], dict(surveyed["waves"])
    for number, opens, state in ((3, date(2027, 3, 1), "closed"), (4, date(2027, 7, 1), "open"),
                                 (5, date(2027, 8, 2), "scheduled")):
        waves[number] = Wave(survey_id=survey.id, number=number, opens_on=opens,
                             closes_on=opens.replace(day=20), state=state)
        db.add(waves[number])
    db.commit()
    assert [w.number for w in waves_in_time(db, survey)] == [1, 3, 2, 4, 5]
    before = {n: previous_closed_wave(db, w) for n, w in waves.items()}
    assert {n: w.number if w else None for n, w in before.items()} == {
        1: None, 2: 3, 3: 1, 4: 2, 5: 2}  # wave 5 skips wave 4, still open
    trends = survey_trends(db, survey, Thresholds(10, 10, 20))
    assert [w.number for w in trends.waves] == [1, 3, 2, 4]
    assert [p.wave.number for p in trends.trend("reporting_climate").points] == [1, 3, 2, 4]

    client = app.test_client()
    sign_in(client, make_account(Role.MANAGER))
    page = client.get(f"/dashboard/surveys/waves/{waves[2].id}").get_data(as_text=True)
    assert "Since wave 3" in page and "Since wave 4" not in page
    page = client.get(f"/dashboard/surveys/waves/{waves[4].id}").get_data(as_text=True)
    assert "Since wave 2" in page
    listing = client.get("/dashboard/surveys/").get_data(as_text=True)
    positions = [listing.index(f"/dashboard/surveys/waves/{waves[n].id}\"") for n in
                 (1, 3, 2, 4, 5)]
    assert positions == sorted(positions)
    trends_page = client.get(f"/dashboard/trends?survey={survey.id}").get_data(as_text=True)
    positions = [trends_page.index(f"/dashboard/surveys/waves/{waves[n].id}\"") for n in
                 (1, 3, 2, 4)]
    assert positions == sorted(positions)
    exported = client.get(f"/dashboard/export/trends.csv?survey={survey.id}")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True), newline="")))
    climate = [row["wave"] for row in rows
               if row["series"] == "Reporting climate" and row["unit"] == ""]
    assert climate == ["1", "3", "2", "4"]
    chart = client.get(f"/dashboard/charts/trend.svg?survey={survey.id}"
                       "&series=reporting_climate").get_data(as_text=True)
    assert chart.index("Wave 1") < chart.index("Wave 3") < chart.index("Wave 2")


def test_an_open_wave_is_marked_provisional_on_pages_and_charts(
        app, db: Session, surveyed, make_account) -> None:
    survey = surveyed["survey"]
    wave = Wave(survey_id=survey.id, number=3, opens_on=date(2027, 9, 1),
                closes_on=date(2027, 9, 30), state="open")
    db.add(wave)
    db.commit()
    client = app.test_client()
    sign_in(client, make_account(Role.MANAGER))
    trends = client.get(f"/dashboard/trends?survey={survey.id}").get_data(as_text=True)
    assert "A wave still open is provisional" in trends
    assert "“prefer not to say” is left out of the base" in trends  # awareness, a yes/no share
    chart = client.get(f"/dashboard/charts/trend.svg?survey={survey.id}"
                       "&series=reporting_climate").get_data(as_text=True)
    assert "(still open)" in chart
    page = client.get(f"/dashboard/surveys/waves/{wave.id}").get_data(as_text=True)
    assert "This wave is still open" in page
    assert "Changes are measured from wave 2 (opened May 3, 2027)" in page
    closed = client.get(f"/dashboard/surveys/waves/{surveyed['waves'][1].id}")
    assert 'id="wave-reading-note"' not in closed.get_data(as_text=True)
