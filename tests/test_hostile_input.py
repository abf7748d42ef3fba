"""Hostile input gets one clear sentence (400 or 404), never a 500, and nothing is stored:
JSON nested without end, NUL characters, numbers past the database's integer range, and a
malformed mailbox token in the mailbox's reply form. On SQLite and PostgreSQL (which is the one
that refuses NUL and big integers with an error)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from integrity.audit import AuditEntry
from integrity.models import Channel, OrgUnit, Role, User
from integrity.reporting.models import KeySlot, Message, Report, report_readers
from tests.conftest import csrf_token
from tests.helpers.pages import sign_in
from tests.helpers.reports import file_plain_form, first_case
from tests.helpers.surveys import every_type, open_survey_today

TOO_DEEP = "The JSON body is nested more deeply than this server accepts."
NUL = "The request contains a null character, which this server does not accept."
NUMBER = "A number in the request is outside the range this server accepts."
NOTHING_HERE = "There is nothing at this address."
BIG = "99999999999999999999"
ANSWERS = {"what": "The shift chief takes cash for waving lorries through lane 2."}


def _stored(db) -> dict[str, int]:
    """How many rows a refusal must leave alone."""
    db.expire_all()
    tables = {"reports": Report, "messages": Message, "key slots": KeySlot,
              "audit": AuditEntry, "units": OrgUnit}
    counts = {name: db.scalar(select(func.count()).select_from(model))
              for name, model in tables.items()}
    counts["readers"] = db.scalar(select(func.count()).select_from(report_readers))
    return counts


@pytest.fixture
def case(app, db, channel, make_account, reporter):
    """A filed report and a signed-in inspector who reads it: (client, report id, headers)."""
    account = make_account(Role.INSPECTOR)
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.recipients.append(db.get(User, account.id))
    db.commit()
    reporter.file(channel.slug, ANSWERS)
    client = app.test_client()
    sign_in(client, account)
    report_id = first_case(client)
    return client, report_id, {"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}


def _signed_in(app, make_account, role: Role):
    client = app.test_client()
    sign_in(client, make_account(role))
    return client


def _refused(response, status: int, sentence: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    if response.mimetype == "application/json":
        assert response.get_json() == {"error": sentence}
    else:
        assert sentence in response.get_data(as_text=True)


@pytest.mark.parametrize("body", ["[" * 100_000, "{\"a\": " * 50_000, "[" * 33 + "]" * 33],
                         ids=["unclosed arrays", "unclosed objects", "33 levels"])
def test_json_nested_too_deeply_is_refused_on_every_json_route(app, db, client, case,
                                                               body: str) -> None:
    inspector, report_id, headers = case
    before = _stored(db)
    anonymous = {"X-CSRFToken": csrf_token(client, "/staff/login")}
    routes = [(client, "/api/v1/reports", {}), (client, "/api/v1/mailbox", {}),
              (client, "/api/v1/mailbox/messages", {}), (client, "/api/v1/mailbox/attachment", {}),
              (client, "/staff/login/params", anonymous),
              (inspector, f"/cases/{report_id}/messages", headers),
              (inspector, f"/cases/{report_id}/notes", headers),
              (inspector, f"/cases/{report_id}/share", headers),
              (inspector, "/staff/key", headers)]
    for who, url, extra in routes:
        response = who.post(url, data=body, content_type="application/json", headers=extra)
        _refused(response, 400, TOO_DEEP)
    assert _stored(db) == before


def test_json_32_levels_deep_still_reaches_the_route(client) -> None:
    nested: object = "x"
    for _ in range(31):
        nested = [nested]
    response = client.post("/api/v1/mailbox", json={"lookup": "x", "other": nested})
    assert response.status_code == 404  # the mailbox's own answer for an unknown lookup
    assert response.get_json()["error"] != TOO_DEEP


def test_json_is_checked_as_it_is_parsed_whatever_its_encoding(client) -> None:
    for encoding in ("utf-8", "utf-16", "utf-32"):
        deep = ("[" * 100_000).encode(encoding)
        _refused(client.post("/api/v1/mailbox", data=deep, content_type="application/json"),
                 400, TOO_DEEP)
        nul = json.dumps({"lookup": "a\x00"}).encode(encoding)
        _refused(client.post("/api/v1/mailbox", data=nul, content_type="application/json"),
                 400, NUL)
    # An escaped backslash before "u0000" is text; brackets inside strings are text.
    for lookup in ("\\u0000", "[" * 100):
        response = client.post("/api/v1/mailbox", json={"lookup": lookup})
        assert response.status_code == 404, response.get_json()


def test_nul_in_a_path_or_query_is_refused(app, client, channel, case) -> None:
    inspector, _report_id, _headers = case
    _refused(client.get("/api/v1/config?channel=%00"), 400, NUL)
    _refused(client.get("/api/v1/config?%00=integrity"), 400, NUL)
    _refused(client.get("/report/int%00egrity"), 400, NUL)
    _refused(client.get("/survey?code=AB%00CD"), 400, NUL)
    for query in ("channel=%00", "q=lane%00", "status=new%00", "unit=%00", "category=%00"):
        _refused(inspector.get(f"/cases/?{query}"), 400, NUL)
    assert client.get("/api/v1/config?channel=integrity").status_code == 200


def test_nul_in_a_sign_in_e_mail_is_refused_and_nothing_is_recorded(client, db,
                                                                    make_account) -> None:
    account = make_account(Role.MANAGER)
    before = _stored(db)
    token = csrf_token(client, "/staff/login")
    for email in (f"{account.email}\x00", "nobody\x00@example.org"):
        _refused(client.post("/staff/login", data={"csrf_token": token, "email": email,
                                                    "password": account.password}), 400, NUL)
        _refused(client.post("/staff/login/params", json={"email": email},
                             headers={"X-CSRFToken": token}), 400, NUL)
    assert _stored(db) == before


@pytest.mark.parametrize("field,value", [("channel", "integrity\x00"),
                                         ("category", "bribery\x00"),
                                         ("org_unit", "1\x00"),
                                         ("excluded", ["\x00"])])
def test_nul_in_a_filed_report_is_refused_and_nothing_is_stored(db, channel, reporter,
                                                                 field: str, value) -> None:
    filed = reporter.report_body(channel.slug, ANSWERS, category="bribery")
    filed.body[field] = value
    before = _stored(db)
    _refused(reporter.send(filed).response, 400, NUL)
    assert _stored(db) == before


def test_nul_in_the_plain_report_form_is_refused_and_nothing_is_stored(client, db,
                                                                       channel) -> None:
    before = _stored(db)
    _refused(file_plain_form(client, channel, category="bribery\x00"), 400, NUL)
    _refused(file_plain_form(client, channel, **{"q-what": "cash at lane\x00 4"}), 400, NUL)
    assert _stored(db) == before


def test_numbers_past_the_database_range_in_an_address_find_nothing(app, client, case,
                                                                    make_account) -> None:
    inspector, report_id, headers = case
    admin = _signed_in(app, make_account, Role.ADMIN)
    manager = _signed_in(app, make_account, Role.MANAGER)
    # A case's id is random below 2**53 (integrity/db.py): past that, no address matches.
    checks = [(client, f"/survey/open/{BIG}"), (inspector, f"/cases/{2**53}"),
              (inspector, f"/cases/{BIG}/data"), (admin, f"/admin/users/{BIG}"),
              (admin, f"/admin/channels/{BIG}"), (admin, f"/admin/units/{BIG}"),
              (admin, f"/admin/categories/{BIG}"), (admin, f"/admin/questions/{BIG}"),
              (admin, f"/admin/surveys/{BIG}"), (admin, f"/admin/surveys/waves/{BIG}/open"),
              (manager, f"/dashboard/campaigns/{BIG}"),
              (manager, f"/dashboard/campaigns/{BIG}/edit"),
              (manager, f"/dashboard/surveys/waves/{BIG}"),
              # The largest number the database holds is a number like any other.
              (inspector, "/cases/2147483648"), (inspector, f"/cases/{2**53 - 1}"),
              (admin, "/admin/users/2147483647")]
    for who, url in checks:
        _refused(who.get(url), 404, NOTHING_HERE)
    for message_id in (BIG, str(2**53), str(2**64)):
        _refused(inspector.post(f"/cases/{report_id}/messages/{message_id}/delete",
                                headers=headers, json={"reason": "A name."}),
                 404, "This case has no such message.")


def test_numbers_past_the_database_range_in_a_query_are_refused(app, make_account) -> None:
    manager = _signed_in(app, make_account, Role.MANAGER)
    _refused(manager.get(f"/dashboard/trends?survey={BIG}"), 400, NUMBER)
    _refused(manager.get(f"/dashboard/export/effects.csv?campaign={BIG}"), 400, NUMBER)
    _refused(manager.get("/dashboard/trends?survey=-2147483649"), 400, NUMBER)
    assert manager.get("/dashboard/export/effects.csv?campaign=2147483647").status_code == 404


def test_sharing_with_an_inspector_number_past_the_range_is_refused(db, case) -> None:
    inspector, report_id, headers = case
    before = _stored(db)
    for target in (BIG, "2147483648"):
        response = inspector.post(f"/cases/{report_id}/share", headers=headers,
                                  json={"inspector": target, "reason": "Second reader.",
                                        "key_slots": {"report": "AA"}})
        _refused(response, 400, "This inspector cannot receive the case.")
    assert _stored(db) == before


def test_a_headcount_past_the_range_is_a_field_error_and_no_unit_is_stored(app, db,
                                                                           make_account) -> None:
    admin = _signed_in(app, make_account, Role.ADMIN)
    before = _stored(db)
    response = admin.post("/admin/units/new", data={
        "csrf_token": csrf_token(admin, "/admin/units/new"), "name": "Lane 9 team",
        "kind": "agency", "crossing_type": "", "parent_id": "", "headcount": BIG})
    assert response.status_code == 200
    assert NUMBER in response.get_data(as_text=True)
    assert _stored(db) == before


def test_an_open_link_answer_with_a_unit_past_the_range_is_refused(client, db) -> None:
    from surveys.models import SurveyResponse

    data = every_type()
    data["open_link"] = True
    setup = open_survey_today(db, definition=data)
    url = f"/survey/open/{setup.survey_id}"
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "q-aware": "yes",
                                      "org_unit": BIG})
    _refused(response, 400, NUMBER)
    assert db.scalar(select(func.count()).select_from(SurveyResponse)) == 0


@pytest.mark.parametrize("mailbox_token", ["12345", "", "not a token at all", "A" * 43, "1" * 400,
                                           None])
def test_a_mailbox_reply_with_a_malformed_or_unknown_mailbox_token_says_so(
        client, db, channel, mailbox_token: str | None) -> None:
    before = _stored(db)
    data = {"csrf_token": csrf_token(client, "/mailbox"), "text": "It happens on night shifts."}
    if mailbox_token is not None:
        data["mailbox_token"] = mailbox_token
    response = client.post("/mailbox/reply", data=data)
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    page = response.get_data(as_text=True)
    assert "enter your receipt again" in page and 'name="receipt"' in page
    # What was typed goes back with the receipt form, to reappear once the mailbox opens.
    assert '<input type="hidden" name="text" value="It happens on night shifts.">' in page
    assert _stored(db) == before


@pytest.mark.parametrize("field,value,sentence", [
    ("org_unit", "99999999999", "The organisational unit is unknown."),
    ("org_unit", "2147483648", "The organisational unit is unknown."),
    ("excluded", [BIG], None)])
def test_numbers_past_the_range_in_a_filed_report_are_refused(db, channel, reporter, field: str,
                                                              value, sentence) -> None:
    filed = reporter.report_body(channel.slug, ANSWERS)
    filed.body[field] = value
    before = _stored(db)
    response = reporter.send(filed).response
    assert response.status_code == 400, response.get_data(as_text=True)
    if sentence:
        assert response.get_json() == {"error": sentence}
    assert _stored(db) == before
