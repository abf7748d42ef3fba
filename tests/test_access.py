"""Security headers on every page; each role refused everywhere but its own blueprints."""

import pytest
from flask import Flask

from integrity.access import PUBLIC
from integrity.db import dispose
from integrity.models import Role
from tests.helpers.pages import sign_in


def _get_pages(app: Flask) -> list[tuple[str, str]]:
    """(blueprint, path) of every GET route that takes no argument."""
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static":
            pages.append((rule.endpoint.partition(".")[0], rule.rule))
    return sorted(pages)


def _readers(app: Flask, path: str) -> frozenset[str]:
    """The roles that may read the page at ``path`` without using its blueprint."""
    endpoint, _args = app.url_map.bind("localhost").match(path)
    blueprint = app.blueprints[endpoint.partition(".")[0]]
    return (getattr(blueprint, "reader_roles", frozenset())
            | getattr(app.view_functions[endpoint], "readable_by", frozenset()))


def _restricted(app: Flask) -> dict[str, frozenset[str]]:
    return {name: bp.allowed_roles for name, bp in app.blueprints.items()
            if bp.allowed_roles is not PUBLIC}


def _assert_security_headers(response, path: str, role: Role | None = None) -> None:
    where = f"{role}: {path}" if role else path
    csp = response.headers.get("Content-Security-Policy", "")
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp.replace("wasm-unsafe-eval", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "default-src 'none'" in csp, where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("Cross-Origin-Resource-Policy") == "same-origin", where
    assert response.headers.get("Cache-Control") == "no-store", where
    if path.startswith("/api/"):
        # JSON answers are no document: nothing in them runs, and document policies are moot.
        assert csp == "default-src 'none'; frame-ancestors 'none'; sandbox", where
        assert "Permissions-Policy" not in response.headers, where
    else:
        assert response.headers.get("Referrer-Policy") == "no-referrer", where
        assert "camera=()" in response.headers.get("Permissions-Policy", ""), where
        assert response.headers.get("Cross-Origin-Opener-Policy") == "same-origin", where


def test_every_blueprint_declares_who_may_use_it(app: Flask) -> None:
    restricted = _restricted(app)
    assert restricted == {
        "cases": {"inspector"},
        "dashboard": {"manager", "admin"},
        "admin": {"admin"},
        "survey_admin": {"admin"},
        "survey_translations": {"admin"},
    }
    readers = {name: bp.reader_roles for name, bp in app.blueprints.items()
               if getattr(bp, "reader_roles", None)}
    assert readers == {"dashboard": {"auditor"}}
    # The administration's pages an auditor reads, and no other.
    assert {endpoint for endpoint, view in app.view_functions.items()
            if getattr(view, "readable_by", None)} == {
        "admin.audit", "admin.audit_head", "admin.audit_head_file", "admin.settings_page"}


def test_security_headers_on_every_page_for_every_audience(app, client, make_account):
    pages = _get_pages(app)
    assert len(pages) >= 8
    for _, path in pages:
        _assert_security_headers(client.get(path), path)
    for role in Role:
        user_client = app.test_client()
        account = make_account(role)
        sign_in(user_client, account)
        for _, path in pages:
            _assert_security_headers(user_client.get(path), path, role)
    # Error pages carry them too.
    _assert_security_headers(client.get("/no/such/page"), "/no/such/page")
    _assert_security_headers(client.get("/api/v1/no-such-thing"), "/api/v1/no-such-thing")


def test_hsts_only_when_served_over_https(tmp_path, database_url) -> None:
    from integrity.app import create_app
    from tests.conftest import make_settings

    plain = create_app(make_settings(tmp_path, database_url))
    tls = create_app(make_settings(tmp_path, database_url, public_url="https://r.example"))
    try:
        assert "Strict-Transport-Security" not in plain.test_client().get("/").headers
        response = tls.test_client().get("/")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        for app in (plain, tls):
            dispose(app)


def test_static_files_are_cacheable(client) -> None:
    with client.get("/static/css/site.css") as response:
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")
        assert "no-cache" in response.headers["Cache-Control"]  # revalidated: no version in it


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_its_own_blueprints_and_is_refused_elsewhere(
    app, make_account, role: Role
) -> None:
    client = app.test_client()
    sign_in(client, make_account(role))
    restricted = _restricted(app)
    checked = 0
    for blueprint, path in _get_pages(app):
        if blueprint not in restricted:
            continue
        allowed = restricted[blueprint] | _readers(app, path)
        expected = 200 if role.value in allowed else 403
        assert client.get(path).status_code == expected, (role, path)
        checked += 1
    assert checked >= 3


def test_anonymous_visitors_are_sent_to_sign_in(app, client) -> None:
    restricted = _restricted(app)
    for blueprint, path in _get_pages(app):
        if blueprint in restricted:
            response = client.get(path)
            assert response.status_code == 302, path
            assert "/staff/login?next=" in response.headers["Location"], path
    assert client.post("/admin/").status_code in (401, 405)
