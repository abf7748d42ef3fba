"""Editing a survey's definition: every change is made on the JSON data and checked whole by
``parse_definition`` before it is stored, so the builder can never store what import would
refuse. Once a wave of the survey has opened, the questions are locked: answers are stored
under question keys, and changing a question under them would change what they mean. The
survey can then be copied into a new one.
"""

from __future__ import annotations

import copy
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.definitions import (
    KEY,
    Definition,
    DefinitionError,
    QuestionType,
    definition_json,
    dump_definition,
    parse_definition,
)
from surveys.models import Survey, Wave, WaveState
from surveys.services import create_survey, survey_definition


def locked(session: Session, survey: Survey) -> bool:
    """Whether a wave of the survey has opened (its questions can no longer change)."""
    return session.scalar(select(Wave.id).where(
        Wave.survey_id == survey.id, Wave.state != WaveState.SCHEDULED).limit(1)) is not None


def store(session: Session, survey: Survey, data: dict[str, Any]) -> Definition:
    """Check ``data`` whole and store it as the survey's definition."""
    definition = parse_definition(data)
    survey.title = definition.title
    survey.introduction = definition.introduction
    survey.open_link = definition.open_link
    survey.recurrence_months = definition.recurrence_months
    survey.open_days = definition.open_days
    survey.definition = dump_definition(definition)
    session.flush()
    return definition


def new_survey(session: Session, title: str, first_question: str) -> Survey:
    """A survey with one section holding one agreement question, to build on."""
    return create_survey(session, parse_definition({
        "title": title, "sections": [{"title": "", "questions": [
            {"key": "q1", "type": "agreement", "text": first_question}]}]}))


def copy_survey(session: Session, survey: Survey) -> Survey:
    data = definition_json(survey_definition(survey))
    data["title"] = str(_l("Copy of %(title)s", title=survey.title))[:200]
    return create_survey(session, parse_definition(data))


def definition_data(survey: Survey) -> dict[str, Any]:
    """The survey's definition as JSON data."""
    return definition_json(survey_definition(survey))


def editable(session: Session, survey: Survey) -> dict[str, Any]:
    """The definition as data to change; refused once the survey is locked."""
    if locked(session, survey):
        raise DefinitionError(_l("A wave of this survey has opened: its questions can no "
                                 "longer change. Copy it into a new survey instead."))
    return definition_data(survey)


def _find(data: dict[str, Any], key: str) -> tuple[int, int]:
    for s_index, section in enumerate(data["sections"]):
        for q_index, question in enumerate(section["questions"]):
            if question["key"] == key:
                return s_index, q_index
    raise DefinitionError(_l("There is no question “%(key)s”.", key=key))


def question_data(data: dict[str, Any], key: str) -> dict[str, Any]:
    s_index, q_index = _find(data, key)
    return copy.deepcopy(data["sections"][s_index]["questions"][q_index])


def free_key(data: dict[str, Any]) -> str:
    """A key no question uses yet: q1, q2, ..."""
    used = {q["key"] for s in data["sections"] for q in s["questions"]}
    number = 1
    while f"q{number}" in used:
        number += 1
    return f"q{number}"


# Field values for a new question of each type, so that it checks before it is edited.
STARTERS: dict[QuestionType, dict[str, Any]] = {
    QuestionType.NUMBER: {"min": 0, "max": 100},
    QuestionType.CROSSWISE: {"innocuous": "My mother's birthday is in January, February or "
                                          "March.", "p": 0.25},
    QuestionType.FORCED_RESPONSE: {"p_truth": 0.8, "p_forced_yes": 0.1, "p_forced_no": 0.1},
}


def add_question(data: dict[str, Any], section: int, qtype: QuestionType, text: str,
                 key: str | None = None) -> str:
    """Add a question at the end of ``section`` (one past the last makes a new section)."""
    key = key or free_key(data)
    if not KEY.match(key):
        raise DefinitionError(_l("A question key starts with a small letter and holds only "
                                 "small letters, digits and “_” (at most 64)."))
    if section == len(data["sections"]):
        data["sections"].append({"title": "", "questions": []})
    if not 0 <= section < len(data["sections"]):
        raise DefinitionError(_l("There is no such section."))
    starter = copy.deepcopy(STARTERS.get(qtype, {}))
    if qtype in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        starter["options"] = [str(_l("Option %(number)d", number=n)) for n in (1, 2)]
    data["sections"][section]["questions"].append(
        {"key": key, "type": qtype.value, "text": text, **starter})
    return key


def replace_question(data: dict[str, Any], key: str, fields: dict[str, Any]) -> None:
    """Put ``fields`` in place of the question ``key`` (its key and type stay)."""
    s_index, q_index = _find(data, key)
    old = data["sections"][s_index]["questions"][q_index]
    new = {**{k: v for k, v in fields.items() if v not in (None, "", [], False)},
           "key": key, "type": old["type"]}
    # Other languages' texts stay; translated options only while the options keep their count.
    translations = {code: {name: text for name, text in texts.items()
                           if name != "options" or len(text) == len(new.get("options", []))}
                    for code, texts in (old.get("translations") or {}).items()}
    if any(translations.values()):
        new["translations"] = {code: texts for code, texts in translations.items() if texts}
    data["sections"][s_index]["questions"][q_index] = new


def move_question(data: dict[str, Any], key: str, step: int) -> None:
    """Move a question up (-1) or down (+1), across section ends into the next section."""
    s_index, q_index = _find(data, key)
    sections = data["sections"]
    question = sections[s_index]["questions"].pop(q_index)
    target = q_index + step
    if 0 <= target <= len(sections[s_index]["questions"]):
        sections[s_index]["questions"].insert(target, question)
    elif step < 0 and s_index > 0:
        sections[s_index - 1]["questions"].append(question)
    elif step > 0 and s_index + 1 < len(sections):
        sections[s_index + 1]["questions"].insert(0, question)
    else:
        sections[s_index]["questions"].insert(q_index, question)  # already at the end
    data["sections"] = [s for s in sections if s["questions"]]


def remove_question(data: dict[str, Any], key: str) -> None:
    """Remove a question; refused while another question's condition depends on it."""
    for section in data["sections"]:
        for question in section["questions"]:
            condition = question.get("condition")
            if condition and condition.get("question") == key:
                raise DefinitionError(_l("Question “%(other)s” is shown depending on this one: "
                                         "change its condition first.", other=question["key"]))
    s_index, q_index = _find(data, key)
    del data["sections"][s_index]["questions"][q_index]
    data["sections"] = [s for s in data["sections"] if s["questions"]]
    if not data["sections"]:
        raise DefinitionError(_l("A survey needs at least one question."))


def set_section(data: dict[str, Any], section: int, title: str, introduction: str) -> None:
    if not 0 <= section < len(data["sections"]):
        raise DefinitionError(_l("There is no such section."))
    data["sections"][section]["title"] = title
    if introduction:
        data["sections"][section]["introduction"] = introduction
    else:
        data["sections"][section].pop("introduction", None)
