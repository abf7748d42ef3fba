"""Dates, numbers and percentages as each reader's language writes them (CLDR through Babel),
on the filters and on real pages, while the CSV exports keep ISO dates and dot decimals; on
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, datetime

import pytest
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import (
    format_decimal,
    format_percent,
    get_minus_sign_symbol,
    get_plus_sign_symbol,
)
from flask import Flask
from flask_babel import force_locale, ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity import formatting
from integrity.models import Channel, Role, User
from integrity.reporting.models import Report
from surveys.models import Survey, Wave
from surveys.result_labels import unfit_text
from tests.helpers.pages import sign_in
from tests.helpers.reports import file_report

LANGUAGES = ("en", "fr", "ar", "ru", "tr")
DAY = date(2027, 6, 1)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"languages": LANGUAGES}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_filters_give_each_languages_cldr_forms(app: Flask, lang: str) -> None:
    with app.test_request_context(), force_locale(lang):
        assert formatting.number(1234.5) == format_decimal(1234.5, locale=lang)
        assert formatting.number(2.25, 2) == format_decimal(2.25, locale=lang)
        assert formatting.percent(55.6) == format_percent(0.556, locale=lang,
                                                          decimal_quantization=False)
        assert formatting.share(0.75) == format_percent(0.75, locale=lang)
        assert formatting.day(DAY) == format_date(DAY, "medium", locale=lang)
        assert formatting.day(DAY, "long") == format_date(DAY, "long", locale=lang)
        moment = datetime(2027, 6, 1, 14, 5, 9)
        assert formatting.moment(moment) == format_datetime(moment, "medium", tzinfo=None,
                                                            locale=lang)
        assert formatting.month(DAY) == format_skeleton("yMMM", DAY, locale=lang)
        assert formatting.signed(-1.25, 2) == (get_minus_sign_symbol(lang)
                                               + format_decimal(1.25, locale=lang))
        assert formatting.signed(2.5) == get_plus_sign_symbol(lang) + format_decimal(2.5,
                                                                                      locale=lang)
        assert formatting.number(None) == formatting.percent(None) == "–"


def test_a_few_literal_anchors(app: Flask) -> None:
    with app.test_request_context():
        with force_locale("en"):
            assert formatting.number(55.56) == "55.6"
            assert formatting.percent(55.6) == "55.6%"
            assert formatting.signed(2.5) == "+2.5"
            assert formatting.day(DAY) == "Jun 1, 2027"
        with force_locale("fr"):
            assert formatting.number(55.56) == "55,6"  # the decimal comma
            assert formatting.percent(55.6) == "55,6\u00a0%"
            assert formatting.number(0.5, 2) == "0,50"
            assert formatting.day(DAY) == "1 juin 2027"
        with force_locale("tr"):
            assert formatting.percent(55.6) == "%55,6"  # the sign goes first
        with force_locale("ru"):
            assert formatting.signed(-1.0) == "-1,0"
            assert "июн" in formatting.day(DAY)


def test_the_raw_share_of_unfit_answers_follows_the_language(app: Flask) -> None:
    with app.test_request_context(), force_locale("fr"):
        assert "50,0\u00a0%" in unfit_text(0.5)
    with app.test_request_context(), force_locale("tr"):
        assert "%50,0" in unfit_text(0.5)


def _as(db: Session, account_id: int, lang: str) -> None:
    user = db.get(User, account_id)
    assert user is not None
    user.language = lang
    db.commit()


def test_the_trends_page_in_french_has_decimal_commas_and_french_months_its_csv_does_not(
        app: Flask, db: Session, make_account,
        filled: tuple[Survey, Wave, dict],
) -> None:
    survey, wave, _ = filled
    account = make_account(Role.MANAGER)
    _as(db, account.id, "fr")
    client = app.test_client()
    sign_in(client, account)

    page = client.get(f"/dashboard/trends?survey={survey.id}").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", page)
    # French dates and month names: "1 juin 2027 – 21 juin 2027", "juin 2027".
    assert format_date(wave.opens_on, "medium", locale="fr") == "1 juin 2027"
    assert "1 juin 2027 – 21 juin 2027" in text
    assert format_skeleton("yMMM", wave.opens_on, locale="fr") in text
    assert "2027-06-01" not in text
    # The rates and the raw share of the answers that do not fit the design, the French way.
    assert "78\u00a0% (43/55)" in text  # the wave: 43 of 55 codes used
    assert "75\u00a0%" in text  # the large crossing: 30 of 40
    assert "100,0\u00a0%" in text and "0,0\u00a0%" in text  # every "same", every "no"
    assert not re.search(r"\d\.\d", text)

    # The CSV of the same figures: ISO dates and dot decimals, as the docs describe.
    rows = list(csv.DictReader(io.StringIO(client.get(
        f"/dashboard/export/trends.csv?survey={survey.id}").get_data(as_text=True))))
    overall = [row for row in rows if row["unit"] == "" and row["wave"] == "2"]
    assert [row["raw_share"] for row in overall] == ["100.0", "0.0"]
    assert {row["response_rate"] for row in overall} == {"0.7818"}
    assert {row["opens_on"] for row in overall} == {"2027-06-01"}

    # The chart's description says the month the same way.
    found = re.search(r'"(/dashboard/charts/trend\.svg\?[^"]+)"', page)
    assert found is not None
    chart = client.get(html.unescape(found.group(1))).get_data(as_text=True)
    assert chart.startswith("<svg") or "<svg" in chart[:200]
    assert "juin 2027" in chart


def test_the_wave_page_in_french_shows_french_dates_and_rates(
        app: Flask, db: Session, make_account,
        filled: tuple[Survey, Wave, dict],
) -> None:
    _, wave, _ = filled
    account = make_account(Role.MANAGER)
    _as(db, account.id, "fr")
    client = app.test_client()
    sign_in(client, account)
    page = client.get(f"/dashboard/surveys/waves/{wave.id}").get_data(as_text=True)
    assert "1 juin 2027 – 21 juin 2027" in page
    assert "78\u00a0% (43/55" in page  # 43 of 55 codes used
    text = re.sub(r"<[^>]+>", " ", page)
    # Estimates and their intervals with decimal commas: "66,7 % [52,1 – 79,0]".
    assert re.search(r"\d,\d\u00a0%\s+\[\d+,\d – \d+,\d\]", text), text
    assert not re.search(r"\d\.\d", text)


def test_an_inspectors_case_page_in_russian_shows_russian_dates(
        app: Flask, client, login, channel, db: Session, make_account) -> None:
    account = make_account(Role.INSPECTOR)
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    assert ch is not None
    user = db.get(User, account.id)
    assert user is not None
    ch.recipients.append(user)
    user.language = "ru"
    db.commit()
    report_id = file_report(client, channel)
    created = db.get(Report, report_id)
    assert created is not None
    login(account)

    page = client.get(f"/cases/{report_id}").get_data(as_text=True)
    received = format_date(created.created_on, "medium", locale="ru")
    assert received in page
    assert created.created_on.isoformat() not in re.sub(r'(datetime|value)="[^"]*"', "", page)
    month = format_skeleton("MMM", created.created_on, locale="ru")
    assert month in page and re.search("[а-я]", month)
    inbox = client.get("/cases/").get_data(as_text=True)
    assert received in inbox


def test_the_report_periods_in_french_are_named_in_french_and_stay_iso_in_the_csv(
        app: Flask, db: Session, make_account) -> None:
    account = make_account(Role.MANAGER)
    _as(db, account.id, "fr")
    client = app.test_client()
    sign_in(client, account)
    for granularity, start, shown, exported in (
            ("quarter", "2027-04", format_skeleton("yQQQ", date(2027, 4, 1), locale="fr"),
             "2027 Q2"),
            ("month", "2027-06", format_skeleton("yMMM", date(2027, 6, 1), locale="fr"),
             "2027-06")):
        args = f"granularity={granularity}&start={start}&end=2027-06"
        page = client.get(f"/dashboard/?{args}").get_data(as_text=True)
        periods = page[page.index('id="periods"'):page.index('id="outcomes"')]
        cells = re.findall(r'<th scope="row"[^>]*>(.*?)</th>', periods, re.S)
        assert any(cell.startswith(shown) for cell in cells), cells
        assert not any(exported in cell for cell in cells)
        lines = client.get(f"/dashboard/export/periods.csv?{args}").get_data(as_text=True)
        assert exported in lines and shown not in lines
    assert format_skeleton("yQQQ", date(2027, 4, 1), locale="fr") == "T2 2027"


def test_the_plain_mailbox_in_russian_shows_russian_dates(client, channel, db: Session) -> None:
    from tests.conftest import csrf_token
    from tests.helpers.reports import RECEIPT, file_plain_form, plain_mailbox_token

    html = file_plain_form(client, channel).get_data(as_text=True)
    receipt = RECEIPT.search(html).group(1)  # type: ignore[union-attr]
    token = csrf_token(client, "/mailbox?lang=ru")
    reply = client.post("/mailbox/reply?lang=ru", data={
        "csrf_token": token, "mailbox_token": plain_mailbox_token(client, receipt),
        "text": "По ночам."},
        content_type="multipart/form-data")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    page = client.post("/mailbox?lang=ru", data={"csrf_token": token, "receipt": receipt}
                       ).get_data(as_text=True)
    filed = db.scalar(select(Report.created_on))
    assert filed is not None
    shown = format_date(filed, "medium", locale="ru")
    assert page.count(shown) >= 2  # the report's day and the reply's
    assert filed.isoformat() not in re.sub(r'(datetime|value)="[^"]*"', "", page)


def test_the_pdf_report_in_french_has_french_dates_periods_and_rates(
        app: Flask, db: Session, filled: tuple[Survey, Wave, dict],
        tmp_path) -> None:
    import subprocess

    from integrity.dashboard.kpis import Granularity, KpiQuery
    from integrity.dashboard.report_pdf import ReportSpec, build_report
    from surveys.results import thresholds_from

    survey, _, _ = filled
    with app.test_request_context(), force_locale("fr"):
        spec = ReportSpec(KpiQuery(Granularity.QUARTER, date(2027, 1, 1), date(2027, 6, 30)),
                          survey.id, "", date(2027, 7, 1), 10,
                          thresholds_from(app.extensions["integrity.settings"]))
        pdf = build_report(db, spec, lambda *_: None)
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert format_date(date(2027, 7, 1), "long", locale="fr") == "1 juillet 2027"
    assert "1 juillet 2027" in text and "2027-07-01" not in text
    assert "T1 2027" in text and "T2 2027" in text  # the periods
    assert "78 %" in text.replace("\u00a0", " ").replace("\u202f", " ")  # 43 of 55 codes
    assert "100,0" in text  # the raw share of the answers that do not fit the design


def test_the_wave_page_says_codes_used_with_the_plural_form_of_its_count(
        app: Flask, db: Session, make_account,
        filled: tuple[Survey, Wave, dict],
) -> None:
    _, wave, _ = filled
    account = make_account(Role.MANAGER)
    _as(db, account.id, "ru")
    client = app.test_client()
    sign_in(client, account)
    page = client.get(f"/dashboard/surveys/waves/{wave.id}").get_data(as_text=True)
    with app.test_request_context(), force_locale("ru"):
        expected = ngettext("%(used)d/%(num)d code used", "%(used)d/%(num)d codes used", 55,
                            used=43)
    assert expected != "43/55 codes used" and f"({expected})" in page
