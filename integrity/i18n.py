"""Locale choice: a cookie set by the language picker, else the browser's preference."""

from __future__ import annotations

from babel import Locale
from flask import Blueprint, current_app, has_request_context, make_response, redirect, request
from flask_babel import get_locale
from werkzeug.wrappers import Response

from integrity.access import public, safe_next

# Each has a complete catalog in integrity/translations/; English is the source language.
SUPPORTED_LANGUAGES = ("en", "fr", "ar", "ru", "tr", "uk", "es")
LANGUAGE_COOKIE = "lang"
RTL_SCRIPTS = {"ar", "fa", "he", "ur", "ps", "ku", "dv", "yi"}

bp = public(Blueprint("i18n", __name__))


def languages() -> tuple[str, ...]:
    langs: tuple[str, ...] = current_app.extensions["integrity.settings"].languages
    return langs


def select_locale() -> str:
    """The locale for this request, always one of the configured languages."""
    if not has_request_context():
        return languages()[0]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages():
        return chosen
    return request.accept_languages.best_match(languages()) or languages()[0]


def text_direction() -> str:
    """'rtl' for right-to-left languages such as Arabic, else 'ltr'."""
    return "rtl" if get_locale().language in RTL_SCRIPTS else "ltr"


def language_choices() -> list[tuple[str, str]]:
    """Each configured language with its name written in that language."""
    return [(code, (Locale.parse(code).get_display_name(code) or code).capitalize())
            for code in languages()]


@bp.route("/language")
def choose() -> Response:
    """Remember the chosen language in a cookie; a plain GET, so no form token is needed."""
    code = request.args.get("language", "")
    response = make_response(redirect(safe_next(request.args.get("next")) or "/"))
    if code in languages():
        response.set_cookie(
            LANGUAGE_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.extensions["integrity.settings"].https,
        )
    return response


def template_globals() -> dict[str, object]:
    return {
        "text_direction": text_direction,
        "language_choices": language_choices,
        "current_locale": lambda: str(get_locale()),
    }
