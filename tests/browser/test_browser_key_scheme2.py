"""Scheme 2 of inspector keys in real Chromium (docs/inspector-keys.md#scheme-2): an inspector
signs in and opens a case with a key wrapped under the passphrase and the server's share, and
an inspector whose key and sign-in hash were stored before scheme 2 is moved to it by signing
in, then opens the case the same way."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

import crypto
from integrity.auth.services import PEPPERED_PREFIX
from integrity.models import User
from tests.conftest import ChannelSetup
from tests.helpers.browser import (
    inspector_with_a_case,
    keyring_call,
    sign_in_in_browser,
    staff_wrapping_key,
)

TEXT = "The duty officer keeps seized cigarettes in his car. MARKER-SCHEME2-41c7"


def _open_the_case(page, base_url: str) -> None:
    page.wait_for_url("**/cases/")
    page.locator("table a").first.click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    assert TEXT in page.inner_text("#case-answers")


def test_a_scheme_2_inspector_signs_in_and_opens_a_case(
    page, base_url: str, recorder, app: Flask, db: Session, channel: ChannelSetup, make_account
) -> None:
    account, _pair = inspector_with_a_case(app, db, make_account, channel, TEXT, scheme=2)
    sign_in_in_browser(page, base_url, account)
    _open_the_case(page, base_url)
    db.expire_all()
    user = db.get(User, account.id)
    key = crypto.b64encode(staff_wrapping_key(app, user, account.password))
    # The keyring holds the completed key and the unlocked key; nothing was re-wrapped.
    assert keyring_call(page, "ping") == {
        "ready": True, "pending": False, "wrapping": True,
        "unlocked": [crypto.b64encode(user.public_key)]}
    assert not any(r.path == "/staff/key/upgrade" for r in recorder.received)
    assert all(key.encode() not in r.body for r in recorder.received)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/staff/login")
    assert keyring_call(page, "ping")["unlocked"] == []
    assert page.console_errors == []


def test_a_scheme_1_inspector_is_moved_to_scheme_2_by_signing_in(
    page, base_url: str, recorder, app: Flask, db: Session, channel: ChannelSetup, make_account
) -> None:
    account, pair = inspector_with_a_case(app, db, make_account, channel, TEXT, scheme=1)
    sign_in_in_browser(page, base_url, account)
    _open_the_case(page, base_url)
    db.expire_all()
    user = db.get(User, account.id)
    # Both halves moved: the sign-in hash is peppered, the key wrapped under scheme 2.
    assert user.password_hash.startswith(PEPPERED_PREFIX)
    assert user.key_scheme == 2
    old_key = staff_wrapping_key(app, user, account.password, scheme=1)
    new_key = staff_wrapping_key(app, user, account.password)
    try:
        crypto.unwrap_private_key(user.wrapped_secret_key, old_key)
    except crypto.DecryptionError:
        pass
    else:
        raise AssertionError("the key still opens with the passphrase alone")
    assert crypto.unwrap_private_key(user.wrapped_secret_key, new_key,
                                     user.public_key) == pair.secret_key
    assert [r.path for r in recorder.received].count("/staff/key/upgrade") == 1
    # Neither wrapping key nor the private key reached the server.
    for value in (old_key, new_key, pair.secret_key):
        assert all(crypto.b64encode(value).encode() not in r.body for r in recorder.received)
    # The next sign-in finds scheme 2 and re-wraps nothing.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/staff/login")
    db.expire_all()
    assert page.console_errors == []
