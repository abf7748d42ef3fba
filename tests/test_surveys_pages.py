"""The respondents' pages as plain HTML forms (no JavaScript): code, questions, thanks."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from integrity.models import OrgUnit
from surveys.models import AccessCode, Answer, SurveyResponse
from tests.conftest import csrf_token
from tests.helpers.surveys import FORM_ANSWERS, every_type, open_survey_today


def _answer(client, code: str, answers: dict):
    token = csrf_token(client, "/survey")
    return client.post("/survey/answers", data={"csrf_token": token, "code": code, **answers})


def test_the_start_page_asks_for_a_code_and_says_what_is_kept(client) -> None:
    response = client.get("/survey")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<label for="code">Access code</label>' in html
    for words in ("What is kept, and what is not", "not stored with your answers",
                  "not the time", "never for fewer than 10 people"):
        assert words in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_code_opens_the_whole_questionnaire_as_one_form(client, db) -> None:
    setup = open_survey_today(db)
    token = csrf_token(client, "/survey")
    page = client.post("/survey", data={"csrf_token": token, "code": setup.code_for(0).lower()})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Every kind of question" in html
    org_unit = db.get(OrgUnit, setup.org_unit_ids[0]).name
    assert f"Your answers count for {org_unit}" in html
    for key in ("lead", "skipped", "aware", "which", "tell", "years", "offered", "accepted",
                "comment"):
        assert f'name="q-{key}"' in html, key
    # One form for every question (the other one on the page is the language picker).
    assert html.count('id="survey-form"') == 1 and html.count("<form") == 2
    assert 'action="/survey/answers"' in html
    # The statements of the crosswise question and both ways of drawing a digit.
    assert "My mother was born in January, February or March." in html
    assert "Exactly one of the two statements is true" in html
    assert "last digit of a phone number you know well" in html
    assert "If it is 0 or 1, answer “Yes”" in html and "If it is 2, answer “No”" in html
    assert "Draw a digit" in html
    # Without JavaScript the condition is stated in words.
    assert "Answer this only if you answered “Yes” to “Do you know" in html
    assert "Do not write names" in html
    # No inline script or style: the page script is loaded from our origin with SRI.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    script = r'<script type="module" src="/static/dist/survey\.[0-9a-f]{16}\.js" integrity="'
    assert re.search(script, html)


def test_the_qr_link_with_the_code_goes_straight_to_the_questions(client, db) -> None:
    setup = open_survey_today(db)
    page = client.get(f"/survey?code={setup.code_for(1)}")
    assert page.status_code == 200
    assert 'name="q-aware"' in page.get_data(as_text=True)


def test_answers_sent_without_javascript_are_stored_and_the_code_is_used(client, db) -> None:
    setup = open_survey_today(db)
    code = setup.code_for(0)
    done = _answer(client, code, FORM_ANSWERS)
    html = done.get_data(as_text=True)
    assert done.status_code == 200, html
    assert "Thank you" in html and "stored without your code" in html
    assert code not in html and code.replace("-", "") not in html
    db.expire_all()
    response = db.scalar(select(SurveyResponse))
    assert response.org_unit_id == setup.org_unit_ids[0]
    stored = {(a.question, a.item): a.choice if a.number is None else a.number
              for a in db.scalars(select(Answer))}
    assert stored == {("lead", 0): 5, ("skipped", 0): 1, ("aware", 0): 1, ("which", 0): 2,
                      ("tell", 2): 2, ("tell", 3): 3, ("years", 0): 7.0, ("offered", 0): 1,
                      ("accepted", 0): 2}
    assert db.scalar(select(func.count()).select_from(AccessCode).where(AccessCode.used)) == 1
    # The same code again: refused with one sentence, nothing more stored.
    again = _answer(client, code, FORM_ANSWERS)
    assert again.status_code == 409
    assert "This access code has already been used: each code can be used once." in (
        again.get_data(as_text=True))
    entered = client.post("/survey", data={"csrf_token": csrf_token(client, "/survey"),
                                           "code": code})
    assert entered.status_code == 409
    assert db.scalar(select(func.count()).select_from(SurveyResponse)) == 1


def test_refused_answers_come_back_marked_with_what_was_given(client, db) -> None:
    setup = open_survey_today(db)
    page = _answer(client, setup.code_for(0), {"q-lead": "4", "q-years": "300",
                                                "q-tell": ["1", "3"]})
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert 'role="alert"' in html and "Some answers need your attention" in html
    assert 'href="#q-aware-field"' in html and "Please answer this question." in html
    assert "Please give a number from 0 to 45." in html
    assert re.search(r'name="q-lead" value="4" checked', html)
    assert re.search(r'name="q-tell" value="3" checked', html)
    assert 'value="300"' in html
    assert 'aria-invalid="true"' in html
    assert db.scalar(select(func.count()).select_from(SurveyResponse)) == 0
    # Fixed, it goes through with the same code.
    assert _answer(client, setup.code_for(0), {"q-aware": "no"}).status_code == 200


def test_wrong_codes_are_refused_and_guessing_is_slowed(client, db) -> None:
    open_survey_today(db)
    token = csrf_token(client, "/survey")
    wrong = client.post("/survey", data={"csrf_token": token, "code": "0000-0000-0000"})
    assert wrong.status_code == 404
    assert "That access code is not valid." in wrong.get_data(as_text=True)
    short = client.post("/survey", data={"csrf_token": token, "code": "12"})
    assert short.status_code == 404 and "12 letters and digits" in short.get_data(as_text=True)
    statuses = [client.post("/survey", data={"csrf_token": token, "code": "0000-0000-0001"})
                .status_code for _ in range(20)]
    assert statuses[-1] == 429 and set(statuses) == {404, 429}


def test_answers_need_the_form_token(client, db) -> None:
    setup = open_survey_today(db)
    response = client.post("/survey/answers", data={"code": setup.code_for(0), "q-aware": "no"})
    assert response.status_code == 400
    assert db.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_an_open_link_survey_says_it_is_weaker_and_limits_answers(client, db) -> None:
    data = every_type()
    data["open_link"] = True
    setup = open_survey_today(db, definition=data)
    start = client.get("/survey").get_data(as_text=True)
    assert "Surveys open to everyone" in start and f"/survey/open/{setup.survey_id}" in start
    url = f"/survey/open/{setup.survey_id}"
    page = client.get(url).get_data(as_text=True)
    assert "weaker than a survey with access codes" in page
    assert 'name="org_unit"' in page and 'name="code"' not in page
    # Each answer from a fresh page: a form's token is spent when it is sent.
    statuses = [client.post(url, data={"csrf_token": csrf_token(client, url), "q-aware": "yes",
                                       "org_unit": str(setup.org_unit_ids[1])}).status_code
                for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert set(db.scalars(select(SurveyResponse.org_unit_id))) == {setup.org_unit_ids[1]}
    assert client.get("/survey/open/99999").status_code == 404
