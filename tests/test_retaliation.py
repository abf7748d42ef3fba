"""Reports of retaliation made from the mailbox: a linked case of its own, in the same channel,
sealed to the same readers, with its own deadlines, reached with the same receipt."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

import crypto
from integrity.cases.deadlines import acknowledge_by, add_months
from integrity.models import Channel, Role, User, today
from integrity.reporting.models import KeySlot, Report
from tests.conftest import csrf_token
from tests.helpers.reports import MAILBOX_TOKEN, hidden_fields, open_item
from tests.protocol_client import ReporterClient

ANSWERS = {"what": "The shift chief waves trucks through for cash."}
WHAT = "Since my report I was moved to night shifts and my leave was refused."


@pytest.fixture
def keyed(db, make_account, channel):
    """Two inspectors with key pairs, recipients of the channel."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    found = []
    for _ in range(2):
        account = make_account(Role.INSPECTOR)
        pair = crypto.KeyPair.generate()
        user = db.get(User, account.id)
        user.public_key = pair.public_key
        ch.recipients.append(user)
        found.append((account, pair))
    db.commit()
    return found


def retaliation_body(reporter: ReporterClient, receipt: str, text: str = WHAT) -> dict[str, Any]:
    """A protocol 1 report of retaliation, sealed as the mailbox page seals it."""
    keys = reporter.derive(receipt)
    box = reporter.mailbox(receipt)
    sealed = crypto.seal_document(
        {"answers": {"what_happened": text}, "attachments": [], "language": "en"},
        reporter.readers(box["recipients"], keys.public_key), reporter.config["pad_block"])
    return {"lookup": crypto.b64encode(keys.lookup), "payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()}}


def _lookup(reporter: ReporterClient, receipt: str) -> str:
    return crypto.b64encode(reporter.derive(receipt).lookup)


def test_a_report_of_retaliation_is_a_linked_case_with_its_own_deadlines(
        app, client, login, db, channel, keyed) -> None:
    (first, first_pair), (second, _) = keyed
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    response = reporter.http.post("/api/v1/mailbox/retaliation",
                                  json=retaliation_body(reporter, filed.receipt))
    assert response.status_code == 201, response.get_data(as_text=True)
    reference = response.get_json()["case"]
    db.expire_all()
    original = db.scalar(select(Report).where(Report.kind == "report"))
    linked = db.scalar(select(Report).where(Report.reference == reference))
    assert linked.kind == "retaliation" and linked.retaliation_of_id == original.id
    assert linked.channel_id == original.channel_id
    assert {u.id for u in linked.readers} == {u.id for u in original.readers}
    # Its own deadlines, counted from its own day, as for any case.
    assert linked.status == "new" and linked.next_due_on == acknowledge_by(today())
    assert linked.lookup_hash != original.lookup_hash
    # Sealed to the original's readers, the reporter and nobody else.
    slots = set(db.scalars(select(KeySlot.reader).where(KeySlot.report_id == linked.id,
                                                        KeySlot.message_id.is_(None))))
    assert slots == {str(u.id) for u in original.readers} | {"reporter"}
    assert {str(first.id), str(second.id)} <= slots

    # The same receipt's mailbox lists it, and opens it by its reference.
    box = reporter.mailbox(filed.receipt)
    assert [c["case"] for c in box["linked"]] == [reference]
    assert box["case"] is None and box["kind"] == "report"
    opened = reporter.http.post("/api/v1/mailbox", json={
        "lookup": _lookup(reporter, filed.receipt), "case": reference}).get_json()
    assert opened["case"] == reference and opened["kind"] == "retaliation"
    assert opened["questions"][0]["key"] == "what_happened"
    document = crypto.open_document(
        crypto.b64decode(opened["report"]["payload"]),
        crypto.b64decode(opened["report"]["key_slot"]), filed.keys.secret_key,
        reporter.config["pad_block"])
    assert document["answers"] == {"what_happened": WHAT}
    # Another case's reference, or a made-up one, is the mailbox's one 404.
    for wrong in (original.reference, "ZZZZ-ZZZZ", 12):
        refused = reporter.http.post("/api/v1/mailbox", json={
            "lookup": _lookup(reporter, filed.receipt), "case": wrong})
        assert refused.status_code == 404

    # The inspector reads it with their key; both case pages show the link, the inbox a badge.
    login(first)
    data = client.get(f"/cases/{linked.id}/sealed").get_json()
    assert open_item(data, data["report"], first_pair)["answers"] == {"what_happened": WHAT}
    assert data["kind"] == "retaliation" and data["questions"][0]["key"] == "what_happened"
    page = client.get(f"/cases/{linked.id}").get_data(as_text=True)
    assert original.reference in page and 'id="case-linked"' in page
    page = client.get(f"/cases/{original.id}").get_data(as_text=True)
    assert reference in page
    inbox = client.get("/cases/").get_data(as_text=True)
    assert inbox.count('class="badge retaliation"') == 1


def test_the_reporter_and_the_inspector_write_in_the_linked_case(
        app, client, login, db, channel, keyed) -> None:
    (first, first_pair), _ = keyed
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    reference = reporter.http.post("/api/v1/mailbox/retaliation", json=retaliation_body(
        reporter, filed.receipt)).get_json()["case"]
    keys = filed.keys
    box = reporter.mailbox(filed.receipt)
    sealed = crypto.seal_document({"text": "It started the week after.", "attachments": []},
                                  reporter.readers(box["recipients"], keys.public_key),
                                  reporter.config["pad_block"])
    sent = reporter.http.post("/api/v1/mailbox/messages", json={
        "lookup": crypto.b64encode(keys.lookup), "case": reference,
        "payload": crypto.b64encode(sealed.payload),
        "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()}})
    assert sent.status_code == 201
    db.expire_all()
    linked = db.scalar(select(Report).where(Report.reference == reference))
    original = linked.retaliation_of
    assert len(linked.messages) == 1 and original.messages == []
    # The receipt's own case is still what the mailbox opens without "case".
    assert reporter.mailbox(filed.receipt)["messages"] == []


def test_a_linked_case_cannot_have_its_own_linked_cases_and_bad_bodies_store_nothing(
        app, db, channel, keyed) -> None:
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    body = retaliation_body(reporter, filed.receipt)
    body["key_slots"].pop("reporter")
    refused = reporter.http.post("/api/v1/mailbox/retaliation", json=body)
    assert refused.status_code == 400 and "missing" in refused.get_json()["error"]
    wrong = dict(retaliation_body(reporter, filed.receipt), lookup=crypto.b64encode(bytes(32)))
    assert reporter.http.post("/api/v1/mailbox/retaliation", json=wrong).status_code == 404
    db.expire_all()
    assert db.scalar(select(Report).where(Report.kind == "retaliation")) is None


def test_without_javascript_the_server_seals_the_report_of_retaliation(
        app, client, login, db, channel, keyed) -> None:
    (first, first_pair), _ = keyed
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    http = app.test_client()
    page = http.post("/mailbox", data={"csrf_token": csrf_token(http, "/mailbox"),
                                       "receipt": filed.receipt})
    html = page.get_data(as_text=True)
    token = MAILBOX_TOKEN.search(html).group(1)
    assert 'action="/mailbox/retaliation"' in html
    fields = hidden_fields(html, "/mailbox/retaliation")[0]
    answer = http.post("/mailbox/retaliation", data={**fields, "mailbox_token": token,
                                                     "what_happened": WHAT})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    shown = answer.get_data(as_text=True)
    assert "Your report of retaliation was sent" in shown and WHAT in shown
    db.expire_all()
    linked = db.scalar(select(Report).where(Report.kind == "retaliation"))
    assert linked is not None and linked.next_due_on == acknowledge_by(today())
    login(first)
    data = client.get(f"/cases/{linked.id}/sealed").get_json()
    assert open_item(data, data["report"], first_pair)["answers"] == {"what_happened": WHAT}
    # An empty one is refused with its sentence, and nothing is stored.
    fields = hidden_fields(shown, "/mailbox/retaliation")[0]
    empty = http.post("/mailbox/retaliation", data={**fields, "mailbox_token": token,
                                                    "what_happened": "  "})
    assert empty.status_code == 400
    assert "Say what happened" in empty.get_data(as_text=True)
    assert len(list(db.scalars(select(Report).where(Report.kind == "retaliation")))) == 1


def test_the_feedback_deadline_of_a_linked_case_is_three_months_from_its_acknowledgement(
        app, db, channel, keyed) -> None:
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    reporter.http.post("/api/v1/mailbox/retaliation", json=retaliation_body(reporter,
                                                                             filed.receipt))
    db.expire_all()
    linked = db.scalar(select(Report).where(Report.kind == "retaliation"))
    linked.acknowledged_on = today() + timedelta(days=2)
    db.commit()
    assert linked.next_due_on == add_months(linked.acknowledged_on, 3)
