"""The integrity report as a PDF: title page, report figures, survey trends, campaign effects,
methods and withheld figures. Drawn with matplotlib's PDF backend (PdfPages) on plain Figure
objects, from the same services as the pages, so the numbers are the pages' numbers.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import matplotlib
from flask_babel import gettext as _
from flask_babel import ngettext
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from integrity import fonts, formatting
from integrity.dashboard import kpis, pages
from integrity.dashboard.campaigns import CampaignEffects, campaign_effects
from integrity.dashboard.chart_specs import Chart, Span
from integrity.dashboard.charts import draw_into, drawing_lock
from integrity.dashboard.kpis import Dimension, KpiQuery, Ratio
from integrity.dashboard.retaliation import RetaliationRow, retaliation_table
from integrity.dashboard.trends import SurveyTrends
from integrity.dashboard.units import UnitTree
from integrity.models import Campaign
from integrity.translated import page_language
from surveys.models import Survey
from surveys.result_labels import unfit_text
from surveys.suppression import Thresholds

A4 = (8.27, 11.69)
MARGIN = 0.07
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ReportSpec:
    query: KpiQuery
    survey_id: int | None
    scope_label: str
    today: date
    threshold: int
    thresholds: Thresholds
    rtl: bool = False


class _Page:
    """An A4 page written from the top down."""

    def __init__(self, rtl: bool) -> None:
        self.figure = Figure(figsize=A4)
        self.y = 1 - MARGIN
        self.rtl = rtl

    @property
    def x(self) -> float:
        return 1 - MARGIN if self.rtl else MARGIN

    def heading(self, text: str, size: float = 16) -> None:
        self.figure.text(self.x, self.y, text, fontsize=size, fontweight="bold", va="top",
                         ha="right" if self.rtl else "left")
        self.y -= 0.022 + size / 800

    def para(self, text: str, size: float = 9.5, width: int = 95, gap: float = 0.008) -> None:
        lines = textwrap.wrap(text, width) or [""]
        self.figure.text(self.x, self.y, "\n".join(lines), fontsize=size, va="top",
                         ha="right" if self.rtl else "left", linespacing=1.35)
        self.y -= len(lines) * size * 1.35 / 72 / A4[1] + gap

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], size: float = 7.5,
              widths: Sequence[float] | None = None) -> None:
        height = (len(rows) + 1) * 0.022
        axes = self.figure.add_axes((MARGIN, self.y - height, 1 - 2 * MARGIN, height))
        axes.set_axis_off()
        cells = [list(header)] + [list(r) for r in rows]
        if self.rtl:
            cells = [row[::-1] for row in cells]
            widths = list(widths)[::-1] if widths else None
        drawn = axes.table(cellText=cells, loc="upper center", cellLoc="center",
                           colWidths=widths, bbox=Bbox.from_bounds(0, 0, 1, 1))
        drawn.auto_set_font_size(False)
        drawn.set_fontsize(size)
        for (row, _col), cell in drawn.get_celld().items():
            cell.set_edgecolor("#bbbbbb")
            if row == 0:
                cell.set_facecolor("#e8eef4")
                cell.get_text().set_fontweight("bold")
        self.y -= height + 0.02

    def chart(self, chart: Chart, height: float = 0.3) -> None:
        axes = self.figure.add_axes((MARGIN + 0.06, self.y - height + 0.05,
                                     1 - 2 * MARGIN - 0.08, height - 0.08))
        draw_into(self.figure, axes, chart, self.rtl, legend_below=False)
        axes.set_title(chart.title, fontsize=10, loc="right" if self.rtl else "left", pad=14)
        self.y -= height + 0.02

    def room(self, needed: float) -> bool:
        return self.y - needed > MARGIN


def _kpi_rows(table: kpis.KpiTable) -> list[list[str]]:
    rows = []
    for row in [*table.rows, table.total]:
        f = row.figures
        label = pages.row_label(row) if row.key != kpis.TOTAL else _("All")
        label = ("  " * row.depth + label)[:34]
        if f is None:
            rows.append([label] + [_("withheld")] + [""] * 8)
            continue

        def share(ratio: Ratio | None) -> str:
            return _("withheld") if ratio is None else pages.percent(ratio)

        days_to_acknowledge, days_to_close = (
            _("withheld") if name in f.withheld else pages.number(value)
            for name, value in (("median_days_to_acknowledge", f.median_days_to_acknowledge),
                                ("median_days_to_close", f.median_days_to_close)))
        rows.append([label, str(f.received), pages.number(f.per_100_staff),
                     share(f.acknowledged_in_time), days_to_acknowledge,
                     share(f.feedback_in_time), days_to_close,
                     share(f.substantiated), share(f.came_back), f"{f.open} / {f.overdue}"])
    return rows


def _kpi_header(first: str) -> list[str]:
    return [first, _("Reports"), _("per 100\nstaff"), _("Ack.\n≤ 7 days"),
            _("Median days\nto ack."), _("Feedback\n≤ 3 months"), _("Median days\nto close"),
            _("Substantiated"), _("Came back"), _("Open / overdue")]


WIDTHS = (0.2, 0.07, 0.08, 0.08, 0.09, 0.1, 0.09, 0.09, 0.08, 0.1)


def _title_page(spec: ReportSpec, survey: Survey | None) -> Figure:
    page = _Page(spec.rtl)
    page.y = 0.75
    page.heading(_("Integrity report"), 26)
    periods = spec.query.periods
    page.para(_("Reports filed from %(first)s to %(last)s", first=pages.period_label(periods[0]),
                last=pages.period_label(periods[-1])), 13)
    page.para(_("Scope: %(scope)s", scope=spec.scope_label), 11)
    if survey is not None:
        page.para(_("Survey: %(title)s", title=survey.text("title")), 11)
    page.para(_("Made on %(day)s", day=formatting.day(spec.today, "long")), 11)
    page.y -= 0.05
    page.para(_("This report holds aggregates only: no case, no report text, no answer of any "
                "one person. Figures from too few reports or answers are withheld, and so are "
                "figures from which a withheld one could be worked out."), 10, 80)
    return page.figure


def _figures_pages(spec: ReportSpec, session: Session, org_units: UnitTree,
                   spans: Sequence[Span]) -> list[Figure]:
    periods = kpis.period_table(session, spec.query, spec.today, spec.threshold, org_units)
    by_unit = kpis.breakdown(session, spec.query, Dimension.UNIT, spec.today, spec.threshold,
                             org_units)
    by_category = kpis.breakdown(session, spec.query, Dimension.CATEGORY, spec.today,
                                 spec.threshold, org_units)
    first = _Page(spec.rtl)
    first.heading(_("Report figures"))
    if periods.withheld:
        first.para(_("Too few reports in this scope: its figures are withheld."))
        return [first.figure]
    first.table(_kpi_header(_("Period")), _kpi_rows(periods), widths=WIDTHS)
    first.chart(pages.reports_chart(periods, spans), 0.28)
    first.chart(pages.deadlines_chart(periods, spans), 0.28)
    second = _Page(spec.rtl)
    second.heading(_("Report figures by unit and category"), 14)
    for table, name in ((by_unit, _("Unit")), (by_category, _("Category"))):
        rows = _kpi_rows(table)[:30]
        if second.room(0.022 * (len(rows) + 1)):
            second.table(_kpi_header(name), rows, size=7, widths=WIDTHS)
    return [first.figure, second.figure, _retaliation_page(spec, session)]


def _retaliation_rows(rows: Sequence[RetaliationRow]) -> list[list[str]]:
    """The dashboard's retaliation table (templates/dashboard/_retaliation.html) as text."""
    def cell(value: int | None) -> str:
        return _("withheld") if value is None else str(value)

    def share(ratio: Ratio | None) -> str:
        if ratio is None:
            return _("withheld")
        return f"{pages.percent(ratio)} ({ratio.part}/{ratio.whole})" if ratio.whole else "–"

    lines = []
    for row in rows:
        # As in the report figures' tables, the reason is left to the methods page.
        lines.append([pages.period_label(row.period) if row.period else _("Total"),
                      cell(row.received),
                      share(row.acknowledged_in_time), share(row.risk_assessed),
                      cell(row.check_ins)])
    return lines


def _retaliation_page(spec: ReportSpec, session: Session) -> Figure:
    """Reports of retaliation over the whole organisation, withheld as on the dashboard."""
    page = _Page(spec.rtl)
    page.heading(_("Retaliation"), 14)
    page.para(_("Reports of retaliation that reporters made from their mailbox after a report, "
                "whole organisation. Each is a case of its own and is counted among the reports "
                "above too."))
    rows = retaliation_table(session, spec.query, spec.today, spec.threshold)
    page.table([_("Period"), _("Reports of retaliation"), _("Acknowledged within 7 days"),
                _("Risk assessed"), _("Check-ins posted")],
               _retaliation_rows(rows), widths=(0.2, 0.22, 0.2, 0.2, 0.16))
    return page.figure


def _trend_pages(spec: ReportSpec, trends: SurveyTrends | None,
                 spans: Sequence[Span]) -> list[Figure]:
    page = _Page(spec.rtl)
    page.heading(_("Survey trends"))
    result = [page.figure]
    if trends is None or not trends.trends:
        page.para(_("No survey wave has been opened yet."))
        return result
    page.para(_("%(title)s: every opened wave, with 95 %% intervals; shaded spans are "
                "campaigns. Response rates: %(rates)s.", title=trends.title,
                rates=", ".join(f"{w.number}: " + (_("withheld") if w.counts_withheld
                                                   else "–" if w.rate is None
                                                   else formatting.share(w.rate))
                                for w in trends.waves)))
    for trend in trends.trends:
        if not page.room(0.3):
            page = _Page(spec.rtl)
            result.append(page.figure)
        page.chart(pages.trend_chart(trend, spans), 0.29)
        unfit = [p for p in trend.points if p.overall is not None and p.overall.unfit is not None]
        if unfit:  # no point on the chart: say why, and give the raw share
            page.para("; ".join(_("Wave %(number)d", number=p.wave.number) + ": "
                                + unfit_text(p.overall.unfit) for p in unfit
                                if p.overall is not None and p.overall.unfit is not None))
    return result


def _effect_lines(result: CampaignEffects) -> list[list[str]]:
    rows = []
    for effect in result.effects:
        e = effect.estimate
        if e is None:
            rows.append([effect.label[:40], "–", effect.missing or ""])
            continue
        reading = {"up": _("Higher in the target units."),
                   "down": _("Lower in the target units.")}.get(effect.reading,
                                                                _("No measurable change."))
        interval = f"[{formatting.signed(e.low)} – {formatting.signed(e.high)}]"
        rows.append([effect.label[:40], f"{formatting.signed(e.value)} {interval}", reading])
    return rows


def _effects_pages(spec: ReportSpec, session: Session, trends: SurveyTrends | None,
                   org_units: UnitTree) -> list[Figure]:
    page = _Page(spec.rtl)
    page.heading(_("Campaign effects"))
    result = [page.figure]
    found = list(session.scalars(select(Campaign).where(
        Campaign.ends_on >= spec.query.start, Campaign.starts_on <= spec.query.end,
        or_(Campaign.id.isnot(None))).order_by(Campaign.starts_on)))
    if not found:
        page.para(_("No campaign in these periods."))
    for campaign in found:
        effects = campaign_effects(session, campaign, trends, spec.today, spec.threshold, org_units)
        needed = 0.08 + 0.022 * (len(effects.effects) + 1)
        if not page.room(needed):
            page = _Page(spec.rtl)
            result.append(page.figure)
        span = formatting.span(campaign.starts_on, campaign.ends_on)
        page.heading(f"{campaign.text('name')} ({span})", 11)
        if effects.before is None or effects.after is None:
            page.para(_("No survey wave before and after the campaign to compare."))
        else:
            page.para(_("Change from wave %(before)d to wave %(after)d in the target units, "
                        "minus the change in the other units, with its 95 %% interval.",
                        before=effects.before.number, after=effects.after.number))
            page.table([_("Figure"), _("Difference in differences"), _("Interpretation")],
                       _effect_lines(effects), size=7.5, widths=(0.4, 0.3, 0.3))
        volume = effects.volume
        if volume is not None:
            def count(n: int | None) -> str:
                return _("withheld") if n is None else str(n)

            page.para(ngettext(
                "Reports from the target units: %(before)s in the %(days)d day before, "
                "%(after)s after; other units: %(obefore)s and %(oafter)s.",
                "Reports from the target units: %(before)s in the %(days)d days before, "
                "%(after)s after; other units: %(obefore)s and %(oafter)s.", volume.before_days,
                before=count(volume.target_before), after=count(volume.target_after),
                days=volume.before_days, obefore=count(volume.others_before),
                oafter=count(volume.others_after)))
    return result


def _methods_page(spec: ReportSpec) -> Figure:
    page = _Page(spec.rtl)
    page.heading(_("Methods and withheld figures"))
    for text in (
        _("Report figures count the reports filed in each period (by the day of filing), "
          "from their cleartext metadata only: channel, category, unit, status, outcome and "
          "the days of acknowledgement, feedback and closing."),
        _("Acknowledged within 7 days: acknowledged at the latest on the 7th day after filing, "
          "among the reports acknowledged or past that day. Feedback within 3 months: feedback "
          "given by the same day 3 months after the acknowledgement (or after the 7th day), "
          "the last day of the month when that month is shorter, among the reports that got "
          "feedback or are past that day."),
        _("Substantiated: closed cases found substantiated or partly substantiated, among the "
          "closed cases in scope. Came back: reports whose reporter wrote at least once after "
          "filing. Open and overdue: cases not closed, and those past a deadline today."),
        _("Survey figures come from the survey results service, wave by wave, with 95 %% "
          "confidence intervals; shares are in per cent, indices from 0 to 100."),
        _("A campaign's effect is the change from the last wave before it to the first wave "
          "after it in the target units, minus the same change in the other units (difference "
          "in differences). Each group's figure combines its units' published figures "
          "weighted by headcount; the four variances are added. An interval that covers zero "
          "reads as no measurable change."),
        ngettext("Withheld: a breakdown cell with fewer than %(k)d report, or a survey figure "
                 "with fewer answers than its threshold, is not shown; nor is any other cell "
                 "from which it could be worked out (complementary suppression).",
                 "Withheld: a breakdown cell with fewer than %(k)d reports, or a survey figure "
                 "with fewer answers than its threshold, is not shown; nor is any other cell "
                 "from which it could be worked out (complementary suppression).",
                 spec.threshold, k=spec.threshold),
    ):
        page.para(text, 10, 90, 0.015)
    return page.figure


def build_report(session: Session, spec: ReportSpec, progress: Progress) -> bytes:
    """The whole report as PDF bytes; ``progress(step, steps, what)`` along the way."""
    steps = 6
    progress(0, steps, _("Counting the reports"))
    org_units = UnitTree.load(session)
    spans = pages.campaign_spans(session)
    survey = session.get(Survey, spec.survey_id) if spec.survey_id else None
    with drawing_lock(), matplotlib.rc_context(fonts.style(**{"font.size": 9})):
        figures: list[Figure] = [_title_page(spec, survey)]
        figures += _figures_pages(spec, session, org_units, spans)
    progress(2, steps, _("Reading the survey waves"))
    trends = pages.trend_figures(session, survey, page_language()) if survey else None
    progress(3, steps, _("Drawing the trends"))
    with drawing_lock(), matplotlib.rc_context(fonts.style(**{"font.size": 9})):
        figures += _trend_pages(spec, trends, spans)
    progress(4, steps, _("Measuring the campaigns"))
    with drawing_lock(), matplotlib.rc_context(fonts.style(**{"font.size": 9})):
        figures += _effects_pages(spec, session, trends, org_units)
        figures.append(_methods_page(spec))
    progress(5, steps, _("Writing the PDF"))
    buffer = io.BytesIO()
    metadata = {"Title": _("Integrity report"), "Creator": None, "Producer": None,
                "CreationDate": None}
    with drawing_lock(), matplotlib.rc_context(fonts.style()), \
            fonts.ReadingOrderPdfPages(buffer, metadata=metadata) as pdf:
        for figure in figures:
            pdf.savefig(figure)
    progress(steps, steps, _("Done"))
    return buffer.getvalue()
