"""The administrators' survey builder: questions of every kind added, edited, moved, removed
and previewed; JSON export and import; waves opened and closed; codes as PDF slips and by
e-mail through a real SMTP server; every change audited, and nothing half-stored."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from integrity.audit import AuditEntry, verify
from integrity.models import OrgUnit, Role
from surveys.definitions import QuestionType, load_definition
from surveys.models import AccessCode, Survey, Wave
from tests.conftest import csrf_token
from tests.helpers.mail import Mailbox
from tests.helpers.pages import sign_in


@pytest.fixture
def settings_overrides(smtp: Mailbox) -> dict[str, object]:
    return {"mail_host": "127.0.0.1", "mail_port": smtp.port, "mail_sender": "s@example.org"}


@pytest.fixture
def admin(app, make_account):
    client = app.test_client()
    sign_in(client, make_account(Role.ADMIN))
    return client


def _post(client, url: str, data: dict | None = None, page: str | None = None, **kwargs):
    token = csrf_token(client, page or url)
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def _definition(db, survey_id: int):
    db.expire_all()
    survey = db.get(Survey, survey_id)
    return load_definition(survey.definition)


def _new_survey(admin, db) -> int:
    response = _post(admin, "/admin/surveys/new", {
        "title": "Post integrity 2027", "first_question": "My chief sets a good example."},
        page="/admin/surveys/")
    assert response.status_code == 302
    return int(re.search(r"/admin/surveys/(\d+)$", response.headers["Location"]).group(1))


def _audited(db, action: str) -> int:
    return db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == action)) or 0


def test_a_survey_is_built_question_by_question(admin, db) -> None:
    survey_id = _new_survey(admin, db)
    page = f"/admin/surveys/{survey_id}"
    keys = {}
    for qtype in QuestionType:
        response = _post(admin, f"{page}/questions", {
            "section": "0", "type": qtype.value, "text": f"A {qtype.value} question"}, page=page)
        assert response.status_code == 302, qtype
        keys[qtype] = response.headers["Location"].rsplit("/", 1)[1]
    definition = _definition(db, survey_id)
    assert [q.type for q in definition.questions] == [QuestionType.AGREEMENT, *QuestionType]

    # Edit: options and the right answer of a single choice, a condition on it.
    single = keys[QuestionType.SINGLE]
    response = _post(admin, f"{page}/questions/{single}", {
        "text": "Where do you report corruption?", "help": "Choose one.", "required": "y",
        "options": "The inspectorate\nThe police\nNowhere", "correct": "1"},
        page=f"{page}/questions/{single}")
    assert response.status_code == 302
    text_key = keys[QuestionType.TEXT]
    response = _post(admin, f"{page}/questions/{text_key}", {
        "text": "Anything to add?", "condition_question": single, "condition_values": "3"},
        page=f"{page}/questions/{text_key}")
    assert response.status_code == 302
    definition = _definition(db, survey_id)
    question = definition.question(single)
    assert question.options == ("The inspectorate", "The police", "Nowhere")
    assert question.correct == 1 and question.required and question.help == "Choose one."
    assert definition.question(text_key).condition.question == single

    # A sensitive design with an impossible probability: one sentence, nothing stored.
    crosswise = keys[QuestionType.CROSSWISE]
    before = _definition(db, survey_id)
    response = _post(admin, f"{page}/questions/{crosswise}", {
        "text": "I took money.", "innocuous": "I was born in spring.", "p": "0.5"},
        page=f"{page}/questions/{crosswise}")
    assert response.status_code == 200
    assert "0.5" in response.get_data(as_text=True)
    assert _definition(db, survey_id) == before

    # Move the number question to the top, then remove it (after a confirmation page).
    number = keys[QuestionType.NUMBER]
    for _ in range(8):
        _post(admin, f"{page}/questions/{number}/move", {"direction": "up"}, page=page)
    assert _definition(db, survey_id).questions[0].key == number
    _post(admin, f"{page}/questions/{number}/move", {"direction": "down"}, page=page)
    assert _definition(db, survey_id).questions[1].key == number
    confirm = admin.get(f"{page}/questions/{number}/remove")
    assert confirm.status_code == 200 and "Remove the question" in confirm.get_data(as_text=True)
    _post(admin, f"{page}/questions/{number}/remove", page=f"{page}/questions/{number}/remove")
    assert number not in [q.key for q in _definition(db, survey_id).questions]
    # A question others depend on is not removed.
    _post(admin, f"{page}/questions/{single}/remove", page=f"{page}/questions/{single}/remove")
    assert single in [q.key for q in _definition(db, survey_id).questions]

    # The preview shows every question as a respondent sees it, and sends nowhere.
    preview = admin.get(f"{page}/preview").get_data(as_text=True)
    for question in _definition(db, survey_id).questions:
        assert question.text in preview
    assert "Where do you report corruption?" in preview and "<fieldset disabled>" in preview
    assert 'method="post"' not in preview.split('id="survey-preview"')[1].split("</form>")[0]

    assert _audited(db, "survey_question_added") == len(QuestionType)
    assert _audited(db, "survey_question_changed") == 2
    assert _audited(db, "survey_question_removed") == 1
    assert verify(db).ok


def test_export_and_import_give_the_same_survey(admin, db) -> None:
    response = _post(admin, "/admin/surveys/from-template",
                     {"template": "border-integrity-perception"}, page="/admin/surveys/")
    survey_id = int(response.headers["Location"].rsplit("/", 1)[1])
    exported = admin.get(f"/admin/surveys/{survey_id}/export")
    assert exported.mimetype == "application/json"
    assert "attachment" in exported.headers["Content-Disposition"]
    import io

    response = _post(admin, "/admin/surveys/import", {
        "file": (io.BytesIO(exported.data), "survey.json")}, page="/admin/surveys/",
        content_type="multipart/form-data")
    copy_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert copy_id != survey_id
    assert _definition(db, copy_id) == _definition(db, survey_id)
    assert len(_definition(db, copy_id).questions) > 30
    # A broken file is refused with its reason, and nothing is added.
    count = db.scalar(select(func.count()).select_from(Survey))
    broken = json.loads(exported.data)
    broken["sections"][0]["questions"][0]["type"] = "essay"
    response = _post(admin, "/admin/surveys/import", {
        "file": (io.BytesIO(json.dumps(broken).encode()), "survey.json")},
        page="/admin/surveys/", content_type="multipart/form-data", follow_redirects=True)
    assert "essay" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Survey)) == count


def test_waves_codes_and_locking(admin, db, smtp) -> None:
    survey_id = _new_survey(admin, db)
    org_unit = OrgUnit(name="East crossing", kind="crossing_point", crossing_type="land",
                       headcount=40)
    db.add(org_unit)
    db.commit()
    waves_page = f"/admin/surveys/{survey_id}/waves"
    from integrity.models import today

    day = today().isoformat()
    response = _post(admin, waves_page, {"opens_on": day, "closes_on": "2099-12-31"})
    assert response.status_code == 302
    wave = db.scalar(select(Wave).where(Wave.survey_id == survey_id))
    # A wave that closes before it opens is refused.
    _post(admin, waves_page, {"opens_on": "2099-01-02", "closes_on": "2099-01-01"})
    assert db.scalar(select(func.count()).select_from(Wave)) == 1

    # Printable slips: a PDF, and only hashes stored.
    slips = _post(admin, f"/admin/surveys/waves/{wave.id}/codes",
                  {"units": [str(org_unit.id)], "count": "8"}, page=waves_page)
    assert slips.mimetype == "application/pdf" and slips.data.startswith(b"%PDF")
    assert db.scalar(select(func.count()).select_from(AccessCode)) == 8
    # By e-mail: one code per address, through the SMTP server.
    _post(admin, f"/admin/surveys/waves/{wave.id}/mail",
          {"unit": str(org_unit.id), "addresses": "a@example.org\nb@example.org"}, page=waves_page)
    assert len(smtp.messages) == 2
    assert db.scalar(select(func.count()).select_from(AccessCode)) == 10

    # Opening asks first, then locks the questions; a copy can be changed.
    confirm = admin.get(f"/admin/surveys/waves/{wave.id}/open")
    assert "Open wave 1 now?" in confirm.get_data(as_text=True)
    opening = f"/admin/surveys/waves/{wave.id}/open"
    _post(admin, opening, page=opening)
    db.expire_all()
    assert db.get(Wave, wave.id).state == "open"
    page = f"/admin/surveys/{survey_id}"
    assert "can no longer change" in admin.get(page).get_data(as_text=True)
    before = _definition(db, survey_id)
    _post(admin, f"{page}/questions", {"section": "0", "type": "yesno", "text": "Late?"},
          page=page)
    assert _definition(db, survey_id) == before
    copied = _post(admin, f"{page}/copy", page=page)
    copy_id = int(copied.headers["Location"].rsplit("/", 1)[1])
    _post(admin, f"/admin/surveys/{copy_id}/questions",
          {"section": "0", "type": "yesno", "text": "Late?"}, page=f"/admin/surveys/{copy_id}")
    assert len(_definition(db, copy_id).questions) == len(before.questions) + 1
    # The title can still change on the locked survey.
    _post(admin, page, {"title": "Post integrity 2027 (spring)", "introduction": ""})
    assert _definition(db, survey_id).title == "Post integrity 2027 (spring)"

    _post(admin, f"/admin/surveys/waves/{wave.id}/close",
          page=f"/admin/surveys/waves/{wave.id}/close")
    db.expire_all()
    assert db.get(Wave, wave.id).state == "closed"
    for action in ("wave_added", "codes_issued", "codes_mailed", "wave_opened", "wave_closed",
                   "survey_created", "survey_changed"):
        assert _audited(db, action) >= 1, action
    assert verify(db).ok


def test_only_admins_reach_the_builder(app, make_account, db, admin) -> None:
    survey_id = _new_survey(admin, db)
    for role in (Role.MANAGER, Role.INSPECTOR):
        client = app.test_client()
        sign_in(client, make_account(role))
        for path in ("/admin/surveys/", f"/admin/surveys/{survey_id}",
                     f"/admin/surveys/{survey_id}/waves", f"/admin/surveys/{survey_id}/export"):
            assert client.get(path).status_code == 403, (role, path)
    assert app.test_client().get("/admin/surveys/").status_code == 302
