"""A wave's results: every figure the results page, the dashboard and the exports show.

Everything is aggregated in the database (GROUP BY over the answers of the wave), then turned
into estimates with intervals (surveys.estimates) and withheld where too few responses stand
behind them (surveys.suppression). Nothing here reads one response at a time.

Per question: the distribution of answers and a headline figure (the 0-100 index of a scale,
the share answering "yes", the share giving the right answer to a knowledge check, the mean
of a number, the estimated prevalence of a randomized-response item). Per index tag: the mean
over respondents of their mean item score on 0-100 (items worded against the index reversed),
overall, weighted by unit headcount, and per unit. Units are published only where they, and
the complementary cells that protect them, have enough responses.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, case, cast, func, literal, select
from sqlalchemy.orm import Session

from integrity.models import OrgUnit
from surveys import estimates
from surveys.definitions import (
    DIFFERENT,
    NO,
    PREFER_NOT,
    SAME,
    SCALE_POINTS,
    YES,
    Definition,
    Question,
    QuestionType,
    load_definition,
    localize,
)
from surveys.estimates import Estimate
from surveys.models import AccessCode, Answer, Comment, Survey, SurveyResponse, Wave
from surveys.suppression import ItemKind, Reason, Thresholds, suppressed
from surveys.waves import previous_closed_wave, waves_in_time

WAVE = "wave"  # the key of the whole wave among the units, as suppression sees it
SCALES = (QuestionType.AGREEMENT, QuestionType.FREQUENCY)


@dataclass(frozen=True)
class Figure:
    """One published figure, or the reason it is withheld (then no number at all).

    ``unfit`` is set, and ``estimate`` is None, when the answers do not fit a randomized-response
    design (surveys.estimates.OutsideDesign): it is the observed share of "same" or "yes"."""

    estimate: Estimate | None
    n: int | None
    withheld: Reason | None = None
    unfit: float | None = None

    @property
    def shown(self) -> bool:
        return self.estimate is not None


@dataclass(frozen=True)
class Share:
    """One answer option: its share of the respondents who answered the question."""

    label: str
    figure: Figure


@dataclass
class QuestionResult:
    question: Question
    kind: ItemKind
    n: int
    headline: Figure | None  # None for a question with no single figure (single, text)
    distribution: list[Share] = field(default_factory=list)
    org_units: dict[int, Figure] = field(default_factory=dict)


@dataclass
class IndexResult:
    name: str
    questions: list[str]
    overall: Figure
    weighted: Figure | None
    org_units: dict[int, Figure] = field(default_factory=dict)


@dataclass(frozen=True)
class UnitRate:
    """Codes issued and used in a unit; both None when the unit's counts are withheld."""

    org_unit_id: int
    name: str
    issued: int | None
    used: int | None
    withheld: Reason | None = None

    @property
    def rate(self) -> float | None:
        return self.used / self.issued if self.issued and self.used is not None else None


@dataclass
class WaveResults:
    survey: Survey
    wave: Wave
    definition: Definition
    responses: int
    thresholds: Thresholds
    org_units: dict[int, str]
    rates: list[UnitRate]  # per unit, withheld where too few answered (published_rates)
    questions: list[QuestionResult]
    indices: list[IndexResult]
    comments: int
    issued: int  # codes of the whole wave
    used: int

    @property
    def counts_withheld(self) -> bool:
        """Whether the wave's own counts (responses, codes) are withheld (counts_withheld)."""
        return counts_withheld(self.responses, self.used, self.thresholds)

    def answers_shown(self, result: QuestionResult) -> bool:
        """Whether a question's number of answers may be shown: not under its threshold."""
        return not 0 < result.n < self.thresholds.k(result.kind)

    def index(self, name: str) -> IndexResult | None:
        return next((i for i in self.indices if i.name == name), None)

    def question(self, key: str) -> QuestionResult | None:
        return next((q for q in self.questions if q.question.key == key), None)


def counts_withheld(responses: int, used: int, thresholds: Thresholds) -> bool:
    """Whether a wave's own counts are withheld: some, but fewer than k, responses or codes
    used (they could all be one small unit's)."""
    k = thresholds.k(ItemKind.INDEX)
    return 0 < responses < k or 0 < used < k


def thresholds_from(settings: Any) -> Thresholds:
    return Thresholds(index=settings.survey_min_responses,
                      distribution=settings.survey_min_responses,
                      sensitive=settings.survey_min_sensitive)


def kind_of(question: Question) -> ItemKind:
    if question.type.sensitive:
        return ItemKind.SENSITIVE
    if question.type in SCALES:
        return ItemKind.INDEX
    return ItemKind.DISTRIBUTION


# --- the queries --------------------------------------------------------------------------


def _choice_counts(session: Session, wave_id: int) -> dict[str, dict[int | None, dict[
        tuple[int, int], int]]]:
    """question -> unit -> (item, choice) -> answers."""
    rows = session.execute(
        select(Answer.question, SurveyResponse.org_unit_id, Answer.item, Answer.choice,
               func.count())
        .join(SurveyResponse, SurveyResponse.id == Answer.response_id)
        .where(SurveyResponse.wave_id == wave_id, Answer.choice.isnot(None))
        .group_by(Answer.question, SurveyResponse.org_unit_id, Answer.item, Answer.choice))
    result: dict[str, dict[int | None, dict[tuple[int, int], int]]] = defaultdict(
        lambda: defaultdict(dict))
    for question, org_unit_id, item, choice, count in rows:
        result[question][org_unit_id][(item, int(choice or 0))] = count
    return result


def _respondent_counts(session: Session, wave_id: int, keys: list[str]
                       ) -> dict[str, dict[int | None, int]]:
    """question -> unit -> respondents, for multiple-choice questions (one row per option)."""
    if not keys:
        return {}
    rows = session.execute(
        select(Answer.question, SurveyResponse.org_unit_id,
               func.count(func.distinct(Answer.response_id)))
        .join(SurveyResponse, SurveyResponse.id == Answer.response_id)
        .where(SurveyResponse.wave_id == wave_id, Answer.question.in_(keys))
        .group_by(Answer.question, SurveyResponse.org_unit_id))
    result: dict[str, dict[int | None, int]] = defaultdict(dict)
    for question, org_unit_id, count in rows:
        result[question][org_unit_id] = count
    return result


def _number_moments(session: Session, wave_id: int, keys: list[str]
                    ) -> dict[str, dict[int | None, tuple[int, float, float]]]:
    if not keys:
        return {}
    rows = session.execute(
        select(Answer.question, SurveyResponse.org_unit_id, func.count(), func.sum(Answer.number),
               func.sum(Answer.number * Answer.number))
        .join(SurveyResponse, SurveyResponse.id == Answer.response_id)
        .where(SurveyResponse.wave_id == wave_id, Answer.question.in_(keys),
               Answer.number.isnot(None))
        .group_by(Answer.question, SurveyResponse.org_unit_id))
    result: dict[str, dict[int | None, tuple[int, float, float]]] = defaultdict(dict)
    for question, org_unit_id, count, total, squares in rows:
        result[question][org_unit_id] = (count, float(total or 0), float(squares or 0))
    return result


def _index_moments(session: Session, wave_id: int, definition: Definition
                   ) -> dict[str, dict[int | None, tuple[int, float, float]]]:
    """index -> unit -> (respondents, Σ score, Σ score²), each respondent's score being the
    mean of their item scores on 0-100."""
    items = [q for q in definition.questions if q.index and q.type in SCALES]
    if not items:
        return {}
    step = 100 / (SCALE_POINTS - 1)
    index_of = case({q.key: literal(q.index) for q in items}, value=Answer.question)
    reversed_keys = [q.key for q in items if q.reverse]
    point = cast(Answer.choice, Float)
    score = case((Answer.question.in_(reversed_keys), SCALE_POINTS - point),
                 else_=point - 1) * step if reversed_keys else (point - 1) * step
    per_respondent = (
        select(index_of.label("name"), SurveyResponse.org_unit_id.label("org_unit_id"),
               func.avg(score).label("score"))
        .join(SurveyResponse, SurveyResponse.id == Answer.response_id)
        .where(SurveyResponse.wave_id == wave_id, Answer.question.in_([q.key for q in items]))
        .group_by(Answer.response_id, SurveyResponse.org_unit_id, index_of)
        .subquery())
    rows = session.execute(
        select(per_respondent.c.name, per_respondent.c.org_unit_id, func.count(),
               func.sum(per_respondent.c.score),
               func.sum(per_respondent.c.score * per_respondent.c.score))
        .group_by(per_respondent.c.name, per_respondent.c.org_unit_id))
    result: dict[str, dict[int | None, tuple[int, float, float]]] = defaultdict(dict)
    for name, org_unit_id, count, total, squares in rows:
        result[name][org_unit_id] = (count, float(total or 0), float(squares or 0))
    return result


def response_rates(session: Session, wave: Wave) -> list[UnitRate]:
    """Codes issued and used per unit (open-link waves have none)."""
    rows = session.execute(
        select(OrgUnit.id, OrgUnit.name, func.count(),
               func.sum(case((AccessCode.used.is_(True), 1), else_=0)))
        .join(AccessCode, AccessCode.org_unit_id == OrgUnit.id)
        .where(AccessCode.wave_id == wave.id)
        .group_by(OrgUnit.id, OrgUnit.name).order_by(OrgUnit.name))
    return [UnitRate(uid, name, issued, int(used or 0)) for uid, name, issued, used in rows]


def published_rates(rates: list[UnitRate], responses: Mapping[int, int],
                    thresholds: Thresholds) -> list[UnitRate]:
    """The units' codes issued and used as they may be shown: a unit's counts are withheld
    when fewer than k codes of it were used or fewer than k responses carry it (then every
    figure of the unit is withheld), and complementary cells with them, as for figures (the
    wave's codes used are published, so the table is checked against that total)."""
    k = thresholds.k(ItemKind.INDEX)
    hidden = suppressed({rate.org_unit_id: int(rate.used or 0) for rate in rates},
                        kind=ItemKind.INDEX, thresholds=thresholds,
                        withheld={rate.org_unit_id: Reason.TOO_FEW for rate in rates
                                  if responses.get(rate.org_unit_id, 0) < k})
    return [UnitRate(rate.org_unit_id, rate.name, None, None, hidden[rate.org_unit_id])
            if rate.org_unit_id in hidden else rate for rate in rates]


def shown_rates(session: Session, wave: Wave, thresholds: Thresholds) -> list[UnitRate]:
    """The units' codes issued and used in ``wave``, withheld as on the results page."""
    responses = {org_unit_id: count for org_unit_id, count in session.execute(
        select(SurveyResponse.org_unit_id, func.count()).where(SurveyResponse.wave_id == wave.id)
        .group_by(SurveyResponse.org_unit_id)) if org_unit_id is not None}
    return published_rates(response_rates(session, wave), responses, thresholds)


# --- from counts to figures ---------------------------------------------------------------


def _publish(per_unit: Mapping[int | None, Any], n_of: Any, make: Any, kind: ItemKind,
             thresholds: Thresholds, headcounts: Mapping[int, int]
             ) -> tuple[Figure, dict[int, Figure], int]:
    """The overall figure and the per-unit ones, withheld where suppression says."""
    counts: dict[Any, int] = {org_unit_id: n_of(value) for org_unit_id, value in per_unit.items()}
    total = sum(counts.values())
    keyed: dict[Any, int] = {WAVE: total}
    parent: dict[Any, Any] = {}
    for org_unit_id, count in counts.items():
        key = org_unit_id if org_unit_id is not None else "none"
        keyed[key] = count
        parent[key] = WAVE
    hidden = suppressed(keyed, kind=kind, thresholds=thresholds, parent=parent)

    def figure(key: Any, value: Any, n: int, population: int | None) -> Figure:
        if key in hidden:
            return Figure(None, None, hidden[key])
        try:
            return Figure(make(value, population), n)
        except estimates.OutsideDesign as error:  # shown as such, never as "0 % [0, 0]"
            return Figure(None, n, unfit=error.share)
        except ValueError:  # too few for this estimator, whatever the threshold
            return Figure(None, None, Reason.TOO_FEW)

    merged = _merge(per_unit.values())
    overall = figure(WAVE, merged, total, None)
    org_units = {}
    for org_unit_id, value in per_unit.items():
        if org_unit_id is None:
            continue
        headcount = headcounts.get(org_unit_id) or None
        population = headcount if headcount and headcount >= counts[org_unit_id] else None
        org_units[org_unit_id] = figure(org_unit_id, value, counts[org_unit_id], population)
    return overall, org_units, total


def _merge(values: Iterable[Any]) -> Any:
    """Counts or moments of several units, added up."""
    values = list(values)
    if not values:
        return {}
    first = values[0]
    if isinstance(first, dict):
        merged: dict[Any, int] = defaultdict(int)
        for value in values:
            for key, count in value.items():
                merged[key] += count
        return dict(merged)
    if isinstance(first, tuple):
        return tuple(sum(parts) for parts in zip(*values, strict=True))
    return sum(values)


def _scale_counts(question: Question, counts: Mapping[tuple[int, int], int]) -> list[int]:
    per_point = [counts.get((0, point), 0) for point in range(1, SCALE_POINTS + 1)]
    return per_point[::-1] if question.reverse else per_point


def _question_result(question: Question, per_unit: Mapping[int | None, dict[tuple[int, int],
                     int]], respondents: Mapping[int | None, int] | None,
                     moments: Mapping[int | None, tuple[int, float, float]] | None,
                     thresholds: Thresholds, headcounts: Mapping[int, int]) -> QuestionResult:
    kind = kind_of(question)
    qtype = question.type

    def answered(counts: Mapping[tuple[int, int], int]) -> int:
        return sum(counts.values())

    def counting(*codes: int) -> Any:
        """The answers a figure is computed from (and its threshold counts): those coded
        ``codes`` only, e.g. yes and no but not "prefer not to say"."""
        return lambda counts: sum(counts.get((0, code), 0) for code in codes)

    if qtype in SCALES:
        overall, org_units, n = _publish(
            per_unit, counting(*range(1, SCALE_POINTS + 1)),
            lambda c, population: estimates.likert_index(_scale_counts(question, c),
                                                         population=population),
            kind, thresholds, headcounts)
        labels = [str(point) for point in range(1, SCALE_POINTS + 1)]
        shares = _shares(labels, [(0, p) for p in range(1, SCALE_POINTS + 1)], per_unit,
                         None, overall)
        return QuestionResult(question, kind, n, overall, shares, org_units)
    if qtype is QuestionType.CROSSWISE:
        p = question.p or 0.0
        overall, org_units, n = _publish(
            per_unit, counting(SAME, DIFFERENT),
            lambda c, _: estimates.crosswise(c.get((0, SAME), 0),
                                             c.get((0, SAME), 0) + c.get((0, DIFFERENT), 0), p),
            kind, thresholds, headcounts)
        return QuestionResult(question, kind, n, overall, [], org_units)
    if qtype is QuestionType.FORCED_RESPONSE:
        overall, org_units, n = _publish(
            per_unit, counting(YES, NO),
            lambda c, _: estimates.forced_response(c.get((0, YES), 0),
                                                   c.get((0, YES), 0) + c.get((0, NO), 0),
                                                   question.p_truth or 0.0,
                                                   question.p_forced_yes or 0.0),
            kind, thresholds, headcounts)
        return QuestionResult(question, kind, n, overall, [], org_units)
    if qtype is QuestionType.YESNO:
        # The share of "yes" rests on yes and no only; its threshold counts those. The
        # distribution (prefer-not included) goes with it: beside the number who preferred not
        # to say, it would give the withheld share back.
        overall, org_units, _ = _publish(
            per_unit, counting(YES, NO),
            lambda c, population: estimates.proportion(
                c.get((0, YES), 0), c.get((0, YES), 0) + c.get((0, NO), 0),
                population=population),
            kind, thresholds, headcounts)
        shares = _shares(["yes", "no", "prefer_not"], [(0, YES), (0, NO), (0, PREFER_NOT)],
                         per_unit, None, overall)
        n = sum(answered(c) for c in per_unit.values())
        return QuestionResult(question, kind, n, overall, shares, org_units)
    if qtype is QuestionType.SINGLE:
        keys = [(0, number) for number in range(1, len(question.options) + 1)]
        headline = None
        org_units = {}
        if question.correct is not None:
            right = (0, question.correct)
            headline, org_units, n = _publish(
                per_unit, answered,
                lambda c, population: estimates.proportion(c.get(right, 0), sum(c.values()),
                                                           population=population),
                kind, thresholds, headcounts)
        overall_n, _, n = _publish(per_unit, answered, lambda c, _: None, kind, thresholds,
                                   headcounts)
        shares = _shares(list(question.options), keys, per_unit, None, overall_n)
        return QuestionResult(question, kind, n, headline, shares, org_units)
    if qtype is QuestionType.MULTIPLE:
        keys = [(number, number) for number in range(1, len(question.options) + 1)]
        base = respondents or {}
        gate, _, n = _publish(base, lambda count: count, lambda c, _: None, kind, thresholds,
                              headcounts)
        shares = _shares(list(question.options), keys, per_unit, base, gate)
        return QuestionResult(question, kind, n, None, shares, {})
    if qtype is QuestionType.NUMBER:
        overall, org_units, n = _publish(
            moments or {}, lambda m: m[0],
            lambda m, population: estimates.mean(*m, population=population),
            kind, thresholds, headcounts)
        return QuestionResult(question, kind, n, overall, [], org_units)
    return QuestionResult(question, kind, 0, None, [], {})


def _shares(labels: list[str], keys: list[tuple[int, int]],
            per_unit: Mapping[int | None, Mapping[tuple[int, int], int]],
            respondents: Mapping[int | None, int] | None, gate: Figure) -> list[Share]:
    """The share of respondents giving each answer, overall; withheld with the wave's figure
    when that is (a distribution of too few answers would show them one by one)."""
    merged: dict[tuple[int, int], int] = _merge(per_unit.values()) or {}
    total = sum(respondents.values()) if respondents is not None else sum(merged.values())
    shares = []
    for label, key in zip(labels, keys, strict=True):
        if gate.withheld is not None or total == 0:
            shares.append(Share(label, Figure(None, None, gate.withheld or Reason.TOO_FEW)))
            continue
        shares.append(Share(label, Figure(estimates.proportion(merged.get(key, 0), total), total)))
    return shares


def _index_results(definition: Definition, moments: Mapping[str, Mapping[int | None, tuple[
        int, float, float]]], thresholds: Thresholds, headcounts: Mapping[int, int]
                   ) -> list[IndexResult]:
    names: dict[str, list[str]] = {}
    for question in definition.questions:
        if question.index and question.type in SCALES:
            names.setdefault(question.index, []).append(question.key)
    results = []
    for name, keys in names.items():
        per_unit = moments.get(name, {})

        def make(m: tuple[int, float, float], population: int | None) -> Estimate:
            raw = estimates.mean(*m, population=population)
            return Estimate(raw.value, max(0.0, raw.low), min(100.0, raw.high), raw.se, raw.n)

        overall, org_units, _ = _publish(per_unit, lambda m: m[0], make, ItemKind.INDEX,
                                         thresholds, headcounts)
        weighted = None
        known = [uid for uid in per_unit if uid is not None]
        cells = [(make(per_unit[uid], None), headcounts[uid]) for uid in known
                 if headcounts.get(uid) and per_unit[uid][0] >= 2]
        if (overall.shown and cells and len(cells) == len(known)
                and all(org_units[uid].shown for uid in known)):
            # Weighted by headcount, so that a unit that answered more does not count for
            # more. Only when every unit's figure is published: beside the unweighted wave
            # figure, a weighted one is a second equation in the units' means, and with a
            # withheld unit the two together could give it away.
            w = estimates.weighted(cells)
            weighted = Figure(Estimate(w.value, max(0.0, w.low), min(100.0, w.high), w.se,
                                       w.n), overall.n)
        results.append(IndexResult(name, keys, overall, weighted, org_units))
    return results


def wave_results(session: Session, wave: Wave, thresholds: Thresholds | None = None,
                 language: str | None = None) -> WaveResults:
    """Every figure of ``wave``; texts in ``language`` (the default language's if None)."""
    thresholds = thresholds or Thresholds()
    survey = wave.survey
    definition = load_definition(survey.definition)
    if language is not None:
        definition = localize(definition, language)
    questions = definition.questions
    choices = _choice_counts(session, wave.id)
    respondents = _respondent_counts(
        session, wave.id, [q.key for q in questions if q.type is QuestionType.MULTIPLE])
    numbers = _number_moments(
        session, wave.id, [q.key for q in questions if q.type is QuestionType.NUMBER])
    index_moments = _index_moments(session, wave.id, definition)
    unit_rows = session.execute(
        select(SurveyResponse.org_unit_id, func.count()).where(SurveyResponse.wave_id == wave.id)
        .group_by(SurveyResponse.org_unit_id)).all()
    responses = sum(count for _, count in unit_rows)
    org_unit_ids = {org_unit_id for org_unit_id, _ in unit_rows if org_unit_id is not None}
    rates = response_rates(session, wave)
    issued, used = sum(rate.issued or 0 for rate in rates), sum(rate.used or 0 for rate in rates)
    rates = published_rates(rates, {org_unit_id: count for org_unit_id, count in unit_rows
                                    if org_unit_id is not None}, thresholds)
    org_unit_ids |= {rate.org_unit_id for rate in rates}
    unit_facts = session.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.headcount)
                                 .where(OrgUnit.id.in_(org_unit_ids))).all()
    org_units = {uid: name for uid, name, _ in unit_facts}
    headcounts = {uid: headcount for uid, _, headcount in unit_facts}
    results = [
        _question_result(q, choices.get(q.key, {}), respondents.get(q.key),
                         numbers.get(q.key), thresholds, headcounts)
        for q in questions if q.type is not QuestionType.TEXT
    ]
    comments = session.scalar(select(func.count()).select_from(Comment).where(
        Comment.wave_id == wave.id)) or 0
    return WaveResults(survey, wave, definition, responses, thresholds, org_units, rates, results,
                       _index_results(definition, index_moments, thresholds, headcounts),
                       comments, issued, used)


@dataclass(frozen=True)
class Change:
    name: str
    before: Figure
    after: Figure
    difference: Estimate | None

    @property
    def reading(self) -> str:
        """"up", "down" or "none": whether the interval of the change leaves out zero."""
        if self.difference is None:
            return "unknown"
        if self.difference.low > 0:
            return "up"
        if self.difference.high < 0:
            return "down"
        return "none"


def compare(before: WaveResults, after: WaveResults) -> list[Change]:
    """Each index and sensitive item from one wave to the next, with the interval of the
    change (waves are independent samples)."""
    changes = []
    for index in after.indices:
        earlier = before.index(index.name)
        if earlier is None:
            continue
        changes.append(_change(index.name, earlier.overall, index.overall))
    for result in after.questions:
        if result.kind is not ItemKind.SENSITIVE or result.headline is None:
            continue
        earlier_q = before.question(result.question.key)
        if earlier_q is None or earlier_q.headline is None:
            continue
        changes.append(_change(result.question.key, earlier_q.headline, result.headline))
    return changes


def _change(name: str, before: Figure, after: Figure) -> Change:
    if before.estimate is None or after.estimate is None:
        return Change(name, before, after, None)
    return Change(name, before, after, estimates.difference(before.estimate, after.estimate))


def waves_of(session: Session, survey: Survey) -> list[Wave]:
    """The waves of ``survey`` in the order of their dates."""
    return waves_in_time(session, survey)


def previous_wave(session: Session, wave: Wave) -> Wave | None:
    """The wave ``wave`` is compared with: the last closed one before it in time."""
    return previous_closed_wave(session, wave)


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


@dataclass(frozen=True)
class WaveLine:
    wave: Wave
    responses: int
    issued: int
    used: int

    def counts_withheld(self, thresholds: Thresholds) -> bool:
        return counts_withheld(self.responses, self.used, thresholds)


def survey_overview(session: Session) -> list[tuple[Survey, list[WaveLine]]]:
    """Each survey with its waves, the responses and codes of each (newest survey first)."""
    responses = {wave_id: count for wave_id, count in session.execute(
        select(SurveyResponse.wave_id, func.count()).group_by(SurveyResponse.wave_id))}
    codes = {wave_id: (issued, int(used or 0)) for wave_id, issued, used in session.execute(
        select(AccessCode.wave_id, func.count(),
               func.sum(case((AccessCode.used.is_(True), 1), else_=0)))
        .group_by(AccessCode.wave_id))}
    overview = []
    for survey in session.scalars(select(Survey).order_by(Survey.id.desc())):
        lines = [WaveLine(wave, responses.get(wave.id, 0), *codes.get(wave.id, (0, 0)))
                 for wave in waves_of(session, survey)]
        overview.append((survey, lines))
    return overview
