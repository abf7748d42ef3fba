"""Records to agree: an inspector sends minutes or a transcript as a record, the reporter
agrees it or corrects it in the mailbox (with or without JavaScript), and the case page and
the audit log show which."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

import crypto
from integrity.audit import AuditEntry, verify
from integrity.cases.records import RecordState, record_state
from integrity.models import Channel, Role, User
from integrity.notifications.checks import verify_audit
from integrity.notifications.models import Notification
from integrity.reporting.models import Message, MessageKind
from tests.conftest import csrf_token
from tests.helpers.reports import RECEIPT, file_plain_form, first_case, hidden_fields, seal_item
from tests.protocol_client import ReporterClient

ANSWERS = {"what": "The night shift waves one haulier through."}
MINUTES = "Minutes of the call of 3 December: the reporter saw the same lorry twice."


@pytest.fixture
def inspector(db, make_account, channel):
    """An inspector who signs in, with a key, a recipient of the channel."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    account = make_account(Role.INSPECTOR)
    pair = crypto.KeyPair.generate()
    user = db.get(User, account.id)
    user.public_key = pair.public_key
    ch.recipients.append(user)
    db.commit()
    return account, pair


def _send_record(client, report_id: int, text: str = MINUTES) -> None:
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    body = {**seal_item(data, {"text": text, "attachments": []}, note=False), "kind": "record"}
    response = client.post(f"/cases/{report_id}/messages", json=body,
                           headers={"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")})
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_record_is_agreed_in_the_mailbox_dated_audited_and_shown_on_the_case(
    app, client, login, channel, inspector, db
) -> None:
    account, _pair = inspector
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    login(account)
    report_id = first_case(client)
    _send_record(client, report_id)
    box = reporter.mailbox(filed.receipt)
    (record,) = box["messages"]
    assert record["kind"] == "record" and record["document"]["text"] == MINUTES
    assert record["agreed_on"] is None and record["corrected_on"] is None
    # The mailbox's other keys are as before: a report without a request says nothing of one.
    assert "meeting" not in box["report"]
    lookup = crypto.b64encode(filed.keys.lookup)
    api = app.test_client()
    assert api.post("/api/v1/mailbox/agree", json={"lookup": lookup, "record": "2"}
                    ).status_code == 400
    agreed = api.post("/api/v1/mailbox/agree", json={"lookup": lookup, "record": "1"})
    assert agreed.status_code == 201 and agreed.get_json() == {"status": "agreed"}
    again = api.post("/api/v1/mailbox/agree", json={"lookup": lookup, "record": "1"})
    assert again.status_code == 400
    assert again.get_json() == {"error": "You have already agreed to this record."}
    assert api.post("/api/v1/mailbox/agree", json={"lookup": crypto.b64encode(bytes(32)),
                                                   "record": "1"}).status_code == 404
    assert reporter.mailbox(filed.receipt)["messages"][0]["agreed_on"] == date.today().isoformat()
    sealed = client.get(f"/cases/{report_id}/sealed").get_json()
    assert sealed["messages"][0]["agreed_on"] == date.today().isoformat()
    # Not in the audit log at once: an entry now would time the reporter's action.
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "record_agreed")) is None
    # The inspector is told as of a reporter's message.
    assert db.scalar(select(Notification).where(Notification.kind == "reporter_message"))
    history = client.get(f"/cases/{report_id}/history").get_data(as_text=True)
    assert "Sent the reporter a record to agree" in history
    assert "Agreed that a record is accurate" not in history
    # The next night's audit enters it with the day's register, dated to its day.
    tomorrow = date.today() + timedelta(days=1)
    assert verify_audit(db, tomorrow, datetime.combine(tomorrow, time(2, 30), UTC))
    db.commit()
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "record_agreed"))
    assert entry.actor == "reporter" and entry.actor_id is None
    assert entry.subject == f"report:{report_id}"
    assert entry.facts["day"] == date.today().isoformat()
    register = db.scalar(select(AuditEntry).where(AuditEntry.action == "register"))
    assert register.seq < entry.seq
    assert verify(db).ok
    history = client.get(f"/cases/{report_id}/history").get_data(as_text=True)
    assert "Agreed that a record is accurate" in history
    # Entered once: the next night registers the next day only.
    later = tomorrow + timedelta(days=1)
    verify_audit(db, later, datetime.combine(later, time(2, 30), UTC))
    db.commit()
    assert len(db.scalars(select(AuditEntry).where(
        AuditEntry.action == "record_agreed")).all()) == 1


def agreed_on_today(db) -> int:
    """Records agreed today, as the nightly audit will enter them."""
    return len(db.scalars(select(Message).where(Message.agreed_on == date.today())).all())


def test_a_correction_names_the_record_and_a_later_agreement_stands(
    app, client, login, channel, inspector, db
) -> None:
    account, _pair = inspector
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    login(account)
    report_id = first_case(client)
    _send_record(client, report_id)
    keys = filed.keys
    box = reporter.mailbox(filed.receipt)
    sealed = crypto.seal_document({"text": "It was twice, not three times.", "attachments": []},
                                  reporter.readers(box["recipients"], keys.public_key),
                                  reporter.config["pad_block"])
    body = {"lookup": crypto.b64encode(keys.lookup), "payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()}}
    api = app.test_client()
    # A place that holds no record is refused, and nothing is stored.
    assert api.post("/api/v1/mailbox/messages", json={**body, "corrects": "5"}).status_code == 400
    assert api.post("/api/v1/mailbox/messages", json={**body, "corrects": "1"}).status_code == 201
    record = db.scalar(select(Message).where(Message.kind == MessageKind.RECORD))
    db.refresh(record)
    assert record_state(record) is RecordState.CORRECTED
    assert client.get(f"/cases/{report_id}/sealed").get_json()["messages"][0]["corrected_on"]
    assert api.post("/api/v1/mailbox/agree", json={"lookup": body["lookup"], "record": "1"}
                    ).status_code == 201
    db.refresh(record)
    assert record_state(record) is RecordState.AGREED


def test_a_note_cannot_be_a_record(app, client, login, channel, inspector, db) -> None:
    account, _pair = inspector
    ReporterClient(app.test_client()).file(channel.slug, ANSWERS)
    login(account)
    report_id = first_case(client)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    note = {**seal_item(data, {"text": "n", "attachments": []}, note=True), "kind": "record"}
    response = client.post(f"/cases/{report_id}/notes", json=note,
                           headers={"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")})
    assert response.status_code == 400
    assert db.scalar(select(Message.id)) is None


def test_without_javascript_the_reporter_agrees_or_corrects_a_record(
    app, client, login, channel, inspector, db
) -> None:
    account, _pair = inspector
    reporter = app.test_client()
    page = file_plain_form(reporter, channel).get_data(as_text=True)
    receipt = RECEIPT.search(page).group(1)
    login(account)
    report_id = first_case(client)
    _send_record(client, report_id)
    _send_record(client, report_id, "Transcript of the voice message.")
    opened = reporter.post("/mailbox", data={"csrf_token": csrf_token(reporter, "/mailbox"),
                                             "receipt": receipt}).get_data(as_text=True)
    assert opened.count("Do you agree that this record is accurate?") == 2
    assert MINUTES in opened
    form = hidden_fields(opened, "/mailbox/agree")[0]
    assert form["record"] == "1"
    agreed = reporter.post("/mailbox/agree", data=form)
    page = agreed.get_data(as_text=True)
    assert agreed.status_code == 200 and "Thank you: your agreement was recorded." in page
    assert "You agreed on" in page and page.count("Do you agree") == 1
    # The second record corrected with an ordinary reply that names it.
    reply = hidden_fields(page, "/mailbox/reply")[0]
    response = reporter.post("/mailbox/reply", data={
        **reply, "text": "I said Tuesday, not Thursday.", "corrects": "2"},
        content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert "You sent a correction on" in response.get_data(as_text=True)
    states = [record_state(m) for m in db.scalars(
        select(Message).where(Message.kind == MessageKind.RECORD).order_by(Message.position))]
    assert states == [RecordState.AGREED, RecordState.CORRECTED]
    assert agreed_on_today(db) == 1
