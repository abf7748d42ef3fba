"""The translation pages: what administrators write, edited one language at a time.

A page lists ``Text``s in ``Group``s. Each text is one translated field of a record
(``Translatable``): the default language's text is shown read-only, and an input holds the
chosen language's. Saving checks every text first and stores them all or none
(``check`` then ``save``); the caller commits. The administration (channels, units) and the
dashboard (campaigns) use the same rules and the same form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from babel import Locale
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.i18n import RTL_SCRIPTS
from integrity.models import User
from integrity.translated import Translatable, lacks, other_languages

Label = Union[str, LazyString]
Typed = Union[str, list[str]]


def language_name(code: str, in_language: str | None = None) -> str:
    """A language's name as a label, written in that language ("Français", "العربية"); or,
    given another language, as that language writes it within a sentence ("français")."""
    if in_language:
        return Locale.parse(code).get_display_name(in_language) or code
    return (Locale.parse(code).get_display_name(code) or code).capitalize()


def language_dir(code: str) -> str:
    """The direction text in ``code`` is written in: 'rtl' (Arabic) or 'ltr'."""
    return "rtl" if code in RTL_SCRIPTS else "ltr"


@dataclass(frozen=True)
class Text:
    """One translated field of a record, as the page shows it."""

    record: Translatable
    field: str
    caption: Label
    limit: int
    long: bool = False
    # Optional texts (unit names, retired categories) get a softer marker and never count
    # as missing: the default language's text stands in for them and reads well enough.
    optional: bool = False

    @property
    def name(self) -> str:
        """The input's name and id: the record's kind and id, and the field."""
        kind = type(self.record).__name__.lower()
        return f"{kind}-{getattr(self.record, 'id', 0)}-{self.field}"

    @property
    def base(self) -> Any:
        return getattr(self.record, self.field)

    @property
    def is_list(self) -> bool:
        return isinstance(self.base, list | tuple)

    def input_names(self) -> list[str]:
        """One input per answer for a question's options, else one input."""
        if self.is_list:
            return [f"{self.name}-{index}" for index, _ in enumerate(self.base)]
        return [self.name]

    def stored(self, language: str) -> Typed:
        """The translation stored for ``language``, blank where there is none."""
        value = (self.record.translations or {}).get(language, {}).get(self.field)
        if self.is_list:
            values = value if isinstance(value, list) and len(value) == len(self.base) else []
            return [str(v) for v in values] or ["" for _ in self.base]
        return str(value or "")

    def missing(self, language: str) -> bool:
        return lacks(self.base, self.record.translations, self.field, language)


@dataclass(frozen=True)
class Group:
    """Texts shown together under a heading (the channel, a question, the categories)."""

    key: str
    title: Label
    texts: tuple[Text, ...]
    # The default language's text heading the group (a question's label), if any.
    source: str = ""


def texts_of(record: Translatable, fields: Iterable[tuple[str, Label, int, bool]],
             optional: bool = False) -> tuple[Text, ...]:
    """The texts of ``record`` that have something to translate: (field, caption, limit,
    long) for each; a field left blank in the default language has nothing to translate."""
    found = []
    for field, caption, limit, long in fields:
        text = Text(record, field, caption, limit, long, optional)
        base = text.base
        if (base if text.is_list else str(base or "").strip()):
            found.append(text)
    return tuple(found)


def all_texts(groups: Iterable[Group]) -> list[Text]:
    return [text for group in groups for text in group.texts]


def missing_languages(groups: Sequence[Group], languages: Iterable[str] | None = None
                      ) -> list[str]:
    """The other languages in which a text that counts (not an optional one) is missing."""
    codes = other_languages() if languages is None else languages
    texts = [text for text in all_texts(groups) if not text.optional]
    return [code for code in codes if any(text.missing(code) for text in texts)]


def untranslated(groups: Sequence[Group], language: str) -> int:
    """How many texts (optional ones too) have no translation into ``language``."""
    return sum(text.missing(language) for text in all_texts(groups))


# --- reading, checking and saving what was typed ------------------------------------------


def _clean(value: str, long: bool) -> str:
    if long:
        return "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").split("\n")
                         ).strip()
    return " ".join(value.split())


def read(groups: Sequence[Group], form: Mapping[str, str]) -> dict[str, Typed]:
    """What was typed for each text, by input name; absent inputs read as blank."""
    typed: dict[str, Typed] = {}
    for text in all_texts(groups):
        values = [_clean(str(form.get(name, "")), text.long) for name in text.input_names()]
        typed[text.name] = values if text.is_list else values[0]
    return typed


def shown(groups: Sequence[Group], language: str) -> dict[str, Typed]:
    """The inputs' contents before anything is typed: the stored translations."""
    return {text.name: text.stored(language) for text in all_texts(groups)}


@dataclass(frozen=True)
class Problem:
    """Why nothing was saved: one sentence, and the input it is about."""

    input_name: str
    text_name: str
    message: Label


def check(groups: Sequence[Group], typed: Mapping[str, Typed]) -> Problem | None:
    """The first reason not to store what was typed, or None."""
    for text in all_texts(groups):
        value = typed.get(text.name, [] if text.is_list else "")
        values = value if isinstance(value, list) else [value]
        for name, item in zip(text.input_names(), values, strict=False):
            if len(item) > text.limit:
                return Problem(name, text.name, lazy_ngettext(
                    "“%(field)s” is too long: keep it under %(count)d character.",
                    "“%(field)s” is too long: keep it under %(count)d characters.",
                    text.limit, field=text.caption, count=text.limit))
        if text.is_list and any(values) and not all(values):
            blank = next(n for n, v in zip(text.input_names(), values, strict=False) if not v)
            return Problem(blank, text.name,
                           _l("Translate every answer to choose from, or none of them."))
    return None


def save(session: Session, actor: User, groups: Sequence[Group], language: str,
         typed: Mapping[str, Typed], subject: str) -> int:
    """Store every text of ``language`` as typed (a blank one removes its translation) and
    record one audit entry; returns how many texts changed. The caller commits."""
    by_record: dict[int, tuple[Translatable, dict[str, Typed]]] = {}
    changed = 0
    for text in all_texts(groups):
        value = typed.get(text.name, "")
        blank = not any(value) if isinstance(value, list) else not value
        before = text.stored(language)
        if (not any(before) if isinstance(before, list) else not before) and blank:
            continue
        if value == before:
            continue
        changed += 1
        entry = by_record.setdefault(id(text.record), (text.record, {}))
        entry[1][text.field] = [] if blank and isinstance(value, list) else value
    for target, values in by_record.values():
        target.translate(language, values)
    if changed:
        record(session, actor=actor, action="translations_changed", subject=subject,
               details={"language": language, "changed": changed})
    return changed
