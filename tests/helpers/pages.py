"""Staff pages through the test client: signing in and sending forms with their token."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Account, csrf_token, sign_in_form, totp_now


def sign_in(client: FlaskClient, account: Any) -> None:
    """Sign ``account`` in on ``client`` through both steps (no checks: see ``login``)."""
    client.post("/staff/login", data=sign_in_form(client, account.email, account.password))
    if account.totp_secret:
        client.post("/staff/login/code", data={
            "csrf_token": csrf_token(client, "/staff/login/code"),
            "code": totp_now(account.totp_secret)})


def signed_in(app: Flask, account: Account) -> FlaskClient:
    """A client of its own with ``account`` signed in."""
    client = app.test_client()
    sign_in(client, account)
    return client


def post(client: FlaskClient, path: str, data: dict | None = None, *, page: str | None = None,
         **kwargs: Any) -> Any:
    """Send a form as the page at ``page`` (default: ``path``) would, with its token."""
    body = {"csrf_token": csrf_token(client, page or path), **(data or {})}
    return client.post(path, data=body, **kwargs)
