"""Surveys as stored (import, export) and responding to them: admission, checks, storage.

A response is stored with the wave and the unit only. With a code, the code is marked used by
a conditional UPDATE in the same transaction that stores the response, so a code yields at
most one response even when two submissions race. The caller commits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.models import OrgUnit
from surveys.codes import find_code, normalise_code, redeem_code
from surveys.definitions import (
    MAX_TEXT_ANSWER,
    Definition,
    Question,
    QuestionType,
    dump_definition,
    load_definition,
)
from surveys.models import Answer, Comment, Survey, SurveyResponse, Wave, WaveState
from surveys.waves import SurveyError

# ---------------------------------------------------------------- surveys as stored


def create_survey(session: Session, definition: Definition) -> Survey:
    """Store a checked definition as a new survey."""
    survey = Survey(title=definition.title, introduction=definition.introduction,
                    definition=dump_definition(definition), open_link=definition.open_link,
                    recurrence_months=definition.recurrence_months,
                    open_days=definition.open_days)
    session.add(survey)
    session.flush()
    return survey


def survey_definition(survey: Survey) -> Definition:
    """The survey's definition, read back from the database."""
    return load_definition(survey.definition)


def export_survey(survey: Survey) -> str:
    """The survey's definition as JSON text, as ``survey import`` reads it."""
    return dump_definition(survey_definition(survey))


def list_surveys(session: Session) -> list[Survey]:
    return list(session.scalars(select(Survey).order_by(Survey.id)))


def get_survey(session: Session, survey_id: int) -> Survey:
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise SurveyError(_l("There is no survey number %(number)d.", number=survey_id), 404)
    return survey


def survey_titles(session: Session) -> list[tuple[int, str]]:
    """Each survey's id and title in the page's language, newest first (for survey pickers)."""
    return [(survey.id, survey.text("title"))
            for survey in session.scalars(select(Survey).order_by(Survey.id.desc()))]


def open_link_surveys(session: Session) -> list[tuple[Survey, Wave]]:
    """Open-link surveys with an open wave, for the survey start page."""
    rows = session.execute(
        select(Survey, Wave).join(Wave, Wave.survey_id == Survey.id)
        .where(Survey.open_link.is_(True), Wave.state == WaveState.OPEN)
        .order_by(Survey.title)
    )
    return [(survey, wave) for survey, wave in rows]


# ---------------------------------------------------------------- answers


@dataclass(frozen=True)
class CheckedAnswers:
    """Answers ready to store: (question, item, code), (question, number), (question, text)."""

    choices: tuple[tuple[str, int, int], ...] = ()
    numbers: tuple[tuple[str, float], ...] = ()
    comments: tuple[tuple[str, str], ...] = ()


class AnswerError(SurveyError):
    """Some answers cannot be accepted; ``problems`` has one sentence per question key."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(_l("Some answers need your attention: see the marked questions."))
        self.problems = problems


def _number(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", ".").replace(" ", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass
class _Checker:
    choices: list[tuple[str, int, int]] = field(default_factory=list)
    numbers: list[tuple[str, float]] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)

    def check(self, q: Question, values: list[str]) -> bool:
        """Record the answer to ``q``; False when there is none."""
        if q.type is QuestionType.TEXT:
            text = values[0].strip() if values else ""
            if len(text) > MAX_TEXT_ANSWER:
                self.problems[q.key] = ngettext(
                    "Please keep this answer under %(count)d character.",
                    "Please keep this answer under %(count)d characters.",
                    MAX_TEXT_ANSWER, count=MAX_TEXT_ANSWER)
            elif text:
                self.comments.append((q.key, text))
            return bool(text)
        if q.type is QuestionType.NUMBER:
            return self._number(q, values[0] if values else "")
        allowed = q.form_values()
        if any(value not in allowed for value in values) or (
                len(values) > 1 and q.type is not QuestionType.MULTIPLE):
            self.problems[q.key] = str(_l("Please choose one of the answers offered."))
            return False
        codes = sorted({q.choice_code(value) for value in values})
        for code in codes:
            item = code if q.type is QuestionType.MULTIPLE else 0
            self.choices.append((q.key, item, code))
        return bool(codes)

    def _number(self, q: Question, text: str) -> bool:
        if not text.strip():
            return False
        value = _number(text)
        low, high = q.minimum, q.maximum
        if value is None or low is None or high is None or not low <= value <= high:
            self.problems[q.key] = str(_l("Please give a number from %(low)s to %(high)s.",
                                          low=_plain(low), high=_plain(high)))
            return False
        self.numbers.append((q.key, value))
        return True


def _plain(number: float | None) -> str:
    return "" if number is None else (f"{number:g}")


def shown(definition: Definition, form: Mapping[str, Sequence[str]]) -> list[Question]:
    """The questions a respondent with these answers was asked (conditions applied in order)."""
    given: dict[str, list[str]] = {}
    asked = []
    for q in definition.questions:
        if q.condition is not None and not q.condition.holds(given):
            continue
        asked.append(q)
        given[q.key] = [v for v in form.get(q.key, ()) if v != ""]
    return asked


def check_answers(definition: Definition, form: Mapping[str, Sequence[str]]) -> CheckedAnswers:
    """The answers to store, from the form's values per question key.

    Answers to questions a condition hid are dropped; a required question that was shown
    must be answered. AnswerError lists every problem at once.
    """
    checker = _Checker()
    for q in shown(definition, form):
        values = [v for v in form.get(q.key, ()) if v != ""]
        if not checker.check(q, values) and q.required and q.key not in checker.problems:
            checker.problems[q.key] = str(_l("Please answer this question."))
    if checker.problems:
        raise AnswerError(checker.problems)
    return CheckedAnswers(tuple(checker.choices), tuple(checker.numbers),
                          tuple(checker.comments))


def store_response(session: Session, wave: Wave, org_unit_id: int | None,
                   answers: CheckedAnswers) -> SurveyResponse:
    """One response row and its answers; free text goes to the wave's comments, unlinked."""
    response = SurveyResponse(wave_id=wave.id, org_unit_id=org_unit_id)
    response.answers = [Answer(question=key, item=item, choice=code)
                        for key, item, code in answers.choices]
    response.answers += [Answer(question=key, item=0, number=value)
                         for key, value in answers.numbers]
    session.add(response)
    session.add_all(Comment(wave_id=wave.id, question=key, text=text)
                    for key, text in answers.comments)
    session.flush()
    return response


# ---------------------------------------------------------------- admission


@dataclass(frozen=True)
class Admission:
    """What the questionnaire page needs: the wave, its survey and definition, the unit.

    ``code`` is the normalised code, carried in the form until the answers are stored.
    """

    wave: Wave
    survey: Survey
    definition: Definition
    org_unit: OrgUnit | None
    code: str | None = None


def _check_open(wave: Wave, today: date) -> None:
    if wave.state != WaveState.OPEN or wave.closes_on < today:
        raise SurveyError(_l("This survey is not open at the moment, so it cannot take "
                             "answers."), 403)


def admit_code(session: Session, secret: bytes, text: str, today: date) -> Admission:
    """The questionnaire a code opens; refused if unknown, used or its wave is not open."""
    if normalise_code(text) is None:
        raise SurveyError(_l("An access code has 12 letters and digits, as printed on your "
                             "slip or in your e-mail."), 404)
    code = find_code(session, secret, text)
    if code is None:
        raise SurveyError(_l("That access code is not valid. Check it and try again."), 404)
    if code.used:
        raise SurveyError(_l("This access code has already been used: each code can be used "
                             "once."), 409)
    wave = code.wave
    _check_open(wave, today)
    return Admission(wave, wave.survey, survey_definition(wave.survey), code.org_unit,
                     normalise_code(text))


def submit_with_code(session: Session, secret: bytes, text: str,
                     form: Mapping[str, Sequence[str]], today: date) -> SurveyResponse:
    """Store the answers and use up the code, in the caller's transaction."""
    admission = admit_code(session, secret, text, today)
    answers = check_answers(admission.definition, form)
    code = find_code(session, secret, text)
    if code is None or not redeem_code(session, code):
        raise SurveyError(_l("This access code has already been used: each code can be used "
                             "once."), 409)
    return store_response(session, admission.wave, code.org_unit_id, answers)


def admit_open_link(session: Session, survey_id: int, today: date) -> Admission:
    """The open wave of an open-link survey; anyone may answer it."""
    survey = session.get(Survey, survey_id)
    if survey is None or not survey.open_link:
        raise SurveyError(_l("There is no open survey at this address."), 404)
    wave = session.scalar(select(Wave).where(Wave.survey_id == survey.id,
                                             Wave.state == WaveState.OPEN))
    if wave is None:
        raise SurveyError(_l("This survey is not open at the moment, so it cannot take "
                             "answers."), 403)
    _check_open(wave, today)
    return Admission(wave, survey, survey_definition(survey), None)


def submit_open_link(session: Session, survey_id: int, org_unit_id: int | None,
                     form: Mapping[str, Sequence[str]], today: date) -> SurveyResponse:
    """Store an open-link response, with the unit the respondent chose (or none)."""
    admission = admit_open_link(session, survey_id, today)
    answers = check_answers(admission.definition, form)
    if org_unit_id is not None and session.get(OrgUnit, org_unit_id) is None:
        raise AnswerError({"org_unit": str(_l("Please choose a unit from the list."))})
    return store_response(session, admission.wave, org_unit_id, answers)
