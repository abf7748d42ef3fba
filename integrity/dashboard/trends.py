"""Survey figures wave after wave, for the trend charts and the campaign effects.

Every figure comes from the survey results service (surveys.results.wave_results), one call
per wave: nothing is recomputed here. This module only picks the headline figures managers
follow, puts them on one 0-100 scale, and lines the waves up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.definitions import QuestionType, load_definition, localize
from surveys.estimates import Estimate
from surveys.models import Survey, SurveyResponse, Wave, WaveState
from surveys.results import Figure, WaveResults, wave_results
from surveys.suppression import ItemKind, Reason, Thresholds
from surveys.waves import waves_in_time


@dataclass(frozen=True)
class SeriesSpec:
    """A headline figure and where a survey keeps it: an index tag or a question key, in
    order of preference."""

    key: str
    label: object  # a lazy string
    sources: tuple[tuple[str, str], ...]
    better: str  # "up" or "down": which way is an improvement


SERIES = (
    SeriesSpec("reporting_climate", _l("Reporting climate"),
               (("index", "reporting_climate"),), "up"),
    SeriesSpec("awareness", _l("Awareness of the channel"),
               (("index", "awareness"), ("question", "channel_aware")), "up"),
    SeriesSpec("trust_confidentiality", _l("Trust in confidentiality"),
               (("index", "trust_confidentiality"), ("question", "trust_confidential")), "up"),
    SeriesSpec("trust_action", _l("Trust in action"),
               (("index", "trust_action"), ("question", "trust_action")), "up"),
    SeriesSpec("fear_retaliation", _l("Fear of retaliation"),
               (("index", "fear_retaliation"), ("question", "fear_retaliation")), "down"),
    SeriesSpec("prevalence", _l("Perceived prevalence"), (("index", "prevalence"),), "down"),
)


@dataclass(frozen=True)
class WaveInfo:
    id: int
    number: int
    opens_on: date
    closes_on: date
    state: str
    responses: int | None  # None, with issued and used, when the wave's counts are withheld
    issued: int | None
    used: int | None

    @property
    def rate(self) -> float | None:
        return self.used / self.issued if self.issued and self.used is not None else None

    @property
    def counts_withheld(self) -> bool:
        return self.responses is None

    @property
    def label(self) -> str:
        return f"{self.number}"


@dataclass(frozen=True)
class Point:
    """One wave of a series: the overall figure, the units' figures, on 0-100."""

    wave: WaveInfo
    overall: Figure | None
    org_units: dict[int, Figure] = field(default_factory=dict)


@dataclass
class Trend:
    key: str
    label: str
    percent: bool  # a share shown in per cent (else an index from 0 to 100)
    better: str
    sensitive: bool
    points: list[Point]

    def point(self, wave_id: int) -> Point | None:
        return next((p for p in self.points if p.wave.id == wave_id), None)


@dataclass
class SurveyTrends:
    survey_id: int
    title: str
    waves: list[WaveInfo]
    trends: list[Trend]
    org_units: dict[int, str]
    unit_rates: dict[int, dict[int, float | None]]  # wave -> unit -> response rate
    thresholds: Thresholds
    withheld_rates: dict[int, set[int]] = field(default_factory=dict)  # wave -> units

    def rate_withheld(self, wave_id: int, org_unit_id: int) -> bool:
        """Whether the unit's codes used (so its response rate) are withheld in the wave."""
        return org_unit_id in self.withheld_rates.get(wave_id, set())

    def trend(self, key: str) -> Trend | None:
        return next((t for t in self.trends if t.key == key), None)


def _scaled(figure: Figure | None, factor: float, flip: bool) -> Figure | None:
    """A figure on 0-100: shares times 100; a reversed item turned round (100 - x)."""
    if figure is None or figure.estimate is None:
        return figure
    e = figure.estimate
    value, low, high = e.value * factor, e.low * factor, e.high * factor
    if flip:
        value, low, high = 100 - value, 100 - high, 100 - low
    return Figure(Estimate(value, low, high, e.se * factor, e.n), figure.n, figure.withheld)


def _pick(results: WaveResults, spec: SeriesSpec) -> tuple[Figure | None, dict[int, Figure],
                                                             bool] | None:
    """The series' figures in one wave: overall, per unit, and whether it is a share."""
    for kind, name in spec.sources:
        if kind == "index":
            index = results.index(name)
            if index is not None:
                return index.overall, dict(index.org_units), False
            continue
        question = results.question(name)
        if question is None or question.headline is None:
            continue
        qtype = question.question.type
        share = qtype is QuestionType.YESNO or question.kind is ItemKind.SENSITIVE
        # A scale item worded against what the series measures was turned round by the
        # results service (its index reads "no fear"); the series reads "fear".
        flip = bool(question.question.reverse) and not share
        factor = 100.0 if share else 1.0
        org_units = {uid: f for uid, f in ((u, _scaled(fig, factor, flip))
                                           for u, fig in question.org_units.items())
                     if f is not None}
        return _scaled(question.headline, factor, flip), org_units, share
    return None


def _waves(session: Session, survey: Survey) -> list[Wave]:
    """The opened waves of ``survey`` in the order of their dates (not of their numbers)."""
    return waves_in_time(session, survey, opened=True)


def survey_fingerprint(session: Session, survey: Survey) -> list[object]:
    """What the trends of ``survey`` depend on: its waves, their state and response counts."""
    counts = dict(session.execute(
        select(SurveyResponse.wave_id, func.count()).join(Wave, Wave.id == SurveyResponse.wave_id)
        .where(Wave.survey_id == survey.id).group_by(SurveyResponse.wave_id)).all())
    return [survey.id, survey.definition[-64:], len(survey.definition),
            [(w.id, w.state, w.opens_on.isoformat(), w.closes_on.isoformat(), counts.get(w.id, 0))
             for w in _waves(session, survey)]]


Picked = tuple[Figure | None, dict[int, Figure], bool]


@dataclass
class WaveSummary:
    """What the trends take from one wave's results: small, and stored for closed waves."""

    wave: WaveInfo
    series: dict[str, Picked]
    exposure: list[tuple[str, str, Figure | None, dict[int, Figure]]]
    org_units: dict[int, str]
    rates: dict[int, float | None]  # only the units whose counts are published
    withheld_rates: set[int] = field(default_factory=set)


def summarise(results: WaveResults) -> WaveSummary:
    """The headline figures of one wave, from the results service."""
    counts: tuple[int | None, ...] = (None, None, None) if results.counts_withheld else (
        results.responses, results.issued, results.used)
    info = WaveInfo(results.wave.id, results.wave.number, results.wave.opens_on,
                    results.wave.closes_on, results.wave.state, *counts)
    series = {}
    for spec in SERIES:
        picked = _pick(results, spec)
        if picked is not None:
            series[spec.key] = picked
    exposure = []
    for result in results.questions:
        if result.kind is ItemKind.SENSITIVE:
            org_units = {uid: f for uid, f in ((u, _scaled(fig, 100.0, False))
                                               for u, fig in result.org_units.items()) if f}
            exposure.append((result.question.key, result.question.text,
                             _scaled(result.headline, 100.0, False), org_units))
    return WaveSummary(info, series, exposure, dict(results.org_units),
                       {rate.org_unit_id: rate.rate for rate in results.rates
                        if rate.withheld is None},
                       {rate.org_unit_id for rate in results.rates if rate.withheld is not None})


def survey_trends(session: Session, survey: Survey, thresholds: Thresholds,
                  summary_of: Callable[[Wave], WaveSummary] | None = None) -> SurveyTrends:
    """The headline series of every opened wave of ``survey``, in the order they opened."""
    def compute(wave: Wave) -> WaveSummary:
        return summarise(wave_results(session, wave, thresholds))

    make = summary_of or compute
    return trends_from(survey.id, survey.title, [make(w) for w in _waves(session, survey)],
                       thresholds)


def trends_from(survey_id: int, title: str, summaries: Sequence[WaveSummary],
                thresholds: Thresholds) -> SurveyTrends:
    waves = [s.wave for s in summaries]
    org_units: dict[int, str] = {}
    unit_rates: dict[int, dict[int, float | None]] = {}
    withheld_rates: dict[int, set[int]] = {}
    for summary in summaries:
        org_units.update(summary.org_units)
        unit_rates[summary.wave.id] = summary.rates
        withheld_rates[summary.wave.id] = set(summary.withheld_rates)
    trends: list[Trend] = []
    for spec in SERIES:
        picked = [(s.wave, s.series.get(spec.key)) for s in summaries]
        if not any(found for _, found in picked):
            continue
        percent = any(found[2] for _, found in picked if found)
        trends.append(Trend(spec.key, str(spec.label), percent, spec.better, False,
                            [Point(info, found[0], found[1]) if found else Point(info, None)
                             for info, found in picked]))
    texts: dict[str, str] = {}
    for summary in summaries:
        for key, text, _, _ in summary.exposure:
            texts.setdefault(key, text)
    for key, text in texts.items():
        points = []
        for summary in summaries:
            found = next((e for e in summary.exposure if e[0] == key), None)
            points.append(Point(summary.wave, found[2], found[3]) if found
                          else Point(summary.wave, None))
        trends.append(Trend(f"exposure:{key}", text, True, "down", True, points))
    return SurveyTrends(survey_id, title, waves, trends, org_units, unit_rates, thresholds,
                        withheld_rates)


def in_language(trends: SurveyTrends, definition_text: str, language: str) -> SurveyTrends:
    """A copy of ``trends`` with the survey's title and question texts in ``language``.

    Summaries are computed and stored once, in the default language; only the names change.
    """
    definition = localize(load_definition(definition_text), language)
    keys = {question.key for question in definition.questions}

    def named(trend: Trend) -> Trend:
        key = trend.key.removeprefix("exposure:")
        if trend.sensitive and key in keys:
            return replace(trend, label=definition.question(key).text)
        return trend

    return replace(trends, title=definition.title, trends=[named(t) for t in trends.trends])


# --- stored summaries ------------------------------------------------------------------------


def _figure_json(figure: Figure | None) -> Any:
    if figure is None:
        return None
    e = figure.estimate
    return {"e": None if e is None else [e.value, e.low, e.high, e.se, e.n], "n": figure.n,
            "w": figure.withheld.value if figure.withheld else None, "u": figure.unfit}


def _figure_from(data: Any) -> Figure | None:
    if data is None:
        return None
    e = data["e"]
    return Figure(None if e is None else Estimate(*e), data["n"],
                  Reason(data["w"]) if data["w"] else None, data.get("u"))


def _units_json(org_units: dict[int, Figure]) -> dict[str, Any]:
    return {str(uid): _figure_json(f) for uid, f in org_units.items()}


def _units_from(data: dict[str, Any]) -> dict[int, Figure]:
    return {int(uid): f for uid, f in ((u, _figure_from(v)) for u, v in data.items())
            if f is not None}


def summary_json(summary: WaveSummary) -> dict[str, Any]:
    """A wave's summary as JSON-able data (stored for closed waves, which do not change)."""
    w = summary.wave
    return {
        "wave": [w.id, w.number, w.opens_on.isoformat(), w.closes_on.isoformat(), w.state,
                 w.responses, w.issued, w.used],
        "series": {k: [_figure_json(o), _units_json(u), share]
                   for k, (o, u, share) in summary.series.items()},
        "exposure": [[k, t, _figure_json(o), _units_json(u)] for k, t, o, u in summary.exposure],
        "units": {str(k): v for k, v in summary.org_units.items()},
        "rates": {str(k): v for k, v in summary.rates.items()},
        "withheld_rates": sorted(summary.withheld_rates),
    }


def summary_from_json(data: dict[str, Any]) -> WaveSummary:
    wid, number, opens, closes, state, responses, issued, used = data["wave"]
    info = WaveInfo(wid, number, date.fromisoformat(opens), date.fromisoformat(closes), state,
                    responses, issued, used)
    series = {k: (_figure_from(o), _units_from(u), bool(share))
              for k, (o, u, share) in data["series"].items()}
    exposure = [(k, t, _figure_from(o), _units_from(u)) for k, t, o, u in data["exposure"]]
    return WaveSummary(info, series, exposure, {int(k): v for k, v in data["units"].items()},
                       {int(k): v for k, v in data["rates"].items()},
                       {int(k) for k in data["withheld_rates"]})


def latest_survey(session: Session) -> Survey | None:
    """The newest survey that has a wave opened."""
    return session.scalar(
        select(Survey).join(Wave, Wave.survey_id == Survey.id)
        .where(Wave.state != WaveState.SCHEDULED).order_by(Survey.id.desc()).limit(1))
