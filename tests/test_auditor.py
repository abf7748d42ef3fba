"""The auditor: reads the audit log, its verification, the exported head, the settings and
the figures; never a case, never content, never a key; changes nothing."""

from __future__ import annotations

import base64

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.models import Role, User
from integrity.reporting.models import Report
from tests.conftest import ChannelSetup, csrf_token
from tests.helpers.pages import post, signed_in
from tests.protocol_client import ReporterClient

SECRET_TEXT = "Inspector Karimov takes 200 euros per lorry at gate 4."
READS = ("/admin/audit", "/admin/audit?check=1", "/admin/audit/head", "/admin/audit/head.json",
         "/admin/settings", "/dashboard/", "/dashboard/trends", "/dashboard/campaigns/",
         "/dashboard/report", "/staff/account")


def _case(db: Session, reporter: ReporterClient, channel: ChannelSetup) -> Report:
    reporter.file(channel.slug, {"what": SECRET_TEXT})
    report = db.scalar(select(Report))
    assert report is not None
    return report


def test_an_auditor_reads_the_log_its_checks_the_settings_and_the_figures(
    app, db: Session, make_account, channel: ChannelSetup, reporter: ReporterClient
) -> None:
    report = _case(db, reporter, channel)
    client = signed_in(app, make_account(Role.AUDITOR))
    home = client.get("/staff/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/admin/audit")
    # Everything the server holds of the report, as text and base64: never in an answer.
    sealed = [SECRET_TEXT, base64.b64encode(report.payload[:48]).decode(),
              base64.urlsafe_b64encode(report.payload[:48]).decode().rstrip("="),
              report.payload[:48].hex()]
    for path in READS:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        for value in sealed:
            assert value not in body, path
        # No page leads to a case or to what a case's reader decrypts.
        assert "/cases/" not in body and "/staff/key" not in body, path
    audit = client.get("/admin/audit?check=1").get_data(as_text=True)
    assert 'id="chain-state"' in audit and 'id="register-state"' in audit
    settings = client.get("/admin/settings").get_data(as_text=True)
    assert "<fieldset disabled>" in settings and 'id="mail-test"' not in settings
    assert "Save the settings" not in settings


def test_an_auditor_is_refused_cases_keys_and_every_change(
    app, db: Session, make_account, channel: ChannelSetup, reporter: ReporterClient, admin
) -> None:
    report = _case(db, reporter, channel)
    auditor = make_account(Role.AUDITOR)
    client = signed_in(app, auditor)
    for path in ("/cases/", f"/cases/{report.id}", f"/cases/{report.id}/sealed",
                 f"/cases/{report.id}/history", f"/cases/{report.id}/attachments/x",
                 "/staff/key/share", "/admin/", "/admin/users", "/admin/channels",
                 "/admin/units", "/admin/surveys/"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/admin/settings")
    for path in (f"/cases/{report.id}/status", f"/cases/{report.id}/notes",
                 f"/cases/{report.id}/share", "/admin/settings", "/admin/settings/mail-test",
                 "/admin/users/invite", f"/admin/users/{admin.id}/role",
                 f"/admin/users/{admin.id}/deactivate", "/dashboard/campaigns/new"):
        response = client.post(path, data={"csrf_token": token, "role": "auditor",
                                           "status": "closed"})
        assert response.status_code == 403, path
    # The report build is open to auditors: it reads the same figures.
    built = post(client, "/dashboard/report", {"granularity": "quarter", "start": "2026-01-01",
                                               "end": "2026-12-31"})
    assert built.status_code in (200, 302)
    db.expire_all()
    assert db.get(User, admin.id).role is Role.ADMIN


def test_an_administrator_invites_an_auditor_and_the_role_is_listed(app, db: Session,
                                                                    admin) -> None:
    client = signed_in(app, admin)
    form = client.get("/admin/users/invite").get_data(as_text=True)
    assert 'value="auditor"' in form
    response = post(client, "/admin/users/invite",
                    {"name": "Ada Auditor", "email": "ada@example.org", "role": "auditor"})
    assert response.status_code == 200
    created = db.scalar(select(User).where(User.email == "ada@example.org"))
    assert created is not None and created.role is Role.AUDITOR
    listed = client.get("/admin/users?role=auditor").get_data(as_text=True)
    assert "Ada Auditor" in listed and "Auditor" in listed
