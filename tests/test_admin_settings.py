"""The settings page: values stored in the database override the environment, in every
process, and the mail test goes through a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
from email.policy import default as default_policy

import pytest
from sqlalchemy import select

from admin import settings as stored_settings
from integrity.app import create_app
from integrity.audit import AuditEntry, verify
from integrity.db import dispose
from integrity.models import StoredSetting
from tests.conftest import make_settings
from tests.helpers.pages import post, signed_in


@pytest.fixture
def settings_overrides(smtp_port: int) -> dict[str, object]:
    return {"mail_host": "127.0.0.1", "mail_port": smtp_port,
            "mail_sender": "integrity@example.org", "public_url": "http://integrity.example"}


def _form(app, **changes: object) -> dict[str, object]:
    current = app.extensions["integrity.settings"]
    values = {name: getattr(current, name) for name in stored_settings.EDITABLE}
    values.update(changes)
    return {name: str(value) for name, value in values.items()}


def test_a_saved_setting_overrides_the_environment_everywhere(app, db, admin, tmp_path,
                                                               database_url) -> None:
    client = signed_in(app, admin)
    assert app.test_client().get("/api/v1/config").get_json()["pow_bits"] == 4
    response = post(client, "/admin/settings", _form(
        app, pow_bits=7, survey_min_responses=12, public_url="http://report.customs.example",
        ratelimit_reports="5 per hour;20 per day"))
    assert response.status_code == 302
    assert app.test_client().get("/api/v1/config").get_json()["pow_bits"] == 7
    effective = app.extensions["integrity.settings"]
    assert (effective.survey_min_responses, effective.public_url) == (
        12, "http://report.customs.example")
    assert effective.ratelimit_reports == "5 per hour;20 per day"
    stored = dict(db.execute(select(StoredSetting.name, StoredSetting.value)).all())
    assert stored == {"pow_bits": "7", "survey_min_responses": "12",
                      "public_url": '"http://report.customs.example"',
                      "ratelimit_reports": '"5 per hour;20 per day"'}
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Saved here; the environment says 4." in page

    # Another process on the same database (another worker) applies them too.
    other = create_app(make_settings(tmp_path, database_url))
    try:
        assert other.test_client().get("/api/v1/config").get_json()["pow_bits"] == 7
        with other.app_context():
            assert other.extensions["integrity.settings"].survey_min_responses == 12
    finally:
        dispose(other)

    # Saving the environment's value removes the override.
    post(client, "/admin/settings", _form(app, pow_bits=4))
    assert db.scalar(select(StoredSetting).where(StoredSetting.name == "pow_bits")) is None
    assert app.test_client().get("/api/v1/config").get_json()["pow_bits"] == 4
    entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "settings_changed")))
    assert entries[0].facts["changed"]["pow_bits"] == [4, 7]
    assert entries[1].facts["changed"] == {"pow_bits": [7, 4]}
    assert verify(db).ok


@pytest.mark.parametrize("changes, message", [
    ({"pow_bits": 25}, "Enter a whole number from 0 to 24."),
    ({"public_url": "https://integrity.example"}, "Keep the scheme of INTEGRITY_PUBLIC_URL"),
    ({"public_url": "integrity.example"}, "An address starts with http:// or https://"),
    ({"onion_url": "https://example.org"}, "An onion address ends in .onion."),
    ({"ratelimit_login": "lots"}, "Write limits as “10 per hour”"),
    ({"survey_min_sensitive": 0}, "Enter a whole number from 1 to 1000."),
])
def test_a_refused_setting_names_the_problem_and_stores_nothing(app, db, admin, changes,
                                                                 message) -> None:
    client = signed_in(app, admin)
    response = post(client, "/admin/settings", _form(app, **{"pow_bits": 9, **changes}))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.scalar(select(StoredSetting)) is None
    assert app.extensions["integrity.settings"].pow_bits == 4


def test_an_invalid_stored_value_is_ignored(app, db) -> None:
    db.add(StoredSetting(name="pow_bits", value="99"))
    db.add(StoredSetting(name="survey_min_sensitive", value="33"))
    db.commit()
    stored_settings.refresh(app, force=True)
    assert app.extensions["integrity.settings"].pow_bits == 4
    assert app.extensions["integrity.settings"].survey_min_sensitive == 33


def test_the_mail_test_button_sends_through_the_mail_server(app, db, admin, smtp) -> None:
    client = signed_in(app, admin)
    response = post(client, "/admin/settings/mail-test", {"address": "me@example.org"},
                    page="/admin/settings", follow_redirects=True)
    assert "A test message was sent to me@example.org." in response.get_data(as_text=True)
    assert len(smtp.messages) == 1
    to, raw = smtp.messages[0]
    message = email.message_from_bytes(raw, policy=default_policy)
    assert to == ["me@example.org"] and message["From"] == "integrity@example.org"
    assert "test message" in message["Subject"]
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "mail_test_sent"))
    assert entry.facts["sent"] is True


def test_the_mail_test_says_when_the_server_cannot_be_reached(app, db, admin,
                                                               smtp_port) -> None:
    # No server listens on the port (the smtp fixture is not used here).
    client = signed_in(app, admin)
    response = post(client, "/admin/settings/mail-test", {"address": "me@example.org"},
                    page="/admin/settings", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "The test message could not be sent: cannot reach the mail server" in body
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "mail_test_sent"))
    assert entry.facts["sent"] is False


def test_an_invitation_link_can_go_by_e_mail(app, db, admin, smtp) -> None:
    client = signed_in(app, admin)
    response = post(client, "/admin/users/invite", {
        "name": "Ola", "email": "ola@example.org", "role": "manager", "send": "y"})
    page = response.get_data(as_text=True)
    assert 'It was also sent to <bdi dir="ltr">ola@example.org</bdi>.' in page
    link = page.split('id="setup-link">')[1].split("<")[0]
    assert link.startswith("http://integrity.example/staff/setup/")
    (to, raw), = smtp.messages
    message = email.message_from_bytes(raw, policy=default_policy)
    assert to == ["ola@example.org"] and link in message.get_content()
