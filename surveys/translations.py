"""A survey's texts in another language: every text of the definition, one input each.

The translation page lists the survey's title and introduction, each section's title and
introduction, and each question's text, help, options and innocuous statement, beside the
default language's text. Saving writes that language's "translations" into the definition
(checked whole by ``parse_definition``), never keys, types or the number of options: so a
survey whose waves have opened may be translated too, and answers stay comparable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session

from integrity.translated import default_language, lacks, other_languages, with_translation
from surveys.builder import store
from surveys.definitions import (
    TRANSLATED_DEFINITION,
    TRANSLATED_QUESTION_OF,
    TRANSLATED_SECTION,
    Definition,
    DefinitionError,
    definition_json,
)
from surveys.models import Survey

MAX_TEXT = 5000


@dataclass(frozen=True)
class TextField:
    """One text to translate: its input's name, what it is, the default text, the
    translation so far (blank when missing), and whether it is a long text."""

    name: str
    label: str
    source: str
    value: str
    long: bool = False

    @property
    def missing(self) -> bool:
        return not self.value.strip()


@dataclass
class TextGroup:
    """The texts of the survey, of one section or of one question."""

    heading: str
    fields: list[TextField] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(1 for f in self.fields if f.missing)


def _get(translations: Mapping[str, Mapping[str, Any]], language: str, name: str) -> Any:
    return (translations or {}).get(language, {}).get(name)


def _fields(item: Any, language: str, prefix: str,
            names: tuple[tuple[str, str, bool], ...]) -> list[TextField]:
    """The non-empty texts of ``item`` among ``names`` (attribute, label, long)."""
    out = []
    for name, label, long in names:
        source = getattr(item, name)
        if source:
            out.append(TextField(f"{prefix}{name}", label, source,
                                 str(_get(item.translations, language, name) or ""), long))
    return out


def text_groups(definition: Definition, language: str) -> list[TextGroup]:
    """Every text of ``definition`` with its translation into ``language``, in page order."""
    title, introduction = str(_l("Title")), str(_l("Introduction"))
    groups = [TextGroup(str(_l("The survey")), _fields(
        definition, language, "", (("title", title, False), ("introduction", introduction,
                                                              True))))]
    for s_number, section in enumerate(definition.sections, start=1):
        texts = _fields(section, language, f"s{s_number}-",
                        (("title", title, False), ("introduction", introduction, True)))
        if texts:
            groups.append(TextGroup(str(_l("Section %(number)d", number=s_number)), texts))
        for q in section.questions:
            group = TextGroup(str(_l("Question “%(key)s”", key=q.key)), _fields(
                q, language, f"q-{q.key}-", (("text", str(_l("Question or statement")), True),
                                             ("help", str(_l("Help text")), True))))
            translated = _get(q.translations, language, "options") or []
            for number, option in enumerate(q.options, start=1):
                value = translated[number - 1] if len(translated) == len(q.options) else ""
                group.fields.append(TextField(f"q-{q.key}-option-{number}",
                                              str(_l("Option %(number)d", number=number)),
                                              option, str(value)))
            group.fields += _fields(q, language, f"q-{q.key}-", (
                ("innocuous", str(_l("Innocuous statement")), True),))
            groups.append(group)
    return groups


def _text(form: Mapping[str, str], name: str) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > MAX_TEXT:
        raise DefinitionError(lazy_ngettext("A text has at most %(count)d character.",
                                            "A text has at most %(count)d characters.",
                                            MAX_TEXT, count=MAX_TEXT))
    return value


def _translate(item: dict[str, Any], language: str, values: dict[str, Any]) -> None:
    translations = with_translation(item.get("translations"), language, values)
    if translations:
        item["translations"] = translations
    else:
        item.pop("translations", None)


def _values(item: Any, form: Mapping[str, str], prefix: str,
            names: tuple[str, ...]) -> dict[str, Any]:
    """The translations of the texts ``item`` has in the default language."""
    return {name: _text(form, prefix + name) for name in names if getattr(item, name)}


def translated_data(definition: Definition, language: str,
                    form: Mapping[str, str]) -> dict[str, Any]:
    """The definition as JSON data with ``language``'s texts taken from ``form`` (blank
    inputs remove a translation: the default language's text stands in)."""
    data = definition_json(definition)
    _translate(data, language, _values(definition, form, "", ("title", "introduction")))
    for s_number, (section, raw) in enumerate(zip(definition.sections, data["sections"],
                                                  strict=True), start=1):
        _translate(raw, language, _values(section, form, f"s{s_number}-",
                                          ("title", "introduction")))
        for q, raw_q in zip(section.questions, raw["questions"], strict=True):
            prefix = f"q-{q.key}-"
            values = _values(q, form, prefix, ("text", "help", "innocuous"))
            if q.options:
                options = [_text(form, f"{prefix}option-{n}")
                           for n in range(1, len(q.options) + 1)]
                if any(options) and not all(options):
                    raise DefinitionError(_l("Question “%(key)s” needs every option "
                                             "translated, or none.", key=q.key))
                values["options"] = options
            _translate(raw_q, language, values)
    return data


def save_translations(session: Session, survey: Survey, definition: Definition,
                      language: str, form: Mapping[str, str]) -> Definition:
    """Store the survey's texts in ``language``; DefinitionError (nothing stored) if refused.

    Only the texts change, so this is allowed once waves have opened. The caller audits and
    commits.
    """
    if language not in other_languages():
        raise DefinitionError(_l("Texts can be translated only into the configured languages "
                                 "other than the default one."))
    return store(session, survey, translated_data(definition, language, form))


def translated_count(definition: Definition, language: str) -> int:
    """How many texts of ``definition`` have a translation into ``language`` (for the audit)."""
    return sum(1 for group in text_groups(definition, language) for f in group.fields
               if not f.missing)


def untranslated(definition: Definition, language: str) -> frozenset[str]:
    """The texts a page in ``language`` shows in the default language, for want of a
    translation ("title", "s1.introduction", "lead.text", "which.options" …), so that the
    page can say which language they are in."""
    if language == default_language():
        return frozenset()

    def missing(item: Any, names: tuple[str, ...], prefix: str) -> set[str]:
        return {prefix + name for name in names
                if lacks(getattr(item, name), item.translations, name, language)}

    out = missing(definition, TRANSLATED_DEFINITION, "")
    for number, section in enumerate(definition.sections, start=1):
        out |= missing(section, TRANSLATED_SECTION, f"s{number}.")
    for q in definition.questions:
        out |= missing(q, TRANSLATED_QUESTION_OF[q.type], f"{q.key}.")
    return frozenset(out)
