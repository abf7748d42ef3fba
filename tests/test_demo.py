"""The demo as `make run` leaves it: the demo inspector signs in with the published passphrase
and opens the demo cases and new ones, with no key file; the feature cases show what a case
holds (integrity/demo_cases.py), coherent with the rest, and the dashboard's retaliation table
has figures."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity import demo_cases
from integrity.db import new_session
from integrity.demo import DEMO_ACCOUNTS, DEMO_INSPECTOR_KEY
from integrity.models import Role, today
from integrity.reporting.models import Report
from tests.conftest import DEMO_INSPECTOR as INSPECTOR
from tests.conftest import csrf_token, sign_in_form, totp_now
from tests.helpers.reports import filed_report_id
from tests.protocol2_client import listed_link
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
    with new_session(demo_app) as session:
        plain = set(session.scalars(select(Report.id).where(
            Report.kind == "report", Report.oral.is_(False),
            Report.reference.notin_(list(demo_cases.RECEIPTS)))))
    demo_case = next(case for case in cases if case != newest and case in plain)
    assert _open_report(client, demo_case, secret_key)["answers"]["what"]


def test_the_demo_key_file_still_opens_an_export_offline(shared_demo_app: Flask) -> None:
    key_file = shared_demo_app.extensions["integrity.settings"].data_dir / "demo-inspector.key"
    assert crypto.load_key_file(key_file.read_text()).public_key == DEMO_INSPECTOR_KEY.public_key


def test_the_demo_pins_a_demo_organisation_key_and_certifies_its_inspector(
        shared_demo_app: Flask) -> None:
    from crypto.certificates import OrgKey, verify_inspector_key
    from integrity import current
    from integrity.demo import DEMO_ORG_SEED

    org = OrgKey.from_seed(DEMO_ORG_SEED)
    assert current.org_public_key(shared_demo_app) == org.public_key
    config = shared_demo_app.test_client().get("/api/v1/config?channel=integrity").get_json()
    channel = next(c for c in config["channels"] if c["slug"] == "integrity")
    recipients = channel["recipients"]
    assert recipients and all(
        verify_inspector_key(org.public_key, r["id"], crypto.b64decode(r["public_key"]),
                             crypto.b64decode(r["certificate"])) for r in recipients)
    page = shared_demo_app.test_client().get("/report/integrity").get_data(as_text=True)
    assert f'data-org-key="{crypto.b64encode(org.public_key)}"' in page


def test_demo_cases_are_protocol_2_with_authentic_threads_and_their_route(
        demo_app: Flask) -> None:
    from crypto import threads
    from crypto.thread_documents import report_thread

    client = demo_app.test_client()
    keys = _sign_in(client)
    cases = [int(n) for n in CASE_LINK.findall(client.get("/cases/").get_data(as_text=True))]
    secret_key = _secret_key(client, cases[0], keys)
    with new_session(demo_app) as session:
        # The feature cases too: notes in their own chain, a message deleted by a reader.
        features = list(session.scalars(select(Report.id).where(
            Report.reference.in_([*demo_cases.RECEIPTS, demo_cases.RETALIATION_CASE]))))
    assert len(features) == 4
    with_messages = 0
    for case_id in cases[:40] + features:
        data = client.get(f"/cases/{case_id}/sealed").get_json()
        assert data["protocol"] == 2 and data["reporter_public_key"] is None
        report_payload = crypto.b64decode(data["report"]["payload"])
        thread = report_thread(crypto.open_document(
            report_payload, crypto.b64decode(data["report"]["key_slot"]), secret_key,
            data["pad_block"]))
        assert (thread.channel, thread.category, thread.org_unit) == (
            data["route"]["channel"], data["route"]["category"], data["route"]["org_unit"])
        chains: dict[str, list[threads.Link]] = {}
        for message in data["messages"]:
            chains.setdefault(message["link"]["chain"], []).append(listed_link(message))
        for chain, links in chains.items():
            checks = threads.check_links(thread.secret, chain, report_payload, links)
            assert all(check.intact for check in checks), (case_id, chain)
        with_messages += bool(chains)
    assert with_messages  # some demo cases have a reporter's message


def test_demo_cases_with_feedback_have_the_feedback_and_closed_ones_a_final_notice(
        shared_demo_app: Flask) -> None:
    """Feedback is a message of its own (docs/inspectors.md): every demo case that records
    feedback holds it on that day, and every closed one the final notice it closed after."""
    from sqlalchemy import select

    from integrity.db import new_session
    from integrity.reporting.models import Report

    with new_session(shared_demo_app) as session:
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


def _by_reference(session: Session, reference: str) -> Report:
    report = session.scalar(select(Report).where(Report.reference == reference))
    assert report is not None, reference
    return report


def test_the_demo_report_of_retaliation_follows_its_closed_case_with_a_call_to_answer(
        shared_demo_app: Flask) -> None:
    from integrity.cases.deadlines import ACKNOWLEDGE_DAYS
    from integrity.cases.meetings import open_request
    from integrity.cases.protection import assessed_on, record_kinds
    from integrity.cases.protection_models import RecordKind

    with new_session(shared_demo_app) as session:
        closed = _by_reference(session, demo_cases.CLOSED_CASE)
        linked = _by_reference(session, demo_cases.RETALIATION_CASE)
        assert (linked.kind, closed.kind) == ("retaliation", "report")
        assert linked.retaliation_of_id == closed.id and linked.channel_id == closed.channel_id
        assert closed.status == "closed" and closed.closed_on is not None
        assert closed.closed_on < linked.created_on <= today()
        assert linked.readers == closed.readers
        assert linked.acknowledged_on is not None
        assert (linked.acknowledged_on - linked.created_on).days <= ACKNOWLEDGE_DAYS
        assert set(record_kinds(session, linked).values()) == {RecordKind.RISK_ASSESSMENT,
                                                               RecordKind.MEASURE}
        assert linked.acknowledged_on <= assessed_on(session, linked)[0] <= today()
        request = open_request(linked)
        assert request is not None and request.state == "requested"
        assert request.requested_on <= today() <= request.due_on
        assert request.due_on == request.requested_on + timedelta(
            days=linked.channel.meeting_days)
        # Asked for in a message of the reporter's, on that day.
        assert any(m.sender == "reporter" and m.sent_on == request.requested_on
                   for m in linked.messages)
        assert linked.next_due_on is not None and linked.next_due_on > today()


def test_the_demo_closed_case_has_check_ins_persons_a_hold_and_a_tombstone(
        shared_demo_app: Flask) -> None:
    from integrity.cases.check_ins import planned
    from integrity.cases.person_models import PersonState
    from integrity.cases.persons import persons_of, review_due
    from integrity.reporting.models import Tombstone
    from integrity.reporting.tombstones import deleted_messages

    with new_session(shared_demo_app) as session:
        closed = _by_reference(session, demo_cases.CLOSED_CASE)
        assert closed.closed_on is not None and closed.held
        check_ins = planned(session, closed)
        posted = [c for c in check_ins if c.state == "posted"]
        assert len(posted) == 1 and posted[0].done_on is not None
        assert closed.closed_on < posted[0].done_on <= today()
        assert any(c.state == "scheduled" and c.due_on > today() for c in check_ins)
        persons = {p.state: p for p in persons_of(session, closed)}
        assert set(persons) == {PersonState.INFORMED, PersonState.DEFERRED, PersonState.HEARD}
        deferred = persons[PersonState.DEFERRED]
        assert deferred.review_on is not None and deferred.review_on > today()
        assert not review_due(deferred, today())
        assert [s.kind for s in persons[PersonState.HEARD].steps] == ["informed", "heard"]
        for person in persons.values():
            assert all(closed.created_on <= s.done_on <= today() for s in person.steps)
        deleted = deleted_messages(session, closed)
        assert len(deleted) == 1
        tombstone = session.scalar(select(Tombstone).where(Tombstone.report_id == closed.id))
        assert tombstone is not None and tombstone.reason_payload
        assert tombstone.made_on <= today()
        message = next(m for m in closed.messages if m.id in deleted)
        assert message.sender == "reporter" and message.payload == b""


def test_the_legal_hold_keeps_the_demo_case_from_the_purge(shared_demo_app: Flask) -> None:
    from integrity import current
    from integrity.cases.retention import purge_cases

    with shared_demo_app.app_context(), new_session(shared_demo_app) as session:
        held = _by_reference(session, demo_cases.CLOSED_CASE)
        later = today() + timedelta(days=held.channel.retention_days + 1)
        purged = {case.report_id for case in purge_cases(
            session, current.attachment_store(shared_demo_app), later)}
        assert purged  # every other closed case's period is over by then
        assert held.id not in purged
        left = set(session.scalars(select(Report.id).where(Report.status == "closed")))
        assert held.id in left and not left & purged
        session.rollback()


def test_the_demo_oral_reports_wait_for_agreement_and_were_agreed(shared_demo_app: Flask) -> None:
    from integrity.cases.records import RecordState, is_record, record_state

    with new_session(shared_demo_app) as session:
        for reference, state in ((demo_cases.ORAL_AWAITING, RecordState.AWAITING),
                                 (demo_cases.ORAL_AGREED, RecordState.AGREED)):
            report = _by_reference(session, reference)
            assert report.oral and report.status == "acknowledged"
            records = [m for m in report.messages if is_record(m)]
            assert len(records) == 1 and record_state(records[0]) is state
            assert report.acknowledged_on == records[0].sent_on == report.created_on
            if state is RecordState.AGREED:
                assert records[0].agreed_on is not None
                assert records[0].sent_on < records[0].agreed_on <= today()


def test_the_dashboard_shows_the_demo_reports_of_retaliation(shared_demo_app: Flask) -> None:
    manager = next(a for a in DEMO_ACCOUNTS if a.role is Role.MANAGER)
    client = shared_demo_app.test_client()
    response = client.post("/staff/login",
                           data=sign_in_form(client, manager.email, manager.password))
    assert response.status_code == 302, response.get_data(as_text=True)
    lines = client.get("/dashboard/export/retaliation.csv").get_data(as_text=True).splitlines()
    header, *periods, total = (line.split(",") for line in lines)
    assert header[0] == "period" and total[0] == "All reports"
    assert len(periods) == 4  # the last four quarters
    # Every period has enough reports of retaliation to be shown, and so has the total.
    assert all(row[1] != "withheld" and int(row[1]) >= 10 for row in periods)
    received, assessed, base = int(total[1]), int(total[4]), int(total[5])
    assert received == sum(int(row[1]) for row in periods) and base == received
    assert 0 < assessed < received
    assert total[2] != "withheld" and 0 < int(total[2]) < int(total[3])
    assert total[6] != "withheld" and int(total[6]) >= 10  # check-ins posted


def _opened(sealed: dict[str, Any], secret_key: bytes, pad_block: int) -> dict[str, Any]:
    return crypto.open_document(crypto.b64decode(sealed["payload"]),
                                crypto.b64decode(sealed["key_slot"]), secret_key, pad_block)


def test_the_demo_inspector_key_opens_the_sealed_persons_records_notes_and_reasons(
        shared_demo_app: Flask) -> None:
    client = shared_demo_app.test_client()
    keys = _sign_in(client)
    with new_session(shared_demo_app) as session:
        ids = {reference: _by_reference(session, reference).id
               for reference in (demo_cases.CLOSED_CASE, demo_cases.RETALIATION_CASE,
                                 demo_cases.ORAL_AWAITING, demo_cases.ORAL_AGREED)}
    secret_key = _secret_key(client, ids[demo_cases.CLOSED_CASE], keys)
    closed = client.get(f"/cases/{ids[demo_cases.CLOSED_CASE]}/sealed").get_json()
    pad_block = closed["pad_block"]
    persons = client.get(f"/cases/{ids[demo_cases.CLOSED_CASE]}/persons").get_json()["persons"]
    assert {tuple(_opened(p, secret_key, pad_block).values()) for p in persons} == set(
        demo_cases.PERSONS)
    said = {_opened(step, secret_key, pad_block)["text"] for p in persons for step in p["steps"]}
    assert said == {demo_cases.INFORMED, demo_cases.INFORMED_WITNESS, demo_cases.STATEMENT,
                    demo_cases.DEFERRAL}
    [tombstone] = closed["tombstones"]
    assert _opened(tombstone["reason"], secret_key, pad_block) == {
        "reason": demo_cases.DELETION_REASON}
    linked = client.get(f"/cases/{ids[demo_cases.RETALIATION_CASE]}/sealed").get_json()
    notes = {m["record"]: _opened(m, secret_key, pad_block) for m in linked["messages"]
             if m.get("record")}
    assert notes["risk_assessment"]["risk"] == {"level": "high"}
    assert notes["measure"]["text"] == demo_cases.MEASURE
    assert notes["measure"]["measure"]["type"] == "transfer"
    for reference, minutes, agreed in ((demo_cases.ORAL_AWAITING, 0, False),
                                       (demo_cases.ORAL_AGREED, 1, True)):
        oral = client.get(f"/cases/{ids[reference]}/sealed").get_json()
        assert _opened(oral["report"], secret_key, pad_block)["minutes"] == \
            demo_cases.ORAL_MINUTES[minutes]
        [record] = [m for m in oral["messages"] if m["kind"] == "record"]
        assert _opened(record, secret_key, pad_block)["text"] == demo_cases.ORAL_MINUTES[minutes]
        assert (record["agreed_on"] is not None) is agreed


def test_the_published_receipts_open_the_demo_reporters_mailboxes(shared_demo_app: Flask) -> None:
    reporter = ReporterClient(shared_demo_app.test_client())
    box = reporter.mailbox(demo_cases.RECEIPTS[demo_cases.CLOSED_CASE])
    assert box["report"]["document"]["answers"]["what"] == demo_cases.CLOSED_REPORT
    assert [case["case"] for case in box["linked"]] == [demo_cases.RETALIATION_CASE]
    assert len(box["check_ins"]) == 1 and box["report"]["outcome"] == "substantiated"
    assert [m["deleted"] for m in box["messages"]] == [False, True, False, False]
    assert [t["kind"] for t in box["tombstones"]] == ["message"]
    assert "reason" not in box["tombstones"][0]  # the reason is the inspectors' only
    keys = reporter.derive(demo_cases.RECEIPTS[demo_cases.CLOSED_CASE])
    linked = reporter.http.post("/api/v1/mailbox", json={
        "lookup": crypto.b64encode(keys.lookup), "case": demo_cases.RETALIATION_CASE}).get_json()
    assert linked["report"]["meeting"]["state"] == "requested"
    for reference, agreed in ((demo_cases.ORAL_AWAITING, False),
                              (demo_cases.ORAL_AGREED, True)):
        oral = reporter.mailbox(demo_cases.RECEIPTS[reference])
        [record] = oral["messages"]
        assert record["kind"] == "record" and (record["agreed_on"] is not None) is agreed
        assert record["document"]["text"] == oral["report"]["document"]["minutes"]
