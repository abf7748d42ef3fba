"""Channels, questionnaires and units as people read them: in one language, the page's.

Administrators write these texts in the default language and translate them
(integrity/translated.py). Reporters get them in the language of their page or request, and
a choice answer is sealed as the option's text in that language; the report document says
which (``"language"``). Readers see each answer in *their* language: a choice is mapped by its
position in the option list of the language it was sealed in (``choice_text``), the same rule
the browser follows (static/js/answers.mjs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import crypto
from integrity.models import Channel, OrgUnit, Question, User
from integrity.translated import default_language, other_languages, translated

CHOICE_KINDS = ("single_choice", "multiple_choice")


def channel_config(channel: Channel, recipients: Iterable[User],
                   language: str | None = None) -> dict[str, Any]:
    """A channel as ``GET /api/v1/config`` lists it, its texts in ``language``."""
    return {
        "slug": channel.slug,
        "name": channel.text("name", language),
        "description": channel.text("description", language),
        "allow_exclusion": channel.allow_exclusion,
        "accepts_reports": bool(recipients),
        "asks_category": channel.asks_category,
        "asks_unit": channel.asks_unit,
        "recipients": [
            {"id": str(user.id), "name": user.name,
             "public_key": crypto.b64encode(user.public_key or b""),
             # Protocol 2 clients seal only to keys whose certificate they verify.
             "certificate": crypto.b64encode(user.key_certificate)
             if user.key_certificate else None}
            for user in recipients
        ],
        "categories": [
            {"slug": category.slug, "name": category.text("name", language)}
            for category in channel.categories if not category.retired
        ],
        "questions": [
            {"key": q.key, "kind": q.kind, "label": q.text("label", language),
             "help": q.text("help_text", language), "required": q.required,
             "options": list(q.text("options", language) or [])}
            for q in channel.questions
        ],
    }


def unit_config(org_unit: OrgUnit, language: str | None = None) -> dict[str, Any]:
    """An organisational unit as ``GET /api/v1/config`` lists it."""
    return {"id": str(org_unit.id), "name": org_unit.text("name", language),
            "parent": str(org_unit.parent_id) if org_unit.parent_id is not None else None}


def mailbox_questions(questions: Iterable[Question],
                      language: str | None = None) -> list[dict[str, Any]]:
    """The questionnaire as ``POST /api/v1/mailbox`` gives it, in ``language``."""
    return [{"key": q.key, "kind": q.kind, "label": q.text("label", language),
             "options": list(q.text("options", language) or [])} for q in questions]


def options_by_language(question: Question) -> dict[str, list[str]]:
    """A question's options in every language it can have been answered in, the default's
    first; a language without a full translation has the default language's options."""
    codes = [default_language(), *other_languages()]
    codes += [code for code in sorted(question.translations or {}) if code not in codes]
    return {code: list(translated(question.options or [], question.translations, "options",
                                  code)) for code in codes}


def reader_questions(questions: Iterable[Question],
                     language: str | None = None) -> list[dict[str, Any]]:
    """The questionnaire for a page that reads sealed answers: labels and options in
    ``language``, and the options of every language to map a choice from."""
    listed = list(questions)
    return [{**shown, "options_by_language": options_by_language(q)}
            for shown, q in zip(mailbox_questions(listed, language), listed, strict=True)]


def choice_text(by_language: Mapping[str, Sequence[str]], shown: Sequence[str], value: object,
                sealed_in: object = None) -> object:
    """A sealed choice as the option in the ``shown`` list: the option at the same position
    in the list of the language it was sealed in (that language first, then the others in
    the order of their codes); a value no list holds is returned as it was sealed."""
    codes = [sealed_in] if isinstance(sealed_in, str) and sealed_in in by_language else []
    codes += sorted(code for code in by_language if code != sealed_in)
    for code in codes:
        offered = list(by_language[code])
        if value in offered and offered.index(value) < len(shown):
            return shown[offered.index(value)]
    return value


def answer_rows(questions: Iterable[Question], document: Mapping[str, Any],
                words: Mapping[str, str], language: str | None = None) -> list[tuple[str, str]]:
    """``(label, text)`` for each answer of a report document, as the no-JavaScript mailbox
    shows it: in the questionnaire's order and in ``language``, then answers to questions it
    no longer has, under their key (static/js/answers.mjs: answerRows does the same)."""
    answers = document.get("answers")
    given: Mapping[str, Any] = answers if isinstance(answers, dict) else {}
    sealed_in = document.get("language")
    rows, shown = [], set()
    for q in questions:
        if q.key not in given or q.key in shown:
            continue
        values = given[q.key] if isinstance(given[q.key], list) else [given[q.key]]
        if q.kind == "yes_no":
            texts = [words.get(v, v) if isinstance(v, str) else v for v in values]
        elif q.kind in CHOICE_KINDS:
            options = list(q.text("options", language) or [])
            texts = [choice_text(options_by_language(q), options, v, sealed_in) for v in values]
        else:
            texts = values
        rows.append((str(q.text("label", language)), ", ".join(str(t) for t in texts)))
        shown.add(q.key)
    for key, value in given.items():
        if key not in shown:
            values = value if isinstance(value, list) else [value]
            rows.append((key, ", ".join(str(v) for v in values)))
    return rows
