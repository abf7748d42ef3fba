"""Survey definitions: every refusal says what to fix; JSON goes in and comes out unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from surveys.bank import load_template, template_names
from surveys.definitions import (
    DefinitionError,
    QuestionType,
    dump_definition,
    load_definition,
    parse_definition,
)
from surveys.services import create_survey, export_survey, get_survey
from tests.helpers.surveys import EVERY_TYPE, every_type, question_of


def test_a_definition_with_every_type_is_read_in_order() -> None:
    definition = parse_definition(every_type())
    assert [q.key for q in definition.questions] == [
        "lead", "skipped", "aware", "which", "tell", "years", "offered", "accepted", "comment"]
    assert {q.type for q in definition.questions} == set(QuestionType)
    which = definition.question("which")
    assert which.condition is not None and which.condition.values == ("yes",)
    assert which.correct == 2 and which.options[1] == "It gives you a receipt"
    assert definition.question("accepted").forced_digits() == (range(0, 2), range(2, 3))
    assert definition.question("offered").p == 0.25
    assert definition.question("lead").index == "leadership"
    assert definition.sections[1].introduction == "About reporting."


def _broken(change) -> dict[str, Any]:
    data = every_type()
    change(data)
    return data


def _set(which: str, /, **fields: Any):
    def change(data: dict[str, Any]) -> None:
        question = question_of(data, which)
        for name, value in fields.items():
            if value is None:
                question.pop(name, None)
            else:
                question[name] = value
    return change


REFUSALS = [
    ("unknown field", lambda d: d.update(colour="blue"), "has no field “colour”"),
    ("no title", lambda d: d.update(title="  "), "A survey needs a title."),
    ("title too long", lambda d: d.update(title="x" * 201), "at most 200 characters"),
    ("no sections", lambda d: d.update(sections=[]), "at least one section"),
    ("empty section", lambda d: d["sections"][1].update(questions=[]),
     "Section 2 has no questions."),
    ("bad key", _set("lead", key="Lead Key"), "Question 1 of section 1 needs a key"),
    ("duplicate key", _set("skipped", key="lead"),
     "The key “lead” is used by more than one question."),
    ("unknown type", _set("lead", type="slider"), "unknown type “slider”"),
    ("no text", _set("lead", text=""), "Question “lead” has no text."),
    ("field of another type", _set("lead", options=["a", "b"]),
     "a field “options” that its type does not use"),
    ("required not a flag", _set("lead", required="yes"),
     "“required” of question “lead” must be true or false."),
    ("one option", _set("tell", options=["Only one"]), "at least two different options"),
    ("repeated options", _set("tell", options=["Same", "Same"]),
     "at least two different options"),
    ("wrong right answer", _set("which", correct=4),
     "The right answer of question “which” must be the number of one of its options."),
    ("number range", _set("years", min=10, max=5), "needs a minimum below its maximum"),
    ("number without range", _set("years", max=None), "needs a minimum below its maximum"),
    ("required free text", _set("comment", required=True),
     "A free-text question (“comment”) cannot be required."),
    ("crosswise without innocuous statement", _set("offered", innocuous=None),
     "needs a second, innocuous statement"),
    ("crosswise at one half", _set("offered", p=0.5), "and not 0.5"),
    ("crosswise certain", _set("offered", p=1), "must be between 0 and 1"),
    ("forced response not adding up", _set("accepted", p_truth=0.6),
     "must be tenths (0.1, 0.2 …) adding up to 1"),
    ("forced response not tenths", _set("accepted", p_truth=0.65, p_forced_yes=0.25),
     "must be tenths"),
    ("forced response never truthful", _set("accepted", p_truth=0, p_forced_yes=0.5,
                                            p_forced_no=0.5), "a chance both to answer"),
    ("condition shape", _set("which", condition={"question": "aware"}),
     "must name an earlier question and the answers that show it"),
    ("condition on a later question", _set("lead", condition={"question": "aware",
                                                              "equals": "yes"}),
     "refers to “aware”, which is not an earlier question"),
    ("condition on a number", _set("comment", condition={"question": "years", "equals": 3}),
     "cannot depend on “years”"),
    ("condition on a sensitive answer", _set("comment", condition={"question": "offered",
                                                                   "equals": "same"}),
     "cannot depend on “offered”"),
    ("condition on an answer not offered", _set("which", condition={"question": "aware",
                                                                    "in": ["maybe"]}),
     "uses an answer “maybe” that question “aware” does not offer"),
    ("condition with no answers", _set("which", condition={"question": "aware", "in": []}),
     "must list at least one answer"),
    ("bad index", _set("lead", index="Leadership!"), "The index of question “lead”"),
    ("bad recurrence", lambda d: d.update(recurrence={"months": 0, "open_days": 10}),
     "The recurrence gives whole numbers"),
    ("open link not a flag", lambda d: d.update(open_link="no"),
     "“open_link” must be true or false."),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in REFUSALS],
                         ids=[name for name, _, _ in REFUSALS])
def test_each_mistake_is_refused_with_one_clear_sentence(change, expected: str) -> None:
    with pytest.raises(DefinitionError) as refusal:
        parse_definition(_broken(change))
    message = str(refusal.value)
    assert expected in message
    assert message.endswith(".") and message.count(". ") == 0, message


def test_a_definition_that_is_not_json_or_not_an_object_is_refused() -> None:
    with pytest.raises(DefinitionError, match="not valid JSON"):
        load_definition("{'title': 'single quotes'}")
    with pytest.raises(DefinitionError, match="A survey definition is a JSON object."):
        load_definition("[1, 2]")


def test_conditions_accept_numbers_for_scale_and_option_answers() -> None:
    data = every_type()
    question_of(data, "comment")["condition"] = {"question": "lead", "in": [4, 5]}
    definition = parse_definition(data)
    assert definition.question("comment").condition.values == ("4", "5")
    assert json.loads(dump_definition(definition))["sections"][3]["questions"][0][
        "condition"] == {"question": "lead", "in": [4, 5]}


def test_json_round_trip_gives_back_the_same_definition() -> None:
    definition = parse_definition(every_type())
    text = dump_definition(definition)
    again = load_definition(text)
    assert again == definition
    assert dump_definition(again) == text
    # What was written is what was read: nothing added, nothing lost.
    assert json.loads(text) == EVERY_TYPE


def test_import_and_export_through_the_database(db) -> None:
    survey = create_survey(db, parse_definition(every_type()))
    db.commit()
    db.expire_all()
    stored = get_survey(db, survey.id)
    assert stored.title == "Every kind of question" and stored.open_link is False
    assert json.loads(export_survey(stored)) == EVERY_TYPE


def test_the_question_bank_holds_the_border_integrity_template() -> None:
    assert "border-integrity-perception" in template_names()
    definition = load_template("border-integrity-perception")
    assert definition.title == "Border integrity perception survey"
    indexes = {q.index for q in definition.questions}
    arusha = {"leadership", "regulatory_framework", "transparency", "automation",
              "reform_modernisation", "audit_investigation", "code_of_conduct", "hr_management",
              "morale_culture", "private_sector"}
    assert arusha <= indexes
    for factor in arusha:
        items = [q for q in definition.questions if q.index == factor]
        assert len(items) >= 2 and all(q.type is QuestionType.AGREEMENT for q in items), factor
    assert {"reporting_climate", "trust_confidentiality", "trust_action"} <= indexes
    knowledge = definition.question("channel_knowledge")
    assert knowledge.correct is not None and knowledge.condition is not None
    assert [q.key for q in definition.questions if q.type is QuestionType.CROSSWISE] == [
        "exp_offered", "exp_pressure"]
    assert [q.key for q in definition.questions
            if q.type is QuestionType.FORCED_RESPONSE] == ["exp_accepted"]
    assert any(q.type is QuestionType.FREQUENCY for q in definition.questions)
    assert not any(q.required for q in definition.questions)


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(DefinitionError, match="no template “nope”"):
        load_template("nope")
