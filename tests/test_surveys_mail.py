"""Codes by e-mail, through a real SMTP server (aiosmtpd) on loopback: one code per address,
and no address kept anywhere but in the wave's recipients, until the wave closes."""

from __future__ import annotations

import email
import re
from email.policy import default as default_policy

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from integrity.mail import MailError
from integrity.models import OrgUnit, Role, User
from integrity.schema import metadata
from surveys.codes import code_hash, email_codes, find_code
from surveys.models import AccessCode, Recipient, Wave
from surveys.waves import SurveyError, close_wave
from tests.conftest import free_port
from tests.helpers.mail import REFUSED, Mailbox
from tests.helpers.surveys import SECRET, open_survey

CODE_IN_TEXT = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\b")


@pytest.fixture
def settings_overrides(smtp: Mailbox) -> dict[str, object]:
    return {"mail_host": "127.0.0.1", "mail_port": smtp.port, "mail_sender": "survey@example.org",
            "public_url": "https://integrity.example"}


ADDRESSES = ["ana@example.org", "  bo@example.org ", "", "Ana@example.org", "cy@example.org"]


def _settings(app):
    return app.extensions["integrity.settings"]


def _message(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=default_policy)  # type: ignore[return-value]


def _body(raw: bytes) -> str:
    return _message(raw).get_content()


def _tables_holding(db, needles: tuple[bytes, ...]) -> set[str]:
    """The tables with a value that contains one of ``needles`` (any case)."""
    found = set()
    with db.get_bind().connect() as connection:
        for table in metadata().sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    data = value if isinstance(value, bytes) else str(value).encode()
                    if any(needle.lower() in data.lower() for needle in needles):
                        found.add(table.name)
    return found


def test_each_address_gets_one_working_code_and_is_kept_until_the_wave_closes(
        app, db, smtp) -> None:
    setup = open_survey(db)
    wave = db.get(Wave, setup.wave_id)
    org_unit = db.get(OrgUnit, setup.org_unit_ids[1])
    before = db.scalar(select(func.count()).select_from(AccessCode))
    mailing = email_codes(db, SECRET, _settings(app), wave, org_unit, ADDRESSES)
    db.commit()
    assert (mailing.sent, mailing.failed) == (3, [])
    assert sorted(to for to, _ in smtp.messages) == [
        ["ana@example.org"], ["bo@example.org"], ["cy@example.org"]]
    codes = []
    for _, raw in smtp.messages:
        message = email.message_from_bytes(raw, policy=default_policy)
        assert message["From"] == "survey@example.org"
        body = message.get_content()
        found = set(CODE_IN_TEXT.findall(body))
        assert len(found) == 1, body
        code = found.pop()
        assert f"https://integrity.example/survey?code={code}" in body
        assert "This address is kept only to remind you of the survey" in body
        codes.append(code)
        stored = find_code(db, SECRET, code)
        assert stored is not None and stored.org_unit_id == org_unit.id and not stored.used
    assert len(set(codes)) == 3
    assert db.scalar(select(func.count()).select_from(AccessCode)) == before + 3
    # The addresses are kept for the reminders, with their language, and nowhere else: not
    # with a code (the recipients' rows have no column for one).
    needles = (b"@example.org", b"ana@", b"bo@", b"cy@")
    assert _tables_holding(db, needles) == {"survey_recipients"}
    assert {c.name for c in Recipient.__table__.columns} == {
        "id", "wave_id", "org_unit_id", "address", "language", "retry"}
    assert sorted(db.execute(select(Recipient.address, Recipient.language))) == [
        ("ana@example.org", "en"), ("bo@example.org", "en"), ("cy@example.org", "en")]
    # Sent to again (in any case), an address is kept once.
    email_codes(db, SECRET, _settings(app), wave, org_unit, ["CY@example.org"])
    db.commit()
    assert db.scalar(select(func.count()).select_from(Recipient)) == 3
    # The wave closes: no address, nor any part of one, is left in the database.
    close_wave(db, wave, wave.closes_on)
    db.commit()
    assert _tables_holding(db, needles) == set()


def test_a_refused_address_gets_no_stored_code(app, db, smtp) -> None:
    setup = open_survey(db)
    wave = db.get(Wave, setup.wave_id)
    org_unit = db.get(OrgUnit, setup.org_unit_ids[0])
    before = db.scalar(select(func.count()).select_from(AccessCode))
    mailing = email_codes(db, SECRET, _settings(app), wave, org_unit,
                          ["ana@example.org", REFUSED, "cy@example.org"])
    db.commit()
    assert (mailing.sent, mailing.failed) == (2, [2])
    assert db.scalar(select(func.count()).select_from(AccessCode)) == before + 2
    # Only the addresses reached are kept for the reminders.
    assert sorted(db.scalars(select(Recipient.address))) == ["ana@example.org", "cy@example.org"]
    sent = {CODE_IN_TEXT.search(_body(raw)).group(1) for _, raw in smtp.messages}
    assert {h for (h,) in db.execute(select(AccessCode.code_hash))} >= {
        code_hash(SECRET, c) for c in sent}


def test_bad_lines_are_refused_before_anything_is_sent(app, db, smtp) -> None:
    setup = open_survey(db)
    wave = db.get(Wave, setup.wave_id)
    org_unit = db.get(OrgUnit, setup.org_unit_ids[0])
    with pytest.raises(SurveyError, match="Line 2 is not an e-mail address."):
        email_codes(db, SECRET, _settings(app), wave, org_unit,
                    ["ana@example.org", "not an address"])
    with pytest.raises(SurveyError, match="at least one e-mail address"):
        email_codes(db, SECRET, _settings(app), wave, org_unit, ["", "  "])
    assert smtp.messages == []


def test_an_unreachable_mail_server_sends_and_stores_nothing(app, db) -> None:
    import dataclasses

    setup = open_survey(db)
    before = db.scalar(select(func.count()).select_from(AccessCode))
    settings = dataclasses.replace(_settings(app), mail_port=free_port())
    with pytest.raises(MailError, match="cannot reach the mail server"):
        email_codes(db, SECRET, settings, db.get(Wave, setup.wave_id),
                    db.get(OrgUnit, setup.org_unit_ids[0]), ["ana@example.org"])
    assert db.scalar(select(func.count()).select_from(AccessCode)) == before


def test_each_respondent_is_written_to_in_their_own_language(app, db, smtp, make_account) -> None:
    setup = open_survey(db)
    wave = db.get(Wave, setup.wave_id)
    org_unit = db.get(OrgUnit, setup.org_unit_ids[0])
    account = make_account(Role.MANAGER)
    db.get(User, account.id).language = "ru"  # kept with the account
    db.commit()
    stranger = "visitor@example.org"  # no account: the installation's default language
    with app.test_request_context(headers={"Accept-Language": "fr"}):  # the sender's French
        mailing = email_codes(db, SECRET, _settings(app), wave, org_unit,
                              [account.email.upper(), stranger])
    db.commit()
    assert mailing.sent == 2
    messages = {to[0]: _message(raw) for to, raw in smtp.messages}
    russian, english = messages[account.email.upper()], messages[stranger]
    with app.test_request_context(), force_locale("ru"):
        subject = gettext("Your access code for the survey “%(title)s”", title="%(title)s")
        opening = gettext("Open this address to answer:")
    assert opening != "Open this address to answer:" and opening in russian.get_content()
    assert russian["Subject"].startswith(subject.split("%(title)s")[0])
    assert russian["Content-Language"] == "ru"
    assert re.search(r"/survey\?code=[0-9A-Z-]{14}&lang=ru\b", russian.get_content())
    assert english["Content-Language"] == "en"
    assert "Open this address to answer:" in english.get_content()
    assert "&lang=en" in english.get_content()
