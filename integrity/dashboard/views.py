"""The dashboard's figure pages: reports by period and breakdown, trends, survey results."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    render_template,
    request,
)

from integrity import current
from integrity.dashboard import campaign_views, exports, pages  # noqa: F401 (routes)
from integrity.dashboard.blueprint import bp, campaign_figures, chosen_survey
from integrity.dashboard.campaigns import (
    campaigns,
)
from integrity.dashboard.forms import FilterForm
from integrity.dashboard.retaliation import retaliation_table
from integrity.dashboard.services import scope_choices, staff_by_unit_kind
from integrity.db import get_or_404, get_session
from integrity.i18n import text_direction
from integrity.models import Campaign, today
from integrity.translated import page_language


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
                           threshold=pages.threshold(),
                           retaliation=retaliation_table(get_session(), figures.periods.query,
                                                         today(), pages.threshold()),
                           period_label=pages.period_label)



@bp.route("/trends")
def trends() -> str:
    """Survey headline figures wave by wave, with campaigns shaded."""
    from surveys.models import Survey
    from surveys.services import survey_titles

    db = get_session()
    survey = chosen_survey()
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
    from integrity.dashboard.charts import render  # matplotlib loads with the first chart
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
        survey = chosen_survey()
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
    if name == "retaliation":
        _, figures = _report_figures()
        return _csv_response(pages.retaliation_csv(retaliation_table(
            db, figures.periods.query, today(), pages.threshold())), "retaliation")
    if name == "trends":
        survey = chosen_survey()
        if not isinstance(survey, Survey):
            abort(404)
        return _csv_response(pages.trends_csv(pages.trend_figures(db, survey)),
                             f"survey-{survey.id}-trends")
    if name == "campaigns":
        return _csv_response(pages.campaigns_csv(campaigns(db)), "campaigns")
    if name == "effects":
        campaign = get_or_404(Campaign, request.args.get("campaign", 0, type=int))
        return _csv_response(pages.effects_csv(campaign_figures(campaign)),
                             f"campaign-{campaign.id}")
    abort(404)



@bp.route("/surveys/")
def surveys() -> str:
    """Every survey and its waves, with how many answered."""
    from surveys.results import survey_overview, thresholds_from

    return render_template("dashboard/surveys.html", overview=survey_overview(get_session()),
                           thresholds=thresholds_from(current.settings()))


@bp.route("/surveys/waves/<int:wave_id>")
def wave(wave_id: int) -> str:
    """A wave's results: figures with intervals, per unit where enough people answered."""
    from surveys.models import Wave
    from surveys.results import compare, previous_wave, thresholds_from, wave_results

    db = get_session()
    found = get_or_404(Wave, wave_id)
    thresholds = thresholds_from(current.settings())
    # Question texts and options in the reader's language; the figures are the same in all.
    results = wave_results(db, found, thresholds, page_language())
    earlier = previous_wave(db, found)
    changes = compare(wave_results(db, earlier, thresholds), results) if earlier else []
    return render_template("dashboard/wave.html", results=results, earlier=earlier,
                           changes=changes)
