"""Demo survey data: the border integrity perception survey with one closed wave of simulated
responses across the demo units, and one open wave with published demo codes to try.

The demo codes are public (docs/surveys.md), like the demo accounts: never on a real
installation. The simulation is seeded, so every demo database looks the same.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from flask import current_app, has_app_context
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from integrity.models import OrgUnit, today
from surveys.bank import load_template
from surveys.codes import code_hash, issue_codes
from surveys.definitions import Definition, Question, QuestionType
from surveys.models import AccessCode, Survey, Wave
from surveys.services import check_answers, create_survey, store_response
from surveys.waves import close_wave, create_wave, open_wave

TEMPLATE = "border-integrity-perception"
# Published codes for trying the open wave (unit: Kalna road crossing).
DEMO_CODES = tuple(f"DEMO-CODE-{n:04d}" for n in range(1, 21))
DEMO_CODE_UNIT = "Kalna road crossing"
COMMENTS = (
    "Rotation between posts would help.",
    "The new scanners reduced the cash at the booths.",
    "Nobody believes reports change anything.",
    "Training on the code of conduct was useful.",
)


def load_demo_survey(session: Session) -> Survey | None:
    """Add the demo survey and its waves unless it is there already."""
    definition = load_template(TEMPLATE)
    if session.scalar(select(Survey.id).where(Survey.title == definition.title)) is not None:
        return None
    org_units = list(session.scalars(select(OrgUnit).where(OrgUnit.headcount > 0)
                                     .order_by(OrgUnit.id)))
    if not org_units or not has_app_context():
        return None
    secret = str(current_app.secret_key).encode()
    survey = create_survey(session, definition)
    day = today()
    _closed_wave(session, secret, survey, definition, org_units, day - timedelta(days=120))
    wave = create_wave(session, survey, day - timedelta(days=7), day + timedelta(days=21))
    open_wave(session, wave, day)
    issue_codes(session, secret, wave,
                {org_unit: max(1, org_unit.headcount - 5) for org_unit in org_units})
    kalna = next((u for u in org_units if u.name == DEMO_CODE_UNIT), org_units[0])
    session.add_all(AccessCode(code_hash=code_hash(secret, code), wave_id=wave.id,
                               org_unit_id=kalna.id, used=False) for code in DEMO_CODES)
    session.flush()
    return survey


def _closed_wave(session: Session, secret: bytes, survey: Survey, definition: Definition,
                 org_units: list[OrgUnit], opens_on: date) -> Wave:
    rng = random.Random(2026)  # noqa: S311 (simulated answers, not secrets)
    wave = create_wave(session, survey, opens_on, opens_on + timedelta(days=20))
    open_wave(session, wave, opens_on)
    issued = issue_codes(session, secret, wave,
                         {org_unit: math.ceil(org_unit.headcount * 0.9) for org_unit in org_units})
    for org_unit in org_units:
        climate = rng.gauss(0, 0.6)
        codes = sum(1 for code in issued if code.org_unit_id == org_unit.id)
        answered = round(codes * rng.uniform(0.45, 0.75))
        for _ in range(answered):
            form = _simulated_answers(definition, rng, climate + rng.gauss(0, 1))
            store_response(session, wave, org_unit.id, check_answers(definition, form))
        used = select(AccessCode.code_hash).where(
            AccessCode.wave_id == wave.id, AccessCode.org_unit_id == org_unit.id).limit(answered)
        session.execute(update(AccessCode).where(AccessCode.code_hash.in_(used))
                        .values(used=True).execution_options(synchronize_session=False))
    close_wave(session, wave, opens_on + timedelta(days=21))
    return wave


def _scale(rng: random.Random, centre: float) -> str:
    return str(min(5, max(1, round(centre + rng.gauss(0, 0.8)))))


def _simulated_answers(definition: Definition, rng: random.Random,
                       outlook: float) -> dict[str, list[str]]:
    """One respondent: ``outlook`` > 0 sees a healthier integrity climate than average."""
    form: dict[str, list[str]] = {}
    for q in definition.questions:
        if rng.random() < 0.03 and q.type is not QuestionType.TEXT:
            continue  # left out
        value = _simulated_answer(q, rng, outlook)
        if value:
            form[q.key] = value
    return form


def _simulated_answer(q: Question, rng: random.Random, outlook: float) -> list[str]:
    sign = -1 if q.reverse else 1
    if q.type is QuestionType.AGREEMENT:
        return [_scale(rng, 3.1 + 0.8 * sign * outlook)]
    if q.type is QuestionType.FREQUENCY:
        return [_scale(rng, 2.0 - 0.6 * outlook)]
    if q.type is QuestionType.YESNO:
        roll = rng.random()
        return ["prefer_not" if roll < 0.05 else "yes" if roll < 0.6 + 0.1 * outlook else "no"]
    if q.type is QuestionType.SINGLE:
        if q.correct is not None and rng.random() < 0.65:
            return [str(q.correct)]
        return [str(rng.randint(1, len(q.options)))]
    if q.type is QuestionType.MULTIPLE:
        return [str(n) for n in range(1, len(q.options) + 1) if rng.random() < 0.3]
    if q.type is QuestionType.CROSSWISE:
        prevalence = min(0.6, max(0.02, 0.16 - 0.05 * outlook))
        sensitive = rng.random() < prevalence
        innocuous = rng.random() < (q.p or 0)
        return ["same" if sensitive == innocuous else "different"]
    if q.type is QuestionType.FORCED_RESPONSE:
        truth = rng.random() < min(0.4, max(0.01, 0.06 - 0.03 * outlook))
        yes, no = q.forced_digits()
        digit = rng.randrange(10)
        said_yes = digit in yes or (digit not in no and truth)
        return ["yes" if said_yes else "no"]
    if q.type is QuestionType.TEXT:
        return [rng.choice(COMMENTS)] if rng.random() < 0.05 else []
    return []
