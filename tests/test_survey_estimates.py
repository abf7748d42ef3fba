"""Survey estimators: known answers worked by hand, and seeded simulations."""

import math
import statistics
from collections.abc import Callable

import numpy as np
import pytest

from surveys.estimates import (
    Estimate,
    OutsideDesign,
    crosswise,
    difference,
    forced_response,
    likert_index,
    proportion,
    tally,
    weighted,
)

Z95 = 1.959963984540054  # standard normal 97.5 % quantile
T19 = 2.093024054408309  # Student t 97.5 % quantile, 19 degrees of freedom
REPLICATIONS = 2_000
RESPONDENTS = 500
TRUE_PREVALENCE = 0.2


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-6)


# --- proportion -------------------------------------------------------------------------------


def test_proportion_gives_the_wilson_interval():
    # 20 of 100, z² = 3.841459: centre = (0.2 + z²/200) / (1 + z²/100) = 0.219207 / 1.038415
    # = 0.211098; half = z/1.038415 · sqrt(0.2·0.8/100 + z²/40000) = 1.887450 · 0.041183
    # = 0.077731; interval [0.133367, 0.288829]. se = sqrt(0.16/100) = 0.04.
    est = proportion(20, 100)
    assert est == Estimate(0.2, approx(0.133367), approx(0.288829), approx(0.04), 100)


def test_proportion_of_zero_keeps_a_positive_upper_bound():
    # 0 of 20: low = 0, high = (z²/20) / (1 + z²/20) = 0.192073 / 1.192073 = 0.161125.
    est = proportion(0, 20)
    assert (est.value, est.low, est.high) == (0.0, 0.0, approx(0.161125))


def test_finite_population_correction_narrows_the_wilson_interval():
    # 20 of 100 in a unit of 200: fpc² = 100/199, so the effective size is m = 100·199/100
    # = 199. centre = (0.2 + z²/398) / (1 + z²/199) = 0.209652 / 1.019304 = 0.205682;
    # half = z/1.019304 · sqrt(0.16/199 + z²/158404) = 1.922846 · 0.028785 = 0.055339;
    # interval [0.150343, 0.261020]; se = 0.04 · sqrt(100/199) = 0.028355.
    est = proportion(20, 100, population=200)
    assert (est.low, est.high, est.se) == (approx(0.150343), approx(0.261020), approx(0.028355))
    plain = proportion(20, 100)
    assert est.high - est.low < plain.high - plain.low


def test_proportion_of_a_whole_unit_has_no_width():
    est = proportion(20, 100, population=100)
    assert (est.value, est.low, est.high, est.se) == (0.2, 0.2, 0.2, 0.0)


@pytest.mark.parametrize(
    ("successes", "n", "population"), [(5, 0, None), (-1, 10, None), (11, 10, None), (5, 10, 9)]
)
def test_proportion_refuses_impossible_counts(successes, n, population):
    with pytest.raises(ValueError):
        proportion(successes, n, population=population)


# --- likert_index -----------------------------------------------------------------------------

# Answers 1..5 given 2, 3, 5, 6 and 4 times (n = 20).
COUNTS = [2, 3, 5, 6, 4]


def test_likert_index_from_counts():
    # mean = (2 + 6 + 15 + 24 + 20)/20 = 3.35 -> index (3.35 - 1)/4 · 100 = 58.75.
    # Σ c (k - 3.35)² = 11.045 + 5.4675 + 0.6125 + 2.535 + 10.89 = 30.55, s² = 30.55/19;
    # se = sqrt(30.55/19/20) · 25 = 7.088491; half = t19 · se = 14.836383.
    est = likert_index(COUNTS)
    assert est == Estimate(58.75, approx(43.913617), approx(73.586383), approx(7.088491), 20)
    assert est.high - est.value == approx(T19 * est.se)


def test_likert_index_takes_a_mapping_or_raw_answers_alike():
    raw = [point for point, c in enumerate(COUNTS, start=1) for _ in range(c)]
    assert tally(raw) == COUNTS
    assert likert_index({1: 2, 2: 3, 3: 5, 4: 6, 5: 4}) == likert_index(COUNTS)
    assert likert_index({5: 4, 4: 6, 3: 5, 1: 2, 2: 3}) == likert_index(tally(raw))
    # The same figures straight from the raw answers.
    est = likert_index(tally(raw))
    assert est.value == approx((statistics.mean(raw) - 1) * 25)
    assert est.se == approx(statistics.stdev(raw) / math.sqrt(len(raw)) * 25)


def test_likert_index_on_a_seven_point_scale_without_missing_points():
    # Two answers of 7 and two of 1 on a 1..7 scale: mean 4 -> (4 - 1)/6 · 100 = 50.
    assert likert_index({1: 2, 7: 2}, points=7).value == approx(50.0)


def test_finite_population_correction_narrows_the_index_interval():
    # 20 answers in a unit of 40: se · sqrt(20/39) = 7.088491 · 0.716115 = 5.076174.
    est = likert_index(COUNTS, population=40)
    assert est.se == approx(5.076174)
    assert est.high - est.value == approx(T19 * 5.076174)
    whole = likert_index(COUNTS, population=20)
    assert (whole.low, whole.high, whole.se) == (58.75, 58.75, 0.0)


def test_likert_interval_stays_on_the_scale():
    # Nineteen answers of 5 and one of 1: index 95, half-width > 5, clipped at 100.
    est = likert_index([1, 0, 0, 0, 19])
    assert est.value == approx(95.0)
    assert est.high == 100.0
    assert est.value - est.low > 5


@pytest.mark.parametrize(
    "counts", [[1, 0, 0, 0, 0], [1, 2, 3], {0: 3, 1: 4}, {6: 1, 1: 4}, [3, -1, 2, 0, 0]]
)
def test_likert_index_refuses_bad_counts(counts):
    with pytest.raises(ValueError):
        likert_index(counts)


# --- crosswise --------------------------------------------------------------------------------


def test_crosswise_known_answer():
    # 250 of 400 say "same", p = 0.25: λ = 0.625, π = (0.625 + 0.25 - 1)/(0.5 - 1) = 0.25;
    # Var = 0.625 · 0.375 / (400 · 0.25) = 0.00234375, se = 0.048412, half = 0.094886.
    est = crosswise(250, 400, 0.25)
    assert est == Estimate(approx(0.25), approx(0.155114), approx(0.344886), approx(0.048412), 400)


def test_crosswise_cuts_the_interval_at_zero():
    # 74 of 100, p = 0.25: λ = 0.74, π = (0.74 - 0.75)/(-0.5) = 0.02;
    # se = sqrt(0.74 · 0.26/25) = 0.087727, low = 0.02 - z · se < 0 -> 0, high = 0.191941.
    est = crosswise(74, 100, 0.25)
    assert (est.value, est.low, est.high, est.se) == (
        approx(0.02), 0.0, approx(0.191941), approx(0.087727))


@pytest.mark.parametrize(("same", "raw"), [(78, -0.06), (20, 1.1), (100, -0.5), (0, 1.5)])
def test_crosswise_answers_outside_the_design_give_no_estimate(same, raw):
    # 78 of 100 "same" at p = 0.25: π = (0.78 - 0.75)/(-0.5) = -0.06; 20: 1.1; all "same":
    # -0.5; none: 1.5. No estimate (never "0 % [0, 0]"), only the raw share of "same".
    with pytest.raises(OutsideDesign) as refused:
        crosswise(same, 100, 0.25)
    assert (refused.value.share, refused.value.raw, refused.value.n) == (
        same / 100, approx(raw), 100)


@pytest.mark.parametrize("p", [0.5, 0.0, 1.0, 1.2])
def test_crosswise_refuses_an_uninformative_p(p):
    with pytest.raises(ValueError):
        crosswise(50, 100, p)


# --- forced response --------------------------------------------------------------------------


def test_forced_response_known_answer():
    # 130 yes of 400, truthful 0.75, forced yes 0.125: λ = 0.325, π = 0.2/0.75 = 0.266667;
    # Var = 0.325 · 0.675 / (400 · 0.5625) = 0.000975, se = 0.031225, half = 0.061200.
    est = forced_response(130, 400, 0.75, 0.125)
    assert est == Estimate(
        approx(0.266667), approx(0.205467), approx(0.327867), approx(0.031225), 400
    )


@pytest.mark.parametrize(("yes", "p_yes", "raw"), [
    (10, 0.125, -0.033333),  # fewer "yes" than the forced "yes" alone gives
    (95, 0.125, 1.1),
    (0, 0.0, 0.0),  # all "no" with no forced "yes": π = 0 but se = 0, a zero-width interval
])
def test_forced_response_answers_outside_the_design_give_no_estimate(yes, p_yes, raw):
    with pytest.raises(OutsideDesign) as refused:
        forced_response(yes, 100, 0.75, p_yes)
    assert (refused.value.share, refused.value.raw) == (yes / 100, approx(raw))


def test_forced_response_cuts_the_interval_at_zero():
    # 14 yes of 100: π = (0.14 - 0.125)/0.75 = 0.02, se = sqrt(0.14 · 0.86/100)/0.75 = 0.046264.
    est = forced_response(14, 100, 0.75, 0.125)
    assert (est.value, est.low, est.se) == (approx(0.02), 0.0, approx(0.046264))


@pytest.mark.parametrize(("p_truth", "p_yes"), [(0.0, 0.1), (0.8, 0.3), (0.7, -0.1)])
def test_forced_response_refuses_impossible_designs(p_truth, p_yes):
    with pytest.raises(ValueError):
        forced_response(30, 100, p_truth, p_yes)


# --- simulations ------------------------------------------------------------------------------


def _simulate(
    same_or_yes: np.ndarray, estimator: Callable[[int], Estimate]
) -> tuple[float, float, float]:
    """Mean estimate, share of intervals covering the truth, and mean naive share."""
    estimates = [estimator(int(count)) for count in same_or_yes]
    mean = statistics.fmean(e.value for e in estimates)
    coverage = statistics.fmean(e.low <= TRUE_PREVALENCE <= e.high for e in estimates)
    return mean, coverage, float(same_or_yes.mean()) / RESPONDENTS


def test_crosswise_is_unbiased_and_covers_the_truth():
    rng = np.random.default_rng(20240611)
    p = 0.25  # e.g. "my mother was born in January, February or March"
    sensitive = rng.random((REPLICATIONS, RESPONDENTS)) < TRUE_PREVALENCE
    neutral = rng.random((REPLICATIONS, RESPONDENTS)) < p
    same = (sensitive == neutral).sum(axis=1)
    mean, coverage, naive = _simulate(same, lambda count: crosswise(count, RESPONDENTS, p))
    # One estimate has se ≈ 0.043, the mean of 2,000 about 0.001.
    assert mean == pytest.approx(TRUE_PREVALENCE, abs=0.004)
    assert 0.93 <= coverage <= 0.97
    assert abs(naive - TRUE_PREVALENCE) > 0.3  # the raw answers alone are far off


def test_forced_response_is_unbiased_and_covers_the_truth():
    rng = np.random.default_rng(20240612)
    p_truth, p_yes = 0.75, 0.125  # an eight-sided die: 1-6 answer truly, 7 say yes, 8 say no
    truth = rng.random((REPLICATIONS, RESPONDENTS)) < TRUE_PREVALENCE
    spin = rng.random((REPLICATIONS, RESPONDENTS))
    says_yes = np.where(spin < p_truth, truth, spin < p_truth + p_yes)
    yes = says_yes.sum(axis=1)
    mean, coverage, naive = _simulate(
        yes, lambda count: forced_response(count, RESPONDENTS, p_truth, p_yes)
    )
    # One estimate has se ≈ 0.027, the mean of 2,000 about 0.0006.
    assert mean == pytest.approx(TRUE_PREVALENCE, abs=0.003)
    assert 0.93 <= coverage <= 0.97
    assert abs(naive - TRUE_PREVALENCE) > 0.05


# --- difference and weighting -----------------------------------------------------------------


def test_difference_between_waves():
    # 0.30 (se 0.02) then 0.25 (se 0.015): change -0.05, se = sqrt(0.0004 + 0.000225) = 0.025,
    # half = z · 0.025 = 0.048999.
    before = Estimate(0.30, 0.26, 0.34, 0.02, 100)
    after = Estimate(0.25, 0.22, 0.28, 0.015, 120)
    est = difference(before, after)
    assert est == Estimate(approx(-0.05), approx(-0.098999), approx(-0.001001), 0.025, 220)


def test_weighting_by_headcount():
    # Units of 100 and 300 staff: W = 0.25, 0.75. value = 0.25·0.2 + 0.75·0.4 = 0.35;
    # Var = 0.0625·0.04² + 0.5625·0.05² = 0.00150625, se = 0.038810, half = 0.076066.
    small = Estimate(0.2, 0.13, 0.29, 0.04, 50)
    large = Estimate(0.4, 0.31, 0.49, 0.05, 80)
    est = weighted([(small, 100), (large, 300)])
    assert est == Estimate(approx(0.35), approx(0.273933), approx(0.426067), approx(0.038810), 130)


def test_weighting_differs_from_pooling_the_responses():
    # Pooled by responses the same cells would give (50·0.2 + 80·0.4)/130 = 0.323.
    small = Estimate(0.2, 0.13, 0.29, 0.04, 50)
    large = Estimate(0.4, 0.31, 0.49, 0.05, 80)
    assert weighted([(small, 100), (large, 300)]).value != approx((50 * 0.2 + 80 * 0.4) / 130)


@pytest.mark.parametrize("cells", [[], [(Estimate(0.2, 0.1, 0.3, 0.05, 10), 0)]])
def test_weighting_refuses_empty_or_headless_units(cells):
    with pytest.raises(ValueError):
        weighted(cells)


def test_confidence_level_changes_the_width():
    ninety = proportion(20, 100, confidence=0.90)
    ninety_five = proportion(20, 100)
    assert ninety.high - ninety.low < ninety_five.high - ninety_five.low
    with pytest.raises(ValueError):
        proportion(20, 100, confidence=1.0)
