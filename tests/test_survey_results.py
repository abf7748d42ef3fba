"""A wave's results from the database: every figure checked against the same numbers
computed by hand from the raw answers, with suppression, weighting and wave-to-wave change,
on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import statistics

import pytest
from sqlalchemy.orm import Session

from surveys import estimates
from surveys.definitions import NO, SAME, YES
from surveys.models import AccessCode
from surveys.results import compare, wave_results
from surveys.suppression import Reason, Thresholds
from tests.helpers.results import add_unit, random_answers, respond


def test_every_figure_matches_a_hand_computation(db: Session, survey_wave) -> None:
    _, (wave, _) = survey_wave
    rng = random.Random(7)
    big = add_unit(db, "Big crossing", 400)
    medium = add_unit(db, "Medium crossing", 150)
    small = add_unit(db, "Small crossing", 12)
    raw: dict[int, list[dict]] = {big.id: [], medium.id: [], small.id: []}
    for org_unit, count in ((big, 120), (medium, 40), (small, 4)):
        for _ in range(count):
            answers = random_answers(rng)
            raw[org_unit.id].append(answers)
            respond(db, wave, org_unit, answers)
    for org_unit, issued, used in ((big, 300, 120), (medium, 60, 40), (small, 10, 4)):
        for index in range(issued):
            db.add(AccessCode(code_hash=f"{org_unit.id:04d}{index:028d}".encode(), wave_id=wave.id,
                              org_unit_id=org_unit.id, used=index < used))
    db.commit()

    results = wave_results(db, wave)
    everyone = [a for answers in raw.values() for a in answers]
    assert results.responses == 164
    # Codes per unit: the small crossing's are withheld, and the medium one's with them (the
    # wave's 164 codes used minus the big crossing's would give them away).
    assert (results.issued, results.used) == (370, 164)
    assert {r.name: (r.issued, r.used, r.withheld) for r in results.rates} == {
        "Big crossing": (300, 120, None), "Medium crossing": (None, None, Reason.COMPLEMENTARY),
        "Small crossing": (None, None, Reason.TOO_FEW)}

    # A scale item: the index from the per-point counts of everyone.
    often = results.question("often")
    counts = [sum(1 for a in everyone if a["often"] == p) for p in range(1, 6)]
    assert often.headline.estimate == estimates.likert_index(counts)
    assert [s.figure.estimate.value for s in often.distribution] == pytest.approx(
        [c / 164 for c in counts])
    # Per unit: the small crossing (4 answers) is withheld, and so is the next smallest,
    # since the wave figure minus the big one would give it away.
    assert often.org_units[small.id].withheld is Reason.TOO_FEW
    assert often.org_units[medium.id].withheld is Reason.COMPLEMENTARY
    big_counts = [sum(1 for a in raw[big.id] if a["often"] == p) for p in range(1, 6)]
    assert often.org_units[big.id].estimate == estimates.likert_index(big_counts, population=400)

    # The leadership index: each respondent's mean item score on 0-100 (one item reversed),
    # then the mean over respondents with a t interval.
    def score(answers: dict) -> float:
        items = [(answers["lead"] - 1) * 25]
        if "lead_blind" in answers:
            items.append((5 - answers["lead_blind"]) * 25)
        return statistics.fmean(items)

    scores = [score(a) for a in everyone]
    leadership = results.index("leadership")
    assert leadership.questions == ["lead", "lead_blind"]
    expected = estimates.mean(len(scores), sum(scores), sum(s * s for s in scores))
    assert leadership.overall.estimate.value == pytest.approx(statistics.fmean(scores))
    assert leadership.overall.estimate.se == pytest.approx(expected.se)
    assert leadership.overall.estimate.low == pytest.approx(max(0, expected.low))
    # No weighted figure while a unit is withheld: beside the unweighted one it would be a
    # second equation giving the withheld means away.
    assert leadership.org_units[small.id].estimate is None
    assert leadership.weighted is None
    # With every unit published, the weighted figure is the units' means, 400 : 150 : 12.
    unit_means = {uid: statistics.fmean(score(a) for a in answers)
                  for uid, answers in raw.items()}
    low = wave_results(db, wave, Thresholds(index=3, distribution=3, sensitive=3))
    weighted = low.index("leadership").weighted
    assert weighted.estimate.value == pytest.approx(
        (400 * unit_means[big.id] + 150 * unit_means[medium.id] + 12 * unit_means[small.id])
        / 562)

    # Yes/no: the share of "yes" among those who said yes or no.
    aware = results.question("aware")
    yes = sum(1 for a in everyone if a["aware"] == YES)
    no = sum(1 for a in everyone if a["aware"] == NO)
    assert aware.headline.estimate == estimates.proportion(yes, yes + no)
    # A knowledge check: the share who chose the right option.
    where = results.question("where")
    right = sum(1 for a in everyone if a["where"] == 1)
    assert where.headline.estimate == estimates.proportion(right, 164)
    # Multiple choice: shares of those who answered it at all.
    seen = results.question("seen")
    answered = [a for a in everyone if "seen" in a]
    assert seen.n == len(answered)
    assert [s.figure.estimate.value for s in seen.distribution] == pytest.approx(
        [sum(1 for a in answered if option in a["seen"]) / len(answered)
         for option in (1, 2, 3)])
    # A number: the mean with its t interval.
    years = [a["years"] for a in everyone]
    assert results.question("years").headline.estimate.value == pytest.approx(
        statistics.fmean(years))
    # Randomized response: the design's estimators on the raw counts.
    same = sum(1 for a in everyone if a["bribe"] == SAME)
    assert results.question("bribe").headline.estimate == estimates.crosswise(same, 164, 0.25)
    said_yes = sum(1 for a in everyone if a["pressure"] == YES)
    assert results.question("pressure").headline.estimate == estimates.forced_response(
        said_yes, 164, 0.8, 0.1)
    # Sensitive items need 20 answers per cell (the others 10): with 4 + 40 answers the
    # small and medium crossings are withheld together, the big one shows.
    bribe_units = results.question("bribe").org_units
    assert bribe_units[big.id].shown
    assert bribe_units[small.id].withheld is Reason.TOO_FEW
    assert bribe_units[medium.id].withheld is Reason.COMPLEMENTARY
    strict = wave_results(db, wave, Thresholds(index=10, distribution=10, sensitive=50))
    assert strict.question("often").org_units[big.id].shown
    assert strict.question("bribe").org_units[medium.id].withheld is Reason.TOO_FEW


def test_too_few_responses_withhold_the_whole_wave(db: Session, survey_wave) -> None:
    _, (wave, _) = survey_wave
    org_unit = add_unit(db, "Quiet crossing", 30)
    rng = random.Random(3)
    for _ in range(9):
        respond(db, wave, org_unit, random_answers(rng))
    db.commit()
    results = wave_results(db, wave)
    assert results.responses == 9
    for result in results.questions:
        assert result.headline is None or result.headline.estimate is None, result.question.key
        assert all(share.figure.estimate is None for share in result.distribution)
    assert results.index("leadership").overall.estimate is None
    # With the threshold lowered, the same wave shows its figures.
    lowered = wave_results(db, wave, Thresholds(index=5, distribution=5, sensitive=5))
    assert lowered.index("leadership").overall.estimate is not None


def test_change_between_two_waves(db: Session, survey_wave) -> None:
    _, (first, second) = survey_wave
    org_unit = add_unit(db, "Crossing", 500)
    rng = random.Random(11)
    for wave, lead_points in ((first, (1, 2, 3)), (second, (3, 4, 5))):
        for _ in range(60):
            answers = random_answers(rng)
            answers["lead"] = rng.choice(lead_points)
            answers["lead_blind"] = 6 - answers["lead"]
            respond(db, wave, org_unit, answers)
    db.commit()
    changes = {c.name: c for c in compare(wave_results(db, first), wave_results(db, second))}
    leadership = changes["leadership"]
    assert leadership.difference.value == pytest.approx(
        leadership.after.estimate.value - leadership.before.estimate.value)
    assert leadership.difference.value > 30 and leadership.reading == "up"
    # Items that did not move on purpose mostly read "no measurable change".
    assert changes["bribe"].reading in {"none", "up", "down"}
    assert "bribe" in changes and "pressure" in changes
