"""The administrators' translation page of a survey: every text of its definition in one
other configured language, beside the default language's text. Saving is audited."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from integrity.access import restrict
from integrity.audit import record
from integrity.auth.forms import EmptyForm
from integrity.db import get_or_404, get_session
from integrity.i18n import RTL_SCRIPTS, language_choices
from integrity.models import Role
from integrity.translated import default_language, other_languages
from surveys import labels
from surveys.definitions import DefinitionError, localize
from surveys.models import Survey
from surveys.services import survey_definition
from surveys.translations import (
    TextField,
    TextGroup,
    save_translations,
    text_groups,
    translated_count,
)

bp = restrict(Blueprint("survey_translations", __name__, url_prefix="/admin/surveys"),
              Role.ADMIN)


def _as_typed(groups: list[TextGroup]) -> list[TextGroup]:
    """The groups with what was typed in each input, to show again after a refusal."""
    return [TextGroup(group.heading, [
        TextField(f.name, f.label, f.source, request.form.get(f.name, ""), f.long)
        for f in group.fields]) for group in groups]


@bp.route("/<int:survey_id>/translations")
def first(survey_id: int) -> str | Response:
    """The translation page of the first language other than the default."""
    survey = get_or_404(Survey, survey_id)
    languages = other_languages()
    if not languages:
        # Like the other translation pages: the page itself says there is nothing to do.
        return render_template("survey_admin/translations.html", survey=survey, language=None)
    return redirect(url_for(".translate", survey_id=survey.id, language=languages[0]))


@bp.route("/<int:survey_id>/translations/<language>", methods=["GET", "POST"])
def translate(survey_id: int, language: str) -> str | Response | tuple[str, int]:
    """Every text of the survey in ``language``; saving stores them all or none."""
    survey = get_or_404(Survey, survey_id)
    if language not in other_languages():
        abort(404)
    db = get_session()
    definition = survey_definition(survey)
    form = EmptyForm()
    error = None
    if request.method == "POST":
        if not form.validate_on_submit():
            error = _("The form had expired. Your texts are below: please save again.")
        else:
            try:
                saved = save_translations(db, survey, definition, language, request.form)
            except DefinitionError as exc:
                db.rollback()
                error = str(exc)
            else:
                record(db, actor=g.user, action="survey_translated",
                       subject=f"survey:{survey.id}",
                       details={"language": language,
                                "texts": translated_count(saved, language)})
                db.commit()
                flash(_("The translation was saved."), "success")
                return redirect(url_for(".translate", survey_id=survey.id, language=language))
    groups = text_groups(definition, language)
    if error:
        groups = _as_typed(groups)
    names = dict(language_choices())
    page = render_template(
        "survey_admin/translations.html", survey=survey, groups=groups, form=form,
        error=error, language=language, language_name=names.get(language, language),
        names=names, languages=other_languages(), source_language=default_language(),
        direction="rtl" if language in RTL_SCRIPTS else "ltr",
        source_direction="rtl" if default_language() in RTL_SCRIPTS else "ltr",
        missing=definition.missing_languages(list(other_languages())))
    return (page, 400) if error else page


@bp.route("/<int:survey_id>/translations/<language>/preview")
def preview(survey_id: int, language: str) -> str:
    """The survey as a respondent reading ``language`` sees it, page and all."""
    survey = get_or_404(Survey, survey_id)
    if language not in other_languages():
        abort(404)
    with force_locale(language):
        return render_template("survey_admin/preview.html", survey=survey, labels=labels,
                               definition=localize(survey_definition(survey), language))
