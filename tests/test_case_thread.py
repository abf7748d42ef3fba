"""The case page's data and the inspectors' messages, driven by a Python client that seals as
the inspector's browser will: the server hands out ciphertext and the caller's slots only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import crypto
from integrity.audit import AuditEntry, verify
from integrity.models import Channel, Role, User
from tests.conftest import csrf_token
from tests.helpers.reports import first_case, open_item, seal_item
from tests.protocol_client import ReporterClient, Upload

ANSWERS = {"what": "Fuel tankers cross at night with no seal check."}


@pytest.fixture
def keyed_inspectors(db, make_account, channel):
    """Two inspectors who sign in, each with a key pair, recipients of the channel."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    result = []
    for _ in range(2):
        account = make_account(Role.INSPECTOR)
        pair = crypto.KeyPair.generate()
        user = db.get(User, account.id)
        user.public_key = pair.public_key
        ch.recipients.append(user)
        result.append((account, pair))
    db.commit()
    return result


def test_inspector_reads_replies_and_writes_notes_the_reporter_never_sees(
    app, client, login, channel, keyed_inspectors, db
) -> None:
    (first, first_pair), (second, second_pair) = keyed_inspectors
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS,
                          uploads=[Upload("seal.jpg", "image/jpeg", b"\xff\xd8" + bytes(500))])
    login(first)
    report_id = first_case(client)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    # Only this inspector's own slot is handed out, and it opens the report.
    document = open_item(data, data["report"], first_pair)
    assert document["answers"] == ANSWERS
    with pytest.raises(crypto.DecryptionError):
        open_item(data, data["report"], second_pair)
    token = csrf_token(client, f"/cases/{report_id}")
    headers = {"X-CSRFToken": token}
    reply = seal_item(data, {"text": "Thank you. Which night of the week?", "attachments": []},
                      note=False)
    assert client.post(f"/cases/{report_id}/messages", json=reply,
                       headers=headers).status_code == 201
    note = seal_item(data, {"text": "Check the night shift roster.", "attachments": []}, note=True)
    assert client.post(f"/cases/{report_id}/notes", json=note, headers=headers).status_code == 201
    # A note sealed to the reporter, or a reply missing them, is refused.
    bad = seal_item(data, {"text": "x", "attachments": []}, note=False)
    response = client.post(f"/cases/{report_id}/notes", json=bad, headers=headers)
    assert response.status_code == 400 and "must not have one" in response.get_json()["error"]
    # Without the form token in the header, nothing is accepted.
    assert client.post(f"/cases/{report_id}/messages", json=reply).status_code == 400

    box = reporter.mailbox(filed.receipt)
    assert [m["document"]["text"] for m in box["messages"]] == [
        "Thank you. Which night of the week?"]
    assert all(m["from"] == "inspector" for m in box["messages"])
    db.expire_all()
    from integrity.reporting.models import Report

    report = db.get(Report, report_id)
    # A question acknowledges the report; it is not feedback (test_feedback_deadline_...).
    assert report.status == "acknowledged" and report.feedback_on is None
    # The other inspector of the case opens the reply and the note with their own slots.
    other = app.test_client()
    from tests.helpers.pages import sign_in

    sign_in(other, second)
    data2 = other.get(f"/cases/{report_id}/sealed").get_json()
    texts = [open_item(data2, m, second_pair)["text"] for m in data2["messages"]]
    assert texts == ["Thank you. Which night of the week?", "Check the night shift roster."]
    assert [m["from"] for m in data2["messages"]] == ["inspector", "note"]
    assert verify(db).ok


def test_note_attachments_are_not_handed_to_the_reporter(app, client, login, channel,
                                                         keyed_inspectors) -> None:
    (first, _), _ = keyed_inspectors
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    login(first)
    report_id = first_case(client)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    upload_id, entry = reporter.upload(Upload("roster.pdf", "application/pdf", b"%PDF-1.4"))
    note = seal_item(data, {"text": "Roster attached.", "attachments": [entry]}, note=True)
    note["attachments"] = [upload_id]
    token = csrf_token(client, f"/cases/{report_id}")
    assert client.post(f"/cases/{report_id}/notes", json=note,
                       headers={"X-CSRFToken": token}).status_code == 201
    keys = reporter.derive(filed.receipt)
    with reporter.http.post("/api/v1/mailbox/attachment", json={
            "lookup": crypto.b64encode(keys.lookup), "id": upload_id}) as response:
        assert response.status_code == 404
    assert reporter.mailbox(filed.receipt)["messages"] == []


def test_case_data_is_refused_to_others(app, make_account, channel, keyed_inspectors,
                                        client) -> None:
    from tests.helpers.pages import sign_in

    (first, _), (second, _) = keyed_inspectors
    ReporterClient(app.test_client()).file(channel.slug, ANSWERS, excluded=[str(second.id)])
    outsider = app.test_client()
    sign_in(outsider, second)
    assert outsider.get("/cases/1/sealed").status_code == 404
    manager = app.test_client()
    sign_in(manager, make_account(Role.MANAGER))
    assert manager.get("/cases/1/sealed").status_code == 403
    assert client.get("/cases/1/sealed").status_code == 302


def _post(client, report_id: int, document: dict, **fields: object):
    """Send ``document`` to the reporter as the case page does, with the message's fields."""
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    body = {**seal_item(data, {"attachments": [], **document}, note=False), **fields}
    return client.post(f"/cases/{report_id}/messages", json=body,
                       headers={"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")})


def test_feedback_deadline_is_met_by_feedback_only(app, client, login, channel,
                                                   keyed_inspectors, db) -> None:
    """A clarifying question acknowledges the case and leaves feedback due: 3 months on it is
    overdue (in the inbox, the reminders and the deadlines); feedback meets it."""
    from datetime import datetime, timedelta

    from integrity.cases.deadlines import add_months, deadlines
    from integrity.cases.inbox import InboxFilters, Position, inbox
    from integrity.models import today
    from integrity.notifications.models import Notification
    from integrity.notifications.reminders import remind_deadlines
    from integrity.reporting.models import Report

    (first, _), _ = keyed_inspectors
    ReporterClient(app.test_client()).file(channel.slug, ANSWERS)
    login(first)
    report_id = first_case(client)
    assert _post(client, report_id, {"text": "Which night of the week?"}).status_code == 201
    db.expire_all()
    report = db.get(Report, report_id)
    assert (report.acknowledged_on, report.feedback_on) == (today(), None)
    assert [m.kind for m in report.messages] == ["message"]
    later = add_months(today(), 3) + timedelta(days=1)
    due = deadlines(report.created_on, report.acknowledged_on, report.feedback_on, later)
    assert due.pending == "feedback" and due.feedback_overdue
    user = db.get(User, first.id)
    overdue = InboxFilters.parse({"deadline": "feedback_overdue"})
    assert [row.id for row in inbox(db, user, overdue, Position.parse({}), later).rows] \
        == [report_id]
    readers = len(db.get(Report, report_id).readers)
    assert remind_deadlines(db, later, datetime(later.year, later.month, later.day, 6)) \
        == readers
    assert set(db.scalars(select(Notification.kind))) == {"case_new", "feedback_overdue"}
    db.commit()

    assert _post(client, report_id, {"text": "We checked the seals; the roster changes."},
                 kind="feedback").status_code == 201
    db.expire_all()
    report = db.get(Report, report_id)
    assert report.feedback_on == today() and report.next_due_on is None
    assert [m.kind for m in report.messages] == ["message", "feedback"]
    assert inbox(db, user, overdue, Position.parse({}), later).rows == []
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "message_sent")
                      .order_by(AuditEntry.seq.desc()))
    assert entry.facts == {"attachments": 0, "kind": "feedback"}


def test_a_final_notice_with_an_outcome_closes_the_case_and_the_mailbox_says_so(
    app, client, login, channel, keyed_inspectors, db
) -> None:
    from integrity.models import today
    from integrity.reporting.models import Report

    (first, _), _ = keyed_inspectors
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    login(first)
    report_id = first_case(client)
    # Closing from the status form before any final notice is refused, and nothing changes.
    token = csrf_token(client, f"/cases/{report_id}")
    client.post(f"/cases/{report_id}/status", data={
        "csrf_token": token, "status": "closed", "outcome": "substantiated"})
    db.expire_all()
    assert db.get(Report, report_id).status == "new"
    assert _post(client, report_id, {"text": "Thank you."}).status_code == 201
    assert _post(client, report_id, {"text": "The officer was moved; a file is open."},
                 kind="feedback").status_code == 201
    assert _post(client, report_id, {"text": "Proven: disciplinary measures follow."},
                 kind="final_notice", outcome="substantiated").status_code == 201
    db.expire_all()
    report = db.get(Report, report_id)
    assert (report.status, report.outcome, report.closed_on) == ("closed", "substantiated",
                                                                 today())
    assert report.final_notice_on == report.feedback_on == today()

    box = reporter.mailbox(filed.receipt)
    assert box["report"]["status"] == "closed" and box["report"]["outcome"] == "substantiated"
    assert [(m["kind"], m["document"]["text"]) for m in box["messages"]] == [
        ("message", "Thank you."),
        ("feedback", "The officer was moved; a file is open."),
        ("final_notice", "Proven: disciplinary measures follow.")]
    # The plain (no-JavaScript) mailbox says it in words, and names each kind of message.
    plain = app.test_client()
    page = plain.post("/mailbox", data={"csrf_token": csrf_token(plain, "/mailbox"),
                                        "receipt": filed.receipt}).get_data(as_text=True)
    assert "Case closed: the facts you reported were confirmed." in page
    assert page.count('class="kind"') == 2
    assert "Feedback" in page and "Final notice" in page
    # The case page labels them too, and so does the export for the offline station.
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    assert [m["kind"] for m in data["messages"]] == ["message", "feedback", "final_notice"]
    from crypto.offline import open_export
    from integrity.reporting.export import build_export

    export = build_export(db, app.extensions["integrity.settings"])
    (case,) = open_export(export, keyed_inspectors[0][1].secret_key)["reports"]
    assert case["outcome"] == "substantiated"
    assert [m["kind"] for m in case["messages"]] == ["message", "feedback", "final_notice"]


def test_a_final_notice_can_come_first_and_the_status_form_closes_after_it(
    app, client, login, channel, keyed_inspectors, db
) -> None:
    from integrity.reporting.models import Report

    (first, _), _ = keyed_inspectors
    ReporterClient(app.test_client()).file(channel.slug, ANSWERS)
    login(first)
    report_id = first_case(client)
    assert _post(client, report_id, {"text": "Not a matter for this unit."},
                 kind="final_notice").status_code == 201
    db.expire_all()
    assert db.get(Report, report_id).status == "acknowledged"
    token = csrf_token(client, f"/cases/{report_id}")
    client.post(f"/cases/{report_id}/status", data={
        "csrf_token": token, "status": "closed", "outcome": "not_in_scope"})
    db.expire_all()
    assert db.get(Report, report_id).outcome == "not_in_scope"


@pytest.mark.parametrize(("fields", "sentence"), [
    ({"kind": "notice"}, "The kind must be “message”, “feedback”, “final_notice” or “record”."),
    ({"kind": 3}, "The kind must be “message”, “feedback”, “final_notice” or “record”."),
    ({"kind": "feedback", "outcome": "substantiated"},
     "Only a final notice closes the case, with one of the outcomes."),
    ({"kind": "final_notice", "outcome": "proven"},
     "Only a final notice closes the case, with one of the outcomes."),
])
def test_a_message_of_unknown_kind_is_refused_and_nothing_is_stored(
    app, client, login, channel, keyed_inspectors, db, fields, sentence
) -> None:
    from integrity.reporting.models import Message

    (first, _), _ = keyed_inspectors
    ReporterClient(app.test_client()).file(channel.slug, ANSWERS)
    login(first)
    report_id = first_case(client)
    response = _post(client, report_id, {"text": "x"}, **fields)
    assert response.status_code == 400 and response.get_json() == {"error": sentence}
    assert db.scalar(select(Message.id)) is None


def test_a_note_is_never_feedback_and_a_closed_case_does_not_close_again(
    app, client, login, channel, keyed_inspectors, db
) -> None:
    from integrity.reporting.models import Message

    (first, _), _ = keyed_inspectors
    ReporterClient(app.test_client()).file(channel.slug, ANSWERS)
    login(first)
    report_id = first_case(client)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    note = {**seal_item(data, {"text": "n", "attachments": []}, note=True), "kind": "feedback"}
    response = client.post(f"/cases/{report_id}/notes", json=note,
                           headers={"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")})
    assert response.status_code == 400 and "internal note" in response.get_json()["error"]
    assert _post(client, report_id, {"text": "Closed."}, kind="final_notice",
                 outcome="unsubstantiated").status_code == 201
    again = _post(client, report_id, {"text": "Closed again."}, kind="final_notice",
                  outcome="substantiated")
    assert again.status_code == 400
    assert again.get_json() == {"error": "A case cannot go from “closed” to “closed”."}
    assert db.scalar(select(func.count()).select_from(Message)) == 1
