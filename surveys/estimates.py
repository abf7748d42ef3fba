"""Survey estimators with confidence intervals: no Flask, no database.

Every function returns an :class:`Estimate` on the item's own scale (a share in [0, 1] or an
index in [0, 100]); the randomized-response estimators raise :class:`OutsideDesign` instead
when the answers do not fit their design. The formulas and their sources are set out in
docs/surveys-statistics.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from scipy.special import ndtri, stdtrit


@dataclass(frozen=True)
class Estimate:
    """A point estimate, its confidence interval, standard error and number of responses."""

    value: float
    low: float
    high: float
    se: float
    n: int


@lru_cache(maxsize=32)
def _z(confidence: float) -> float:
    """Two-sided standard normal quantile for the confidence level."""
    _check_confidence(confidence)
    return float(ndtri(0.5 + confidence / 2))


def _t(confidence: float, degrees: int) -> float:
    """Two-sided Student t quantile for the confidence level (what scipy.stats.t.ppf
    computes, from scipy.special, which loads in a third of the time)."""
    return float(stdtrit(degrees, 0.5 + confidence / 2))


class OutsideDesign(ValueError):
    """The answers do not fit a randomized-response design: the estimate falls outside [0, 1],
    or every answer is alike so that the interval would have no width. ``share`` is the
    observed share λ̂ of the answer the design counts ("same" or "yes")."""

    def __init__(self, share: float, raw: float, n: int) -> None:
        super().__init__("the answers do not fit the design")
        self.share, self.raw, self.n = share, raw, n


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")


def _fpc(n: int, population: int | None) -> float:
    """Finite-population correction sqrt((N - n) / (N - 1)); 1 without a headcount."""
    if population is None:
        return 1.0
    if population < n:
        raise ValueError("population must be at least the number of responses")
    if population == 1:
        return 0.0
    return math.sqrt((population - n) / (population - 1))


def _clip(x: float, low: float, high: float) -> float:
    return min(max(x, low), high)


def _check_n(count: int, n: int) -> None:
    if n < 1:
        raise ValueError("n must be at least 1")
    if not 0 <= count <= n:
        raise ValueError("the count must lie between 0 and n")


def _normal(value: float, se: float, n: int, confidence: float) -> Estimate:
    """Estimate with the normal interval value ± z·se."""
    half = _z(confidence) * se
    return Estimate(value, value - half, value + half, se, n)


def _within_design(share: float, value: float, se: float, n: int,
                   confidence: float) -> Estimate:
    """A randomized-response estimate with its interval cut to [0, 1]; :class:`OutsideDesign`
    when π̂ itself lies outside [0, 1] or se is 0 (every answer alike)."""
    if not -1e-12 <= value <= 1 + 1e-12 or se == 0:
        raise OutsideDesign(share, value, n)
    raw = _normal(_clip(value, 0.0, 1.0), se, n, confidence)
    return Estimate(raw.value, _clip(raw.low, 0.0, 1.0), _clip(raw.high, 0.0, 1.0), se, n)


def proportion(
    successes: int, n: int, *, confidence: float = 0.95, population: int | None = None
) -> Estimate:
    """Share p̂ = successes/n with the Wilson score interval (Wilson 1927).

    Interval: (p̂ + z²/2n ± z·sqrt(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n). With a headcount N the
    variance p(1-p)/n is multiplied by fpc² = (N-n)/(N-1), i.e. n is replaced by
    n/fpc², which narrows the interval around p̂ and closes it at p̂ when n = N.
    se is the Wald standard error sqrt(p̂(1-p̂)/n)·fpc.
    """
    _check_n(successes, n)
    fpc = _fpc(n, population)
    share = successes / n
    se = math.sqrt(share * (1 - share) / n) * fpc
    z = _z(confidence)
    if fpc == 0:
        return Estimate(share, share, share, 0.0, n)
    m = n / fpc**2  # effective sample size
    denominator = 1 + z**2 / m
    centre = (share + z**2 / (2 * m)) / denominator
    half = z / denominator * math.sqrt(share * (1 - share) / m + z**2 / (4 * m**2))
    return Estimate(share, max(0.0, centre - half), min(1.0, centre + half), se, n)


def tally(answers: Sequence[int], *, points: int = 5) -> list[int]:
    """Per-point counts [count of 1, ..., count of `points`] from raw answers."""
    counts = [0] * points
    for answer in answers:
        if not 1 <= answer <= points:
            raise ValueError(f"answers must lie between 1 and {points}")
        counts[answer - 1] += 1
    return counts


def _point_counts(counts: Mapping[int, int] | Sequence[int], points: int) -> list[int]:
    if isinstance(counts, Mapping):
        if any(not 1 <= point <= points for point in counts):
            raise ValueError(f"answer points must lie between 1 and {points}")
        result = [counts.get(point, 0) for point in range(1, points + 1)]
    else:
        if len(counts) != points:
            raise ValueError(f"expected {points} per-point counts")
        result = list(counts)
    if any(c < 0 for c in result):
        raise ValueError("counts must not be negative")
    return result


def likert_index(
    counts: Mapping[int, int] | Sequence[int],
    *,
    points: int = 5,
    confidence: float = 0.95,
    population: int | None = None,
) -> Estimate:
    """Mean answer on a 1..points scale mapped to 0-100, with a Student t interval.

    `counts` holds the number of responses per answer point: a mapping {point: count} or a
    sequence [count of 1, ..., count of `points`]. Index = (x̄ - 1)/(points - 1)·100;
    se = s/sqrt(n)·fpc·100/(points - 1) with s² = Σ c_k (k - x̄)² / (n - 1);
    interval = index ± t(n-1)·se, clipped to [0, 100] (Cochran 1977, ch. 2).
    """
    if points < 2:
        raise ValueError("a scale needs at least two points")
    per_point = _point_counts(counts, points)
    n = sum(per_point)
    if n < 2:
        raise ValueError("an index needs at least two responses")
    mean = sum(k * c for k, c in enumerate(per_point, start=1)) / n
    variance = sum(c * (k - mean) ** 2 for k, c in enumerate(per_point, start=1)) / (n - 1)
    scale = 100 / (points - 1)
    se = math.sqrt(variance / n) * _fpc(n, population) * scale
    _check_confidence(confidence)
    half = _t(confidence, n - 1) * se
    value = (mean - 1) * scale
    return Estimate(value, max(0.0, value - half), min(100.0, value + half), se, n)


def mean(
    n: int,
    total: float,
    total_squares: float,
    *,
    confidence: float = 0.95,
    population: int | None = None,
) -> Estimate:
    """A mean from its moments (n, Σx, Σx²), with a Student t interval and the finite-population
    correction: se = s/sqrt(n)·fpc, s² = (Σx² − (Σx)²/n)/(n − 1) (Cochran 1977, ch. 2).

    For figures aggregated in SQL: multi-item indices (each respondent's mean item score) and
    number questions. The interval is not clipped; the caller knows the scale.
    """
    if n < 2:
        raise ValueError("a mean needs at least two responses")
    _check_confidence(confidence)
    value = total / n
    variance = max(0.0, (total_squares - total * total / n) / (n - 1))
    se = math.sqrt(variance / n) * _fpc(n, population)
    half = _t(confidence, n - 1) * se
    return Estimate(value, value - half, value + half, se, n)


def crosswise(same_answers: int, n: int, p: float, *, confidence: float = 0.95) -> Estimate:
    """Prevalence from the crosswise model (Yu, Tian & Tang 2008).

    λ̂ = same_answers/n, the share answering "both true or both false" to the sensitive
    statement and a neutral one true with known probability p. π̂ = (λ̂ + p - 1)/(2p - 1),
    Var(π̂) = λ̂(1 - λ̂)/(n(2p - 1)²), interval π̂ ± z·se cut to [0, 1]. When π̂ itself falls
    outside [0, 1], or se = 0 (all answers alike), the answers do not fit the design and
    :class:`OutsideDesign` is raised instead: no estimate, only the observed share λ̂.
    """
    _check_n(same_answers, n)
    if not 0 < p < 1 or math.isclose(p, 0.5):
        raise ValueError("p must lie in (0, 1) and differ from 0.5")
    share = same_answers / n
    value = (share + p - 1) / (2 * p - 1)
    se = math.sqrt(share * (1 - share) / n) / abs(2 * p - 1)
    return _within_design(share, value, se, n, confidence)


def forced_response(
    yes_answers: int,
    n: int,
    p_truth: float,
    p_forced_yes: float,
    *,
    confidence: float = 0.95,
) -> Estimate:
    """Prevalence from the forced-response design (Boruch 1971).

    Each respondent answers truthfully with probability p_truth, says "yes" with probability
    p_forced_yes and "no" otherwise. λ̂ = yes_answers/n, π̂ = (λ̂ - p_forced_yes)/p_truth,
    Var(π̂) = λ̂(1 - λ̂)/(n·p_truth²), interval π̂ ± z·se cut to [0, 1]; answers that do not
    fit the design raise :class:`OutsideDesign`, as in crosswise.
    """
    _check_n(yes_answers, n)
    if not 0 < p_truth <= 1 or p_forced_yes < 0 or p_truth + p_forced_yes > 1:
        raise ValueError("need 0 < p_truth <= 1, p_forced_yes >= 0, p_truth + p_forced_yes <= 1")
    share = yes_answers / n
    value = (share - p_forced_yes) / p_truth
    se = math.sqrt(share * (1 - share) / n) / p_truth
    return _within_design(share, value, se, n, confidence)


def difference(a: Estimate, b: Estimate, *, confidence: float = 0.95) -> Estimate:
    """Change b - a between two independent waves (Cochran 1977, variance of a difference).

    se = sqrt(se_a² + se_b²), interval (b - a) ± z·se; n counts the responses of both waves.
    """
    se = math.hypot(a.se, b.se)
    return _normal(b.value - a.value, se, a.n + b.n, confidence)


def weighted(cells: Sequence[tuple[Estimate, int]], *, confidence: float = 0.95) -> Estimate:
    """Stratified estimate from per-unit estimates and unit headcounts N_h (Cochran 1977, ch. 5).

    W_h = N_h/N, value = Σ W_h·value_h, Var = Σ W_h²·se_h², normal interval; n = Σ n_h.
    """
    if not cells:
        raise ValueError("at least one unit is needed")
    if any(headcount < 1 for _, headcount in cells):
        raise ValueError("headcounts must be positive")
    total = sum(headcount for _, headcount in cells)
    value = sum(headcount / total * est.value for est, headcount in cells)
    se = math.sqrt(sum((headcount / total * est.se) ** 2 for est, headcount in cells))
    return _normal(value, se, sum(est.n for est, _ in cells), confidence)
