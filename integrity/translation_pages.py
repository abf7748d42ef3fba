"""The request side of the translation pages, shared by the administration and the dashboard:
choose the language, show the form, store what was typed (integrity.translation_editor)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, g, redirect, render_template, request
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from integrity.auth.forms import EmptyForm
from integrity.db import get_session
from integrity.translated import default_language, other_languages
from integrity.translation_editor import (
    Group,
    check,
    language_dir,
    language_name,
    missing_languages,
    read,
    save,
    shown,
    untranslated,
)


@dataclass(frozen=True)
class Tab:
    """A language of the page's tabs: its name, its address, what is missing in it."""

    code: str
    name: str
    url: str
    missing: bool
    untranslated: int


def template_helpers() -> dict[str, Any]:
    """What templates need to write a language's name and mark text in it."""
    return {"language_name": language_name, "language_dir": language_dir,
            "default_language": default_language}


def first_language(groups: Sequence[Group]) -> str | None:
    """The language a translation page opens in: the first one lacking a text."""
    candidates = missing_languages(groups) or list(other_languages())
    return candidates[0] if candidates else None


def tabs(groups: Sequence[Group], url: Callable[[str], str]) -> list[Tab]:
    missing = set(missing_languages(groups))
    return [Tab(code, language_name(code), url(code), code in missing,
                untranslated(groups, code)) for code in other_languages()]


def _saved_message(changed: int, language: str) -> str:
    name = language_name(language, str(get_locale()))
    if not changed:
        return _("Nothing was changed.")
    return ngettext("%(num)d text was saved (language: %(language)s).",
                    "%(num)d texts were saved (language: %(language)s).", changed, language=name)


def edit(groups: Sequence[Group], language: str | None, *, subject: str, template: str,
         url: Callable[[str], str], **context: Any) -> str | Response:
    """The translation page of ``groups`` in ``language`` (without one, the first language
    lacking a text); on POST, store every text or none."""
    if language is None:
        language = first_language(groups)
    elif language not in other_languages():
        abort(404)
    form = EmptyForm()
    typed = shown(groups, language) if language else {}
    problem = None
    if language and request.method == "POST" and form.validate_on_submit():
        typed = read(groups, request.form)
        problem = check(groups, typed)
        if problem is None:
            db = get_session()
            changed = save(db, g.user, groups, language, typed, subject)
            db.commit()
            flash(_saved_message(changed, language), "success")
            return redirect(request.full_path.rstrip("?"))
    return render_template(template, groups=groups, language=language, typed=typed,
                           problem=problem, tabs=tabs(groups, url), form=form,
                           action=url(language) if language else "", **context)
