"""Texts administrators write, per language: stored once, read in the page's language."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from integrity.models import Channel, OrgUnit
from surveys.definitions import (
    DefinitionError,
    definition_json,
    localize,
    parse_definition,
)


def test_a_record_reads_in_the_page_language_and_falls_back_to_the_default(app, db) -> None:
    org_unit = OrgUnit(name="Northern crossing", kind="crossing_point")
    org_unit.translate("fr", {"name": " Poste frontière nord "})
    db.add(org_unit)
    db.commit()
    db.expire_all()
    org_unit = db.scalar(select(OrgUnit).where(OrgUnit.id == org_unit.id))
    with app.test_request_context("/?lang=fr"), force_locale("fr"):
        assert org_unit.text("name") == "Poste frontière nord"
    with app.test_request_context("/"), force_locale("ar"):
        assert org_unit.text("name") == "Northern crossing"
    assert org_unit.text("name", "ru") == "Northern crossing"
    with app.app_context():
        assert org_unit.missing_languages() == ["ar", "ru", "tr", "uk", "es"]
    # A blank text removes that language's translation.
    org_unit.translate("fr", {"name": "  "})
    assert org_unit.translations == {}


def test_translated_options_count_only_while_they_match_the_options(app, db, channel) -> None:
    record = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    question = next(q for q in record.questions if q.options)
    question.translate("es", {"label": "¿Cómo lo sabe?", "help_text": "Elija una.",
                              "options": [f"opción {n}" for n, _ in enumerate(question.options)]})
    assert question.text("options", "es")[0] == "opción 0"
    assert question.missing_languages(["es"]) == []
    question.options = [*question.options, "A new option"]
    assert question.text("options", "es") == question.options
    assert question.missing_languages(["es"]) == ["es"]
    with pytest.raises(ValueError):
        question.translate("es", {"slug": "x"})


DEFINITION = {
    "title": "Integrity at your post",
    "translations": {"ru": {"title": "Доброчесность на вашем посту"}},
    "sections": [{
        "title": "Leadership",
        "translations": {"ru": {"title": "Руководство"}},
        "questions": [
            {"key": "channel", "type": "single", "text": "Where would you report?",
             "options": ["Manager", "Hotline"],
             "translations": {"ru": {"text": "Куда бы вы сообщили?",
                                     "options": ["Руководителю", "На горячую линию"]}}},
            {"key": "gift", "type": "crosswise", "text": "I accepted a gift.",
             "innocuous": "My mother was born in spring.", "p": 0.25,
             "translations": {"ru": {"innocuous": "Моя мать родилась весной."}}},
        ]}],
}


def test_a_definition_reads_in_each_language_with_the_same_keys_and_codes() -> None:
    definition = parse_definition(DEFINITION)
    russian = localize(definition, "ru")
    assert russian.title == "Доброчесность на вашем посту"
    assert russian.sections[0].title == "Руководство"
    assert russian.question("channel").options == ("Руководителю", "На горячую линию")
    assert russian.question("channel").form_values() == definition.question("channel").form_values()
    # The crosswise question's own text has no Russian yet: the default language stands in.
    assert russian.question("gift").text == "I accepted a gift."
    assert russian.question("gift").innocuous == "Моя мать родилась весной."
    assert localize(definition, "tr") == definition
    assert definition.missing_languages(["ru", "tr"]) == ["ru", "tr"]
    # The JSON written carries every language and reads back the same.
    assert parse_definition(definition_json(definition)) == definition


@pytest.mark.parametrize("translations, fragment", [
    ({"xx": {"title": "?"}}, "not a supported language"),
    ({"fr": {"colour": "bleu"}}, "may only give"),
    ("fr", "one entry per language"),
])
def test_a_definition_with_bad_translations_is_refused_in_one_sentence(
        translations, fragment) -> None:
    with pytest.raises(DefinitionError, match=fragment):
        parse_definition({**DEFINITION, "translations": translations})


def test_translated_options_must_match_the_options_one_for_one() -> None:
    data = {**DEFINITION, "sections": [{**DEFINITION["sections"][0], "questions": [
        {**DEFINITION["sections"][0]["questions"][0],
         "translations": {"ru": {"options": ["Руководителю"]}}}]}]}
    with pytest.raises(DefinitionError, match="as many texts as the options"):
        parse_definition(data)
