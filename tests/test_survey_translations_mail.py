"""Access-code slips and e-mails carry the survey's title in the language they are made in."""

from __future__ import annotations

import email
from email import policy

import pytest
from sqlalchemy import select

from integrity.models import OrgUnit, Role, User, today
from surveys.definitions import parse_definition
from surveys.services import create_survey
from surveys.waves import create_wave
from tests.conftest import csrf_token
from tests.helpers.mail import Mailbox
from tests.helpers.pages import sign_in
from tests.helpers.surveys import translated_every_type


@pytest.fixture
def settings_overrides(smtp: Mailbox) -> dict[str, object]:
    return {"mail_host": "127.0.0.1", "mail_port": smtp.port, "mail_sender": "s@example.org"}


def _in_pdf(text: str, pdf: bytes) -> bool:
    """Whether ``text`` is a string of the PDF, as ASCII or as UTF-16 with its mark."""
    utf16 = ("FEFF" + text.encode("utf-16-be").hex()).encode()
    return text.encode() in pdf or utf16.lower() in pdf.lower()


def test_slips_and_e_mails_use_the_language_they_are_made_in(app, db, make_account,
                                                              smtp) -> None:
    survey = create_survey(db, parse_definition(translated_every_type()))
    wave = create_wave(db, survey, today(), today())
    org_unit = OrgUnit(name="East crossing", kind="crossing_point", headcount=40)
    db.add(org_unit)
    db.commit()
    account = make_account(Role.ADMIN)
    db.scalar(select(User).where(User.email == account.email)).language = "fr"
    db.commit()
    admin = app.test_client()
    sign_in(admin, account)
    page = f"/admin/surveys/{survey.id}/waves"

    slips = admin.post(f"/admin/surveys/waves/{wave.id}/codes", data={
        "csrf_token": csrf_token(admin, page), "units": [str(org_unit.id)], "count": "2"})
    assert slips.mimetype == "application/pdf"
    assert _in_pdf("Toutes sortes de questions", slips.data)
    assert not _in_pdf("Every kind of question", slips.data)

    admin.post(f"/admin/surveys/waves/{wave.id}/mail", data={
        "csrf_token": csrf_token(admin, page), "unit": str(org_unit.id),
        "addresses": account.email})  # an account whose language is French
    (_, raw), = smtp.messages
    message = email.message_from_bytes(raw, policy=policy.default)
    assert "Toutes sortes de questions" in message["Subject"]
    body = message.get_content()
    assert "Toutes sortes de questions" in body and "Every kind of question" not in body
