"""Survey figures wave after wave, for the trend charts and the campaign effects.

Every figure comes from the survey results service (surveys.results.wave_results), one call
per wave: nothing is recomputed here. This module only picks the headline figures managers
follow, puts them on one 0-100 scale, and lines the waves up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.definitions import QuestionType
from surveys.estimates import Estimate
from surveys.models import Response, Survey, Wave, WaveState
from surveys.results import Figure, WaveResults, wave_results
from surveys.suppression import ItemKind, Thresholds


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
    responses: int
    issued: int
    used: int

    @property
    def rate(self) -> float | None:
        return self.used / self.issued if self.issued else None

    @property
    def label(self) -> str:
        return f"{self.number}"


@dataclass(frozen=True)
class Point:
    """One wave of a series: the overall figure, the units' figures, on 0-100."""

    wave: WaveInfo
    overall: Figure | None
    units: dict[int, Figure] = field(default_factory=dict)


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
    units: dict[int, str]
    unit_rates: dict[int, dict[int, float | None]]  # wave -> unit -> response rate
    thresholds: Thresholds

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
                return index.overall, dict(index.units), False
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
        units = {uid: f for uid, f in ((u, _scaled(fig, factor, flip))
                                       for u, fig in question.units.items()) if f is not None}
        return _scaled(question.headline, factor, flip), units, share
    return None


def _waves(session: Session, survey: Survey) -> list[Wave]:
    return list(session.scalars(
        select(Wave).where(Wave.survey_id == survey.id,
                           Wave.state != WaveState.SCHEDULED.value)
        .order_by(Wave.opens_on, Wave.number)))


def survey_fingerprint(session: Session, survey: Survey) -> list[object]:
    """What the trends of ``survey`` depend on: its waves, their state and response counts."""
    counts = dict(session.execute(
        select(Response.wave_id, func.count()).join(Wave, Wave.id == Response.wave_id)
        .where(Wave.survey_id == survey.id).group_by(Response.wave_id)).all())
    return [survey.id, survey.definition[-64:], len(survey.definition),
            [(w.id, w.state, w.opens_on.isoformat(), w.closes_on.isoformat(), counts.get(w.id, 0))
             for w in _waves(session, survey)]]


def survey_trends(session: Session, survey: Survey, thresholds: Thresholds) -> SurveyTrends:
    """The headline series of every opened wave of ``survey``."""
    all_results = [wave_results(session, wave, thresholds) for wave in _waves(session, survey)]
    return trends_from(survey, all_results, thresholds)


def trends_from(survey: Survey, all_results: Sequence[WaveResults],
                thresholds: Thresholds) -> SurveyTrends:
    waves = [WaveInfo(r.wave.id, r.wave.number, r.wave.opens_on, r.wave.closes_on, r.wave.state,
                      r.responses, r.issued, r.used) for r in all_results]
    units: dict[int, str] = {}
    unit_rates: dict[int, dict[int, float | None]] = {}
    for results in all_results:
        units.update(results.units)
        unit_rates[results.wave.id] = {rate.unit_id: rate.rate for rate in results.rates}
    trends: list[Trend] = []
    for spec in SERIES:
        picked = [(info, _pick(results, spec)) for info, results in zip(waves, all_results,
                                                                          strict=True)]
        if not any(found for _, found in picked):
            continue
        percent = any(found[2] for _, found in picked if found)
        trends.append(Trend(spec.key, str(spec.label), percent, spec.better, False,
                            [Point(info, found[0], found[1]) if found else Point(info, None)
                             for info, found in picked]))
    trends.extend(_exposure(waves, all_results))
    return SurveyTrends(survey.id, survey.title, waves, trends, units, unit_rates, thresholds)


def _exposure(waves: list[WaveInfo], all_results: Sequence[WaveResults]) -> list[Trend]:
    """One series per randomized-response question: the estimated share for whom it is true."""
    keys: dict[str, str] = {}
    for results in all_results:
        for result in results.questions:
            if result.kind is ItemKind.SENSITIVE:
                keys.setdefault(result.question.key, result.question.text)
    trends = []
    for key, text in keys.items():
        points = []
        for info, results in zip(waves, all_results, strict=True):
            question = results.question(key)
            if question is None:
                points.append(Point(info, None))
                continue
            units = {uid: f for uid, f in ((u, _scaled(fig, 100.0, False))
                                           for u, fig in question.units.items()) if f}
            points.append(Point(info, _scaled(question.headline, 100.0, False), units))
        trends.append(Trend(f"exposure:{key}", text, True, "down", True, points))
    return trends


def latest_survey(session: Session) -> Survey | None:
    """The newest survey that has a wave opened."""
    return session.scalar(
        select(Survey).join(Wave, Wave.survey_id == Survey.id)
        .where(Wave.state != WaveState.SCHEDULED.value).order_by(Survey.id.desc()).limit(1))
