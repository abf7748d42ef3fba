"""What every output of the survey figures shows for a withheld unit (no count at all) and for
randomized-response answers that do not fit the design (no estimate, the raw share): the wave
page, the trends page and CSV, the charts, the PDF report, the stored wave summaries, and the
administrators' wave page; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy.orm import Session

from integrity.dashboard.kpis import Granularity, KpiQuery
from integrity.dashboard.report_pdf import ReportSpec, build_report
from integrity.models import Role
from surveys.models import Survey, Wave
from surveys.results import thresholds_from
from tests.helpers.pages import sign_in
from tests.helpers.results import add_codes, add_unit, respond, withheld_answers
from tests.helpers.stored import kept_summaries

ZERO_WIDTH = re.compile(r"\[\s*0\.0 – 0\.0\s*\]")


def _manager(app: Flask, make_account, role: Role = Role.MANAGER) -> FlaskClient:
    client = app.test_client()
    sign_in(client, make_account(role))
    return client


def _row(html: str, name: str) -> str:
    """The table row headed ``name`` (the first one)."""
    found = re.search(r'<tr><th scope="row">' + re.escape(name) + r"</th>(.*?)</tr>", html,
                      re.S)
    assert found is not None, name
    return found.group(1)


def _cells_without_tags(row: str) -> str:
    return re.sub(r"<[^>]+>", " ", row)


def _pdf_text(app: Flask, db: Session, survey: Survey, tmp_path: Path) -> str:
    with app.test_request_context(), force_locale("en"):
        spec = ReportSpec(KpiQuery(Granularity.QUARTER, date(2027, 1, 1), date(2027, 6, 30)),
                          survey.id, "", date(2027, 7, 1), 10,
                          thresholds_from(app.extensions["integrity.settings"]))
        pdf = build_report(db, spec, lambda *_: None)
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _stored_summary(app: Flask, wave: Wave) -> dict:
    (stored,) = kept_summaries(app, wave.id)
    return stored


def test_a_withheld_unit_publishes_no_count_anywhere(
        app: Flask, db: Session, make_account, filled, tmp_path: Path) -> None:
    survey, wave, org_units = filled
    client = _manager(app, make_account)

    # The wave page: the posts' codes (7/8, 6/7) are withheld; the large crossing's shown.
    html = client.get(f"/dashboard/surveys/waves/{wave.id}").get_data(as_text=True)
    rates = html[html.index('id="rates"'):]
    for name in ("Hill post", "Lake post"):
        row = _row(rates, name)
        assert "withheld" in row and not re.search(r"\d", _cells_without_tags(row)), row
    assert re.findall(r">(\d+)<", _row(rates, "Large crossing"))[:2] == ["40", "30"]
    # The wave's own totals stay: 43 of 55 codes.
    assert "(43/55" in html

    # The trends page: no response rate under a withheld post's figures.
    trends_page = client.get(f"/dashboard/trends?survey={survey.id}").get_data(as_text=True)
    for name in ("Hill post", "Lake post"):
        for row in re.findall(r'<tr><th scope="row">' + name + r"</th>(.*?)</tr>", trends_page,
                              re.S):
            assert "response rate" not in row and "88" not in row and "86" not in row
    assert "response rate 75%" in trends_page  # the large crossing: 30 of 40

    # The trends CSV: the posts' figures, answers and response rates all read "withheld".
    csv_text = client.get(f"/dashboard/export/trends.csv?survey={survey.id}").get_data(
        as_text=True)
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    posts = [row for row in rows if row["unit"] in ("Hill post", "Lake post")]
    assert posts
    for row in posts:
        assert row["response_rate"] == "withheld" and row["answers"] == "withheld", row
        assert row["value"] == "withheld"
    assert {row["response_rate"] for row in rows if row["unit"] == "Large crossing"} == {"0.75"}

    # The charts: the overall figures only, in the title and the text description.
    chart = client.get(f"/dashboard/charts/trend.svg?survey={survey.id}&series=exposure:aware"
                       ).get_data(as_text=True)
    assert "Hill post" not in chart and "Lake post" not in chart

    # The stored summary of the closed wave (JSON): no rate of a withheld post.
    stored = _stored_summary(app, wave)
    assert set(stored["rates"]) == {str(org_units["large"].id)}
    assert stored["withheld_rates"] == sorted([org_units["hill"].id, org_units["lake"].id])
    for series in stored["series"].values():
        for uid in (org_units["hill"].id, org_units["lake"].id):
            assert series[1][str(uid)]["n"] is None and series[1][str(uid)]["e"] is None

    # The administrators' wave page: the same withheld rows.
    admin = _manager(app, make_account, Role.ADMIN)
    waves_page = admin.get(f"/admin/surveys/{survey.id}/waves").get_data(as_text=True)
    for name in ("Hill post", "Lake post"):
        row = _row(waves_page, name)
        assert "withheld" in row and not re.search(r"\d", _cells_without_tags(row)), row

    # The PDF report: the waves' rates only, never a post's.
    if shutil.which("pdftotext"):
        text = _pdf_text(app, db, survey, tmp_path)
        assert "Survey trends" in text
        assert "Hill post" not in text and "88%" not in text and "86%" not in text


def test_answers_that_do_not_fit_the_design_are_said_so_with_the_raw_share(
        app: Flask, db: Session, make_account, filled, tmp_path: Path) -> None:
    survey, wave, _ = filled
    client = _manager(app, make_account)
    # 43 answers: all "same" at p = 0.25 gives π = -0.5; all "no" with a forced "yes" of 0.1
    # gives π = -0.125. Neither is "0 % [0, 0]".
    html = client.get(f"/dashboard/surveys/waves/{wave.id}").get_data(as_text=True)
    bribe = html[html.index('id="q-bribe"'):html.index('id="q-pressure"')]
    pressure = html[html.index('id="q-pressure"'):]
    assert "answers do not fit the design (raw share 100.0%)" in bribe
    assert "answers do not fit the design (raw share 0.0%)" in pressure
    assert not ZERO_WIDTH.search(bribe) and not ZERO_WIDTH.search(pressure.split("</section>")[0])
    assert "estimate from these answers falls outside 0 to 100 % (" in html  # what it means

    trends_page = client.get(f"/dashboard/trends?survey={survey.id}").get_data(as_text=True)
    assert "answers do not fit the design (raw share 100.0%)" in trends_page

    csv_text = client.get(f"/dashboard/export/trends.csv?survey={survey.id}").get_data(
        as_text=True)
    rows = [row for row in csv.DictReader(io.StringIO(csv_text))
            if row["series"] == "I was offered a bribe this year." and row["wave"] == "2"
            and row["unit"].strip("'") == ""]
    assert [(row["value"], row["low"], row["high"], row["answers"], row["raw_share"])
            for row in rows] == [("does not fit the design",) * 3 + ("43", "100.0")]

    stored = _stored_summary(app, wave)
    exposure = {key: figure for key, _, figure, _ in stored["exposure"]}
    assert exposure["bribe"] == {"e": None, "n": 43, "w": None, "u": 1.0}
    assert exposure["pressure"] == {"e": None, "n": 43, "w": None, "u": 0.0}

    if shutil.which("pdftotext"):
        text = " ".join(_pdf_text(app, db, survey, tmp_path).split())
        assert "Wave 2: answers do not fit the design (raw share 100.0%)" in text


def test_a_wave_of_one_small_unit_publishes_no_count_either(
        app: Flask, db: Session, make_account, survey_wave, tmp_path: Path) -> None:
    """The wave's own totals would be the post's counts: they are withheld with them."""
    survey, (_, wave) = survey_wave
    post = add_unit(db, "Hill post", 8)
    add_codes(db, wave, post, 8, 7)
    for i in range(7):
        respond(db, wave, post, withheld_answers(i))
    db.commit()
    client = _manager(app, make_account)

    html = client.get(f"/dashboard/surveys/waves/{wave.id}").get_data(as_text=True)
    facts = html[html.index('<dl class="facts">'):html.index("</dl>")]
    assert "withheld" in facts and "7" not in facts.split("Responses")[1]
    assert "7 answers" not in html and "too few answers" in html
    assert "withheld" in _row(html[html.index('id="rates"'):], "Hill post")

    listing = client.get("/dashboard/surveys/").get_data(as_text=True)
    assert "(7/8)" not in listing and "88%" not in listing and "withheld" in listing

    trends_page = client.get(f"/dashboard/trends?survey={survey.id}").get_data(as_text=True)
    waves_table = trends_page[trends_page.index('id="waves"'):]
    waves_table = waves_table[:waves_table.index("</table>")]
    assert "(7/8)" not in waves_table and "88%" not in waves_table
    assert "withheld" in waves_table
    assert "88%" not in trends_page

    csv_text = client.get(f"/dashboard/export/trends.csv?survey={survey.id}").get_data(
        as_text=True)
    rows = [row for row in csv.DictReader(io.StringIO(csv_text)) if row["wave"] == "2"]
    assert rows and {row["response_rate"] for row in rows} == {"withheld"}

    stored = _stored_summary(app, wave)
    assert stored["wave"][5:] == [None, None, None]  # responses, codes issued and used

    if shutil.which("pdftotext"):
        text = " ".join(_pdf_text(app, db, survey, tmp_path).split())
        assert "2: withheld" in text and "88%" not in text
