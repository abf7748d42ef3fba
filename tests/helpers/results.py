"""Survey results the tests share: a survey of every kind of figure, with closed waves, units
and responses stored directly (as if answered)."""

from __future__ import annotations

import json
import random
from datetime import date

from sqlalchemy.orm import Session

from integrity.models import OrgUnit
from surveys.definitions import DIFFERENT, NO, PREFER_NOT, SAME, YES
from surveys.models import AccessCode, Answer, Survey, SurveyResponse, Wave, WaveState

# A question of every kind of figure: scales, an index, yes/no, options, numbers and both
# sensitive designs.
RESULTS_DEFINITION = {
    "title": "Integrity at the post",
    "sections": [{"title": "All", "questions": [
        {"key": "lead", "type": "agreement", "index": "leadership",
         "text": "Managers set an example."},
        {"key": "lead_blind", "type": "agreement", "index": "leadership", "reverse": True,
         "text": "Managers look away."},
        {"key": "often", "type": "frequency", "text": "How often are rules bent?"},
        {"key": "aware", "type": "yesno", "text": "Do you know the reporting channel?"},
        {"key": "where", "type": "single", "text": "Where do you report?",
         "options": ["Inspectorate", "Police", "Nowhere"], "correct": 1},
        {"key": "seen", "type": "multiple", "text": "What have you seen?",
         "options": ["Cash", "Gifts", "Favours"]},
        {"key": "years", "type": "number", "text": "Years of service?", "min": 0, "max": 45},
        {"key": "bribe", "type": "crosswise", "text": "I was offered a bribe this year.",
         "innocuous": "My mother was born in January, February or March.", "p": 0.25},
        {"key": "pressure", "type": "forced_response", "text": "I was pressured to look away.",
         "p_truth": 0.8, "p_forced_yes": 0.1, "p_forced_no": 0.1},
    ]}],
}


def add_unit(db: Session, name: str, headcount: int) -> OrgUnit:
    """A crossing point of ``headcount`` staff."""
    org_unit = OrgUnit(name=name, kind="crossing_point", crossing_type="land", headcount=headcount)
    db.add(org_unit)
    db.flush()
    return org_unit


def respond(db: Session, wave: Wave, org_unit: OrgUnit, answers: dict) -> None:
    """A response of ``unit`` to ``wave``, stored as the respondent's page would have it."""
    response = SurveyResponse(wave_id=wave.id, org_unit_id=org_unit.id)
    db.add(response)
    db.flush()
    for key, value in answers.items():
        if key == "seen":
            for option in value:
                db.add(Answer(response_id=response.id, question=key, item=option,
                              choice=option))
        elif key == "years":
            db.add(Answer(response_id=response.id, question=key, number=value))
        else:
            db.add(Answer(response_id=response.id, question=key, choice=value))


def random_answers(rng: random.Random) -> dict:
    """Plausible answers to every question of ``RESULTS_DEFINITION``."""
    answers = {"lead": rng.randint(1, 5), "lead_blind": rng.randint(1, 5),
               "often": rng.randint(1, 5), "aware": rng.choice([YES, YES, NO, PREFER_NOT]),
               "where": rng.randint(1, 3), "years": rng.randint(0, 40),
               "bribe": rng.choice([SAME, SAME, DIFFERENT]), "pressure": rng.choice([YES, NO])}
    seen = [option for option in (1, 2, 3) if rng.random() < 0.4]
    if seen:
        answers["seen"] = seen
    if rng.random() < 0.1:
        del answers["lead_blind"]  # a skipped item: the respondent's index uses the other
    return answers


def closed_waves(db: Session) -> tuple[Survey, list[Wave]]:
    """The survey with two closed waves (spring and summer 2027), no response yet."""
    survey = Survey(title="Integrity at the post", introduction="",
                    definition=json.dumps(RESULTS_DEFINITION))
    db.add(survey)
    db.flush()
    waves = []
    for number in (1, 2):
        wave = Wave(survey_id=survey.id, number=number, opens_on=date(2027, number * 3, 1),
                    closes_on=date(2027, number * 3, 21), state=WaveState.CLOSED.value)
        db.add(wave)
        waves.append(wave)
    db.flush()
    return survey, waves


def add_codes(db: Session, wave: Wave, org_unit: OrgUnit, issued: int, used: int) -> None:
    """``issued`` access codes of ``unit`` for ``wave``, the first ``used`` of them used."""
    for index in range(issued):
        db.add(AccessCode(code_hash=f"{wave.id:04d}{org_unit.id:04d}{index:024d}".encode(),
                          wave_id=wave.id, org_unit_id=org_unit.id, used=index < used))


def withheld_answers(i: int) -> dict:
    """The ``i``-th response of ``fill_second_wave``."""
    return {"lead": 1 + i % 5, "lead_blind": 1 + (i * 3) % 5, "aware": YES if i % 3 else NO,
            "bribe": SAME, "pressure": NO, "years": i % 30}


def fill_second_wave(db: Session, survey_wave: tuple[Survey, list[Wave]]
                     ) -> tuple[Survey, Wave, dict[str, OrgUnit]]:
    """Wave 2 (closed): a large crossing of 30 answers and two posts of 7 and 6 (codes used
    7 of 8 and 6 of 7). Every "bribe" answer is "same" and every "pressure" answer "no", which
    the crosswise and forced-response designs cannot give."""
    survey, (_, wave) = survey_wave
    org_units = {"large": add_unit(db, "Large crossing", 60), "hill": add_unit(db, "Hill post", 8),
                 "lake": add_unit(db, "Lake post", 7)}
    for key, issued, used in (("large", 40, 30), ("hill", 8, 7), ("lake", 7, 6)):
        add_codes(db, wave, org_units[key], issued, used)
        for i in range(used):
            respond(db, wave, org_units[key], withheld_answers(i))
    db.commit()
    return survey, wave, org_units

