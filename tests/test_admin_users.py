"""Users in the administration: invitations by one-time link, roles, deactivation, the last
administrator, and resetting a lost second factor (for an inspector, a new key pair)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pyotp
import pytest
from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from admin import users
from integrity.audit import AuditEntry, verify
from integrity.auth.services import AccountError
from integrity.cases.sharing import share_candidates
from integrity.models import Channel, Invitation, Role, StaffSession, User, utcnow
from integrity.reporting.models import KeySlot, Report, report_readers
from integrity.schema import metadata
from tests.conftest import TEST_PASSWORD, ChannelSetup, csrf_token, sign_in_form
from tests.helpers.pages import post, signed_in
from tests.helpers.reports import filed_report_id

LINK = re.compile(r'id="setup-link">(https?://[^<]+)</p>')
NEW_PASSPHRASE = "a passphrase of several words 7"


def _invite(client, name: str, email: str, role: str, **extra: str) -> str:
    response = post(client, "/admin/users/invite",
                    {"name": name, "email": email, "role": role, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    match = LINK.search(response.get_data(as_text=True))
    assert match, "the page shows the set-up link"
    return match.group(1)


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def _every_stored_value(db: Session) -> bytes:
    """Every value of every table, as text and bytes, to search the database."""
    db.expire_all()
    parts = []
    for table in metadata().sorted_tables:
        for row in db.execute(select(table)).all():
            parts.extend(value if isinstance(value, bytes) else str(value).encode()
                         for value in row if value is not None)
    return b"\n".join(parts)


def _actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_a_set_up_link_opens_in_the_invitee_s_language(app, db, admin) -> None:
    client = signed_in(app, admin)
    link = _invite(client, "Rita Manager", "rita@example.org", "manager", language="ru")
    assert link.endswith("?lang=ru")
    invitee = app.test_client()
    english = {"Accept-Language": "en"}  # the invitee's browser prefers English
    opened = invitee.get(_path(link), headers=english)
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith("/staff/setup?lang=ru")
    page = invitee.get("/staff/setup?lang=ru", headers=english)
    assert 'lang="ru"' in page.get_data(as_text=True)


def test_an_invitation_link_works_once_and_only_its_hash_is_stored(app, db, admin) -> None:
    client = signed_in(app, admin)
    link = _invite(client, "Mira Manager", "mira@example.org", "manager")
    token = link.rsplit("/", 1)[1].removesuffix("?lang=en")
    assert link.startswith(app.extensions["integrity.settings"].public_url)
    user = db.scalar(select(User).where(User.email == "mira@example.org"))
    invitation = db.scalar(select(Invitation).where(Invitation.user_id == user.id))
    assert invitation.token_hash == hashlib.sha256(token.encode()).digest()
    assert token.encode() not in _every_stored_value(db)
    assert timedelta(hours=71) < invitation.expires_at - utcnow() <= timedelta(hours=72)
    # Nothing signs in to the account before the link is used.
    visitor = app.test_client()
    assert visitor.post("/staff/login", data=sign_in_form(
        visitor, "mira@example.org", TEST_PASSWORD)).status_code == 200

    invitee = app.test_client()
    opened = invitee.get(_path(link))
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith("/staff/setup?lang=en")
    page = invitee.get("/staff/setup").get_data(as_text=True)
    assert "Mira Manager" in page and "/dist/admin-setup." in page
    # Without JavaScript, a manager's passphrase is split by the server.
    response = invitee.post("/staff/setup", data={
        "csrf_token": csrf_token(invitee, "/staff/setup"), "new": NEW_PASSPHRASE,
        "confirm": NEW_PASSPHRASE})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard/")
    db.expire_all()
    assert db.scalar(select(Invitation).where(Invitation.user_id == user.id)) is None
    assert db.get(User, user.id).login_salt is not None
    # Used: the same link opens nothing any more, in any browser.
    assert app.test_client().get(_path(link)).status_code == 404
    # The manager signs in with the chosen passphrase.
    again = app.test_client()
    response = again.post("/staff/login", data=sign_in_form(again, "mira@example.org",
                                                            NEW_PASSPHRASE))
    assert response.headers["Location"].endswith("/dashboard/")
    assert _actions(db)[-3:] == ["invitation_accepted", "login", "login"]


def test_an_expired_or_replaced_link_is_refused(app, db, admin) -> None:
    client = signed_in(app, admin)
    first = _invite(client, "Ivo Inspector", "ivo@example.org", "inspector")
    user = db.scalar(select(User).where(User.email == "ivo@example.org"))
    invitation = db.scalar(select(Invitation).where(Invitation.user_id == user.id))
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    assert app.test_client().get(_path(first)).status_code == 404
    assert "Invited, link expired" in client.get("/admin/users").get_data(as_text=True)
    response = post(client, f"/admin/users/{user.id}/link", {})
    second = LINK.search(response.get_data(as_text=True)).group(1)
    assert second != first
    assert app.test_client().get(_path(first)).status_code == 404
    assert app.test_client().get(_path(second)).status_code == 302


def test_an_inspector_sets_a_derived_passphrase_then_enrols(app, db, admin) -> None:
    client = signed_in(app, admin)
    link = _invite(client, "Ines Inspector", "ines@example.org", "inspector")
    invitee = app.test_client()
    invitee.get(_path(link))
    token = csrf_token(invitee, "/staff/setup")
    # The passphrase itself is refused for an inspector: it would unlock the key.
    refused = invitee.post("/staff/setup", data={"csrf_token": token, "new": NEW_PASSPHRASE,
                                                 "confirm": NEW_PASSPHRASE})
    assert refused.status_code == 200
    assert "needs JavaScript" in refused.get_data(as_text=True)
    hasher = app.extensions["integrity.hasher"]
    salt = crypto.new_staff_salt()
    keys = crypto.derive_staff_keys(NEW_PASSPHRASE, salt, hasher.login_opslimit,
                                    hasher.login_memlimit)
    value = crypto.login_value(keys)
    response = invitee.post("/staff/setup", data={
        "csrf_token": token, "new": value, "confirm": value, "derived": "1",
        "new_salt": crypto.b64encode(salt)})
    assert response.headers["Location"].endswith("/staff/login/enrol")
    page = invitee.get("/staff/login/enrol").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    response = invitee.post("/staff/login/enrol", data={
        "csrf_token": csrf_token(invitee, "/staff/login/enrol"),
        "code": pyotp.TOTP(secret).now()})
    # Signed in; the inspector's first stop is the key page.
    assert invitee.get("/cases/").headers["Location"].endswith("/staff/key")
    user = db.scalar(select(User).where(User.email == "ines@example.org"))
    assert user.login_salt == salt and hasher.open_totp(user) == secret
    assert hasher.verify_login(user.password_hash, value)


def test_users_are_listed_searchable_with_role_last_sign_in_and_second_factor(
        app, db, admin, make_account) -> None:
    for _ in range(30):
        make_account(Role.MANAGER)
    client = signed_in(app, admin)
    first = client.get("/admin/users").get_data(as_text=True)
    assert "Page 1 of 2" in first and 'rel="next"' in first
    found = client.get("/admin/users?q=admin1@").get_data(as_text=True)
    assert "1 account" in found and "admin1@example.org" in found
    assert format_date(utcnow().date(), "medium", locale="en") in found  # signed in today
    assert "<td>On</td>" in found  # second factor
    managers = client.get("/admin/users?role=manager").get_data(as_text=True)
    assert "30 accounts" in managers


def test_the_last_administrator_cannot_be_deactivated_or_demoted(app, db, admin) -> None:
    client = signed_in(app, admin)
    me = db.get(User, admin.id)
    assert users.is_last_admin(db, me)
    with pytest.raises(AccountError):
        users.change_role(db, me, me, Role.MANAGER)
    db.rollback()
    other = users.invite(db, me, email="new-admin@example.org", name="New", role=Role.ADMIN,
                         hours=1)[0]
    db.commit()
    # An administrator who has not set up the account yet does not count.
    assert users.is_last_admin(db, me)
    response = post(client, f"/admin/users/{admin.id}/role", {"role": "manager"},
                    page=f"/admin/users/{admin.id}")
    assert response.status_code == 302
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "last active administrator" in follow
    page = client.get(f"/admin/users/{admin.id}/deactivate").get_data(as_text=True)
    assert "cannot be deactivated" in page and 'type="submit" class="primary' not in page
    db.expire_all()
    assert db.get(User, admin.id).role == "admin" and db.get(User, admin.id).active
    assert other.active
    assert "role_changed" not in _actions(db) and "user_deactivated" not in _actions(db)


def test_with_a_second_administrator_one_may_be_demoted(app, db, admin, make_account) -> None:
    second = make_account(Role.ADMIN)
    client = signed_in(app, admin)
    confirm = client.get(f"/admin/users/{second.id}/role?role=manager")
    assert "signed out everywhere" in confirm.get_data(as_text=True)
    response = post(client, f"/admin/users/{second.id}/role", {"role": "manager"},
                    page=f"/admin/users/{second.id}/role?role=manager")
    assert response.status_code == 302
    db.expire_all()
    assert db.get(User, second.id).role == "manager"
    # Now the first one is the last.
    assert users.is_last_admin(db, db.get(User, admin.id))
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "role_changed"))
    assert entry.facts == {"from": "admin", "to": "manager"} and entry.actor == admin.email


def test_deactivation_ends_sessions_and_reactivation_restores_sign_in(
        app, db, admin, make_account) -> None:
    manager = make_account(Role.MANAGER)
    manager_client = signed_in(app, manager)
    assert db.scalar(select(StaffSession).where(StaffSession.user_id == manager.id))
    client = signed_in(app, admin)
    page = client.get(f"/admin/users/{manager.id}/deactivate").get_data(as_text=True)
    assert "can no longer sign in" in page
    post(client, f"/admin/users/{manager.id}/deactivate")
    db.expire_all()
    assert not db.get(User, manager.id).active
    assert db.scalar(select(StaffSession).where(StaffSession.user_id == manager.id)) is None
    assert manager_client.get("/staff/account").status_code == 302
    post(client, f"/admin/users/{manager.id}/reactivate")
    db.expire_all()
    assert db.get(User, manager.id).active
    assert _actions(db)[-2:] == ["user_deactivated", "user_reactivated"]


def test_an_inspector_who_becomes_a_manager_leaves_every_channel(
        app, db, admin, make_account, channel: ChannelSetup) -> None:
    inspector = make_account(Role.INSPECTOR)
    row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    row.recipients.append(db.get(User, inspector.id))
    db.commit()
    client = signed_in(app, admin)
    post(client, f"/admin/users/{inspector.id}/role", {"role": "manager"},
         page=f"/admin/users/{inspector.id}/role?role=manager")
    db.expire_all()
    assert inspector.id not in [u.id for u in db.get(Channel, row.id).recipients]


def _file_reports(db: Session, reporter, channel: ChannelSetup, inspector_id: int) -> list[int]:
    """Two reports read by ``inspector_id``: one shared with colleagues, one read by nobody
    else."""
    row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    row.recipients.append(db.get(User, inspector_id))
    db.commit()
    ids = [filed_report_id(reporter.http.application, reporter.file(channel.slug, {"what": what}))
           for what in ("first", "second")]
    db.execute(report_readers.delete().where(report_readers.c.report_id == ids[1],
                                             report_readers.c.user_id != inspector_id))
    db.commit()
    return ids


def test_resetting_an_inspector_names_the_cases_to_share_again(
        app, db, admin, make_account, reporter, channel: ChannelSetup) -> None:
    inspector = make_account(Role.INSPECTOR)
    shared, alone = _file_reports(db, reporter, channel, inspector.id)
    named = {i: db.get(Report, i).reference for i in (shared, alone)}
    client = signed_in(app, admin)
    page = client.get(f"/admin/users/{inspector.id}/reset").get_data(as_text=True)
    table = page.split('id="cases-to-share"')[1].split("</table>")[0]
    assert named[shared] in table and "Inspector 1" in table and named[alone] not in table
    assert named[alone] in page.split('id="cases-unreadable"')[1].split("</p>")[0]
    # A reason is required.
    refused = post(client, f"/admin/users/{inspector.id}/reset", {"reason": "  "})
    assert "Say why" in refused.get_data(as_text=True)
    done = post(client, f"/admin/users/{inspector.id}/reset",
                {"reason": "Phone lost, seen in person"})
    assert done.status_code == 200 and named[shared] in done.get_data(as_text=True)
    db.expire_all()
    user = db.get(User, inspector.id)
    assert user.totp_sealed is None and user.public_key is None
    assert user.wrapped_secret_key is None and user.login_salt is not None
    readers = set(db.execute(select(report_readers.c.report_id).where(
        report_readers.c.user_id == inspector.id)).scalars())
    assert readers == {alone}
    assert not db.scalar(select(KeySlot).where(KeySlot.reader == str(inspector.id),
                                               KeySlot.report_id == shared))
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "second_factor_reset"))
    assert entry.facts["reason"] == "Phone lost, seen in person"
    assert entry.facts["cases_to_share_again"] == 1 and entry.facts["cases_unreadable"] == 1
    # Once the new key exists, a colleague can share the case again.
    user.public_key = crypto.KeyPair.generate().public_key
    db.commit()
    assert inspector.id in [u.id for u in share_candidates(db, db.get(Report, shared))]
    assert verify(db).ok


def test_a_reset_with_a_lost_passphrase_gives_a_new_set_up_link(app, db, admin,
                                                                 make_account) -> None:
    manager = make_account(Role.MANAGER, totp=True)
    client = signed_in(app, admin)
    done = post(client, f"/admin/users/{manager.id}/reset",
                {"reason": "Forgot everything", "passphrase_lost": "y"})
    link = LINK.search(done.get_data(as_text=True)).group(1)
    visitor = app.test_client()
    response = visitor.post("/staff/login", data=sign_in_form(visitor, manager.email,
                                                              manager.password))
    assert response.status_code == 200  # the old passphrase is gone
    assert app.test_client().get(_path(link)).status_code == 302
