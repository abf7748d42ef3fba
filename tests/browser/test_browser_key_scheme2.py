"""Scheme 2 of inspector keys in real Chromium (docs/inspector-keys.md#scheme-2): an inspector
signs in and opens a case with a key wrapped under the passphrase and the server's share, and
an inspector whose key and sign-in hash were stored before scheme 2 is moved to it by signing
in, then opens the case the same way."""

from __future__ import annotations

from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity.auth.services import PEPPERED_PREFIX
from integrity.models import Channel, Role, User
from tests.conftest import ChannelSetup
from tests.helpers.browser import sign_in_in_browser, staff_wrapping_key
from tests.protocol_client import ReporterClient

TEXT = "The duty officer keeps seized cigarettes in his car. MARKER-SCHEME2-41c7"


def _inspector(app: Flask, db: Session, make_account, channel: ChannelSetup, scheme: int):
    account = make_account(Role.INSPECTOR, key=False)
    user = db.get(User, account.id)
    pair = crypto.KeyPair.generate()
    user.public_key = pair.public_key
    user.wrapped_secret_key = crypto.wrap_private_key(
        pair.secret_key, staff_wrapping_key(app, user, account.password, scheme))
    user.key_scheme = scheme
    if scheme == 1:
        # The sign-in hash as stored before the pepper: of the login value itself.
        keys = crypto.derive_staff_keys(account.password, user.login_salt, user.login_opslimit,
                                        user.login_memlimit)
        user.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(
            crypto.login_value(keys))
    row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    assert row is not None
    row.recipients.append(user)  # the channel held in a name until the commit
    db.commit()
    ReporterClient(app.test_client()).file(channel.slug, {"what": TEXT})
    return account, pair


def _open_the_case(page, base_url: str) -> None:
    page.wait_for_url("**/cases/")
    page.locator("table a").first.click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    assert TEXT in page.inner_text("#case-answers")


def test_a_scheme_2_inspector_signs_in_and_opens_a_case(
    page, base_url: str, recorder, app: Flask, db: Session, channel: ChannelSetup, make_account
) -> None:
    account, _pair = _inspector(app, db, make_account, channel, scheme=2)
    sign_in_in_browser(page, base_url, account)
    _open_the_case(page, base_url)
    db.expire_all()
    user = db.get(User, account.id)
    key = crypto.b64encode(staff_wrapping_key(app, user, account.password))
    # The tab holds the completed key only; nothing was re-wrapped.
    assert page.evaluate("sessionStorage.getItem('integrity.wrappingKey')") == key
    assert page.evaluate("sessionStorage.getItem('integrity.wrapBase')") is None
    assert not any(r.path == "/staff/key/upgrade" for r in recorder.received)
    assert all(key.encode() not in r.body for r in recorder.received)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/staff/login")
    assert page.evaluate("sessionStorage.length") == 0
    assert page.console_errors == []


def test_a_scheme_1_inspector_is_moved_to_scheme_2_by_signing_in(
    page, base_url: str, recorder, app: Flask, db: Session, channel: ChannelSetup, make_account
) -> None:
    account, pair = _inspector(app, db, make_account, channel, scheme=1)
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
