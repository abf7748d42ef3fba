"""What the dashboard pages, charts and exports show, built from the services and cached.

Report figures are cached under a fingerprint of what they depend on: the audit log's head
(every status change, acknowledgement, feedback and deletion of a case is audited), the newest
report and message, the organisation and the day. Survey trends are cached under the waves'
states and response counts. A changed fingerprint is a new key, so nothing stale is served.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity import current, formatting
from integrity.audit import AuditHead
from integrity.dashboard import kpis
from integrity.dashboard.cache import cached, fingerprint
from integrity.dashboard.campaigns import CampaignEffects, spans
from integrity.dashboard.chart_specs import Chart, Series, Span
from integrity.dashboard.kpis import Dimension, Figures, KpiQuery, KpiTable, Ratio
from integrity.dashboard.names import names, shown_name
from integrity.dashboard.retaliation import RetaliationRow
from integrity.dashboard.trends import (
    SurveyTrends,
    Trend,
    WaveSummary,
    in_language,
    summarise,
    summary_from_json,
    summary_json,
    survey_fingerprint,
    survey_trends,
)
from integrity.dashboard.units import UnitTree
from integrity.db import get_session
from integrity.models import OrgUnit
from integrity.reporting.models import Message, Report
from surveys.models import Survey, SurveyResponse, Wave, WaveState
from surveys.results import Figure, thresholds_from, wave_results
from surveys.suppression import Reason, Thresholds

OUTCOME_LABELS = {
    "substantiated": _l("Substantiated"),
    "partly_substantiated": _l("Partly substantiated"),
    "unsubstantiated": _l("Unsubstantiated"),
    "not_in_scope": _l("Not in scope"),
}
DIMENSION_LABELS = {
    Dimension.UNIT: _l("Unit"),
    Dimension.CHANNEL: _l("Channel"),
    Dimension.CATEGORY: _l("Category"),
}


def threshold() -> int:
    return int(current.settings().survey_min_responses)


# --- report figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFigures:
    periods: KpiTable
    breakdown: KpiTable
    org_units: UnitTree


def _units_fingerprint(session: Session) -> str:
    rows = session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.name,
                                  OrgUnit.headcount).order_by(OrgUnit.id)).all()
    return fingerprint([tuple(row) for row in rows])


def _rows_fingerprint(session: Session, id_column: Any) -> tuple[Any, ...]:
    # The ids are random, so the largest no longer moves with every new row: the count and a
    # sum of the ids change whenever a row is added or removed. Summed modulo a prime, so
    # that the sum stays small (SQLite refuses an integer sum past 64 bits).
    return tuple(session.execute(select(func.count(id_column),
                                        func.coalesce(func.sum(id_column % 2147483647), 0))).one())


def data_fingerprint(session: Session, today: date) -> str:
    """What the report figures depend on, read cheaply: the audit log's head, the reports and
    messages stored, the units and the day."""
    return fingerprint(session.scalar(select(AuditHead.seq)),
                       _rows_fingerprint(session, Report.id),
                       _rows_fingerprint(session, Message.id),
                       _units_fingerprint(session), today.isoformat())


def report_figures(session: Session, query: KpiQuery, dimension: Dimension,
                   today: date) -> ReportFigures:
    """The period table and the breakdown of ``query``, cached by their data."""
    k = threshold()
    key = ("reports", data_fingerprint(session, today), query, dimension, k)

    def compute() -> ReportFigures:
        org_units = UnitTree.load(session)
        return ReportFigures(kpis.period_table(session, query, today, k, org_units),
                             kpis.breakdown(session, query, dimension, today, k, org_units),
                             org_units)

    return cached(key, compute)


def _stored_summary(session: Session, wave: Wave, thresholds: Thresholds,
                    org_units_fingerprint: str) -> WaveSummary:
    """A wave's summary; a closed wave's is kept (``current.wave_summaries``: a table on
    PostgreSQL, the data folder on SQLite), since it no longer changes (its key holds the
    response count, the definition, the thresholds and units)."""
    def compute() -> WaveSummary:
        return summarise(wave_results(session, wave, thresholds))

    if wave.state != WaveState.CLOSED:
        return compute()
    responses = session.scalar(select(func.count()).select_from(SurveyResponse)
                               .where(SurveyResponse.wave_id == wave.id))
    key = fingerprint(wave.id, wave.opens_on, wave.closes_on, responses,
                      wave.survey.definition, asdict(thresholds), org_units_fingerprint)
    kept = current.wave_summaries()
    text = kept.get(wave.id, key)
    if text is not None:
        try:
            return summary_from_json(json.loads(text))
        except (ValueError, KeyError, TypeError):
            pass
    summary = compute()
    kept.put(wave.id, key, json.dumps(summary_json(summary)))
    return summary


def store_wave_summary(session: Session, wave: Wave) -> None:
    """Work out and keep a closed wave's summary now, so that no manager waits for it (the
    scheduler calls this when it closes a wave)."""
    _stored_summary(session, wave, thresholds_from(current.settings()), _units_fingerprint(session))


def trend_figures(session: Session, survey: Survey, language: str | None = None
                  ) -> SurveyTrends:
    """Every opened wave of ``survey`` through the results service, cached by its data; the
    survey's title and question texts in ``language`` (the default language's if None, as
    the CSV keeps them)."""
    thresholds = thresholds_from(current.settings())
    org_units_fingerprint = _units_fingerprint(session)
    key = ("trends", fingerprint(survey_fingerprint(session, survey), org_units_fingerprint),
           thresholds)
    figures = cached(key, lambda: survey_trends(
        session, survey, thresholds,
        lambda wave: _stored_summary(session, wave, thresholds, org_units_fingerprint)))
    return figures if language is None else in_language(figures, survey.definition, language)


def campaign_spans(session: Session) -> tuple[Span, ...]:
    shown = names(session, "campaign")
    return tuple(Span(shown.get(s.id, s.name), s.starts_on, s.ends_on) for s in spans(session))


_PERIOD_KEY = re.compile(r"(\d{4})-(Q[1-4]|\d{2})")  # kpis.Period.key


# --- formatting ----------------------------------------------------------------------------


def percent(ratio: Ratio | None) -> str:
    return formatting.share(None if ratio is None else ratio.value)


def number(value: float | None, digits: int = 1) -> str:
    return formatting.number(value, digits)


def row_label(row: kpis.Row) -> str:
    """A row's name as a page shows it: a period in the reader's language ("janv. 2027"), a
    unit, channel or category by its name in that language."""
    period = _PERIOD_KEY.fullmatch(row.key)
    if period is None:
        return shown_name(get_session(), row.key, csv_label(row))
    year, part = period.groups()
    if part.startswith("Q"):
        return period_label(kpis.Period(kpis.Granularity.QUARTER, int(year), int(part[1])))
    return period_label(kpis.Period(kpis.Granularity.MONTH, int(year), int(part)))


def period_label(period: kpis.Period) -> str:
    """A month or quarter in the reader's language: "Jan 2027", "T1 2027"."""
    if period.granularity is kpis.Granularity.QUARTER:
        return formatting.quarter(period.start)
    return formatting.month(period.start)


def csv_label(row: kpis.Row) -> str:
    """A row's name in the CSV: periods stay "2027-01" and "2027 Q1" in every language."""
    if row.key == kpis.TOTAL:
        return _("All reports")
    if row.key.endswith(":" + kpis.NOT_GIVEN):
        return _("Not given")
    return row.label


REPORTS_WITHHELD = {
    Reason.TOO_FEW: _l("too few reports"),
    Reason.COMPLEMENTARY: _l("withheld so that another withheld figure cannot be worked out"),
}


def report_withheld_reason(reason: Reason | None) -> str:
    """Why a figure counted from reports is withheld (survey figures count answers)."""
    return str(REPORTS_WITHHELD.get(reason, "")) if reason else ""


# --- charts ----------------------------------------------------------------------------------


def _period_bounds(table: KpiTable) -> tuple[tuple[date, ...], tuple[date, ...]]:
    found = {p.key: p for p in table.query.periods}
    rows = [found[row.key] for row in table.rows if row.key in found]
    return tuple(p.start for p in rows), tuple(p.end for p in rows)


def _alt(kind: str, title: str, labels: Sequence[str], series: Sequence[Series],
         spans_: Sequence[Span], percent: bool = False) -> str:
    shown = formatting.percent if percent else formatting.number
    parts = [f"{kind}: {title}."]
    for s in series:
        values = ", ".join(f"{label} {shown(v)}" for label, v in zip(labels, s.values, strict=True))
        parts.append(f"{s.label}: {values}.")
    for span in spans_:
        parts.append(_("Shaded: campaign %(name)s, %(start)s to %(end)s.", name=span.label,
                       start=formatting.day(span.starts_on), end=formatting.day(span.ends_on)))
    return " ".join(parts)


def _visible(spans_: Iterable[Span], starts: Sequence[date], ends: Sequence[date]
             ) -> tuple[Span, ...]:
    if not starts:
        return ()
    return tuple(s for s in spans_ if s.ends_on >= starts[0] and s.starts_on <= ends[-1])


PROVISIONAL_MARK = "*"


def _period_labels(table: KpiTable) -> tuple[str, ...]:
    """The periods' labels, those with cases still open marked as provisional."""
    return tuple(row_label(row) + (PROVISIONAL_MARK if row.provisional else "")
                 for row in table.rows)


def _provisional_note(table: KpiTable) -> str:
    if not any(row.provisional for row in table.rows):
        return ""
    return " " + _("Periods marked %(mark)s are provisional: some of their cases are still open.",
                   mark=PROVISIONAL_MARK)


def reports_chart(table: KpiTable, spans_: Sequence[Span]) -> Chart:
    starts, ends = _period_bounds(table)
    labels = _period_labels(table)
    series = (Series(str(_l("Reports received")),
                     tuple(float(r.figures.received) if r.figures else None
                           for r in table.rows)),)
    shown = _visible(spans_, starts, ends)
    title = _("Reports received per quarter") if table.query.granularity == "quarter" else _(
        "Reports received per month")
    return Chart("bar", title, _("Reports"), labels, starts, ends, series, shown, None,
                 _alt(_("Bar chart"), title, labels, series, shown) + _provisional_note(table),
                 (_("campaign"),), formatting.decimal_symbol())


def deadlines_chart(table: KpiTable, spans_: Sequence[Span]) -> Chart:
    starts, ends = _period_bounds(table)
    labels = _period_labels(table)

    def share(row: kpis.Row, name: str) -> float | None:
        ratio = getattr(row.figures, name) if row.figures else None
        if ratio is None or ratio.value is None:
            return None
        return 100 * ratio.value

    series = (Series(_("Acknowledged within 7 days"),
                     tuple(share(r, "acknowledged_in_time") for r in table.rows)),
              Series(_("Feedback within 3 months"),
                     tuple(share(r, "feedback_in_time") for r in table.rows)))
    shown = _visible(spans_, starts, ends)
    title = _("Deadlines met (per cent of the reports due)")
    return Chart("line", title, _("Per cent"), labels, starts, ends, series, shown, 100,
                 _alt(_("Line chart"), title, labels, series, shown, percent=True)
                 + _provisional_note(table), (_("campaign"),), formatting.decimal_symbol())


def _estimate_parts(figures: Sequence[Figure | None]) -> tuple[tuple[float | None, ...], ...]:
    values, lows, highs = [], [], []
    for figure in figures:
        estimate = figure.estimate if figure is not None else None
        values.append(estimate.value if estimate else None)
        lows.append(estimate.low if estimate else None)
        highs.append(estimate.high if estimate else None)
    return tuple(values), tuple(lows), tuple(highs)


def trend_chart(trend: Trend, spans_: Sequence[Span]) -> Chart:
    # Waves stand in the order of their dates, so the month goes under each number; a wave
    # still open is marked, its figures are not final.
    labels = tuple(_("Wave %(number)d", number=p.wave.number) + "\n"
                   + formatting.month(p.wave.opens_on)
                   + ("\n(" + _("still open") + ")" if p.wave.state == WaveState.OPEN else "")
                   for p in trend.points)
    starts = tuple(p.wave.opens_on for p in trend.points)
    ends = tuple(p.wave.closes_on for p in trend.points)
    values, lows, highs = _estimate_parts([p.overall for p in trend.points])
    series = (Series(_("All respondents"), values, lows, highs),)
    shown = _visible(spans_, starts, ends)
    y_label = _("Per cent") if trend.percent else _("Index (0 to 100)")
    alt = _alt(_("Line chart"), trend.label, [label.replace("\n", " ") for label in labels],
               series, shown, percent=trend.percent)
    return Chart("line", trend.label, y_label, labels, starts, ends, series, shown, 100, alt,
                 (_("campaign"),), formatting.decimal_symbol())


# --- CSV ----------------------------------------------------------------------------------


WITHHELD = "withheld"


# A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(cell: object) -> object:
    """``cell`` as written to CSV: text that would start a formula gets a leading quote; an
    empty cell stays empty."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _csv(rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue()


KPI_HEADER = ("reports", "per_100_staff", "acknowledged_in_7_days", "acknowledge_due",
              "median_days_to_acknowledge", "feedback_in_3_months", "feedback_due",
              "median_days_to_close", "closed", *kpis.OUTCOMES, "substantiated_share",
              "came_back", "open", "overdue")


def _kpi_cells(f: Figures | None) -> list[object]:
    if f is None:
        return [WITHHELD] * len(KPI_HEADER)

    def shown(value: object) -> object:
        return "" if value is None else value

    def counts(ratio: Ratio | None) -> list[object]:
        return [WITHHELD, WITHHELD] if ratio is None else [ratio.part, ratio.whole]

    def median(name: str, value: float | None) -> object:
        return WITHHELD if name in f.withheld else shown(value)

    s = f.substantiated
    outcomes = ([WITHHELD] * len(kpis.OUTCOMES) if f.outcomes is None
                else [f.outcomes[o] for o in kpis.OUTCOMES])
    return [f.received, shown(None if f.per_100_staff is None else round(f.per_100_staff, 3)),
            *counts(f.acknowledged_in_time),
            median(kpis.Measure.DAYS_TO_ACKNOWLEDGE, f.median_days_to_acknowledge),
            *counts(f.feedback_in_time),
            median(kpis.Measure.DAYS_TO_CLOSE, f.median_days_to_close), f.closed,
            *outcomes,
            WITHHELD if s is None else shown(None if s.value is None else round(s.value, 4)),
            f.came_back.part, f.open, f.overdue]


def kpi_csv(table: KpiTable) -> str:
    first = "period" if table.title_key == "periods" else table.title_key
    lines: list[Sequence[object]] = [(first, *KPI_HEADER)]
    for row in [*table.rows, table.total]:
        lines.append((csv_label(row), *_kpi_cells(row.figures)))
    return _csv(lines)


RETALIATION_HEADER = ("reports_of_retaliation", "acknowledged_in_7_days", "acknowledge_due",
                      "risk_assessed", "risk_base", "check_ins_posted")


def retaliation_csv(rows: Sequence[RetaliationRow]) -> str:
    """The retaliation table (integrity/dashboard/retaliation.py), withheld cells written as
    "withheld"; a share as its part and its base, like the report figures."""
    def counts(ratio: Ratio | None) -> list[object]:
        return [WITHHELD, WITHHELD] if ratio is None else [ratio.part, ratio.whole]

    lines: list[Sequence[object]] = [("period", *RETALIATION_HEADER)]
    for row in rows:
        lines.append((
            _("All reports") if row.period is None else row.key,
            WITHHELD if row.received is None else row.received,
            *counts(row.acknowledged_in_time), *counts(row.risk_assessed),
            WITHHELD if row.check_ins is None else row.check_ins))
    return _csv(lines)


UNFIT = "does not fit the design"


def _figure_cells(figure: Figure | None) -> list[object]:
    """value, low, high, answers, raw_share."""
    if figure is None:
        return ["", "", "", "", ""]
    if figure.unfit is not None:  # a randomized-response item: no estimate, the raw share
        return [UNFIT, UNFIT, UNFIT, figure.n, round(100 * figure.unfit, 2)]
    if figure.estimate is None:
        return [WITHHELD, WITHHELD, WITHHELD, WITHHELD, ""]
    e = figure.estimate
    return [round(e.value, 2), round(e.low, 2), round(e.high, 2), e.n, ""]


def trends_csv(trends: SurveyTrends) -> str:
    lines: list[Sequence[object]] = [("series", "unit", "wave", "opens_on", "value", "low",
                                      "high", "answers", "raw_share", "response_rate")]
    for trend in trends.trends:
        for point in trend.points:
            rate = point.wave.rate
            lines.append((trend.label, "", point.wave.number, point.wave.opens_on.isoformat(),
                          *_figure_cells(point.overall),
                          WITHHELD if point.wave.counts_withheld else "" if rate is None
                          else round(rate, 4)))
            for uid, name in sorted(trends.org_units.items(), key=lambda item: item[1]):
                if uid in point.org_units:
                    unit_rate = trends.unit_rates.get(point.wave.id, {}).get(uid)
                    withheld = trends.rate_withheld(point.wave.id, uid)
                    lines.append((trend.label, name, point.wave.number,
                                  point.wave.opens_on.isoformat(),
                                  *_figure_cells(point.org_units[uid]),
                                  WITHHELD if withheld else "" if unit_rate is None
                                  else round(unit_rate, 4)))
    return _csv(lines)


def effects_csv(result: CampaignEffects) -> str:
    lines: list[Sequence[object]] = [("series", "target_before", "target_after",
                                      "others_before", "others_after", "difference",
                                      "low", "high", "target_units", "other_units", "reading")]
    for effect in result.effects:
        def value(estimate: Any) -> object:
            return "" if estimate is None else round(estimate.value, 2)

        e = effect.estimate
        lines.append((effect.label, value(effect.target.before), value(effect.target.after),
                      value(effect.others.before), value(effect.others.after), value(e),
                      "" if e is None else round(e.low, 2), "" if e is None else round(e.high, 2),
                      effect.target.units, effect.others.units, effect.reading))
    volume = result.volume
    if volume is not None:
        def count(n: int | None) -> object:
            return WITHHELD if n is None else n

        lines.append(())
        lines.append(("reports", "target_before", "target_after", "others_before",
                      "others_after", "days_before", "days_after"))
        lines.append(("reports", count(volume.target_before), count(volume.target_after),
                      count(volume.others_before), count(volume.others_after),
                      volume.before_days, volume.after_days))
    return _csv(lines)


def campaigns_csv(items: Iterable[Any]) -> str:
    lines: list[Sequence[object]] = [("name", "kind", "starts_on", "ends_on", "units", "note")]
    for c in items:
        lines.append((c.name, c.kind, c.starts_on.isoformat(), c.ends_on.isoformat(),
                      "; ".join(u.name for u in c.org_units), c.note))
    return _csv(lines)
