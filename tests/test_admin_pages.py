"""Every administration page renders for an administrator, and every administration route
refuses inspectors, managers and visitors who are not signed in."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.models import Channel, Installation, OrgUnit, Role, User
from tests.conftest import ChannelSetup, csrf_token
from tests.helpers.pages import signed_in

ADMIN_METHODS = ("GET", "POST")


@dataclass
class Sample:
    """Ids of one thing of each kind, to fill the administration's URL arguments."""

    values: dict[str, object]


def sample_ids(db: Session, channel: ChannelSetup, inspector_id: int) -> Sample:
    row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    assert row is not None and row.questions and row.categories
    org_unit = db.scalar(select(OrgUnit).order_by(OrgUnit.id))
    assert org_unit is not None
    return Sample({"user_id": inspector_id, "channel_id": row.id,
                   "question_id": row.questions[0].id, "category_id": row.categories[0].id,
                   "org_unit_id": org_unit.id, "state": "hidden", "language": "fr",
                   "change_id": 1, "answer": "confirm"})


def admin_rules(app: Flask) -> list:
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")]
    assert len(rules) >= 30, [rule.endpoint for rule in rules]
    return sorted(rules, key=lambda rule: rule.rule)


def url(app: Flask, endpoint: str, **values: object) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


# Query arguments a page needs besides its path (the role page says what a change would do).
QUERY = {"admin.role": {"role": "manager"}}


def rule_url(app: Flask, rule, sample: Sample) -> str:
    values = {name: sample.values[name] for name in rule.arguments}
    return url(app, rule.endpoint, **values, **QUERY.get(rule.endpoint, {}))


@pytest.fixture
def sample(db: Session, channel: ChannelSetup) -> Sample:
    inspector = db.scalar(select(User).where(User.email == "insp1@example.org"))
    assert inspector is not None
    return sample_ids(db, channel, inspector.id)


def test_every_admin_page_renders_for_an_administrator(app, admin, sample) -> None:
    client = signed_in(app, admin)
    checked = []
    for rule in admin_rules(app):
        if "GET" not in rule.methods:
            continue
        path = rule_url(app, rule, sample)
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            assert "<h1" in html, path
            # Strict CSP: no inline script or style anywhere on the page.
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
            assert " style=" not in html and "<style" not in html, path
            assert "Content-Security-Policy" in response.headers
        checked.append(rule.endpoint)
    assert {"admin.index", "admin.user_list", "admin.invite", "admin.user", "admin.reset",
            "admin.channel_list", "admin.questions", "admin.question", "admin.preview",
            "admin.categories", "admin.unit_list", "admin.unit_import", "admin.settings_page",
            "admin.audit", "admin.channel_state", "admin.question_remove"} <= set(checked)


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.MANAGER])
def test_every_admin_route_refuses_other_roles(app, make_account, sample, role: Role) -> None:
    client = signed_in(app, make_account(role))
    token = csrf_token(client, "/staff/account")
    refused = 0
    for rule in admin_rules(app):
        path = rule_url(app, rule, sample)
        for method in ADMIN_METHODS:
            if method not in rule.methods:
                continue
            response = client.open(path, method=method, data={"csrf_token": token})
            assert response.status_code == 403, (role, method, path, response.status_code)
            refused += 1
    assert refused >= 40


def test_every_admin_route_sends_visitors_to_sign_in(app, client, sample) -> None:
    token = csrf_token(client, "/staff/login")
    for rule in admin_rules(app):
        path = rule_url(app, rule, sample)
        if "GET" in rule.methods:
            response = client.get(path)
            assert response.status_code == 302, path
            assert "/staff/login?next=" in response.headers["Location"], path
        if "POST" in rule.methods:
            response = client.post(path, data={"csrf_token": token})
            assert response.status_code == 401, path


def test_settings_page_shows_whether_a_recovery_key_exists(app, admin, db) -> None:
    import crypto
    from integrity.installation import get_installation

    client = signed_in(app, admin)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "There is no recovery key" in page
    installation = get_installation(db, app.extensions["integrity.settings"])
    pair = crypto.KeyPair.generate()
    installation.recovery_public_key = pair.public_key
    db.commit()
    assert db.get(Installation, 1) is not None
    page = client.get("/admin/settings").get_data(as_text=True)
    assert crypto.fingerprint(pair.public_key) in page
