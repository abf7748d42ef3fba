"""Signing in with a passphrase and a second factor, and everything around it."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from html.parser import HTMLParser

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crypto import b64encode as crypto_b64
from integrity.models import Role, StaffSession, User
from tests.conftest import TEST_PASSWORD, csrf_token, sign_in_form, totp_now


def _post_login(client: FlaskClient, email: str, password: str):
    """Sign in as the page's script does: the passphrase is split first."""
    return client.post("/staff/login", data=sign_in_form(client, email, password))


def _post_plain_login(client: FlaskClient, email: str, password: str):
    """Sign in with the script off: the passphrase itself goes to the server."""
    token = csrf_token(client, "/staff/login")
    return client.post(
        "/staff/login", data={"csrf_token": token, "email": email, "password": password}
    )


def _post_code(client: FlaskClient, code: str, url: str = "/staff/login/code"):
    return client.post(url, data={"csrf_token": csrf_token(client, url), "code": code})


def test_inspector_signs_in_with_passphrase_then_code(client, make_account) -> None:
    inspector = make_account(Role.INSPECTOR)
    response = _post_login(client, inspector.email, inspector.password)
    assert response.headers["Location"].endswith("/staff/login/code")
    # The passphrase alone does not open the workspace.
    assert client.get("/cases/").status_code == 302
    response = _post_code(client, totp_now(inspector.totp_secret))
    # The key page completes the tab's wrapping key with the server's share, then goes on.
    assert response.headers["Location"].endswith("/staff/key/unlock")
    unlock = client.get("/staff/key/unlock").get_data(as_text=True)
    assert 'data-next="/cases/"' in unlock
    page = client.get("/cases/")
    assert page.status_code == 200
    assert "Test inspector" in page.get_data(as_text=True)


def test_wrong_totp_is_refused_and_does_not_sign_in(client, make_account) -> None:
    admin = make_account(Role.ADMIN)
    _post_login(client, admin.email, admin.password)
    right = totp_now(admin.totp_secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = _post_code(client, wrong)
    assert response.status_code == 200
    assert "That code is not valid" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_a_code_cannot_be_used_twice(app: Flask, make_account, db: Session) -> None:
    admin = make_account(Role.ADMIN)
    code = totp_now(admin.totp_secret)
    first, second = app.test_client(), app.test_client()
    _post_login(first, admin.email, admin.password)
    assert _post_code(first, code).status_code == 302
    _post_login(second, admin.email, admin.password)
    assert _post_code(second, code).status_code == 200
    assert second.get("/admin/").status_code == 302


def test_one_code_sent_by_two_sign_ins_at_the_same_moment_opens_one_session(
        app: Flask, make_account, db: Session, monkeypatch) -> None:
    """Two sign-ins past the passphrase step send the same code at once, on two threads and
    two database connections: the database lets exactly one of them through."""
    from integrity.auth import services

    admin = make_account(Role.ADMIN)
    clients = [app.test_client(), app.test_client()]
    forms = []
    for client in clients:
        assert _post_login(client, admin.email, admin.password).status_code == 302
        forms.append({"csrf_token": csrf_token(client, "/staff/login/code"),
                      "code": totp_now(admin.totp_secret)})
    # Both requests have loaded the account and matched the code before either goes on.
    both_checked = threading.Barrier(2, timeout=30)
    matching_step = services._matching_step

    def meet_then_match(*args: object) -> int | None:
        step = matching_step(*args)  # type: ignore[arg-type]
        both_checked.wait()
        return step

    monkeypatch.setattr(services, "_matching_step", meet_then_match)
    statuses: list[int] = []

    def submit(client: FlaskClient, form: dict[str, str]) -> None:
        statuses.append(client.post("/staff/login/code", data=form).status_code)

    threads = [threading.Thread(target=submit, args=pair)
               for pair in zip(clients, forms, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 302]
    signed_in = [client.get("/admin/").status_code for client in clients]
    assert sorted(signed_in) == [200, 302]
    assert len(db.scalars(select(StaffSession).where(
        StaffSession.user_id == admin.id)).all()) == 1


def test_wrong_passphrase_says_so_without_naming_which_part(client, make_account) -> None:
    manager = make_account(Role.MANAGER)
    wrong_password = _post_login(client, manager.email, "not the passphrase at all")
    unknown = _post_login(client, "nobody@example.org", "not the passphrase at all")
    for response in (wrong_password, unknown):
        assert response.status_code == 200
        assert "do not match" in response.get_data(as_text=True)


def test_manager_without_second_factor_signs_in_with_passphrase(client, make_account) -> None:
    manager = make_account(Role.MANAGER)
    response = _post_login(client, manager.email, manager.password)
    assert response.headers["Location"].endswith("/dashboard/")
    assert client.get("/dashboard/").status_code == 200


def test_admin_without_second_factor_must_enrol_first(client, make_account, db: Session) -> None:
    admin = make_account(Role.ADMIN, totp=False)
    response = _post_login(client, admin.email, admin.password)
    assert response.headers["Location"].endswith("/staff/login/enrol")
    page = client.get("/staff/login/enrol").get_data(as_text=True)
    assert "<svg" in page
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    # The page shows the secret; the session cookie keeps it sealed, and the page shows
    # the same secret again.
    app = client.application
    kept = app.session_interface.get_signing_serializer(app).loads(
        client.get_cookie("integrity_session").value)
    assert kept["enrol_secret"] and secret not in json.dumps(kept)
    again = client.get("/staff/login/enrol").get_data(as_text=True)
    assert again.split('id="totp-secret">')[1].split("<")[0] == secret
    response = _post_code(client, pyotp.TOTP(secret).now(), url="/staff/login/enrol")
    assert response.headers["Location"].endswith("/admin/")
    db.expire_all()
    assert client.application.extensions["integrity.hasher"].open_totp(
        db.get(User, admin.id)) == secret


def test_manager_may_turn_on_the_optional_second_factor(client, login, make_account, db) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    page = client.get("/staff/two-factor").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    response = _post_code(client, pyotp.TOTP(secret).now(), url="/staff/two-factor")
    assert response.headers["Location"].endswith("/staff/account")
    db.expire_all()
    assert db.get(User, manager.id).totp_enabled
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/account")})
    assert _post_login(client, manager.email, manager.password).headers["Location"].endswith(
        "/staff/login/code"
    )


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"ratelimit_login": "3 per minute", "ratelimit_totp": "3 per minute"}


def test_repeated_login_attempts_get_429(client, make_account) -> None:
    manager = make_account(Role.MANAGER)
    codes = [_post_login(client, manager.email, "wrong passphrase!").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # Even the right passphrase is refused while the limit holds.
    response = _post_login(client, manager.email, manager.password)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_login_limit_follows_the_account_not_the_client(client, make_account) -> None:
    first, second = make_account(Role.MANAGER), make_account(Role.MANAGER)
    for _ in range(3):
        _post_login(client, first.email, "wrong passphrase!")
    assert _post_login(client, first.email, "wrong passphrase!").status_code == 429
    assert _post_login(client, second.email, second.password).status_code == 302


def test_repeated_totp_attempts_get_429(client, make_account) -> None:
    admin = make_account(Role.ADMIN)
    _post_login(client, admin.email, admin.password)
    codes = [_post_code(client, "000000").status_code for _ in range(4)]
    assert codes[-1] == 429


def test_post_without_csrf_token_is_refused(client, make_account) -> None:
    manager = make_account(Role.MANAGER)
    response = client.post("/staff/login", data={"email": manager.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302


def test_logout_ends_the_session_on_the_server(client, login, make_account, db) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    cookie = client.get_cookie("integrity_session").value
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/account")})
    assert client.get("/dashboard/").status_code == 302
    # Replaying the old cookie does not bring the session back.
    client.set_cookie("integrity_session", cookie)
    assert client.get("/dashboard/").status_code == 302
    assert db.scalar(select(StaffSession).where(StaffSession.user_id == manager.id)) is None


def test_idle_session_expires(client, login, make_account, db: Session) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    assert client.get("/dashboard/").status_code == 200
    for record in db.scalars(select(StaffSession)):
        record.last_seen_at -= timedelta(minutes=31)
    db.commit()
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_password_change_replaces_the_old_passphrase(client, login, make_account) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    new = "a new and longer passphrase"
    response = client.post(
        "/staff/password",
        data={"csrf_token": csrf_token(client, "/staff/password"), "current": manager.password,
              "new": new, "confirm": new},
    )
    assert response.status_code == 302
    other = client.application.test_client()
    assert _post_login(other, manager.email, manager.password).status_code == 200
    assert _post_login(other, manager.email, new).status_code == 302


def test_password_change_needs_the_current_one(client, login, make_account) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    new = "a new and longer passphrase"
    response = client.post(
        "/staff/password",
        data={"csrf_token": csrf_token(client, "/staff/password"), "current": "wrong one!",
              "new": new, "confirm": new},
    )
    assert response.status_code == 200
    assert "current passphrase is not correct" in response.get_data(as_text=True)


def test_one_time_passphrase_must_be_changed_before_anything_else(client, login, make_account):
    manager = make_account(Role.MANAGER, must_change=True)
    login(manager)
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/password")


def test_deactivated_user_cannot_sign_in(client, make_account, db: Session) -> None:
    manager = make_account(Role.MANAGER)
    db.execute(update(User).where(User.id == manager.id).values(active=False))
    db.commit()
    assert _post_login(client, manager.email, manager.password).status_code == 200


def test_sign_in_returns_to_a_local_page_only(client, make_account) -> None:
    manager = make_account(Role.MANAGER)
    for target, expected in (("/staff/account", "/staff/account"),
                             ("https://evil.example/", "/dashboard/"),
                             ("//evil.example/", "/dashboard/")):
        token = csrf_token(client, "/staff/login")
        response = client.post("/staff/login", data={
            "csrf_token": token, "email": manager.email, "password": manager.password,
            "next": target})
        assert response.headers["Location"].endswith(expected)
        client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/account")})


def test_sign_ins_and_failures_are_audited_without_what_was_typed(client, make_account, db):
    from integrity.audit import AuditEntry, verify

    admin = make_account(Role.ADMIN)
    _post_login(client, "typo-secret-passphrase@example.org", "whatever it was!")
    _post_login(client, admin.email, "wrong passphrase!!")
    _post_login(client, admin.email, admin.password)
    _post_code(client, totp_now(admin.totp_secret))
    db.expire_all()
    entries = list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert [(e.action, e.actor) for e in entries] == [
        ("login_failed", "unknown account"),
        ("login_failed", admin.email),
        ("login", admin.email),
    ]
    assert all("typo-secret" not in e.details + e.actor for e in entries)
    assert verify(db).ok


NEEDS_SCRIPT = "Inspectors need JavaScript to sign in, because their passphrase also unlocks"
PLAIN_REFUSAL = ("That e-mail address and passphrase do not match, or the account is an "
                 "inspector&#39;s: inspectors need JavaScript to sign in, because their passphrase "
                 "also unlocks their key and must stay on their device.")


def test_without_javascript_managers_sign_in_but_inspectors_are_told_why_not(
        client, make_account) -> None:
    manager = make_account(Role.MANAGER)
    assert _post_plain_login(client, manager.email, manager.password).status_code == 302
    other = client.application.test_client()
    inspector = make_account(Role.INSPECTOR)
    refused = _post_plain_login(other, inspector.email, inspector.password)
    assert refused.status_code == 200
    page = refused.get_data(as_text=True)
    assert PLAIN_REFUSAL in page
    assert 'id="plain-login-form"' in page  # still the form without JavaScript
    # The same sentence for an unknown address and a wrong passphrase: it names no inspector.
    for email, password in (("nobody@example.org", inspector.password),
                            (manager.email, "not the passphrase at all")):
        answer = _post_plain_login(other, email, password).get_data(as_text=True)
        assert PLAIN_REFUSAL in answer
    assert other.get("/cases/").status_code == 302
    assert _post_login(other, inspector.email, inspector.password).status_code == 302


def test_the_sign_in_page_says_inspectors_need_javascript_when_it_is_off(client) -> None:
    page = client.get("/staff/login").get_data(as_text=True)
    notice = page.split("<noscript>", 1)[1].split("</noscript>", 1)[0]
    assert NEEDS_SCRIPT in notice
    assert 'href="/staff/login?form=plain"' in notice


class _Inputs(HTMLParser):
    """The inputs of the form with a given id, as attribute dictionaries."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.found = form_id, False, []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.inside = attributes.get("id") == self.form_id
        elif tag == "input" and self.inside:
            self.found.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def _inputs(page: str, form_id: str) -> list[dict]:
    parser = _Inputs(form_id)
    parser.feed(page)
    return parser.found


def _sent_names(page: str, form_id: str) -> dict[str, str]:
    """What each named input of the form sends: name -> type."""
    return {i["name"]: i.get("type", "text") for i in _inputs(page, form_id) if "name" in i}


def test_passphrase_fields_of_the_scripted_forms_have_no_name(client, login, make_account):
    """Browsers never send a field without a name: only the script's derived values leave."""
    page = client.get("/staff/login").get_data(as_text=True)
    typed = [i for i in _inputs(page, "login-form") if i.get("type") == "password"]
    assert [i["id"] for i in typed] == ["passphrase"] and "name" not in typed[0]
    assert _sent_names(page, "login-form") == {
        "csrf_token": "hidden", "next": "hidden", "derived": "hidden", "password": "hidden",
        "email": "email"}
    login(make_account(Role.MANAGER))
    page = client.get("/staff/password").get_data(as_text=True)
    assert "password" not in _sent_names(page, "password-form").values()
    assert len([i for i in _inputs(page, "password-form") if i.get("type") == "password"]) == 3


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AUDITOR])
def test_managers_and_auditors_without_javascript_have_a_form_of_their_own(
        client, make_account, role: Role) -> None:
    manager = make_account(role, totp=False)
    page = client.get("/staff/login?form=plain&next=/staff/account").get_data(as_text=True)
    assert _sent_names(page, "plain-login-form")["password"] == "password"
    assert "/dist/login." not in page and NEEDS_SCRIPT in page
    # The page's form submitted with the script off carries no passphrase: it says what to do.
    empty = client.post("/staff/login", data={"csrf_token": csrf_token(client, "/staff/login"),
                                              "email": manager.email, "password": "",
                                              "derived": ""})
    assert empty.status_code == 200
    assert 'id="plain-login-form"' in empty.get_data(as_text=True)
    assert "Enter your passphrase." in empty.get_data(as_text=True)
    token = csrf_token(client, "/staff/login?form=plain")
    signed_in = client.post("/staff/login", data={"csrf_token": token, "email": manager.email,
                                                  "password": manager.password,
                                                  "next": "/staff/account"})
    assert signed_in.headers["Location"].endswith("/staff/account")
    assert "managers and auditors" in page


def test_passphrase_pages_offer_the_form_without_javascript_to_managers_only(
        client, login, make_account, app) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    scripted = client.get("/staff/password").get_data(as_text=True)
    assert 'href="/staff/password?form=plain"' in scripted
    plain = client.get("/staff/password?form=plain").get_data(as_text=True)
    assert 'id="plain-password-form"' in plain and "/dist/passphrase." not in plain
    inspector_client = app.test_client()
    inspector = make_account(Role.INSPECTOR)
    inspector_client.post("/staff/login", data=sign_in_form(inspector_client, inspector.email,
                                                            inspector.password))
    _post_code(inspector_client, totp_now(inspector.totp_secret))
    page = inspector_client.get("/staff/password?form=plain").get_data(as_text=True)
    assert 'id="password-form"' in page and 'id="plain-password-form"' not in page
    assert 'href="/staff/password?form=plain"' not in page


def test_the_server_stores_no_passphrase_only_the_hash_of_a_derived_value(
    app, client, make_account, db
) -> None:
    import crypto

    inspector = make_account(Role.INSPECTOR)
    user = db.get(User, inspector.id)
    assert user.login_salt is not None and len(user.login_salt) == 16
    value = sign_in_form(client, inspector.email, inspector.password)["password"]
    assert value != inspector.password and len(crypto.b64decode(value)) == 32
    assert inspector.password not in user.password_hash
    from argon2 import PasswordHasher

    # Peppered with a key from the installation secret before it is hashed.
    assert user.password_hash.startswith("pepper1$")
    pepper = crypto.login_pepper_key(app.extensions["integrity.installation_secret"])
    assert PasswordHasher().verify(user.password_hash.removeprefix("pepper1$"),
                                   crypto.peppered_auth_value(crypto.b64decode(value), pepper))


def test_login_parameters_do_not_tell_who_has_an_account(client, make_account) -> None:
    inspector = make_account(Role.INSPECTOR)
    token = csrf_token(client, "/staff/login")

    def params(email: str) -> dict:
        return client.post("/staff/login/params", json={"email": email},
                           headers={"X-CSRFToken": token}).get_json()

    real, fake = params(inspector.email), params("nobody-here@example.org")
    assert set(real) == set(fake) == {"salt", "opslimit", "memlimit"}
    assert params("nobody-here@example.org") == fake  # stable, like a real one
    assert fake["salt"] != real["salt"] and len(fake["salt"]) == len(real["salt"])
    assert client.post("/staff/login/params", json={"email": "x@example.org"}).status_code == 400


def test_login_parameters_answer_a_deactivated_account_as_an_unknown_one(
    app, client, make_account, db
) -> None:
    inspector, gone = make_account(Role.INSPECTOR), make_account(Role.INSPECTOR)
    token = csrf_token(client, "/staff/login")

    def params(email: str):
        return client.post("/staff/login/params", json={"email": email},
                           headers={"X-CSRFToken": token})

    before = params(gone.email).get_json()
    user = db.get(User, gone.id)
    user.active = False
    # A cost unlike the installation's: a deactivated account must not show its own either.
    user.login_opslimit, user.login_memlimit = 7, 2 * 65536 * 1024
    db.commit()
    deactivated, unknown = params(gone.email), params("nobody-here@example.org")
    assert deactivated.status_code == unknown.status_code == 200
    assert deactivated.headers["Content-Type"] == unknown.headers["Content-Type"]
    shown, fake = deactivated.get_json(), unknown.get_json()
    assert set(shown) == set(fake) == {"salt", "opslimit", "memlimit"}
    assert shown["salt"] != crypto_b64(user.login_salt) and shown["salt"] != before["salt"]
    assert len(shown["salt"]) == len(fake["salt"])
    assert (shown["opslimit"], shown["memlimit"]) == (fake["opslimit"], fake["memlimit"])
    assert params(gone.email).get_json() == shown  # stable, like a real one
    # Made up as for an unknown address: a keyed hash of the address.
    made_up = hmac.new(app.secret_key.encode(), b"login-salt:" + gone.email.lower().encode(),
                       hashlib.sha256).digest()[:16]
    assert shown["salt"] == crypto_b64(made_up)
    # An active inspector still gets the account's own salt.
    real = params(inspector.email).get_json()
    assert real["salt"] == crypto_b64(db.get(User, inspector.id).login_salt)


def test_inspector_without_a_key_is_sent_to_make_one_first(client, login, make_account, db):
    import crypto

    inspector = make_account(Role.INSPECTOR, key=False)
    login(inspector)
    response = client.get("/cases/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/key")
    token = csrf_token(client, "/staff/key")
    pair = crypto.KeyPair.generate()
    body = {"public_key": crypto.b64encode(pair.public_key),
            "wrapped_key": crypto.b64encode(bytes(72))}
    assert client.post("/staff/key", json={"public_key": "short", "wrapped_key": "x"},
                       headers={"X-CSRFToken": token}).status_code == 400
    assert client.post("/staff/key", json=body).status_code == 400  # no form token
    saved = client.post("/staff/key", json=body, headers={"X-CSRFToken": token})
    assert saved.status_code == 201 and saved.get_json()["next"].endswith("/cases/")
    again = client.post("/staff/key", json=body, headers={"X-CSRFToken": token})
    assert again.status_code == 400 and "already have a key" in again.get_json()["error"]
    assert client.get("/cases/").status_code == 200
    db.expire_all()
    assert db.get(User, inspector.id).public_key == pair.public_key


def test_only_inspectors_have_keys(client, login, make_account) -> None:
    login(make_account(Role.MANAGER))
    token = csrf_token(client, "/staff/account")
    response = client.post("/staff/key", json={"public_key": "x", "wrapped_key": "y"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert client.get("/staff/key").status_code == 302
