"""Risk assessments and protective measures: sealed notes of the case's readers, marked in
clear only as what they are and the day, audited without content."""

from __future__ import annotations

import json

from sqlalchemy import select

from integrity.audit import AuditEntry
from integrity.cases.protection_models import ProtectionRecord
from integrity.reporting.models import Message
from tests.conftest import csrf_token
from tests.helpers.reports import first_case, open_item, seal_item
from tests.protocol_client import ReporterClient

REASONS = "The shift chief knows who was on duty at gate 3 that night."
MEASURE = "Moved to the Kalna crossing at her request."


def test_risk_assessments_and_measures_are_sealed_and_only_their_kind_is_clear(
        app, client, login, db, channel, keyed_inspector) -> None:
    account, pair = keyed_inspector
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, {"what": "Cash for waved-through trucks."})
    login(account)
    report_id = first_case(client)
    headers = {"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    risk = seal_item(data, {"text": REASONS, "attachments": [],
                            "risk": {"level": "high"}}, note=True)
    measure = seal_item(data, {"text": MEASURE, "attachments": [],
                               "measure": {"type": "transfer", "on": "2027-02-01"}}, note=True)
    url = f"/cases/{report_id}/protection"
    assert client.post(url, json={**risk, "record": "risk_assessment"},
                       headers=headers).status_code == 201
    assert client.post(url, json={**measure, "record": "measure"},
                       headers=headers).status_code == 201
    # A record of another kind, or sealed to the reporter, is refused.
    refused = client.post(url, json={**risk, "record": "verdict"}, headers=headers)
    assert refused.status_code == 400
    to_reporter = seal_item(data, {"text": "x", "attachments": []}, note=False)
    assert client.post(url, json={**to_reporter, "record": "measure"},
                       headers=headers).status_code == 400

    data = client.get(f"/cases/{report_id}/sealed").get_json()
    records = {m["record"]: open_item(data, m, pair) for m in data["messages"]
               if m.get("record")}
    assert records["risk_assessment"]["risk"] == {"level": "high"}
    assert records["measure"]["text"] == MEASURE
    # In clear: what each is, and its day; the level, reasons and measure are sealed.
    db.expire_all()
    kinds = sorted(r.kind for r in db.scalars(select(ProtectionRecord)))
    assert kinds == ["measure", "risk_assessment"]
    stored = b"".join(m.payload for m in db.scalars(select(Message)))
    for secret in (REASONS, MEASURE, "high", "transfer"):
        assert secret.encode() not in stored
    entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action.in_(
        ["risk_assessed", "protective_measure_recorded"]))))
    assert len(entries) == 2
    assert all(REASONS not in json.dumps(e.details or {}) for e in entries)
    page = client.get(f"/cases/{report_id}").get_data(as_text=True)
    assert 'id="case-risk"' in page and "Assessed on" in page and REASONS not in page
    # The case's history says what was done, in words.
    history = client.get(f"/cases/{report_id}/history").get_data(as_text=True)
    assert "Assessed the risk of harm to the reporter" in history
    assert "Recorded a protective measure" in history and "Other action" not in history
    # The reporter never sees them.
    assert reporter.mailbox(filed.receipt)["messages"] == []
