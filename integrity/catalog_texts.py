"""Texts the system ships (the default questionnaire, the demo data) in every language.

They are msgids of the catalogs, marked with ``_l`` so that extraction finds them. A record
made from them gets its own columns in the installation's default language, which need not be
English, and its ``translations`` in every other configured language whose catalog has them;
administrators then edit both like any text they wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from integrity.translated import Translatable, default_language, other_languages

Message = Union[str, LazyString]
Shipped = Union[Message, Sequence[Message]]


def in_language(message: Shipped, language: str) -> Any:
    """``message`` (or each of a list) as the catalog of ``language`` has it."""
    with force_locale(language):
        if isinstance(message, str | LazyString):
            return str(message)
        return [str(item) for item in message]


def set_shipped(record: Translatable, messages: Mapping[str, Shipped]) -> None:
    """Give ``record`` these shipped texts: its columns in the default language, and a
    translation in each other language whose catalog translates them.

    A catalog without the text gives the English source back; that is no translation (the
    editors then show the text as missing), unless English is the language asked for.
    """
    for field, message in messages.items():
        setattr(record, field, in_language(message, default_language()))
    english = {field: in_language(message, "en") for field, message in messages.items()}
    for language in other_languages():
        values = {field: in_language(message, language) for field, message in messages.items()}
        if language != "en":
            values = {field: value for field, value in values.items()
                      if value != english[field]}
        if values:
            record.translate(language, values)
