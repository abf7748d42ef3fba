"""The administrators' survey pages: build a survey (questions added, edited, reordered,
removed, previewed), import and export it as JSON, and run its waves (open, close, access
codes on printable slips or by e-mail). Every change is audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import (
    SelectChoice,
)

from integrity import current, formatting
from integrity.access import restrict
from integrity.audit import record
from integrity.changes import commit_unless, flash_form_errors
from integrity.db import get_or_404, get_session
from integrity.mail import MailError
from integrity.models import OrgUnit, Role, today
from surveys import builder, labels
from surveys.bank import load_template, template_names
from surveys.builder_forms import (
    TYPE_NAMES,
    AddQuestionForm,
    CodesForm,
    EmptyForm,
    ImportForm,
    MailForm,
    NewSurveyForm,
    QuestionForm,
    SectionForm,
    SurveyForm,
    TemplateForm,
    WaveForm,
)
from surveys.codes import email_codes, hand_out_addresses, issue_codes, survey_title
from surveys.definitions import DefinitionError, QuestionType, definition_json, load_definition
from surveys.models import Survey, Wave
from surveys.results import shown_rates, thresholds_from
from surveys.services import create_survey, export_survey, survey_definition
from surveys.waves import TIME_ORDER, SurveyError, close_wave, create_wave, open_wave

bp = restrict(Blueprint("survey_admin", __name__, url_prefix="/admin/surveys"), Role.ADMIN)

# --- helpers --------------------------------------------------------------------------------


def _audit(action: str, subject: str, **details: Any) -> None:
    record(get_session(), actor=g.user, action=action, subject=subject, details=details)


def _secret() -> bytes:
    secret = current_app.secret_key
    assert isinstance(secret, str)
    return secret.encode()


def _units() -> list[OrgUnit]:
    return list(get_session().scalars(select(OrgUnit).order_by(OrgUnit.name)))


def _save(survey: Survey, data: dict[str, Any], action: str, **details: Any) -> bool:
    """Check and store ``data``; on refusal flash the one sentence and store nothing."""
    db = get_session()
    with commit_unless(db, DefinitionError) as change:
        builder.store(db, survey, data)
        _audit(action, f"survey:{survey.id}", **details)
    return change.stored


def _editable(survey: Survey) -> dict[str, Any] | None:
    try:
        return builder.editable(get_session(), survey)
    except DefinitionError as exc:
        flash(str(exc), "error")
        return None


# --- surveys --------------------------------------------------------------------------------


@bp.route("/")
def index() -> str:
    db = get_session()
    surveys = list(db.scalars(select(Survey).order_by(Survey.id.desc())))
    template_form = TemplateForm()
    template_form.template.choices = [SelectChoice(n, n) for n in template_names()]
    return render_template("survey_admin/index.html", surveys=surveys,
                           new_form=NewSurveyForm(), template_form=template_form,
                           import_form=ImportForm(),
                           question_counts={s.id: len(survey_definition(s).questions)
                                            for s in surveys})


@bp.route("/new", methods=["POST"])
def new() -> WerkzeugResponse:
    form = NewSurveyForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for(".index"))
    db = get_session()
    survey = builder.new_survey(db, form.title.data or "", form.first_question.data or "")
    _audit("survey_created", f"survey:{survey.id}")
    db.commit()
    return redirect(url_for(".edit", survey_id=survey.id))


@bp.route("/from-template", methods=["POST"])
def from_template() -> WerkzeugResponse:
    form = TemplateForm()
    form.template.choices = [SelectChoice(n, n) for n in template_names()]
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for(".index"))
    db = get_session()
    survey = create_survey(db, load_template(form.template.data or ""))
    _audit("survey_imported", f"survey:{survey.id}", template=form.template.data)
    db.commit()
    flash(_("The survey was made from the template."), "success")
    return redirect(url_for(".edit", survey_id=survey.id))


@bp.route("/import", methods=["POST"])
def import_file() -> WerkzeugResponse:
    form = ImportForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for(".index"))
    try:
        definition = load_definition(form.file.data.read(1_000_001))
    except DefinitionError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    db = get_session()
    survey = create_survey(db, definition)
    _audit("survey_imported", f"survey:{survey.id}", questions=len(definition.questions))
    db.commit()
    flash(_("The survey was imported."), "success")
    return redirect(url_for(".edit", survey_id=survey.id))


@bp.route("/<int:survey_id>", methods=["GET", "POST"])
def edit(survey_id: int) -> str | WerkzeugResponse:
    survey = get_or_404(Survey, survey_id)
    db = get_session()
    definition = survey_definition(survey)
    form = SurveyForm(obj=survey)
    if form.validate_on_submit():
        # The questions stay as they are (even once locked); the title, introduction and
        # rhythm may change.
        data = definition_json(definition)
        data["title"] = form.title.data
        data["introduction"] = form.introduction.data or ""
        data["open_link"] = bool(form.open_link.data)
        if form.recurrence_months.data and form.open_days.data:
            data["recurrence"] = {"months": form.recurrence_months.data,
                                  "open_days": form.open_days.data}
        else:
            data.pop("recurrence", None)
        if _save(survey, data, "survey_changed"):
            flash(_("The survey was saved."), "success")
        return redirect(url_for(".edit", survey_id=survey.id))
    flash_form_errors(form)
    add_form = AddQuestionForm()
    add_form.section.choices = [
        SelectChoice(str(i), s.title or _("Part %(number)d", number=i + 1))
        for i, s in enumerate(definition.sections)]
    add_form.section.choices.append(SelectChoice(str(len(definition.sections)),
                                                 _("A new section")))
    return render_template("survey_admin/edit.html", survey=survey, definition=definition,
                           form=form, add_form=add_form, action_form=EmptyForm(),
                           locked=builder.locked(db, survey), type_names=TYPE_NAMES,
                           section_form=SectionForm)


@bp.route("/<int:survey_id>/questions", methods=["POST"])
def add_question(survey_id: int) -> WerkzeugResponse:
    survey = get_or_404(Survey, survey_id)
    form = AddQuestionForm()
    definition = survey_definition(survey)
    form.section.choices = [SelectChoice(str(i), str(i))
                            for i in range(len(definition.sections) + 1)]
    data = _editable(survey)
    if data is None or not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for(".edit", survey_id=survey.id))
    try:
        key = builder.add_question(data, int(form.section.data or 0),
                                   QuestionType(form.type.data), form.text.data or "")
    except DefinitionError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".edit", survey_id=survey.id))
    if not _save(survey, data, "survey_question_added", question=key):
        return redirect(url_for(".edit", survey_id=survey.id))
    return redirect(url_for(".question", survey_id=survey.id, key=key))


def _question_form(data: dict[str, Any], key: str) -> QuestionForm:
    raw = builder.question_data(data, key)
    condition = raw.get("condition") or {}
    values = condition.get("in", [condition["equals"]] if "equals" in condition else [])
    form = QuestionForm(data={
        "text": raw.get("text", ""), "help": raw.get("help", ""),
        "required": raw.get("required", False), "index": raw.get("index", ""),
        "reverse": raw.get("reverse", False),
        "condition_question": condition.get("question", ""),
        "condition_values": ", ".join(str(v) for v in values),
        "options": "\n".join(raw.get("options", [])), "correct": raw.get("correct"),
        "minimum": raw.get("min"), "maximum": raw.get("max"),
        "innocuous": raw.get("innocuous", ""), "p": raw.get("p"),
        "p_truth": raw.get("p_truth"), "p_forced_yes": raw.get("p_forced_yes"),
        "p_forced_no": raw.get("p_forced_no"),
    } if request.method == "GET" else None)
    earlier = []
    for section in data["sections"]:
        for other in section["questions"]:
            if other["key"] == key:
                break
            earlier.append(SelectChoice(other["key"], f"{other['key']}: {other['text'][:60]}"))
        else:
            continue
        break
    form.condition_question.choices = [SelectChoice("", _("(always shown)")), *earlier]
    return form


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def _fields_from(form: QuestionForm, qtype: QuestionType) -> dict[str, Any]:
    fields: dict[str, Any] = {"text": (form.text.data or "").strip(),
                              "help": (form.help.data or "").strip(),
                              "required": bool(form.required.data),
                              "index": (form.index.data or "").strip() or None,
                              "reverse": bool(form.reverse.data)}
    if form.condition_question.data:
        values: list[Any] = [int(v) if v.strip().isdigit() else v.strip()
                             for v in (form.condition_values.data or "").split(",") if v.strip()]
        fields["condition"] = ({"question": form.condition_question.data, "equals": values[0]}
                               if len(values) == 1 else
                               {"question": form.condition_question.data, "in": values})
    if qtype in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        fields["options"] = [line.strip() for line in (form.options.data or "").splitlines()
                             if line.strip()]
        if qtype is QuestionType.SINGLE and form.correct.data:
            fields["correct"] = form.correct.data
    elif qtype is QuestionType.NUMBER:
        fields["min"], fields["max"] = _number(form.minimum.data), _number(form.maximum.data)
    elif qtype is QuestionType.CROSSWISE:
        fields["innocuous"] = (form.innocuous.data or "").strip()
        fields["p"] = _number(form.p.data)
    elif qtype is QuestionType.FORCED_RESPONSE:
        fields.update(p_truth=_number(form.p_truth.data),
                      p_forced_yes=_number(form.p_forced_yes.data),
                      p_forced_no=_number(form.p_forced_no.data))
    return fields


def _editable_question(survey_id: int, key: str
                       ) -> tuple[Survey, dict[str, Any] | None, dict[str, Any]]:
    """The survey, its definition as data (None once locked) and question ``key`` (404)."""
    survey = get_or_404(Survey, survey_id)
    data = _editable(survey)
    try:
        raw = builder.question_data(data or builder.definition_data(survey), key)
    except DefinitionError:
        abort(404)
    return survey, data, raw


@bp.route("/<int:survey_id>/questions/<key>", methods=["GET", "POST"])
def question(survey_id: int, key: str) -> str | WerkzeugResponse:
    survey, data, raw = _editable_question(survey_id, key)
    if data is None:
        return redirect(url_for(".edit", survey_id=survey.id))
    qtype = QuestionType(raw["type"])
    form = _question_form(data, key)
    if form.validate_on_submit():
        builder.replace_question(data, key, _fields_from(form, qtype))
        if _save(survey, data, "survey_question_changed", question=key):
            flash(_("The question was saved."), "success")
            return redirect(url_for(".edit", survey_id=survey.id) + f"#question-{key}")
    else:
        flash_form_errors(form)
    return render_template("survey_admin/question.html", survey=survey, key=key, qtype=qtype,
                           form=form, type_names=TYPE_NAMES)


@bp.route("/<int:survey_id>/questions/<key>/move", methods=["POST"])
def move(survey_id: int, key: str) -> WerkzeugResponse:
    survey = get_or_404(Survey, survey_id)
    form = EmptyForm()
    data = _editable(survey)
    step = -1 if request.form.get("direction") == "up" else 1
    if data is not None and form.validate_on_submit():
        try:
            builder.move_question(data, key, step)
        except DefinitionError as exc:
            flash(str(exc), "error")
        else:
            _save(survey, data, "survey_question_moved", question=key)
    return redirect(url_for(".edit", survey_id=survey.id) + f"#question-{key}")


@bp.route("/<int:survey_id>/questions/<key>/remove", methods=["GET", "POST"])
def remove(survey_id: int, key: str) -> str | WerkzeugResponse:
    survey, data, raw = _editable_question(survey_id, key)
    if data is None:
        return redirect(url_for(".edit", survey_id=survey.id))
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            builder.remove_question(data, key)
        except DefinitionError as exc:
            flash(str(exc), "error")
        else:
            if _save(survey, data, "survey_question_removed", question=key):
                flash(_("The question was removed."), "success")
        return redirect(url_for(".edit", survey_id=survey.id))
    return render_template("survey_admin/confirm.html", form=form, survey=survey,
                           title=_("Remove this question?"),
                           text=_("“%(text)s” will be removed from the survey. Waves that have "
                                  "not opened will not ask it.", text=raw["text"]),
                           button=_("Remove the question"))


@bp.route("/<int:survey_id>/sections/<int:number>", methods=["POST"])
def section(survey_id: int, number: int) -> WerkzeugResponse:
    survey = get_or_404(Survey, survey_id)
    form = SectionForm()
    data = _editable(survey)
    if data is not None and form.validate_on_submit():
        try:
            builder.set_section(data, number, (form.title.data or "").strip(),
                                (form.introduction.data or "").strip())
        except DefinitionError as exc:
            flash(str(exc), "error")
        else:
            if _save(survey, data, "survey_section_changed", section=number):
                flash(_("The section was saved."), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for(".edit", survey_id=survey.id))


@bp.route("/<int:survey_id>/preview")
def preview(survey_id: int) -> str:
    survey = get_or_404(Survey, survey_id)
    return render_template("survey_admin/preview.html", survey=survey,
                           definition=survey_definition(survey), labels=labels)


@bp.route("/<int:survey_id>/export")
def export(survey_id: int) -> Response:
    survey = get_or_404(Survey, survey_id)
    _audit("survey_exported", f"survey:{survey.id}")
    get_session().commit()
    response = Response(export_survey(survey) + "\n", mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="survey-{survey.id}.json"'
    return response


@bp.route("/<int:survey_id>/copy", methods=["POST"])
def copy(survey_id: int) -> WerkzeugResponse:
    survey = get_or_404(Survey, survey_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = get_session()
    created = builder.copy_survey(db, survey)
    _audit("survey_created", f"survey:{created.id}", copy_of=survey.id)
    db.commit()
    flash(_("The survey was copied: this copy can be changed."), "success")
    return redirect(url_for(".edit", survey_id=created.id))


# --- waves ----------------------------------------------------------------------------------


@bp.route("/<int:survey_id>/waves", methods=["GET", "POST"])
def waves(survey_id: int) -> str | WerkzeugResponse:
    survey = get_or_404(Survey, survey_id)
    db = get_session()
    form = WaveForm()
    if form.validate_on_submit():
        with commit_unless(db, SurveyError) as change:
            wave = create_wave(db, survey, form.opens_on.data or date.min,
                               form.closes_on.data or date.min)
            _audit("wave_added", f"wave:{wave.id}", survey=survey.id)
        if change.stored:
            flash(_("Wave %(number)d was added.", number=wave.number), "success")
        return redirect(url_for(".waves", survey_id=survey.id))
    flash_form_errors(form)
    org_units = _units()
    codes_form = CodesForm()
    codes_form.units.choices = [SelectChoice(str(u.id), u.name) for u in org_units]
    mail_form = MailForm()
    mail_form.unit.choices = [SelectChoice(str(u.id), u.name) for u in org_units]
    wave_list = list(db.scalars(select(Wave).where(Wave.survey_id == survey.id)
                                .order_by(*(column.desc() for column in TIME_ORDER))))
    settings = current.settings()
    links = hand_out_addresses(settings.public_url, survey.id) if survey.open_link else []
    return render_template("survey_admin/waves.html", survey=survey, waves=wave_list,
                           form=form, codes_form=codes_form, mail_form=mail_form,
                           action_form=EmptyForm(), open_links=links,
                           rates={w.id: shown_rates(db, w, thresholds_from(settings))
                                  for w in wave_list},
                           min_responses=settings.survey_min_responses)


@bp.route("/waves/<int:wave_id>/<any(open, close):action>", methods=["GET", "POST"])
def wave_action(wave_id: int, action: str) -> str | WerkzeugResponse:
    wave = get_or_404(Wave, wave_id)
    form = EmptyForm()
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, SurveyError) as change:
            (open_wave if action == "open" else close_wave)(db, wave, today())
            _audit(f"wave_{action}ed" if action == "open" else "wave_closed", f"wave:{wave.id}")
        if change.stored:
            flash(_("Wave %(number)d is open.", number=wave.number) if action == "open"
                  else _("Wave %(number)d is closed.", number=wave.number), "success")
        return redirect(url_for(".waves", survey_id=wave.survey_id))
    if action == "open":
        title = _("Open wave %(number)d now?", number=wave.number)
        text = _("Codes of this wave will be accepted from now until %(day)s.",
                 day=formatting.day(wave.closes_on))
    else:
        title = _("Close wave %(number)d now?", number=wave.number)
        text = _("No code or link of this wave will be accepted any more. This cannot be "
                 "undone.")
    return render_template("survey_admin/confirm.html", form=form, survey=wave.survey,
                           title=title, text=text, button=title)


@bp.route("/waves/<int:wave_id>/codes", methods=["POST"])
def codes(wave_id: int) -> WerkzeugResponse:
    wave = get_or_404(Wave, wave_id)
    form = CodesForm()
    org_units = {str(u.id): u for u in _units()}
    form.units.choices = [SelectChoice(uid, u.name) for uid, u in org_units.items()]
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for(".waves", survey_id=wave.survey_id))
    db = get_session()
    chosen = [org_units[uid] for uid in form.units.data or []]
    with commit_unless(db, SurveyError) as change:
        issued = issue_codes(db, _secret(), wave,
                             {org_unit: form.count.data or 0 for org_unit in chosen})
        language = str(get_locale())
        from surveys.slips import slips_pdf  # matplotlib loads with the first slips drawn

        pdf = slips_pdf(issued, survey_title(wave.survey, language), current.settings().public_url,
                        language)
        _audit("codes_issued", f"wave:{wave.id}", codes=len(issued),
               units=[org_unit.id for org_unit in chosen])
    if not change.stored:
        return redirect(url_for(".waves", survey_id=wave.survey_id))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="survey-codes-wave-{wave.id}.pdf"')
    return response


@bp.route("/waves/<int:wave_id>/mail", methods=["POST"])
def mail(wave_id: int) -> WerkzeugResponse:
    wave = get_or_404(Wave, wave_id)
    form = MailForm()
    org_units = {str(u.id): u for u in _units()}
    form.unit.choices = [SelectChoice(uid, u.name) for uid, u in org_units.items()]
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for(".waves", survey_id=wave.survey_id))
    db = get_session()
    org_unit = org_units[form.unit.data or ""]
    try:
        mailing = email_codes(db, _secret(), current.settings(),
                              wave, org_unit, (form.addresses.data or "").splitlines())
    except (SurveyError, MailError) as exc:
        db.rollback()
        flash(str(exc) if isinstance(exc, SurveyError)
              else _("Nothing was sent: the mail server could not be reached."), "error")
        return redirect(url_for(".waves", survey_id=wave.survey_id))
    _audit("codes_mailed", f"wave:{wave.id}", sent=mailing.sent, failed=len(mailing.failed),
           unit=org_unit.id)
    db.commit()
    flash(ngettext("%(count)d code was sent.", "%(count)d codes were sent.", mailing.sent,
                   count=mailing.sent), "success")
    if mailing.failed:
        flash(_("Lines %(lines)s could not be sent to; no code was kept for them.",
                lines=", ".join(map(str, mailing.failed))), "error")
    return redirect(url_for(".waves", survey_id=wave.survey_id))

