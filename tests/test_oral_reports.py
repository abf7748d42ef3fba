"""Oral reports recorded by an inspector, driven by a Python client that seals as the
inspector's browser does (the page itself is tested in tests/browser/test_browser_oral.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import crypto
from integrity.audit import AuditEntry
from integrity.models import Role, User
from integrity.reporting.models import Message, MessageKind, Report
from tests.conftest import csrf_token
from tests.protocol_client import ReporterClient

MINUTES = "Minutes of the meeting of 2 December: the officer at gate 2 takes cash."


@pytest.fixture
def inspector(keyed_inspector):
    return keyed_inspector[0]


def _body(app, channel, excluded=()) -> tuple[dict, str]:
    """An oral report's body as the page sends it, and the receipt it drew."""
    client = ReporterClient(app.test_client())
    filed = client.report_body(channel.slug, {}, excluded=list(excluded))
    recipients = [r for r in client.channel(channel.slug)["recipients"] if r["id"] not in excluded]
    sealed = crypto.seal_document({"text": MINUTES, "attachments": []},
                                  client.readers(recipients, filed.keys.public_key),
                                  client.config["pad_block"])
    record = {"payload": crypto.b64encode(sealed.payload),
              "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
              "kind": "final_notice", "outcome": "substantiated"}
    return {**filed.body, "record": record}, filed.receipt


def _post(client, body):
    return client.post("/cases/oral", json=body,
                       headers={"X-CSRFToken": csrf_token(client, "/cases/oral")})


def test_an_oral_report_is_stored_with_its_record_and_audited(
    app, client, login, channel, inspector, db
) -> None:
    login(inspector)
    assert "Record an oral report" in client.get("/cases/").get_data(as_text=True)
    page = client.get("/cases/oral").get_data(as_text=True)
    assert 'id="oral-form"' in page and channel.slug in page
    body, receipt = _body(app, channel)
    response = _post(client, body)
    assert response.status_code == 201, response.get_data(as_text=True)
    report = db.scalar(select(Report))
    assert response.get_json() == {"status": "recorded", "case": f"/cases/{report.id}"}
    assert report.oral and report.status == "acknowledged"
    (record,) = db.scalars(select(Message)).all()
    # A kind or an outcome sent with the record is not taken: it is a record, nothing closes.
    assert record.kind == MessageKind.RECORD and record.author_id == inspector.id
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "oral_report_recorded"))
    assert entry.actor_id == inspector.id and entry.subject == f"report:{report.id}"
    box = ReporterClient(app.test_client()).mailbox(receipt)
    assert box["messages"][0]["document"]["text"] == MINUTES
    assert box["messages"][0]["kind"] == "record"


def test_an_oral_report_is_refused_whole_without_its_record_or_outside_ones_channels(
    app, client, login, channel, inspector, db, make_account
) -> None:
    login(inspector)
    body, _receipt = _body(app, channel)
    response = _post(client, {k: v for k, v in body.items() if k != "record"})
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "An oral report needs its record for the reporter to agree."}
    left_out, _receipt = _body(app, channel, excluded=[str(inspector.id)])
    assert _post(client, left_out).status_code == 400
    assert db.scalar(select(func.count()).select_from(Report)) == 0


def test_an_inspector_outside_the_channel_records_no_oral_report(
    app, client, login, channel, make_account, db
) -> None:
    outsider = make_account(Role.INSPECTOR)
    db.get(User, outsider.id).public_key = crypto.KeyPair.generate().public_key
    db.commit()
    login(outsider)
    page = client.get("/cases/oral").get_data(as_text=True)
    assert "You receive the reports of no open channel" in page and "oral-form" not in page
    body, _receipt = _body(app, channel)
    response = _post(client, body)
    assert response.status_code == 400
    assert "only in a channel whose reports you receive" in response.get_json()["error"]
    assert db.scalar(select(func.count()).select_from(Report)) == 0
