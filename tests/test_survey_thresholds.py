"""Each survey figure is withheld when the answers it is computed from, and only those, are
fewer than its threshold k; its complements go with it. Every figure type at k - 1 and at k,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from integrity.models import OrgUnit
from surveys.definitions import DIFFERENT, NO, PREFER_NOT, SAME, YES
from surveys.models import Wave
from surveys.results import Figure, WaveResults, compare, wave_results
from surveys.suppression import Reason, Thresholds
from tests.helpers.results import add_unit, respond

K = 10
K_SENSITIVE = 12
THRESHOLDS = Thresholds(index=K, distribution=K, sensitive=K_SENSITIVE)


def _counted(key: str, i: int) -> dict:
    """Answer number ``i`` that the figure of ``key`` is computed from."""
    if key == "aware":
        return {"aware": YES if i % 3 else NO}
    if key == "where":
        return {"where": 1 + i % 3}
    if key == "seen":
        return {"seen": [1 + i % 3]}
    if key in ("often", "leadership"):
        return {"lead" if key == "leadership" else "often": 1 + i % 5}
    if key == "years":
        return {"years": i % 30}
    if key == "bribe":  # about half "same": inside the design
        return {"bribe": SAME if i % 2 else DIFFERENT}
    return {"pressure": YES if i % 2 else NO}


def _uncounted(key: str) -> dict:
    """An answer of the same respondents that the figure does not rest on."""
    if key == "aware":
        return {"aware": PREFER_NOT}  # "prefer not to say": not in the share of "yes"
    return {"aware": YES} if key == "years" else {"years": 5}


# figure type -> (its key, how to read its wave figures, how to read its unit figures)
Reader = Callable[[WaveResults], list[Figure]]
FIGURES: dict[str, tuple[str, Reader, Callable[[WaveResults], dict[int, Figure]] | None]] = {
    "share (yes/no)": ("aware", lambda r: [r.question("aware").headline,
                                           *(s.figure for s in r.question("aware").distribution)],
                       lambda r: r.question("aware").org_units),
    "share (knowledge check)": ("where", lambda r: [
        r.question("where").headline, *(s.figure for s in r.question("where").distribution)],
        lambda r: r.question("where").org_units),
    "distribution (multiple choice)": (
        "seen", lambda r: [s.figure for s in r.question("seen").distribution], None),
    "index of a scale item": ("often", lambda r: [
        r.question("often").headline, *(s.figure for s in r.question("often").distribution)],
        lambda r: r.question("often").org_units),
    "index of several items": ("leadership", lambda r: [r.index("leadership").overall],
                               lambda r: r.index("leadership").org_units),
    "mean": ("years", lambda r: [r.question("years").headline],
             lambda r: r.question("years").org_units),
    "crosswise": ("bribe", lambda r: [r.question("bribe").headline],
                  lambda r: r.question("bribe").org_units),
    "forced response": ("pressure", lambda r: [r.question("pressure").headline],
                        lambda r: r.question("pressure").org_units),
}


def _threshold(key: str) -> int:
    return K_SENSITIVE if key in ("bribe", "pressure") else K


def _fill(db: Session, wave: Wave, org_unit: OrgUnit, key: str, counted: int,
          uncounted: int = 4) -> None:
    for i in range(counted):
        respond(db, wave, org_unit, {**_counted(key, i), **({} if key == "aware"
                                                          else _uncounted(key))})
    for _ in range(uncounted):
        respond(db, wave, org_unit, _uncounted(key))


@pytest.mark.parametrize("kind", FIGURES)
@pytest.mark.parametrize("below", [True, False], ids=["k-1", "k"])
def test_a_figure_counts_only_the_answers_it_is_computed_from(
        db: Session, survey_wave, kind: str, below: bool) -> None:
    _, (wave, _) = survey_wave
    key, read, _ = FIGURES[kind]
    k = _threshold(key)
    # k - 1 (or k) answers the figure rests on, and four more respondents who count for the
    # unit's responses but not for this figure (for yes/no: "prefer not to say").
    _fill(db, wave, add_unit(db, "Crossing", 200), key, k - 1 if below else k)
    db.commit()
    results = wave_results(db, wave, THRESHOLDS)
    assert results.responses >= k + 3
    for figure in read(results):
        if below:
            assert figure.estimate is None and figure.n is None, kind
            assert figure.withheld is Reason.TOO_FEW, kind
        else:
            assert figure.estimate is not None, kind
    if not below and kind != "distribution (multiple choice)":
        assert read(results)[0].n == k  # the count it is computed from


@pytest.mark.parametrize("kind", [kind for kind, (_, _, units) in FIGURES.items() if units])
@pytest.mark.parametrize("below", [True, False], ids=["k-1", "k"])
def test_a_unit_figure_under_k_is_withheld_with_its_complement(
        db: Session, survey_wave, kind: str, below: bool) -> None:
    _, (wave, _) = survey_wave
    key, read, read_units = FIGURES[kind]
    assert read_units is not None
    k = _threshold(key)
    small, large = add_unit(db, "Small crossing", 40), add_unit(db, "Large crossing", 300)
    _fill(db, wave, small, key, k - 1 if below else k)
    _fill(db, wave, large, key, 2 * k)
    db.commit()
    results = wave_results(db, wave, THRESHOLDS)
    org_units = read_units(results)
    assert read(results)[0].estimate is not None  # the wave's figure rests on 3k - 1 answers
    if below:
        assert org_units[small.id].withheld is Reason.TOO_FEW
        # The wave minus the large crossing would give the small one back.
        assert org_units[large.id].withheld is Reason.COMPLEMENTARY
        assert org_units[large.id].n is None and org_units[small.id].n is None
    else:
        assert org_units[small.id].estimate is not None and org_units[small.id].n == k
        assert org_units[large.id].estimate is not None and org_units[large.id].n == 2 * k


def test_yes_no_share_from_nine_of_thirteen_answers_is_withheld(
        db: Session, survey_wave) -> None:
    """13 answers, 4 of them "prefer not to say": the share of "yes" rests on 9 < 10."""
    _, (wave, _) = survey_wave
    org_unit = add_unit(db, "Crossing", 30)
    for answer in [YES] * 5 + [NO] * 4 + [PREFER_NOT] * 4:
        respond(db, wave, org_unit, {"aware": answer})
    db.commit()
    aware = wave_results(db, wave, THRESHOLDS).question("aware")
    assert aware.n == 13
    assert aware.headline == Figure(None, None, Reason.TOO_FEW)
    # The distribution goes with it: 5/13 yes and 4/13 no would give 5/9 back.
    assert [share.figure.estimate for share in aware.distribution] == [None, None, None]
    assert aware.org_units[org_unit.id].estimate is None


@pytest.mark.parametrize("below", [True, False], ids=["k-1", "k"])
def test_a_change_between_waves_needs_both_figures_from_k_answers(
        db: Session, survey_wave, below: bool) -> None:
    _, (first, second) = survey_wave
    org_unit = add_unit(db, "Crossing", 300)
    for key in ("leadership", "bribe", "aware"):
        k = _threshold(key)
        _fill(db, first, org_unit, key, 2 * k, uncounted=0)
        _fill(db, second, org_unit, key, k - 1 if below else k)
    db.commit()
    changes = {c.name: c for c in compare(wave_results(db, first, THRESHOLDS),
                                          wave_results(db, second, THRESHOLDS))}
    for name in ("leadership", "bribe"):
        if below:
            assert changes[name].difference is None, name
        else:
            assert changes[name].difference is not None, name
            assert changes[name].difference.n == 3 * _threshold(name), name
