"""Scheme 2 of inspector keys on the server: a copy of the database alone confirms no
passphrase, older accounts move to scheme 2 at their next sign-in, the share is released
only to a complete session, sign-out clears the site's storage, and weak passphrases are
refused (docs/inspector-keys.md)."""

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import crypto
from integrity.auth.services import PEPPERED_PREFIX
from integrity.models import Role, User
from tests.conftest import TEST_PASSWORD, csrf_token, sign_in_form, totp_now

WEAK = "password1234"


def _secret(app: Flask) -> bytes:
    return app.extensions["integrity.installation_secret"]


def _derived(db: Session, user_id: int, passphrase: str = TEST_PASSWORD) -> crypto.StaffKeys:
    user = db.get(User, user_id)
    return crypto.derive_staff_keys(passphrase, user.login_salt, user.login_opslimit,
                                    user.login_memlimit)


def _json_post(client: FlaskClient, url: str, body: dict):
    return client.post(url, json=body, headers={"X-CSRFToken": csrf_token(client, "/staff/key")})


def _make_key(client: FlaskClient, keys: crypto.StaffKeys) -> crypto.KeyPair:
    """What the key page does after sign-in: a key pair wrapped under the scheme-2 key."""
    answer = client.get("/staff/key/share")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    wrapping_key = crypto.shared_wrapping_key(keys.wrapping_key,
                                              crypto.b64decode(answer.get_json()["share"]))
    pair = crypto.KeyPair.generate()
    response = _json_post(client, "/staff/key", {
        "public_key": crypto.b64encode(pair.public_key),
        "wrapped_key": crypto.b64encode(crypto.wrap_private_key(pair.secret_key, wrapping_key))})
    assert response.status_code == 201, response.get_data(as_text=True)
    return pair


def test_a_database_copy_cannot_confirm_a_correct_inspector_passphrase(
    app, client, db, make_account, login
) -> None:
    inspector = make_account(Role.INSPECTOR, key=False)
    login(inspector)
    pair = _make_key(client, _derived(db, inspector.id))
    db.expire_all()
    # What a copy of the users table holds, and the right passphrase.
    row = db.get(User, inspector.id)
    assert row.key_scheme == 2 and row.password_hash.startswith(PEPPERED_PREFIX)
    keys = _derived(db, inspector.id)
    stored_hash = row.password_hash.removeprefix(PEPPERED_PREFIX)
    argon2 = PasswordHasher()
    # Without the installation secret neither the hash nor the wrapped key confirms it.
    for candidate in (crypto.login_value(keys), keys.auth_value):
        with pytest.raises(Exception, match="not match|Verification"):
            argon2.verify(stored_hash, candidate)
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_private_key(row.wrapped_secret_key, keys.wrapping_key)
    # With it, both do.
    secret = _secret(app)
    assert argon2.verify(stored_hash, crypto.peppered_auth_value(
        keys.auth_value, crypto.login_pepper_key(secret)))
    wrapping_key = crypto.shared_wrapping_key(keys.wrapping_key,
                                              crypto.wrap_share(secret, inspector.id))
    assert crypto.unwrap_private_key(row.wrapped_secret_key, wrapping_key,
                                     row.public_key) == pair.secret_key


def _as_before_scheme_2(db: Session, user_id: int, keys: crypto.StaffKeys,
                        pair: crypto.KeyPair) -> None:
    """The row as it was stored before the pepper and the share."""
    user = db.get(User, user_id)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(
        crypto.login_value(keys))
    user.public_key = pair.public_key
    user.wrapped_secret_key = crypto.wrap_private_key(pair.secret_key, keys.wrapping_key)
    user.key_scheme = 1
    db.commit()


def test_an_older_inspector_account_moves_to_scheme_2_at_its_next_sign_in(
    app, client, db, make_account, login
) -> None:
    inspector = make_account(Role.INSPECTOR, key=False)
    keys = _derived(db, inspector.id)
    pair = crypto.KeyPair.generate()
    _as_before_scheme_2(db, inspector.id, keys, pair)
    login(inspector)  # the unpeppered hash still signs in
    db.expire_all()
    user = db.get(User, inspector.id)
    assert user.password_hash.startswith(PEPPERED_PREFIX)  # rehashed, peppered
    assert app.extensions["integrity.hasher"].verify_login(user.password_hash,
                                                           crypto.login_value(keys))
    # The unlock page re-wraps the key under the passphrase and the share.
    page = client.get("/staff/key/unlock").get_data(as_text=True)
    assert 'data-scheme="1"' in page and "/dist/key-unlock." in page
    answer = client.get("/staff/key/share").get_json()
    assert answer["scheme"] == 1
    wrapping_key = crypto.shared_wrapping_key(keys.wrapping_key,
                                              crypto.b64decode(answer["share"]))
    rewrapped = crypto.rewrap_private_key(user.wrapped_secret_key, keys.wrapping_key,
                                          wrapping_key, pair.public_key)
    assert _json_post(client, "/staff/key/upgrade",
                      {"wrapped_key": crypto.b64encode(rewrapped)}).status_code == 200
    db.expire_all()
    user = db.get(User, inspector.id)
    assert user.key_scheme == 2 and user.wrapped_secret_key == rewrapped
    assert client.get("/staff/key/share").get_json()["scheme"] == 2
    # Once on scheme 2, the page cannot replace the key that way again.
    assert _json_post(client, "/staff/key/upgrade",
                      {"wrapped_key": crypto.b64encode(rewrapped)}).status_code == 400
    assert client.post("/staff/key/upgrade", json={"wrapped_key": "x"}).status_code == 400


def test_an_older_manager_hash_is_peppered_at_the_next_sign_in_without_javascript(
    app, client, db, make_account
) -> None:
    manager = make_account(Role.MANAGER)
    keys = _derived(db, manager.id)
    user = db.get(User, manager.id)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(
        crypto.login_value(keys))
    db.commit()
    response = client.post("/staff/login", data={
        "csrf_token": csrf_token(client, "/staff/login"), "email": manager.email,
        "password": TEST_PASSWORD})
    assert response.status_code == 302
    db.expire_all()
    assert db.get(User, manager.id).password_hash.startswith(PEPPERED_PREFIX)
    other = app.test_client()
    assert other.post("/staff/login", data={
        "csrf_token": csrf_token(other, "/staff/login"), "email": manager.email,
        "password": TEST_PASSWORD}).status_code == 302


def test_the_share_is_only_for_a_complete_inspector_session(
    app, client, db, make_account, login
) -> None:
    inspector = make_account(Role.INSPECTOR)
    # Anonymous: refused, with no redirect to follow and nothing cached.
    anonymous = client.get("/staff/key/share")
    assert anonymous.status_code == 401 and "share" not in (anonymous.get_json() or {})
    assert anonymous.headers["Cache-Control"] == "no-store"
    # Passphrase done, second factor pending: still refused.
    assert client.post("/staff/login", data=sign_in_form(
        client, inspector.email, inspector.password)).headers["Location"].endswith("/login/code")
    assert client.get("/staff/key/share").status_code == 401
    assert client.get("/staff/key/unlock").status_code == 302
    # Complete: the share keyed with the installation secret, for this account only.
    response = client.post("/staff/login/code", data={
        "csrf_token": csrf_token(client, "/staff/login/code"),
        "code": totp_now(inspector.totp_secret)})
    assert response.headers["Location"].endswith("/staff/key/unlock")
    answer = client.get("/staff/key/share")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert crypto.b64decode(answer.get_json()["share"]) == crypto.wrap_share(_secret(app),
                                                                             inspector.id)
    # Other roles have no key and get no share.
    admin_client = app.test_client()
    admin = make_account(Role.ADMIN)
    admin_client.post("/staff/login", data=sign_in_form(admin_client, admin.email,
                                                        admin.password))
    admin_client.post("/staff/login/code", data={
        "csrf_token": csrf_token(admin_client, "/staff/login/code"),
        "code": totp_now(admin.totp_secret)})
    assert admin_client.get("/staff/key/share").status_code == 403


def test_sign_out_clears_the_site_storage(client, make_account, login) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    response = client.post("/staff/logout",
                           data={"csrf_token": csrf_token(client, "/staff/account")})
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"storage"'


def test_weak_passphrases_are_refused_where_the_server_sees_them(
    app, client, db, make_account, login
) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    token = csrf_token(client, "/staff/password?form=plain")
    response = client.post("/staff/password", data={
        "csrf_token": token, "current": TEST_PASSWORD, "new": WEAK, "confirm": WEAK})
    assert response.status_code == 200
    assert "harder to guess" in response.get_data(as_text=True)
    response = client.post("/staff/password", data={
        "csrf_token": token, "current": TEST_PASSWORD, "new": "blue mango river ticket",
        "confirm": "blue mango river ticket"})
    assert response.status_code == 302


def test_the_strength_sentence_states_the_minimum() -> None:
    from integrity.auth import services, strength

    sentence = services.WEAK_PASSPHRASE._args[0]
    assert f"at least {strength.MIN_PASSPHRASE_LENGTH} characters" in sentence


def test_the_pages_carry_the_strength_sentence(app, client, make_account, login) -> None:
    inspector = make_account(Role.INSPECTOR)
    login(inspector)
    page = client.get("/staff/password").get_data(as_text=True)
    assert "harder to guess" in page and 'data-share="/staff/key/share"' in page
