"""What administrators write, in each configured language.

A record that people read (a channel, a category, a question of a channel's questionnaire, an
organisational unit, a campaign) keeps its text in the installation's default language in its
own columns (``name``, ``label`` …) and every other language in one JSON column::

    translations = {"fr": {"name": "Signalements"}, "ar": {"name": "البلاغات"}}

``record.text("name")`` gives the text in the page's language, and the default language's
text where that language has none, so nothing is ever blank. The editors show a "missing
translation" marker for each configured language that lacks a text (``missing_languages``).
Survey definitions carry their translations the same way, inside their JSON
(surveys/definitions.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import has_app_context
from flask_babel import get_locale
from sqlalchemy import JSON
from sqlalchemy.orm import Mapped, mapped_column

from integrity import current


def page_language() -> str:
    """The language of the page being written; the default language outside a request."""
    locale = get_locale() if has_app_context() else None
    if locale is not None:
        return str(locale.language)
    return default_language()


def default_language() -> str:
    """The installation's default language: the first of INTEGRITY_LANGUAGES."""
    if not has_app_context():
        return "en"
    return current.settings().languages[0]


def other_languages() -> tuple[str, ...]:
    """The configured languages that texts are translated into (all but the default)."""
    if not has_app_context():
        return ()
    return current.settings().languages[1:]


def _blank(value: Any) -> bool:
    # A tuple too: a survey question without options has options == ().
    return value is None or value == "" or (
        isinstance(value, list | tuple) and not any(str(v).strip() for v in value))


def translated(base: Any, translations: Mapping[str, Mapping[str, Any]] | None, field: str,
               language: str | None = None) -> Any:
    """``field``'s text in ``language`` (the page's by default), else ``base``.

    A translated list (a question's options) is used only while it has as many items as the
    default language's: an option added since has no translation yet.
    """
    language = language or page_language()
    value = (translations or {}).get(language, {}).get(field)
    if _blank(value):
        return base
    if isinstance(base, list | tuple):
        if not isinstance(value, list) or len(value) != len(base):
            return base
        return type(base)(value)
    return value


def lacks(base: Any, translations: Mapping[str, Mapping[str, Any]] | None, field: str,
          language: str) -> bool:
    """Whether ``language`` has no usable text for ``field`` although the default has one."""
    if _blank(base):
        return False
    value = (translations or {}).get(language, {}).get(field)
    if isinstance(base, list | tuple):
        return (not isinstance(value, list) or len(value) != len(base)
                or any(not str(v).strip() for v in value))
    return _blank(value)


def with_translation(translations: Mapping[str, Mapping[str, Any]] | None, language: str,
                     values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A copy of ``translations`` where ``language`` has ``values`` (blank ones removed)."""
    out = {code: dict(fields) for code, fields in (translations or {}).items()}
    fields = dict(out.get(language, {}))
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        elif isinstance(value, list):
            value = [str(v).strip() for v in value]
        if _blank(value):
            fields.pop(name, None)
        else:
            fields[name] = value
    if fields:
        out[language] = fields
    else:
        out.pop(language, None)
    return out


class Translatable:
    """Mixin for a model with ``translations``; ``TRANSLATED`` names its translated fields."""

    TRANSLATED: tuple[str, ...] = ()

    translations: Mapped[dict[str, dict[str, Any]]] = mapped_column(
        JSON, default=dict, server_default="{}")

    def text(self, field: str, language: str | None = None) -> Any:
        """``field`` in ``language`` (the page's by default), else in the default language."""
        return translated(getattr(self, field), self.translations, field, language)

    def missing_languages(self, languages: Iterable[str] | None = None) -> list[str]:
        """The configured other languages in which some text of this record is missing."""
        codes = other_languages() if languages is None else languages
        return [code for code in codes
                if any(lacks(getattr(self, name), self.translations, name, code)
                       for name in self.TRANSLATED)]

    def translate(self, language: str, values: Mapping[str, Any]) -> None:
        """Set this record's texts in ``language``; a blank value removes that translation."""
        unknown = set(values) - set(self.TRANSLATED)
        if unknown:
            raise ValueError(f"not a translated field: {sorted(unknown)[0]}")
        self.translations = with_translation(self.translations, language, values)
