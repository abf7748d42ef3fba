"""The survey results pages for managers and admins: figures, intervals, withheld cells."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from integrity.models import Role
from surveys.results import wave_results
from tests.helpers.pages import sign_in
from tests.helpers.results import add_unit, random_answers, respond


def _filled(db: Session, waves) -> tuple:
    first, second = waves
    big, small = add_unit(db, "North crossing", 200), add_unit(db, "Hill crossing", 9)
    rng = random.Random(5)
    for wave in (first, second):
        for org_unit, count in ((big, 60), (small, 3)):
            for _ in range(count):
                respond(db, wave, org_unit, random_answers(rng))
    db.commit()
    return big, small


def test_managers_and_admins_read_a_wave_with_intervals_and_withheld_cells(
    app, db: Session, make_account, survey_wave
) -> None:
    survey, waves = survey_wave
    big, small = _filled(db, waves)
    expected = wave_results(db, waves[1])
    leadership = expected.index("leadership").overall.estimate
    for role in (Role.MANAGER, Role.ADMIN):
        client = app.test_client()
        sign_in(client, make_account(role))
        listing = client.get("/dashboard/surveys/").get_data(as_text=True)
        assert survey.title in listing and f"/dashboard/surveys/waves/{waves[1].id}" in listing
        page = client.get(f"/dashboard/surveys/waves/{waves[1].id}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Leadership and commitment" in html
        assert f"{leadership.value:.1f}" in html
        assert f"[{leadership.low:.1f} – {leadership.high:.1f}]" in html
        assert "Since wave 1" in html
        # The hill crossing (3 answers) is withheld everywhere it would appear.
        assert "Hill crossing" in html and "withheld" in html
        assert "Strongly agree" not in html or "Never" in html
    inspector = app.test_client()
    sign_in(inspector, make_account(Role.INSPECTOR))
    assert inspector.get(f"/dashboard/surveys/waves/{waves[1].id}").status_code == 403
    assert app.test_client().get("/dashboard/surveys/").status_code == 302
