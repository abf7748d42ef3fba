"""Surveys the tests share: one with a question of every type (also translated), opened with
codes to answer, and its answers as the plain form sends them."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.demo import load_organisation
from integrity.models import OrgUnit, today
from surveys.codes import issue_codes
from surveys.definitions import parse_definition
from surveys.services import create_survey
from surveys.waves import create_wave, open_wave

# A survey with one question of every type, and a condition.
EVERY_TYPE: dict[str, Any] = {
    "title": "Every kind of question",
    "introduction": "A short test survey.",
    "sections": [
        {"title": "Scales", "questions": [
            {"key": "lead", "type": "agreement", "text": "Managers here set an example.",
             "index": "leadership"},
            {"key": "skipped", "type": "frequency", "text": "How often are checks skipped?",
             "index": "prevalence"},
        ]},
        {"title": "Choices", "introduction": "About reporting.", "questions": [
            {"key": "aware", "type": "yesno", "required": True,
             "text": "Do you know the anonymous reporting channel?"},
            {"key": "which", "type": "single", "text": "Which is true of it?",
             "options": ["It needs your name", "It gives you a receipt", "It goes to your chief"],
             "correct": 2, "condition": {"question": "aware", "equals": "yes"}},
            {"key": "tell", "type": "multiple", "text": "Whom would you tell?",
             "help": "Tick all that apply.",
             "options": ["My superior", "The inspectors", "Nobody"]},
            {"key": "years", "type": "number", "text": "Years in the service?", "min": 0,
             "max": 45},
        ]},
        {"title": "Your own experience", "questions": [
            {"key": "offered", "type": "crosswise",
             "text": "In the last 12 months someone offered me a bribe.",
             "innocuous": "My mother was born in January, February or March.", "p": 0.25,
             "index": "exposure"},
            {"key": "accepted", "type": "forced_response",
             "text": "In the last 12 months, have you accepted a gift for your work?",
             "p_truth": 0.7, "p_forced_yes": 0.2, "p_forced_no": 0.1, "index": "exposure"},
        ]},
        {"title": "Anything else?", "questions": [
            {"key": "comment", "type": "text", "text": "Anything you would like to add?"},
        ]},
    ],
}


def every_type() -> dict[str, Any]:
    """A copy of ``EVERY_TYPE`` to change."""
    return copy.deepcopy(EVERY_TYPE)



SECRET = b"test-secret-key"
TODAY = date(2027, 3, 10)


@dataclass
class OpenSurvey:
    """What ``open_survey`` made: the survey, its open wave, two units and their codes."""

    survey_id: int
    wave_id: int
    org_unit_ids: list[int]
    codes: list[str]  # the first half for units[0], the rest for units[1]

    def code_for(self, unit_index: int, n: int = 0) -> str:
        half = len(self.codes) // 2
        return self.codes[unit_index * half + n]


def open_survey(db: Session, *, per_unit: int = 3, definition: dict | None = None,
                today: date = TODAY) -> OpenSurvey:
    """The every-type survey with an open wave and codes for two crossing points."""
    load_organisation(db)
    org_units = list(db.scalars(select(OrgUnit).where(OrgUnit.kind == "crossing_point")
                                .order_by(OrgUnit.name)).all())[:2]
    survey = create_survey(db, parse_definition(definition or every_type()))
    wave = create_wave(db, survey, today - timedelta(days=2), today + timedelta(days=12))
    open_wave(db, wave, today)
    issued = issue_codes(db, SECRET, wave, {org_units[0]: per_unit})
    issued += issue_codes(db, SECRET, wave, {org_units[1]: per_unit})
    db.commit()
    return OpenSurvey(survey.id, wave.id, [u.id for u in org_units], [c.code for c in issued])


# One answer to each question of the every-type survey, as its plain form sends them.
FORM_ANSWERS = {
    "q-lead": "5", "q-skipped": "1", "q-aware": "yes", "q-which": "2",
    "q-tell": ["2", "3"], "q-years": "7", "q-offered": "same", "q-accepted": "no",
    "q-comment": "Shift rotas are unfair.",
}


def open_survey_today(db: Session, **extra: Any) -> OpenSurvey:
    """``open_survey`` with the wave open today."""
    return open_survey(db, today=today(), **extra)


def question_of(data: dict[str, Any], key: str) -> dict[str, Any]:
    """The question ``key`` of a definition given as JSON data."""
    return next(q for s in data["sections"] for q in s["questions"] if q["key"] == key)


def translated_every_type() -> dict[str, Any]:
    """The every-type survey with French (partly), Arabic and Russian texts."""
    data = every_type()
    data["translations"] = {"fr": {"title": "Toutes sortes de questions"},
                            "ar": {"title": "كل أنواع الأسئلة"},
                            "ru": {"title": "Все виды вопросов"}}
    data["sections"][1]["translations"] = {"ru": {"title": "Выбор"}}
    question_of(data, "lead")["translations"] = {
        "fr": {"text": "Ici, les chefs donnent l'exemple."},
        "ar": {"text": "المديرون هنا قدوة."},
        "ru": {"text": "Руководители здесь подают пример."}}
    question_of(data, "which")["translations"] = {
        "fr": {"text": "Qu'est-ce qui est vrai à son sujet ?",
               "options": ["Il demande votre nom", "Il vous donne un reçu",
                           "Il va à votre chef"]},
        "ru": {"text": "Что из этого верно?",
               "options": ["Нужно назвать себя", "Выдаётся квитанция", "Сообщение идёт "
                           "начальнику"]}}
    question_of(data, "offered")["translations"] = {
        "fr": {"innocuous": "Ma mère est née en janvier, février ou mars."}}
    return data
