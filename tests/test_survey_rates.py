"""The response rate per unit of an open wave on the administrators' waves page: codes used over
codes issued, growing as people answer, and withheld (with the cells that would reveal it)
while fewer than the installation's threshold of a unit's people have answered."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.models import Role, today
from surveys.models import AccessCode, Survey, Wave
from surveys.waves import create_wave, open_wave
from tests.helpers.pages import sign_in
from tests.helpers.results import RESULTS_DEFINITION, add_unit, respond


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"survey_min_responses": 5}


def _answered(db: Session, wave: Wave, org_unit, issued: int, used: int) -> None:
    """``issued`` codes of ``org_unit``, ``used`` of them used, each for one response."""
    for index in range(issued):
        db.add(AccessCode(code_hash=f"{org_unit.id:04d}{index:028d}".encode(), wave_id=wave.id,
                          org_unit_id=org_unit.id, used=index < used))
    for _ in range(used):
        respond(db, wave, org_unit, {})


def _use_more(db: Session, wave: Wave, org_unit, count: int) -> None:
    unused = db.scalars(select(AccessCode).where(
        AccessCode.wave_id == wave.id, AccessCode.org_unit_id == org_unit.id,
        AccessCode.used.is_(False)).limit(count)).all()
    for code in unused:
        code.used = True
        respond(db, wave, org_unit, {})


def _row(html: str, name: str) -> list[str]:
    found = re.search(r'<tr><th scope="row">' + re.escape(name) + r"</th>(.*?)</tr>", html, re.S)
    assert found is not None, name
    return re.findall(r"<td[^>]*>([^<]*)</td>", found.group(1))


def test_an_open_waves_rate_per_unit_is_shown_as_it_grows_and_withheld_for_few(
        app: Flask, db: Session, make_account) -> None:
    survey = Survey(title="Integrity now", introduction="",
                    definition=json.dumps(RESULTS_DEFINITION))
    db.add(survey)
    db.flush()
    wave = create_wave(db, survey, today() - timedelta(days=3), today() + timedelta(days=10))
    open_wave(db, wave, today())
    units = {name: add_unit(db, name, 40) for name in ("Alpha", "Bravo", "Charlie", "Delta")}
    _answered(db, wave, units["Alpha"], 12, 6)
    _answered(db, wave, units["Bravo"], 10, 5)
    _answered(db, wave, units["Charlie"], 8, 2)  # under 5: withheld
    _answered(db, wave, units["Delta"], 8, 3)  # under 5: withheld
    db.commit()
    admin = app.test_client()
    sign_in(admin, make_account(Role.ADMIN))
    url = f"/admin/surveys/{survey.id}/waves"

    page = admin.get(url).get_data(as_text=True)
    assert "Response rate" in page and "Counts so far, growing as people answer." in page
    assert "fewer than 5 of its people have answered" in page
    assert _row(page, "Alpha") == ["12", "6", "50%"]
    assert _row(page, "Bravo") == ["10", "5", "50%"]
    for name in ("Charlie", "Delta"):
        assert _row(page, name) == ["withheld"] * 3

    # Three more of Alpha's people answer: its rate grows on the next visit.
    _use_more(db, wave, units["Alpha"], 3)
    db.commit()
    page = admin.get(url).get_data(as_text=True)
    assert _row(page, "Alpha") == ["12", "9", "75%"]
    assert _row(page, "Charlie") == ["withheld"] * 3


def test_a_small_unit_alone_is_not_given_away_by_the_others(
        app: Flask, db: Session, make_account) -> None:
    """With the wave's total known, a single withheld unit could be worked out from the others:
    another unit is withheld with it."""
    survey = Survey(title="Integrity now", introduction="",
                    definition=json.dumps(RESULTS_DEFINITION))
    db.add(survey)
    db.flush()
    wave = create_wave(db, survey, today() - timedelta(days=3), today() + timedelta(days=10))
    open_wave(db, wave, today())
    big, mid, small = (add_unit(db, name, 40) for name in ("Big", "Middle", "Small"))
    _answered(db, wave, big, 20, 12)
    _answered(db, wave, mid, 20, 8)
    _answered(db, wave, small, 6, 2)
    db.commit()
    admin = app.test_client()
    sign_in(admin, make_account(Role.ADMIN))
    page = admin.get(f"/admin/surveys/{survey.id}/waves").get_data(as_text=True)
    assert _row(page, "Small") == ["withheld"] * 3
    assert _row(page, "Middle") == ["withheld"] * 3  # else 22 - 12 - 8 = 2 gives Small away
    assert _row(page, "Big") == ["20", "12", "60%"]
