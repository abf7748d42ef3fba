"""Locale choice, leaving no trace on the device: a signed-in staff member's stored language;
else the address's ``?lang=``, which every link and form of the page carries on; else the
browser's preference; else the installation's first language."""

from __future__ import annotations

from typing import Any

from babel import Locale
from flask import g, has_request_context, request
from flask_babel import get_locale

from integrity import current
from integrity.anonymous_forms import ANONYMOUS_BLUEPRINTS
from integrity.models import User
from integrity.translated import page_language

# Each has a complete catalog in integrity/translations/; English is the source language.
SUPPORTED_LANGUAGES = ("en", "fr", "ar", "ru", "tr", "uk", "es")
RTL_SCRIPTS = {"ar", "fa", "he", "ur", "ps", "ku", "dv", "yi"}


def languages() -> tuple[str, ...]:
    langs = current.settings().languages
    return langs


LANGUAGE_ARG = "lang"
# Where a signed-out visitor's choice travels in the address: the anonymous pages, which set
# no cookie, and the sign-in pages, so a chosen language holds until staff are signed in.
CARRIED_BY = ANONYMOUS_BLUEPRINTS | {"auth"}


def chosen_language() -> str | None:
    """The configured language this request's address asks for (``?lang=``), if any."""
    code = request.args.get(LANGUAGE_ARG)
    return code if code in languages() else None


def select_locale() -> str:
    """The locale for this request, always one of the configured languages."""
    offered = languages()
    if not has_request_context():
        return offered[0]
    user: User | None = g.get("user")
    if user is not None and user.language in offered:
        return user.language
    return chosen_language() or request.accept_languages.best_match(offered) or offered[0]


def language_of(user: User) -> str:
    """The language to write to ``user`` in: theirs if still offered, else the default."""
    offered = languages()
    return user.language if user.language in offered else offered[0]


def carry_language(endpoint: str, values: dict[str, Any]) -> None:
    """``url_for`` hook: on a page opened with ``?lang=`` by someone not signed in, links and
    form actions to the pages such visitors use keep it (nothing else remembers the choice)."""
    if (not has_request_context() or g.get("user") is not None
            or endpoint.partition(".")[0] not in CARRIED_BY):
        return
    chosen = chosen_language()
    if chosen is not None:
        values.setdefault(LANGUAGE_ARG, chosen)


def text_direction() -> str:
    """'rtl' for right-to-left languages such as Arabic, else 'ltr'."""
    return "rtl" if get_locale().language in RTL_SCRIPTS else "ltr"


def language_choices() -> list[tuple[str, str]]:
    """Each configured language with its name written in that language."""
    return [(code, (Locale.parse(code).get_display_name(code) or code).capitalize())
            for code in languages()]


def template_globals() -> dict[str, object]:
    return {
        "text_direction": text_direction,
        "language_choices": language_choices,
        "current_locale": lambda: str(get_locale()),
        "page_language": page_language,
    }
