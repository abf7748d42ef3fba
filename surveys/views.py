"""The respondents' pages: enter a code (or follow an open link), answer, done.

Every page works as a plain HTML form; static/js/survey.mjs adds paging by section, conditions
as answers change, and the die of forced-response questions. Nothing on these pages says who
the respondent is, and nothing identifying is logged or stored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from integrity import anonymous_forms, current
from integrity.access import public
from integrity.db import get_session
from integrity.extensions import address_key, limiter
from integrity.i18n import RTL_SCRIPTS
from integrity.models import OrgUnit, today
from integrity.translated import default_language, page_language
from surveys import labels, services
from surveys.definitions import localize
from surveys.forms import AnswersForm, CodeForm
from surveys.services import Admission, AnswerError
from surveys.translations import untranslated
from surveys.waves import SurveyError

bp = public(Blueprint("surveys", __name__))

# Anyone may answer an open-link survey: a few times per hour and day from one address (held
# as a keyed hash in the limiter's storage only) keeps a single person from flooding it.
OPEN_LINK_LIMIT = "5 per hour;20 per day"
# Codes are 60 random bits; this only keeps a script from trying them at speed.
CODE_FAILURE_LIMIT = "20 per 15 minutes"


def _secret() -> bytes:
    secret = current_app.secret_key
    assert isinstance(secret, str)
    return secret.encode()


def _wrong_code(response: Response) -> bool:
    return response.status_code == 404


code_failures = limiter.shared_limit(CODE_FAILURE_LIMIT, scope="survey-code-failures",
                                     key_func=address_key, deduct_when=_wrong_code)


def _answers_from_form() -> dict[str, list[str]]:
    return {name[2:]: request.form.getlist(name) for name in request.form if name.startswith("q-")}


def page_strings() -> dict[str, str]:
    """The page script's sentences, translated (static/js/survey.mjs has English defaults)."""
    return {
        "step": _("Part %(number)d of %(count)d"),
        "required": _("Please answer this question."),
        "digitYes": _("Your digit is %(digit)s: answer “Yes”, whatever the truth."),
        "digitNo": _("Your digit is %(digit)s: answer “No”, whatever the truth."),
        "digitTruth": _("Your digit is %(digit)s: answer truthfully."),
        "sending": _("Sending your answers…"),
    }


def _questionnaire(admission: Admission, *, values: dict[str, list[str]] | None = None,
                   problems: dict[str, str] | None = None, error: str | None = None,
                   org_units: list[OrgUnit] | None = None, org_unit_id: str = "") -> str:
    action_url = (url_for("surveys.submit") if admission.code is not None
                  else url_for("surveys.submit_open", survey_id=admission.survey.id))
    language = page_language()
    source = default_language()
    return render_template(
        "surveys/form.html", admission=admission,
        definition=localize(admission.definition, language),
        untranslated=untranslated(admission.definition, language), source_language=source,
        source_direction="rtl" if source in RTL_SCRIPTS else "ltr",
        form=AnswersForm(), action_url=action_url, values=values or {},
        problems=problems or {}, error=error, labels=labels, org_units=org_units,
        org_unit_id=org_unit_id,
        page_strings=page_strings(),
    )


def _start_page(error: str | None = None, code: str = "") -> str:
    form = CodeForm(formdata=None, data={"code": code})
    if error:
        form.code.errors = [error]
    return render_template("surveys/start.html", form=form,
                           open_surveys=services.open_link_surveys(get_session()),
                           min_responses=current.settings().survey_min_responses)


def _admit(code: str) -> str | tuple[str, int]:
    try:
        admission = services.admit_code(get_session(), _secret(), code, today())
    except SurveyError as exc:
        return _start_page(str(exc), code), exc.status
    return _questionnaire(admission)


@bp.get("/survey")
@code_failures
def start() -> str | tuple[str, int]:
    """The code page; ``?code=`` (from a QR code or an e-mail) goes straight to the questions."""
    code = request.args.get("code", "")
    return _admit(code) if code else _start_page()


@bp.post("/survey")
@code_failures
def enter() -> str | tuple[str, int]:
    if refused := anonymous_forms.refusal():
        return _start_page(refused, request.form.get("code", "")), 400
    return _admit(request.form.get("code", ""))


@bp.post("/survey/answers")
@code_failures
def submit() -> str | tuple[str, int]:
    db = get_session()
    code = request.form.get("code", "")
    answers = _answers_from_form()
    if refused := anonymous_forms.refusal(single_use=True):
        return _answer_again(code, answers, refused)
    try:
        services.submit_with_code(db, _secret(), code, answers, today())
    except AnswerError as exc:
        db.rollback()
        return _answer_again(code, answers, str(exc), exc.problems)
    except SurveyError as exc:
        db.rollback()
        return _start_page(str(exc)), exc.status
    db.commit()
    return render_template("surveys/done.html")


def _answer_again(code: str, answers: dict[str, list[str]], error: str,
                  problems: dict[str, str] | None = None) -> tuple[str, int]:
    """The questionnaire again, with what was given and each problem marked."""
    try:
        admission = services.admit_code(get_session(), _secret(), code, today())
    except SurveyError as exc:
        return _start_page(str(exc)), exc.status
    return _questionnaire(admission, values=answers, problems=problems, error=error), 400


def _units() -> list[OrgUnit]:
    return list(get_session().scalars(select(OrgUnit).order_by(OrgUnit.name)))


def _open_admission(survey_id: int) -> Admission:
    try:
        return services.admit_open_link(get_session(), survey_id, today())
    except SurveyError as exc:
        abort(exc.status)


@bp.get("/survey/open/<int:survey_id>")
def open_link(survey_id: int) -> str:
    return _questionnaire(_open_admission(survey_id), org_units=_units())


@bp.post("/survey/open/<int:survey_id>")
@limiter.limit(OPEN_LINK_LIMIT, key_func=address_key)
def submit_open(survey_id: int) -> str | tuple[str, int]:
    db = get_session()
    org_unit_id = request.form.get("org_unit", "")
    answers = _answers_from_form()
    if refused := anonymous_forms.refusal(single_use=True):
        return _questionnaire(_open_admission(survey_id), values=answers, error=refused,
                              org_units=_units(), org_unit_id=org_unit_id), 400
    try:
        services.submit_open_link(db, survey_id, request.form.get("org_unit", type=int), answers,
                                  today())
    except AnswerError as exc:
        db.rollback()
        context: dict[str, Any] = {"values": answers, "problems": exc.problems,
                                   "error": str(exc), "org_units": _units(),
                                   "org_unit_id": org_unit_id}
        return _questionnaire(_open_admission(survey_id), **context), 400
    except SurveyError as exc:
        db.rollback()
        abort(exc.status)
    db.commit()
    return render_template("surveys/done.html")
