"""An invitation end to end in real Chromium: an administrator invites an inspector, who opens
the link, chooses a passphrase (split on the device), sets up the authenticator, makes the key
in the browser and reaches the inbox, then signs in again. The passphrase is in no request."""

from __future__ import annotations

import time
from urllib.parse import quote_plus, urlsplit

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity.audit import AuditEntry, verify
from integrity.models import Role, User
from tests.conftest import Account
from tests.helpers.browser import RecordingApp, sign_in_in_browser, staff_wrapping_key

PASSPHRASE = "lantern quarry nine pebbles orbit"


def _at(path: str):
    """A URL test for a page at ``path``, whatever the query (the invitee's ?lang= stays)."""
    return lambda url: urlsplit(url).path == path


def _invite_in_browser(page, base_url: str) -> str:
    page.goto(f"{base_url}/admin/users/invite")
    page.get_by_label("Name").fill("Nadia Novak")
    page.get_by_label("E-mail address").fill("nadia@example.org")
    page.get_by_label("Role").select_option("inspector")
    page.get_by_role("button", name="Create the account and the link").click()
    link = page.locator("#setup-link").inner_text().strip()
    assert "/staff/setup/" in link
    return "/staff/setup/" + link.rsplit("/staff/setup/", 1)[1]


def test_an_invited_inspector_sets_up_the_account_in_chromium(
        open_page, base_url: str, recorder: RecordingApp, app: Flask,
        db: Session, make_account) -> None:
    from playwright.sync_api import expect

    # 1. The administrator invites an inspector.
    admin = open_page()
    sign_in_in_browser(admin, base_url, make_account(Role.ADMIN))
    admin.wait_for_url("**/admin/")
    path = _invite_in_browser(admin, base_url)

    # 2. The invitee opens the link on a phone and chooses a passphrase.
    invitee = open_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    invitee.goto(base_url + path)
    # The link carries the invitee's language (?lang=), which the set-up page keeps.
    invitee.wait_for_url(_at("/staff/setup"))
    assert path not in invitee.url  # the token left the address bar
    invitee.wait_for_selector('#setup-form[data-ready="1"]')
    assert invitee.evaluate("document.documentElement.scrollWidth") <= 360
    invitee.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    invitee.get_by_label("Passphrase again").fill(PASSPHRASE)
    invitee.get_by_role("button", name="Set my passphrase").click()

    # 3. The authenticator app.
    invitee.wait_for_url(_at("/staff/login/enrol"))
    secret = invitee.locator("#totp-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    invitee.get_by_label("Six-digit code from your authenticator app").fill(totp.now())
    invitee.get_by_role("button", name="Confirm").click()

    # 4. The key, made in this browser, then the inbox.
    invitee.wait_for_url(_at("/staff/key"))
    invitee.wait_for_selector('#key-setup[data-ready="1"]')
    invitee.get_by_role("button", name="Make my key").click()
    invitee.wait_for_url(_at("/cases/"))
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Cases")

    db.expire_all()
    user = db.scalar(select(User).where(User.email == "nadia@example.org"))
    assert user is not None and user.role == "inspector"
    assert app.extensions["integrity.hasher"].open_totp(user) == secret
    assert user.public_key is not None and user.wrapped_secret_key is not None
    # The key opens with the wrapping key derived from the passphrase and completed with the
    # server's share, on the device only.
    keys = crypto.derive_staff_keys(PASSPHRASE, user.login_salt, user.login_opslimit,
                                    user.login_memlimit)
    assert user.key_scheme == 2
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_private_key(user.wrapped_secret_key, keys.wrapping_key)
    secret_key = crypto.unwrap_private_key(
        user.wrapped_secret_key, staff_wrapping_key(app, user, PASSPHRASE), user.public_key)
    assert len(secret_key) == 32

    # 5. Signed out, the inspector signs in for the first time with the passphrase alone.
    invitee.get_by_role("button", name="Sign out").click()
    invitee.wait_for_url(_at("/staff/login"))
    account = Account(user.id, user.email, PASSPHRASE, secret, Role.INSPECTOR)
    # The code of the next time step: the one used for enrolment is not accepted twice.
    later = totp.at(time.time() + 30)
    invitee.goto(f"{base_url}/staff/login")
    invitee.wait_for_selector('#login-form[data-ready="1"]')
    invitee.get_by_label("E-mail address").fill(account.email)
    invitee.get_by_label("Passphrase").fill(account.password)
    invitee.get_by_role("button", name="Continue").click()
    invitee.wait_for_url(_at("/staff/login/code"))
    invitee.get_by_label("Six-digit code from your authenticator app").fill(later)
    invitee.get_by_role("button", name="Sign in").click()
    invitee.wait_for_url(_at("/cases/"))
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Cases")
    assert invitee.console_errors == [] and admin.console_errors == []

    # The passphrase, and what it unlocks, went nowhere: not in any request body, as the
    # browser sent them and as the server received them.
    secrets = [PASSPHRASE.encode(), quote_plus(PASSPHRASE).encode(),
               crypto.b64encode(keys.wrapping_key).encode(), crypto.b64encode(secret_key).encode()]
    bodies = [sent.body or b"" for sent in invitee.sent] + [r.body for r in recorder.received]
    assert any(body for body in bodies)
    for body in bodies:
        for value in secrets:
            assert value not in body
    assert any(b"derived=1" in body for body in bodies)

    # The administration shows the new account as active, with two-factor on and the key.
    admin.goto(f"{base_url}/admin/users?q=nadia")
    row = admin.get_by_role("row", name="Nadia Novak")
    expect(row).to_contain_text("Inspector")
    expect(row).to_contain_text("On")
    expect(row).to_contain_text("Active")
    actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    for action in ("user_invited", "invitation_accepted", "second_factor_enrolled",
                   "key_changed"):
        assert action in actions
    assert verify(db).ok


def test_an_admin_page_works_at_phone_width_and_by_keyboard(
        open_page, base_url: str, make_account) -> None:
    admin = open_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    sign_in_in_browser(admin, base_url, make_account(Role.ADMIN))
    admin.wait_for_url("**/admin/")
    for path in ("/admin/", "/admin/users", "/admin/users/invite", "/admin/settings",
                 "/admin/units", "/admin/channels"):
        admin.goto(f"{base_url}{path}")
        width = admin.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width}px wide"
        unlabelled = admin.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                 .map(e => e.name || e.id)""")
        assert unlabelled == [], path
    # The invitation form can be filled and sent with the keyboard alone.
    admin.goto(f"{base_url}/admin/users/invite")
    admin.get_by_label("Name").focus()
    admin.keyboard.type("Kim Keys")
    admin.keyboard.press("Tab")
    admin.keyboard.type("kim@example.org")
    admin.keyboard.press("Enter")
    admin.wait_for_selector("#setup-link")
    assert admin.console_errors == []
