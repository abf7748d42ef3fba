"""Sign-in rate limits: per account and per client address, none shared by everyone."""

from collections import Counter

from flask import Flask
from flask.testing import FlaskClient

from integrity.extensions import limiter
from integrity.models import Role
from tests.conftest import Account, csrf_token, sign_in_form, totp_now

FLOODER = "203.0.113.66"
INSPECTOR_ADDRESS = "198.51.100.7"


def _client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _signs_in(client: FlaskClient, account: Account) -> bool:
    response = client.post("/staff/login", data=sign_in_form(client, account.email,
                                                             account.password))
    if response.status_code != 302:
        return False
    token = csrf_token(client, "/staff/login/code")
    client.post("/staff/login/code", data={"csrf_token": token,
                                           "code": totp_now(account.totp_secret or "")})
    return client.get("/cases/").status_code == 200


def test_a_flood_from_one_address_does_not_keep_an_inspector_from_signing_in(
        app: Flask, make_account) -> None:
    inspector = make_account(Role.INSPECTOR)
    flooder = _client_at(app, FLOODER)
    token = csrf_token(flooder, "/staff/login")
    params = Counter(
        flooder.post("/staff/login/params", json={"email": f"someone{n}@example.org"},
                     headers={"X-CSRFToken": token}).status_code
        for n in range(1000)
    )
    attempts = Counter(
        flooder.post("/staff/login", data={"csrf_token": token, "email": f"x{n}@example.org",
                                           "password": "not a passphrase"}).status_code
        for n in range(40)
    )
    # The flooding address is stopped...
    assert params[429] > 0 and attempts[429] > 0
    assert flooder.post("/staff/login/params", json={"email": inspector.email},
                        headers={"X-CSRFToken": token}).status_code == 429
    # ...and the inspector, from another address, signs in as usual.
    assert _signs_in(_client_at(app, INSPECTOR_ADDRESS), inspector)


def test_sign_in_limits_keep_no_address_in_their_keys(app: Flask, make_account) -> None:
    manager = make_account(Role.MANAGER)
    client = _client_at(app, FLOODER)
    client.post("/staff/login", data=sign_in_form(client, manager.email, manager.password))
    keys = " ".join(str(key) for key in limiter.limiter.storage.storage)
    assert keys and FLOODER not in keys and manager.email not in keys
