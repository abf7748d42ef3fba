"""Surveys in several languages: respondents read them in their page's language, managers in
theirs, administrators translate every text on one page, and answers given in any language
make one set of results."""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from integrity.audit import AuditEntry
from integrity.models import OrgUnit, Role, User, today
from surveys.codes import issue_codes
from surveys.definitions import load_definition, localize, parse_definition
from surveys.models import Survey, Wave
from surveys.results import WaveResults, thresholds_from, wave_results
from surveys.services import create_survey
from surveys.waves import create_wave, open_wave
from tests.conftest import CSRF_FIELD, csrf_token
from tests.helpers.cli import run
from tests.helpers.pages import sign_in
from tests.helpers.surveys import question_of, translated_every_type


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # A few responses are enough to publish every figure here.
    return {"survey_min_responses": 2, "survey_min_sensitive": 2}


def _open_wave(db, data: dict[str, Any], codes: int) -> tuple[int, int, list[str]]:
    org_unit = db.scalar(select(OrgUnit).where(OrgUnit.name == "Translated crossing"))
    if org_unit is None:
        org_unit = OrgUnit(name="Translated crossing", kind="crossing_point", headcount=40)
        db.add(org_unit)
        db.flush()
    survey = create_survey(db, parse_definition(data))
    wave = create_wave(db, survey, today() - timedelta(days=1), today() + timedelta(days=10))
    open_wave(db, wave, today())
    issued = issue_codes(db, b"test-secret-key", wave, {org_unit: codes})
    db.commit()
    return survey.id, wave.id, [c.code for c in issued]


# --------------------------------------------------------------- respondents


def test_the_respondent_page_in_french_shows_french_texts_and_the_default_where_missing(
        app, client, db) -> None:
    _, _, codes = _open_wave(db, translated_every_type(), 1)
    html = client.get(f"/survey?code={codes[0]}&lang=fr").get_data(as_text=True)
    assert "<title>Toutes sortes de questions" in html
    assert "<h1>Toutes sortes de questions</h1>" in html
    assert "Ici, les chefs donnent l&#39;exemple." in html
    assert "Qu&#39;est-ce qui est vrai à son sujet ?" in html
    assert "Il vous donne un reçu" in html and "It gives you a receipt" not in html
    assert "Ma mère est née en janvier, février ou mars." in html
    # No French for these: the default language's text stands in.
    assert "How often are checks skipped?" in html
    assert "In the last 12 months someone offered me a bribe." in html
    # Texts shown in the default language say so, for screen readers; translated ones do not.
    assert '<legend><span lang="en" dir="ltr">How often are checks skipped?</span>' in html
    assert '<p class="lead" lang="en" dir="ltr">A short test survey.</p>' in html
    assert '<span lang="en" dir="ltr">My superior</span>' in html
    assert "<legend>Ici, les chefs donnent l&#39;exemple.</legend>" in html
    assert '<li lang="en" dir="ltr">In the last 12 months someone offered me a bribe.</li>' in html
    # The answers stay the same codes in every language.
    assert 'name="q-which" value="2"' in html
    # The form goes on in French.
    assert 'action="/survey/answers?lang=fr"' in html
    english = client.get(f"/survey?code={codes[0]}&lang=en").get_data(as_text=True)
    assert "<h1>Every kind of question</h1>" in english and "Ici, les chefs" not in english
    assert 'lang="en" dir="ltr">' not in english.split("<main", 1)[1].split("</main>")[0]


# --------------------------------------------------------------- one set of results

ANSWER_SETS = [
    {"q-lead": "5", "q-skipped": "1", "q-aware": "yes", "q-which": "2", "q-tell": ["1", "2"],
     "q-years": "7", "q-offered": "same", "q-accepted": "no"},
    {"q-lead": "2", "q-skipped": "4", "q-aware": "yes", "q-which": "1", "q-tell": ["3"],
     "q-years": "20", "q-offered": "different", "q-accepted": "yes"},
    {"q-lead": "4", "q-skipped": "3", "q-aware": "no", "q-tell": ["2"], "q-years": "3",
     "q-offered": "same", "q-accepted": "no"},
    {"q-lead": "3", "q-skipped": "2", "q-aware": "prefer_not", "q-years": "11",
     "q-offered": "different", "q-accepted": "no"},
    {"q-lead": "1", "q-skipped": "5", "q-aware": "yes", "q-which": "2", "q-tell": ["1", "3"],
     "q-years": "30", "q-offered": "same", "q-accepted": "yes"},
    {"q-lead": "5", "q-skipped": "2", "q-aware": "yes", "q-which": "3", "q-tell": ["2"],
     "q-years": "1", "q-offered": "same", "q-accepted": "no"},
]


def _answer_through_the_pages(client, code: str, language: str | None,
                              answers: dict[str, Any]) -> str:
    query = f"&lang={language}" if language else ""
    page = client.get(f"/survey?code={code}{query}").get_data(as_text=True)
    match = CSRF_FIELD.search(page)
    assert match
    token = next(group for group in match.groups() if group)
    action = re.search(r'<form method="post" action="([^"]+)" id="survey-form"', page)
    assert action
    done = client.post(action.group(1).replace("&amp;", "&"),
                       data={"csrf_token": token, "code": code, **answers})
    assert done.status_code == 200, done.get_data(as_text=True)
    return page


def _figures(results: WaveResults) -> list[Any]:
    """Every figure of the results, without the names they are shown under."""
    out: list[Any] = [results.responses, results.used, results.issued, results.comments]
    for q in results.questions:
        out.append((q.question.key, q.kind, q.n, q.headline,
                    [share.figure for share in q.distribution], sorted(q.org_units.values(),
                                                                       key=repr)))
    for index in results.indices:
        out.append((index.name, index.overall, index.weighted, sorted(index.org_units.values(),
                                                                      key=repr)))
    return out


def test_a_survey_answered_in_three_languages_gives_the_results_of_one_language(
        app, client, db, make_account) -> None:
    data = translated_every_type()
    _, several_wave, several_codes = _open_wave(db, data, len(ANSWER_SETS))
    _, one_wave, one_codes = _open_wave(db, copy.deepcopy(data), len(ANSWER_SETS))
    languages = ["fr", "ar", "ru"]
    for n, answers in enumerate(ANSWER_SETS):
        language = languages[n % 3]
        page = _answer_through_the_pages(client, several_codes[n], language, answers)
        assert f'<html lang="{language}"' in page
        if language == "ru":
            assert "Руководители здесь подают пример." in page and "Выдаётся квитанция" in page
        _answer_through_the_pages(client, one_codes[n], None, answers)
    db.expire_all()
    thresholds = thresholds_from(app.extensions["integrity.settings"])
    several = wave_results(db, db.get(Wave, several_wave), thresholds)
    one = wave_results(db, db.get(Wave, one_wave), thresholds)
    assert several.responses == len(ANSWER_SETS)
    assert _figures(several) == _figures(one)
    assert several.question("which").distribution[1].figure.estimate is not None
    # Read in Russian, the same figures carry the Russian names.
    russian = wave_results(db, db.get(Wave, several_wave), thresholds, "ru")
    assert _figures(russian) == _figures(several)
    assert russian.question("which").distribution[1].label == "Выдаётся квитанция"

    manager = make_account(Role.MANAGER)
    db.get(User, db.scalar(select(User.id).where(User.email == manager.email))).language = "ru"
    db.commit()
    reader = app.test_client()
    sign_in(reader, manager)
    html = reader.get(f"/dashboard/surveys/waves/{several_wave}").get_data(as_text=True)
    assert "<h1>Все виды вопросов" in html
    assert "Руководители здесь подают пример." in html and "Что из этого верно?" in html
    assert "Выдаётся квитанция" in html and "It gives you a receipt" not in html
    listing = reader.get("/dashboard/surveys/").get_data(as_text=True)
    assert "Все виды вопросов" in listing
    survey_id = db.get(Wave, several_wave).survey_id
    trends = reader.get(f"/dashboard/trends?survey={survey_id}").get_data(as_text=True)
    assert "Все виды вопросов" in trends
    # The CSV keeps the default language's texts, whoever downloads it.
    csv = reader.get(f"/dashboard/export/trends.csv?survey={survey_id}").get_data(as_text=True)
    assert "In the last 12 months someone offered me a bribe." in csv


# --------------------------------------------------------------- the translation page


@pytest.fixture
def admin(app, make_account):
    client = app.test_client()
    sign_in(client, make_account(Role.ADMIN))
    return client


def _translations_of(db, survey_id: int) -> dict[str, Any]:
    db.expire_all()
    return json.loads(db.get(Survey, survey_id).definition)


def _audited(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "survey_translated")) or 0


def test_the_translation_page_saves_arabic_texts_with_one_audit_entry(admin, db) -> None:
    survey_id, _, _ = _open_wave(db, translated_every_type(), 1)  # a wave has opened
    index = admin.get("/admin/surveys/").get_data(as_text=True)
    assert "Missing translation" in index
    page_url = f"/admin/surveys/{survey_id}/translations/ar"
    assert admin.get(f"/admin/surveys/{survey_id}/translations").headers["Location"].endswith(
        f"/admin/surveys/{survey_id}/translations/fr")
    html = admin.get(page_url).get_data(as_text=True)
    # Every text, the default beside each input, markers, Arabic written right to left.
    assert html.count("Missing translation") >= 10
    for name in ("title", "introduction", "s2-title", "s2-introduction", "q-lead-text",
                 "q-tell-help", "q-which-option-3", "q-offered-innocuous"):
        assert f'name="{name}"' in html, name
    assert 'name="q-which-option-3" value="" lang="ar" dir="rtl"' in html
    assert "It goes to your chief" in html
    for code in ("fr", "ru", "tr", "uk", "es"):
        assert f"/admin/surveys/{survey_id}/translations/{code}" in html

    form = {"csrf_token": csrf_token(admin, page_url), "title": "كل أنواع الأسئلة (محدّث)",
            "q-lead-text": "المديرون هنا قدوة حسنة.", "q-which-option-1": "يطلب اسمك",
            "q-which-option-2": "يعطيك إيصالاً", "q-which-option-3": "يذهب إلى رئيسك",
            "q-offered-innocuous": "ولدت أمي في كانون الثاني أو شباط أو آذار."}
    saved = admin.post(page_url, data=form)
    assert saved.status_code == 302
    stored = _translations_of(db, survey_id)
    assert stored["translations"]["ar"]["title"] == "كل أنواع الأسئلة (محدّث)"
    assert stored["translations"]["fr"] == {"title": "Toutes sortes de questions"}
    which = question_of(stored, "which")
    assert which["translations"]["ar"]["options"][1] == "يعطيك إيصالاً"
    assert which["translations"]["ru"]["options"][1] == "Выдаётся квитанция"
    # A text left blank has no Arabic: the default language's text stands in.
    assert "ar" not in question_of(stored, "skipped").get("translations", {})
    assert question_of(stored, "lead")["translations"]["ar"] == {
        "text": "المديرون هنا قدوة حسنة."}
    assert _audited(db) == 1
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "survey_translated"))
    assert entry.subject == f"survey:{survey_id}" and json.loads(entry.details)["language"] == "ar"
    again = admin.get(page_url).get_data(as_text=True)
    assert 'value="يعطيك إيصالاً" lang="ar" dir="rtl"' in again
    arabic = localize(load_definition(db.get(Survey, survey_id).definition), "ar")
    assert arabic.question("which").options[2] == "يذهب إلى رئيسك"
    preview = admin.get(f"{page_url}/preview").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in preview
    assert "يذهب إلى رئيسك" in preview and "كل أنواع الأسئلة (محدّث)" in preview


def test_a_refused_translation_keeps_the_typed_text_and_stores_nothing(admin, db) -> None:
    survey_id, _, _ = _open_wave(db, translated_every_type(), 1)
    before = _translations_of(db, survey_id)
    page_url = f"/admin/surveys/{survey_id}/translations/ar"
    refused = admin.post(page_url, data={
        "csrf_token": csrf_token(admin, page_url), "title": "عنوان جديد",
        "q-which-option-1": "يطلب اسمك"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "needs every option translated, or none" in html
    assert 'value="عنوان جديد"' in html and 'value="يطلب اسمك"' in html
    assert _translations_of(db, survey_id) == before
    assert _audited(db) == 0
    # Only the configured other languages have a page.
    assert admin.get(f"/admin/surveys/{survey_id}/translations/en").status_code == 404
    assert admin.get(f"/admin/surveys/{survey_id}/translations/xx").status_code == 404


def test_editing_a_question_keeps_its_translations(admin, db) -> None:
    survey_id = create_survey(db, parse_definition(translated_every_type())).id
    db.commit()
    page = f"/admin/surveys/{survey_id}/questions/which"
    saved = admin.post(page, data={
        "csrf_token": csrf_token(admin, page), "text": "Which of these is true of it?",
        "options": "It needs your name\nIt gives you a receipt\nIt goes to your chief",
        "correct": "2", "condition_question": "aware", "condition_values": "yes"})
    assert saved.status_code == 302
    which = question_of(_translations_of(db, survey_id), "which")
    assert which["translations"]["ru"]["options"][1] == "Выдаётся квитанция"
    # With one more option, the translated options no longer match and are dropped alone.
    saved = admin.post(page, data={
        "csrf_token": csrf_token(admin, page), "text": "Which of these is true of it?",
        "options": "It needs your name\nIt gives you a receipt\nIt goes to your chief\nNone",
        "condition_question": "aware", "condition_values": "yes"})
    assert saved.status_code == 302
    which = question_of(_translations_of(db, survey_id), "which")
    assert which["translations"]["ru"] == {"text": "Что из этого верно?"}


# --------------------------------------------------------------- import and export


def test_export_then_import_keeps_every_language(admin, db) -> None:
    survey_id = create_survey(db, parse_definition(translated_every_type())).id
    db.commit()
    exported = admin.get(f"/admin/surveys/{survey_id}/export").get_data(as_text=True)
    assert json.loads(exported)["translations"]["ar"]["title"] == "كل أنواع الأسئلة"
    page = "/admin/surveys/"
    imported = admin.post("/admin/surveys/import", data={
        "csrf_token": csrf_token(admin, page),
        "file": (io.BytesIO(exported.encode()), "survey.json")},
        content_type="multipart/form-data")
    assert imported.status_code == 302
    new_id = int(imported.headers["Location"].rsplit("/", 1)[1])
    original = load_definition(db.get(Survey, survey_id).definition)
    db.expire_all()
    assert load_definition(db.get(Survey, new_id).definition) == original
    for language in ("fr", "ar", "ru"):
        assert localize(load_definition(db.get(Survey, new_id).definition), language) == \
            localize(original, language)


def test_the_command_line_round_trip_keeps_every_language(env, tmp_path) -> None:
    assert run(env, "init").returncode == 0
    data = translated_every_type()
    source = tmp_path / "survey.json"
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    added = run(env, "survey", "import", str(source))
    assert added.returncode == 0, added.stderr
    exported = run(env, "survey", "export", "1")
    assert exported.returncode == 0 and json.loads(exported.stdout) == data
    again = tmp_path / "again.json"
    again.write_text(exported.stdout, encoding="utf-8")
    assert run(env, "survey", "import", str(again)).returncode == 0
    assert run(env, "survey", "export", "2").stdout == exported.stdout
    assert "Выдаётся квитанция" in exported.stdout and "كل أنواع الأسئلة" in exported.stdout
