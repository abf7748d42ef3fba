"""The question bank speaks the seven languages: every text of every template is translated."""

from __future__ import annotations

import dataclasses
import re

import pytest
from babel.dates import get_month_names

from surveys.bank import load_template, template_names
from surveys.definitions import (
    Definition,
    QuestionType,
    definition_json,
    localize,
    parse_definition,
)

OTHER_LANGUAGES = ["fr", "ar", "ru", "tr", "uk", "es"]
SCRIPTS = {
    "ar": re.compile(r"[\u0600-\u06ff]"),
    "ru": re.compile(r"[а-яё]", re.IGNORECASE),
    "uk": re.compile(r"[а-яіїєґ]", re.IGNORECASE),
}
# Letters Ukrainian has and Russian has not (and the reverse): a text pasted into the other
# Cyrillic language gives itself away.
UKRAINIAN_ONLY = re.compile(r"[іїєґ’]", re.IGNORECASE)
RUSSIAN_ONLY = re.compile(r"[ыэъё]", re.IGNORECASE)


def _texts(definition: Definition) -> list[tuple[str, str | tuple[str, ...]]]:
    """(where, text) of every text of a definition, options included."""
    out: list[tuple[str, str | tuple[str, ...]]] = [("title", definition.title),
                                                   ("introduction", definition.introduction)]
    for number, section in enumerate(definition.sections, start=1):
        out += [(f"section {number} title", section.title),
                (f"section {number} introduction", section.introduction)]
    for q in definition.questions:
        out += [(f"{q.key} text", q.text), (f"{q.key} help", q.help),
                (f"{q.key} innocuous", q.innocuous)]
        out += [(f"{q.key} option {n}", option) for n, option in enumerate(q.options, start=1)]
    return [(where, text) for where, text in out if text]


def _pairs(template: str, language: str) -> list[tuple[str, str, str]]:
    """(where, English, translation) of each text of ``template``."""
    definition = load_template(template)
    translated = dict(_texts(localize(definition, language)))
    return [(where, str(text), str(translated[where])) for where, text in _texts(definition)]


@pytest.mark.parametrize("template", template_names())
def test_every_bank_template_is_translated_into_every_language(template) -> None:
    assert load_template(template).missing_languages(OTHER_LANGUAGES) == []


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
@pytest.mark.parametrize("template", template_names())
def test_a_translated_template_asks_the_same_questions_with_the_same_answers(
        template, language) -> None:
    definition = load_template(template)
    localized = localize(definition, language)
    assert [q.key for q in localized.questions] == [q.key for q in definition.questions]
    for original, q in zip(definition.questions, localized.questions, strict=True):
        assert len(q.options) == len(original.options)
        assert q.form_values() == original.form_values()
        # Only the texts change: keys, types, conditions, indices, probabilities stay.
        assert dataclasses.replace(q, text=original.text, help=original.help,
                                   options=original.options,
                                   innocuous=original.innocuous) == original
    # What a localized definition writes is still a definition.
    assert parse_definition(definition_json(localized)) == localized


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
@pytest.mark.parametrize("template", template_names())
def test_no_text_is_left_in_english_or_pasted_from_another_language(template, language) -> None:
    pairs = _pairs(template, language)
    for where, english, text in pairs:
        if re.search(r"[A-Za-z]", english):
            assert text != english, f"{template}: {where} is not translated into {language}"
        script = SCRIPTS.get(language)
        if script is not None:
            assert script.search(text), f"{template}: {where} is not written in {language}"
        if language == "ru":
            assert not UKRAINIAN_ONLY.search(text), f"{template}: {where} (ru) reads Ukrainian"
        if language == "uk":
            assert not RUSSIAN_ONLY.search(text), f"{template}: {where} (uk) reads Russian"
    # Two different English texts never share one translation (a translation pasted twice).
    english_of: dict[str, set[str]] = {}
    for _, english, text in pairs:
        english_of.setdefault(text, set()).add(english)
    assert [text for text, sources in english_of.items() if len(sources) > 1] == []


def _month_stems(language: str) -> dict[int, str]:
    """Month number -> the first letters of its name, which every grammatical case keeps."""
    names = get_month_names("wide", context="stand-alone", locale=language)
    return {number: name.lower()[:3] for number, name in names.items()}


def _months(text: str, language: str) -> set[int]:
    lowered = text.lower()
    return {number for number, stem in _month_stems(language).items()
            if re.search(r"\b" + re.escape(stem), lowered)}


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
@pytest.mark.parametrize("template", template_names())
def test_an_innocuous_statement_names_the_same_months_in_every_language(
        template, language) -> None:
    """The crosswise estimate rests on the statement's known probability: a birthday in
    January, February or March must stay those three months once translated."""
    definition = load_template(template)
    localized = localize(definition, language)
    for q in definition.questions:
        if q.type is not QuestionType.CROSSWISE:
            continue
        months = _months(q.innocuous, "en")
        if months:
            assert _months(localized.question(q.key).innocuous, language) == months, q.key


def test_a_fully_translated_definition_misses_no_language() -> None:
    definition = parse_definition({
        "title": "Integrity at your post",
        "translations": {"fr": {"title": "L'intégrité à votre poste"}},
        "sections": [{"title": "Leadership", "translations": {"fr": {"title": "Direction"}},
                      "questions": [{"key": "example", "type": "agreement",
                                     "text": "Managers set an example.",
                                     "translations": {"fr": {"text": "La direction montre "
                                                                     "l'exemple."}}}]}],
    })
    # A question without options has nothing to translate there.
    assert definition.missing_languages(["fr", "es"]) == ["es"]
