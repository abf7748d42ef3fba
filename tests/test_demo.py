"""The demo as `make run` leaves it: the demo inspector signs in with the published passphrase
and opens the demo cases and new ones, with no key file."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

import crypto
from integrity.demo import DEMO_INSPECTOR_KEY
from tests.conftest import DEMO_INSPECTOR as INSPECTOR
from tests.conftest import csrf_token, sign_in_form, totp_now
from tests.helpers.reports import filed_report_id
from tests.protocol_client import ReporterClient

CASE_LINK = re.compile(r'href="/cases/(\d+)"')
WRAPPED = re.compile(r'data-wrapped="([^"]*)"')
PUBLIC = re.compile(r'data-public="([^"]*)"')


def _sign_in(client: FlaskClient) -> crypto.StaffKeys:
    """The demo inspector's sign-in as the page does it; returns what the page keeps."""
    token = csrf_token(client, "/staff/login")
    params = client.post("/staff/login/params", json={"email": INSPECTOR.email},
                         headers={"X-CSRFToken": token}).get_json()
    keys = crypto.derive_staff_keys(INSPECTOR.password, crypto.b64decode(params["salt"]),
                                    params["opslimit"], params["memlimit"])
    response = client.post("/staff/login",
                           data=sign_in_form(client, INSPECTOR.email, INSPECTOR.password))
    assert response.headers["Location"].endswith("/staff/login/code")
    assert INSPECTOR.totp_secret is not None
    response = client.post("/staff/login/code", data={
        "csrf_token": csrf_token(client, "/staff/login/code"),
        "code": totp_now(INSPECTOR.totp_secret)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return keys


def _secret_key(client: FlaskClient, case_id: int, keys: crypto.StaffKeys) -> bytes:
    """The private key the case page unwraps from what it is given."""
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    wrapped, public = WRAPPED.search(html), PUBLIC.search(html)
    assert wrapped and wrapped.group(1), "the case page has no wrapped key to unlock"
    assert public
    return crypto.unwrap_private_key(crypto.b64decode(wrapped.group(1)), keys.wrapping_key,
                                     crypto.b64decode(public.group(1)))


def _open_report(client: FlaskClient, case_id: int, secret_key: bytes) -> dict:
    data = client.get(f"/cases/{case_id}/sealed").get_json()
    return crypto.open_document(crypto.b64decode(data["report"]["payload"]),
                                crypto.b64decode(data["report"]["key_slot"]), secret_key,
                                data["pad_block"])


def test_the_demo_inspector_opens_demo_cases_and_new_ones_after_signing_in(
        demo_app: Flask) -> None:
    text = "The night shift at Kalna waves one broker's trucks through."
    filed = ReporterClient(demo_app.test_client()).file("integrity", {"what": text})
    client = demo_app.test_client()
    keys = _sign_in(client)
    cases = [int(n) for n in CASE_LINK.findall(client.get("/cases/").get_data(as_text=True))]
    assert len(cases) > 1
    secret_key = _secret_key(client, cases[-1], keys)
    assert secret_key == DEMO_INSPECTOR_KEY.secret_key
    newest = filed_report_id(demo_app, filed)
    assert _open_report(client, newest, secret_key)["answers"]["what"] == text
    demo_case = next(case for case in cases if case != newest)
    assert _open_report(client, demo_case, secret_key)["answers"]["what"]


def test_the_demo_key_file_still_opens_an_export_offline(demo_app: Flask) -> None:
    key_file = demo_app.extensions["integrity.settings"].data_dir / "demo-inspector.key"
    assert crypto.load_key_file(key_file.read_text()).public_key == DEMO_INSPECTOR_KEY.public_key


def test_the_demo_pins_a_demo_organisation_key_and_certifies_its_inspector(
        demo_app: Flask) -> None:
    from crypto.certificates import OrgKey, verify_inspector_key
    from integrity import current
    from integrity.demo import DEMO_ORG_SEED

    org = OrgKey.from_seed(DEMO_ORG_SEED)
    assert current.org_public_key(demo_app) == org.public_key
    config = demo_app.test_client().get("/api/v1/config?channel=integrity").get_json()
    channel = next(c for c in config["channels"] if c["slug"] == "integrity")
    recipients = channel["recipients"]
    assert recipients and all(
        verify_inspector_key(org.public_key, r["id"], crypto.b64decode(r["public_key"]),
                             crypto.b64decode(r["certificate"])) for r in recipients)
    page = demo_app.test_client().get("/report/integrity").get_data(as_text=True)
    assert f'data-org-key="{crypto.b64encode(org.public_key)}"' in page


def test_demo_cases_are_protocol_2_with_authentic_threads_and_their_route(
        demo_app: Flask) -> None:
    from crypto import threads
    from crypto.thread_documents import report_thread

    client = demo_app.test_client()
    keys = _sign_in(client)
    cases = [int(n) for n in CASE_LINK.findall(client.get("/cases/").get_data(as_text=True))]
    secret_key = _secret_key(client, cases[0], keys)
    with_messages = 0
    for case_id in cases[:40]:
        data = client.get(f"/cases/{case_id}/sealed").get_json()
        assert data["protocol"] == 2 and data["reporter_public_key"] is None
        report_payload = crypto.b64decode(data["report"]["payload"])
        thread = report_thread(crypto.open_document(
            report_payload, crypto.b64decode(data["report"]["key_slot"]), secret_key,
            data["pad_block"]))
        assert (thread.channel, thread.category, thread.org_unit) == (
            data["route"]["channel"], data["route"]["category"], data["route"]["org_unit"])
        links = [threads.Link(m["link"]["seq"], m["link"]["role"], m["link"]["sender"],
                              crypto.b64decode(m["link"]["prev"]), crypto.b64decode(m["payload"]),
                              crypto.b64decode(m["link"]["auth"])) for m in data["messages"]]
        checks = threads.check_links(thread.secret, "thread", report_payload, links)
        assert all(check.intact for check in checks)
        with_messages += bool(links)
    assert with_messages  # some demo cases have a reporter's message


def test_demo_cases_with_feedback_have_the_feedback_and_closed_ones_a_final_notice(
        demo_app: Flask) -> None:
    """Feedback is a message of its own (docs/inspectors.md): every demo case that records
    feedback holds it on that day, and every closed one the final notice it closed after."""
    from sqlalchemy import select

    from integrity.db import new_session
    from integrity.reporting.models import Report

    with new_session(demo_app) as session:
        reports = list(session.scalars(select(Report)))
        assert any(r.feedback_on for r in reports) and any(r.closed_on for r in reports)
        for report in reports:
            sent = {(m.kind, m.sent_on) for m in report.messages if m.sender == "inspector"}
            assert ((report.feedback_on is not None)
                    == any(kind == "feedback" for kind, _ in sent)), report.id
            if report.feedback_on:
                assert ("feedback", report.feedback_on) in sent
            assert report.final_notice_on == report.closed_on
            if report.closed_on:
                assert ("final_notice", report.closed_on) in sent
