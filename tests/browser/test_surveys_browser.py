"""Real Chromium answers a survey with a code: every kind of question, both sensitive designs,
with JavaScript (sections, conditions, the die) and without it (one plain form)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from playwright.sync_api import expect
from sqlalchemy import select

from integrity.models import today
from surveys.definitions import DIFFERENT, NO, SAME, YES
from surveys.models import AccessCode, Answer, Comment, SurveyResponse
from tests.helpers.browser import RecordingApp
from tests.helpers.surveys import open_survey

COMMENT = "The scanner at lane 2 is often switched off."


def _stored(db) -> dict[tuple[str, int], object]:
    db.expire_all()
    return {(a.question, a.item): a.choice if a.number is None else a.number
            for a in db.scalars(select(Answer))}


EXPECTED = {
    ("lead", 0): 4, ("skipped", 0): 2, ("aware", 0): YES, ("which", 0): 2, ("tell", 1): 1,
    ("tell", 3): 3, ("years", 0): 12.5, ("offered", 0): DIFFERENT, ("accepted", 0): YES,
}


def _sent_answers(recorder: RecordingApp) -> dict[str, list[str]]:
    (post,) = recorder.posts("/survey/answers")
    return parse_qs(post.body.decode(), keep_blank_values=True)


def _no_wider_than_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _every_control_labelled(page) -> None:
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
             .map(e => e.name)""")
    assert unlabelled == []


def test_with_javascript_a_respondent_answers_section_by_section(open_page, base_url, recorder,
                                                                  db) -> None:
    setup = open_survey(db, today=today())
    code = setup.code_for(0)
    page = open_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    page.goto(f"{base_url}/survey?code={code}")
    # The code leaves the address bar as soon as the page script runs.
    page.wait_for_selector("#survey-pager:not([hidden])")
    assert page.evaluate("location.search") == "" and "code" not in page.url
    _no_wider_than_the_phone(page)
    _every_control_labelled(page)

    step = page.locator("#survey-step")
    assert step.inner_text() == "Part 1 of 4"
    assert page.locator("#section-2").is_hidden()
    assert page.locator("#survey-submit").is_hidden()
    page.get_by_label("Agree", exact=True).first.check()
    page.locator("input[name=q-skipped][value='2']").check()
    page.get_by_role("button", name="Next").click()
    assert step.inner_text() == "Part 2 of 4"
    assert page.evaluate("document.activeElement.id") == "section-2"

    # A required question stops the way forward until it is answered.
    page.get_by_role("button", name="Next").click()
    assert page.get_by_text("Please answer this question.").is_visible()
    assert step.inner_text() == "Part 2 of 4"
    # The follow-up shows only after "Yes", and its hint for the plain form is not shown.
    which = page.locator("#q-which-field")
    page.locator("input[name=q-aware][value=no]").check()
    assert which.is_hidden()
    page.locator("input[name=q-aware][value=yes]").check()
    assert which.is_visible()
    assert page.locator("#q-which-condition").is_hidden()
    page.get_by_label("It gives you a receipt").check()
    page.get_by_label("My superior").check()
    page.get_by_label("Nobody").check()
    page.get_by_label("Years in the service?").fill("12.5")
    page.get_by_role("button", name="Next").click()

    # Crosswise: two statements, answered together.
    assert page.get_by_text("My mother was born in January, February or March.").is_visible()
    page.get_by_label("Exactly one of the two statements is true").check()
    # Forced response: the digit is drawn here and shown only here.
    forced = page.locator("#q-accepted-field")
    assert forced.locator("[data-forced-plain]").is_hidden()
    forced.get_by_role("button", name="Draw a digit").click()
    result = forced.locator("[data-die-result]").inner_text()
    assert re.fullmatch(r"Your digit is \d: answer (“Yes”, whatever the truth|“No”, whatever "
                        r"the truth|truthfully)\.", result), result
    digits = {result[14]}
    for _ in range(30):
        forced.get_by_role("button", name="Draw a digit").click()
        digits.add(forced.locator("[data-die-result]").inner_text()[14])
    assert len(digits) >= 4 and digits <= set("0123456789")
    forced.get_by_label("Yes").check()
    page.get_by_role("button", name="Next").click()

    assert step.inner_text() == "Part 4 of 4"
    assert page.get_by_text("Do not write names").is_visible()
    page.get_by_label("Anything you would like to add?").fill(COMMENT)
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_selector("text=Thank you")
    _no_wider_than_the_phone(page)

    assert _stored(db) == EXPECTED
    assert [c.text for c in db.scalars(select(Comment))] == [COMMENT]
    assert db.scalar(select(SurveyResponse.org_unit_id)) == setup.org_unit_ids[0]
    # What was sent: the form token, the code and the answers; no digit, nothing else.
    sent = _sent_answers(recorder)
    assert set(sent) == {"csrf_token", "code", "q-lead", "q-skipped", "q-aware", "q-which",
                         "q-tell", "q-years", "q-offered", "q-accepted", "q-comment"}
    assert sent["q-accepted"] == ["yes"]
    assert page.console_errors == []
    assert page.context.cookies() == []  # the respondent's device keeps no cookie, HttpOnly or not


def test_with_javascript_answers_to_a_question_hidden_again_are_not_sent(open_page, base_url,
                                                                          recorder, db) -> None:
    setup = open_survey(db, today=today())
    page = open_page()
    page.goto(f"{base_url}/survey")
    page.get_by_label("Access code").fill(setup.code_for(1).lower().replace("-", " "))
    page.get_by_role("button", name="Start the survey").click()
    page.get_by_role("button", name="Next").click()
    page.locator("input[name=q-aware][value=yes]").check()
    page.get_by_label("It needs your name").check()
    page.locator("input[name=q-aware][value=no]").check()
    for _ in range(2):
        page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_selector("text=Thank you")
    assert "q-which" not in _sent_answers(recorder)
    assert _stored(db) == {("aware", 0): NO}
    assert page.console_errors == []


def test_without_javascript_the_whole_survey_is_one_plain_form(open_page, base_url, recorder,
                                                               db) -> None:
    setup = open_survey(db, today=today())
    page = open_page(java_script_enabled=False, viewport={"width": 360, "height": 740})
    page.goto(f"{base_url}/survey")
    page.get_by_label("Access code").fill(setup.code_for(1))
    page.get_by_role("button", name="Start the survey").click()
    # Every section at once, the conditions in words, the digit from a phone number.
    expect(page.locator("#section-1")).to_be_visible()
    for number in range(1, 5):
        assert page.locator(f"#section-{number}").is_visible()
    assert page.locator("#survey-pager").is_hidden()
    assert page.locator("#q-which-condition").is_visible()
    forced = page.locator("#q-accepted-field")
    assert forced.locator("[data-forced-plain]").is_visible()
    assert "phone number you know well" in forced.locator("[data-forced-plain]").inner_text()
    assert forced.locator("[data-die]").is_hidden()
    _no_wider_than_the_phone(page)
    _every_control_labelled(page)

    page.locator("input[name=q-lead][value='4']").check()
    page.locator("input[name=q-skipped][value='2']").check()
    page.locator("input[name=q-aware][value=yes]").check()
    page.get_by_label("It gives you a receipt").check()
    page.get_by_label("My superior").check()
    page.get_by_label("Nobody").check()
    page.get_by_label("Years in the service?").fill("12,5")
    page.get_by_label("Both statements are true, or neither is").check()
    forced.get_by_label("No").check()
    page.get_by_label("Anything you would like to add?").fill(COMMENT)
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_selector("text=Thank you")

    expected = {**EXPECTED, ("offered", 0): SAME, ("accepted", 0): NO}
    assert _stored(db) == expected
    assert db.scalar(select(SurveyResponse.org_unit_id)) == setup.org_unit_ids[1]
    db.expire_all()
    assert db.scalar(select(AccessCode.used).where(AccessCode.used)) is True
    # Used once: the same code again is refused in plain words.
    page.goto(f"{base_url}/survey")
    page.get_by_label("Access code").fill(setup.code_for(1))
    page.get_by_role("button", name="Start the survey").click()
    expect(page.get_by_text("This access code has already been used")).to_be_visible()
    assert page.context.cookies() == []
