"""An inspector added with only an offline key file (``integrity inspector add``) gets a
set-up link, signs in and acknowledges a case: acknowledging needs no key."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

import crypto
from integrity.audit import AuditEntry
from integrity.models import User
from integrity.reporting.models import Report
from tests.conftest import csrf_token, sign_in_form
from tests.helpers.pages import post, signed_in
from tests.helpers.reports import file_report

LINK = re.compile(r'id="setup-link">(https?://[^<]+)</p>')
PASSPHRASE = "seven quiet lorries cross at dawn 4"


def test_an_offline_key_inspector_signs_in_and_acknowledges_a_case(app, db, admin,
                                                                    channel) -> None:
    report_id = file_report(app.test_client(), channel)
    offline = db.scalar(select(User).where(User.email == "insp1@example.org"))
    assert offline is not None and not offline.can_sign_in and offline.wrapped_secret_key is None
    key = offline.public_key
    # Without a set-up link the account cannot sign in.
    stranger = app.test_client()
    refused = stranger.post("/staff/login", data=sign_in_form(stranger, offline.email,
                                                              PASSPHRASE))
    assert refused.status_code == 200

    manager = signed_in(app, admin)
    page = manager.get(f"/admin/users/{offline.id}").get_data(as_text=True)
    assert "Make a set-up link to sign in" in page
    link = LINK.search(post(manager, f"/admin/users/{offline.id}/link", {}).get_data(
        as_text=True)).group(1)

    invitee = app.test_client()
    invitee.get("/" + link.split("/", 3)[3])
    hasher = app.extensions["integrity.hasher"]
    salt = crypto.new_staff_salt()
    value = crypto.login_value(crypto.derive_staff_keys(PASSPHRASE, salt, hasher.login_opslimit,
                                                        hasher.login_memlimit))
    response = invitee.post("/staff/setup", data={
        "csrf_token": csrf_token(invitee, "/staff/setup"), "new": value, "confirm": value,
        "derived": "1", "new_salt": crypto.b64encode(salt)})
    assert response.headers["Location"].endswith("/staff/login/enrol")
    enrol = invitee.get("/staff/login/enrol").get_data(as_text=True)
    secret = enrol.split('id="totp-secret">')[1].split("<")[0]
    invitee.post("/staff/login/enrol", data={
        "csrf_token": csrf_token(invitee, "/staff/login/enrol"),
        "code": pyotp.TOTP(secret).now()})

    # Signed in, with the key of the file kept: no key page, the inbox lists the case.
    inbox = invitee.get("/cases/")
    assert inbox.status_code == 200
    assert f'href="/cases/{report_id}"' in inbox.get_data(as_text=True)
    case_page = invitee.get(f"/cases/{report_id}").get_data(as_text=True)
    assert 'id="key-file-form"' in case_page and 'data-wrapped=""' in case_page
    answer = invitee.post(f"/cases/{report_id}/status", data={
        "csrf_token": csrf_token(invitee, f"/cases/{report_id}"),
        "status": "acknowledged", "outcome": ""}, follow_redirects=True)
    assert "The case&#39;s status was changed." in answer.get_data(as_text=True)
    db.expire_all()
    report = db.get(Report, report_id)
    assert report.status == "acknowledged" and report.acknowledged_on is not None
    user = db.get(User, offline.id)
    assert user.can_sign_in and user.public_key == key and user.wrapped_secret_key is None
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "status_changed"))
    assert entry is not None and entry.actor_id == offline.id
