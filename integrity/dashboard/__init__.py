"""Aggregates for managers: never a case, only figures."""

from __future__ import annotations

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
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from integrity.access import restrict
from integrity.dashboard import pages
from integrity.dashboard.campaigns import (
    CampaignData,
    CampaignEffects,
    CampaignError,
    campaign_effects,
    campaign_groups,
    campaigns,
    delete_campaign,
    save_campaign,
)
from integrity.dashboard.charts import render
from integrity.dashboard.forms import KIND_NAMES, CampaignForm, FilterForm, choices
from integrity.dashboard.services import scope_choices, staff_by_unit_kind, unit_choices
from integrity.dashboard.trends import latest_survey
from integrity.dashboard.units import UnitTree
from integrity.db import get_session
from integrity.i18n import text_direction
from integrity.models import Campaign, CampaignKind, Role, today
from integrity.translated import page_language
from integrity.translation_pages import edit, template_helpers

bp = restrict(Blueprint("dashboard", __name__, url_prefix="/dashboard"), Role.MANAGER, Role.ADMIN)


@bp.context_processor
def _survey_labels() -> dict[str, object]:
    from surveys import result_labels

    return {"index_name": result_labels.index_name,
            "withheld_reason": result_labels.withheld_reason,
            "unfit_text": result_labels.unfit_text,
            "headline_label": result_labels.headline_label,
            "answer_label": result_labels.answer_label,
            "percent": pages.percent, "number": pages.number, "row_label": pages.row_label,
            "outcome_labels": pages.OUTCOME_LABELS, "kind_names": KIND_NAMES,
            **template_helpers()}


def _filters() -> FilterForm:
    form = FilterForm(request.args)
    form.set_scopes(scope_choices(get_session()))
    return form


def _report_figures() -> tuple[FilterForm, pages.ReportFigures]:
    form = _filters()
    day = today()
    return form, pages.report_figures(get_session(), form.query(day), form.chosen_dimension(),
                                      day)


def _filter_args() -> dict[str, str]:
    return {k: v for k, v in request.args.items()
            if k in ("granularity", "start", "end", "scope", "dimension")}


@bp.route("/")
def index() -> str:
    """Report figures by period and by unit, channel or category, with their charts."""
    form, figures = _report_figures()
    spans = pages.campaign_spans(get_session())
    charts = {"reports": pages.reports_chart(figures.periods, spans),
              "deadlines": pages.deadlines_chart(figures.periods, spans)}
    return render_template("dashboard/index.html", form=form, figures=figures, charts=charts,
                           args=_filter_args(), staff=staff_by_unit_kind(get_session()),
                           dimension_label=pages.DIMENSION_LABELS[form.chosen_dimension()],
                           threshold=pages.threshold())


def _survey() -> object:
    from surveys.models import Survey

    db = get_session()
    wanted = request.args.get("survey", type=int)
    survey = db.get(Survey, wanted) if wanted else latest_survey(db)
    return survey


@bp.route("/trends")
def trends() -> str:
    """Survey headline figures wave by wave, with campaigns shaded."""
    from surveys.models import Survey
    from surveys.services import survey_titles

    db = get_session()
    survey = _survey()
    figures = (pages.trend_figures(db, survey, page_language()) if isinstance(survey, Survey)
               else None)
    surveys = survey_titles(db)
    spans = pages.campaign_spans(db)
    charts = {t.key: pages.trend_chart(t, spans) for t in figures.trends} if figures else {}
    return render_template("dashboard/trends.html", survey=survey, trends=figures,
                           charts=charts, surveys=surveys, threshold=pages.threshold())


def _chart_response(data: bytes, fmt: str) -> Response:
    mimetype = "image/svg+xml" if fmt == "svg" else "image/png"
    return Response(data, mimetype=mimetype)


@bp.route("/charts/<name>.<fmt>")
def chart(name: str, fmt: str) -> Response:
    """A chart as SVG or PNG; the same filters as the page it belongs to."""
    from surveys.models import Survey

    if fmt not in ("svg", "png"):
        abort(404)
    db = get_session()
    spans = pages.campaign_spans(db)
    rtl = text_direction() == "rtl"
    if name in ("reports", "deadlines"):
        _, figures = _report_figures()
        make = pages.reports_chart if name == "reports" else pages.deadlines_chart
        return _chart_response(render(make(figures.periods, spans), fmt, rtl), fmt)
    if name == "trend":
        survey = _survey()
        if not isinstance(survey, Survey):
            abort(404)
        trend = pages.trend_figures(db, survey, page_language()).trend(
            request.args.get("series", ""))
        if trend is None:
            abort(404)
        return _chart_response(render(pages.trend_chart(trend, spans), fmt, rtl), fmt)
    abort(404)


def _csv_response(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.route("/export/<name>.csv")
def export(name: str) -> Response:
    """Every table of the dashboard as CSV, withheld cells written as "withheld"."""
    from surveys.models import Survey

    db = get_session()
    if name in ("periods", "breakdown"):
        _, figures = _report_figures()
        return _csv_response(pages.kpi_csv(getattr(figures, name)), f"reports-{name}")
    if name == "trends":
        survey = _survey()
        if not isinstance(survey, Survey):
            abort(404)
        return _csv_response(pages.trends_csv(pages.trend_figures(db, survey)),
                             f"survey-{survey.id}-trends")
    if name == "campaigns":
        return _csv_response(pages.campaigns_csv(campaigns(db)), "campaigns")
    if name == "effects":
        campaign = db.get(Campaign, request.args.get("campaign", 0, type=int))
        if campaign is None:
            abort(404)
        return _csv_response(pages.effects_csv(_effects(campaign)), f"campaign-{campaign.id}")
    abort(404)


# --- campaigns -------------------------------------------------------------------------------


def _effects(campaign: Campaign, language: str | None = None) -> CampaignEffects:
    from surveys.models import Survey

    db = get_session()
    survey = _survey()
    trends_ = (pages.trend_figures(db, survey, language) if isinstance(survey, Survey)
               else None)
    return campaign_effects(db, campaign, trends_, today(), pages.threshold())


@bp.route("/campaigns/")
def campaign_list() -> str:
    return render_template("dashboard/campaigns.html", campaigns=campaigns(get_session()))


def _campaign_form(campaign: Campaign | None) -> CampaignForm:
    db = get_session()
    form = CampaignForm(obj=None if request.method == "POST" else campaign)
    if campaign is not None and request.method != "POST":
        form.units.data = [unit.id for unit in campaign.units]
    form.units.choices = choices(unit_choices(db))
    return form


def _save(campaign: Campaign | None) -> str | BaseResponse:
    db = get_session()
    form = _campaign_form(campaign)
    if form.validate_on_submit():
        data = CampaignData(form.name.data or "", CampaignKind(form.kind.data),
                            form.starts_on.data, form.ends_on.data,  # type: ignore[arg-type]
                            list(form.units.data or []), form.note.data or "")
        try:
            saved = save_campaign(db, g.user, data, campaign)
        except CampaignError as error:
            db.rollback()
            form.name.errors = [*form.name.errors, str(error)]  # type: ignore[list-item]
        else:
            db.commit()
            flash(_("The campaign is saved."), "success")
            return redirect(url_for("dashboard.campaign", campaign_id=saved.id))
    return render_template("dashboard/campaign_form.html", form=form, campaign=campaign)


@bp.route("/campaigns/new", methods=["GET", "POST"])
def campaign_new() -> str | BaseResponse:
    return _save(None)


def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = get_session().get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
def campaign_edit(campaign_id: int) -> str | BaseResponse:
    return _save(_campaign_or_404(campaign_id))


@bp.route("/campaigns/<int:campaign_id>/delete", methods=["POST"])
def campaign_delete(campaign_id: int) -> BaseResponse:
    from integrity.auth.forms import EmptyForm

    campaign = _campaign_or_404(campaign_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = get_session()
    delete_campaign(db, g.user, campaign)
    db.commit()
    flash(_("The campaign is removed."), "success")
    return redirect(url_for("dashboard.campaign_list"))


@bp.route("/campaigns/<int:campaign_id>")
def campaign(campaign_id: int) -> str:
    """What the campaign changed: survey figures (difference in differences) and reports."""
    from integrity.auth.forms import EmptyForm
    from surveys.services import survey_titles

    db = get_session()
    found = _campaign_or_404(campaign_id)
    survey = _survey()
    surveys = survey_titles(db)
    tree = UnitTree.load(db)
    result = _effects(found, page_language())
    return render_template("dashboard/campaign.html", campaign=found, result=result,
                           survey=survey, surveys=surveys, tree=tree, delete_form=EmptyForm(),
                           threshold=pages.threshold())


@bp.route("/campaigns/<int:campaign_id>/translations", defaults={"language": None})
@bp.route("/campaigns/<int:campaign_id>/translations/<language>", methods=["GET", "POST"])
def campaign_translations(campaign_id: int, language: str | None) -> str | BaseResponse:
    """The campaign's name in each configured language."""
    found = _campaign_or_404(campaign_id)
    return edit(campaign_groups(found), language, subject=f"campaign:{found.id}",
                template="dashboard/campaign_translations.html", campaign=found,
                url=lambda code: url_for("dashboard.campaign_translations",
                                         campaign_id=found.id, language=code))


# --- survey results (per wave) ----------------------------------------------------------------


@bp.route("/surveys/")
def surveys() -> str:
    """Every survey and its waves, with how many answered."""
    from surveys.results import survey_overview, thresholds_from

    return render_template("dashboard/surveys.html", overview=survey_overview(get_session()),
                           thresholds=thresholds_from(current_app.extensions[
                               "integrity.settings"]))


@bp.route("/surveys/waves/<int:wave_id>")
def wave(wave_id: int) -> str:
    """A wave's results: figures with intervals, per unit where enough people answered."""
    from surveys.models import Wave
    from surveys.results import compare, previous_wave, thresholds_from, wave_results

    db = get_session()
    found = db.get(Wave, wave_id)
    if found is None:
        abort(404)
    thresholds = thresholds_from(current_app.extensions["integrity.settings"])
    # Question texts and options in the reader's language; the figures are the same in all.
    results = wave_results(db, found, thresholds, page_language())
    earlier = previous_wave(db, found)
    changes = compare(wave_results(db, earlier, thresholds), results) if earlier else []
    return render_template("dashboard/wave.html", results=results, earlier=earlier,
                           changes=changes)


from integrity.dashboard import exports  # noqa: E402, F401  (PDF report and posters)
