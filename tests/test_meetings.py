"""Requests for a meeting or a call: asked on the report form or in the mailbox (with or
without JavaScript), tracked on the case with a due day, marked in the inbox, overdue once the
day passes, and closed by an inspector (arranged, held, or declined with a message)."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import date, datetime, timedelta
from email.policy import default as default_policy

import pytest
from sqlalchemy import func, select, update

import crypto
from integrity.audit import AuditEntry, verify
from integrity.cases import views as case_views
from integrity.models import Channel, Role, User
from integrity.notifications.models import Notification
from integrity.notifications.outbox import Kind
from integrity.notifications.reminders import remind_meetings
from integrity.notifications.sender import send_due
from integrity.reporting.models import MeetingRequest, MeetingState, Message, Report
from tests.conftest import csrf_token
from tests.helpers.reports import (
    RECEIPT,
    file_plain_form,
    first_case,
    hidden_fields,
    plain_mailbox_token,
    seal_item,
)
from tests.protocol_client import ReporterClient

ANSWERS = {"what": "Fuel trucks cross at night with no seal check."}
REQUESTED = "Meeting requested: answer by"
OVERDUE = "Meeting requested: overdue since"


@pytest.fixture
def inspector(db, make_account, channel):
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.meeting_days = 10
    account = make_account(Role.INSPECTOR)
    user = db.get(User, account.id)
    user.public_key = crypto.KeyPair.generate().public_key
    ch.recipients.append(user)
    db.commit()
    return account


def _requests(db) -> list[MeetingRequest]:
    db.expire_all()
    return list(db.scalars(select(MeetingRequest).order_by(MeetingRequest.requested_on,
                                                              MeetingRequest.position)))


def _inbox(client, **args: str) -> str:
    return client.get("/cases/", query_string=args).get_data(as_text=True)


def test_a_request_on_the_form_is_tracked_marked_goes_overdue_and_is_answered(
    app, client, login, channel, inspector, db, monkeypatch
) -> None:
    reporter = ReporterClient(app.test_client())
    filed = reporter.report_body(channel.slug, ANSWERS)
    filed.body["meeting"] = True
    assert reporter.send(filed).response.status_code == 201
    reporter.file(channel.slug, {"what": "Another report, no meeting asked."})
    (request,) = _requests(db)
    today = date.today()
    assert (request.requested_on, request.due_on, request.state) == (
        today, today + timedelta(days=10), MeetingState.REQUESTED)
    login(inspector)
    page = _inbox(client)
    assert page.count(REQUESTED) == 1 and OVERDUE not in page
    assert _inbox(client, deadline="meeting").count('class="reference"') == 1
    assert _inbox(client, deadline="meeting_overdue").count('class="reference"') == 0
    # The clock moves past the due day: the request is overdue, in the inbox and its filter.
    monkeypatch.setattr(case_views, "today", lambda: today + timedelta(days=11))
    page = _inbox(client)
    assert OVERDUE in page and REQUESTED not in page
    assert _inbox(client, deadline="meeting_overdue").count('class="reference"') == 1
    report_id = request.report_id
    case_page = client.get(f"/cases/{report_id}").get_data(as_text=True)
    assert "Overdue: answer by" in case_page
    token = csrf_token(client, f"/cases/{report_id}")
    answered = client.post(f"/cases/{report_id}/meeting",
                           data={"csrf_token": token, "answer": "arranged"})
    assert answered.status_code == 302
    assert _requests(db)[0].state is MeetingState.ARRANGED
    assert "Meeting arranged" in _inbox(client) and OVERDUE not in _inbox(client)
    assert "Meeting arranged" not in _inbox(client, deadline="meeting_overdue")
    client.post(f"/cases/{report_id}/meeting", data={"csrf_token": token, "answer": "held"})
    (request,) = _requests(db)
    assert request.state is MeetingState.HELD and request.answered_on == today
    assert _inbox(client, deadline="meeting").count('class="reference"') == 0
    # Held once, nothing is left to answer.
    client.post(f"/cases/{report_id}/meeting", data={"csrf_token": token, "answer": "held"})
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "meeting_answered")
                         .order_by(AuditEntry.seq)).all()
    assert [e.facts["state"] for e in entries] == ["arranged", "held"]
    assert verify(db).ok
    # The reporter's mailbox says where the request stands.
    box = reporter.mailbox(filed.receipt)
    assert box["report"]["meeting"] == {
        "state": "held", "requested_on": today.isoformat(),
        "due_on": (today + timedelta(days=10)).isoformat(), "answered_on": today.isoformat()}


def test_a_request_from_the_mailbox_and_a_decline_with_its_reason(
    app, client, login, channel, inspector, db
) -> None:
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    keys = filed.keys
    box = reporter.mailbox(filed.receipt)
    sealed = crypto.seal_document({"text": "Call me after 18:00 on the number I gave.",
                                   "attachments": []},
                                  reporter.readers(box["recipients"], keys.public_key),
                                  reporter.config["pad_block"])
    body = {"lookup": crypto.b64encode(keys.lookup), "payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()}}
    api = app.test_client()
    refused = api.post("/api/v1/mailbox/messages", json={**body, "meeting": "yes"})
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "The field “meeting” must be true or false."}
    assert db.scalar(select(func.count()).select_from(Message)) == 0
    assert api.post("/api/v1/mailbox/messages", json={**body, "meeting": True}).status_code == 201
    assert len(_requests(db)) == 1
    login(inspector)
    report_id = first_case(client)
    assert REQUESTED in _inbox(client)
    assert "This message declines the meeting or call" in client.get(
        f"/cases/{report_id}").get_data(as_text=True)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    reason = {**seal_item(data, {"text": "We cannot meet outside the office; please write.",
                                 "attachments": []}, note=False), "meeting": "declined"}
    headers = {"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}
    assert client.post(f"/cases/{report_id}/notes", json=reason,
                       headers=headers).status_code == 400
    assert client.post(f"/cases/{report_id}/messages", json=reason,
                       headers=headers).status_code == 201
    (request,) = _requests(db)
    assert request.state is MeetingState.DECLINED and request.answered_by_id == inspector.id
    # Nothing left to decline: the next such message is refused and not stored.
    again = client.post(f"/cases/{report_id}/messages", json=reason, headers=headers)
    assert again.status_code == 400
    assert again.get_json()["error"] == ("No request for a meeting or a call is waiting on "
                                         "this case.")
    assert db.scalar(select(func.count()).select_from(Message)) == 2
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "meeting_answered")
                     ).facts["state"] == "declined"
    # A new request after the answer is a new one.
    assert api.post("/api/v1/mailbox/messages", json={**body, "meeting": True}).status_code == 201
    assert [r.state for r in _requests(db)] == [MeetingState.DECLINED, MeetingState.REQUESTED]


def test_without_javascript_the_form_and_the_mailbox_ask_for_a_meeting(
    app, client, login, channel, inspector, db
) -> None:
    reporter = app.test_client()
    form = reporter.get(f"/report/{channel.slug}").get_data(as_text=True)
    assert "I would also like a meeting or a call with an inspector" in form
    assert "an inspector answers within 10 days" in form
    page = file_plain_form(reporter, channel, meeting="1").get_data(as_text=True)
    receipt = RECEIPT.search(page).group(1)
    (request,) = _requests(db)
    assert request.state is MeetingState.REQUESTED
    opened = reporter.post("/mailbox", data={"csrf_token": csrf_token(reporter, "/mailbox"),
                                             "receipt": receipt}).get_data(as_text=True)
    assert "You asked on" in opened and "The inspectors answer by" in opened
    # Asking again while a request is open changes nothing of it.
    reply = hidden_fields(opened, "/mailbox/reply")[0]
    response = reporter.post("/mailbox/reply", data={**reply, "text": "Mornings suit me.",
                                                     "meeting": "1"},
                             content_type="multipart/form-data")
    assert response.status_code == 200
    assert len(_requests(db)) == 1
    # A report filed without asking has no request.
    file_plain_form(reporter, channel)
    assert len(_requests(db)) == 1
    assert db.scalar(select(func.count()).select_from(Report)) == 2
    token = plain_mailbox_token(reporter, receipt)
    assert token


def test_the_channel_sets_the_days_to_answer(app, client, login, admin, channel, db) -> None:
    login(admin)
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    page = client.get(f"/admin/channels/{ch.id}").get_data(as_text=True)
    assert "Days to answer a request for a meeting or a call" in page


def test_an_unanswered_request_is_reminded_before_its_day_and_weekly_once_late(
        app, channel, inspector, db, smtp) -> None:
    reporter = ReporterClient(app.test_client())
    filed = reporter.report_body(channel.slug, ANSWERS)
    filed.body["meeting"] = True
    assert reporter.send(filed).response.status_code == 201
    db.execute(update(Notification).values(sent_at=datetime(2027, 1, 1)))  # the filing's
    (request,) = _requests(db)
    due, readers = request.due_on, _readers(db, request.report_id)
    now = datetime(2027, 3, 1, 5, 0)
    # Four days before its day: nothing yet; three days before: every reader is reminded.
    assert remind_meetings(db, due - timedelta(days=4), now) == 0
    assert remind_meetings(db, due - timedelta(days=3), now) == len(readers)
    assert remind_meetings(db, due - timedelta(days=1), now) == 0  # once
    # Late: the first day, then once a week, whatever the reader chose.
    assert remind_meetings(db, due + timedelta(days=1), now) == len(readers)
    assert remind_meetings(db, due + timedelta(days=7), now) == 0
    assert remind_meetings(db, due + timedelta(days=8), now) == len(readers)
    db.commit()
    kinds = sorted(n.kind for n in db.scalars(select(Notification).where(
        Notification.sent_at.is_(None))))
    assert kinds == sorted([Kind.MEETING_SOON] * len(readers)
                           + [Kind.MEETING_OVERDUE] * 2 * len(readers))
    settings = replace(app.extensions["integrity.settings"], mail_host="127.0.0.1",
                       mail_port=smtp.port, mail_sender="cases@example.org")
    with app.app_context():
        result = send_due(db, settings, datetime(2027, 3, 1, 17))
    assert result.sent == len(readers)
    body = email.message_from_bytes(smtp.messages[0][1], policy=default_policy).get_content()
    assert "1 reporter's request for a meeting or a call must be answered within 3 days." in body
    assert "2 requests for a meeting or a call were not answered in time: they are overdue." \
        in body
    # Once arranged, it is answered: no more reminders.
    request = db.get(MeetingRequest, request.id)
    request.state, request.answered_on = MeetingState.ARRANGED, due
    db.commit()
    assert remind_meetings(db, due + timedelta(days=15), now) == 0


def _readers(db, report_id: int) -> list[User]:
    return [user for user in db.get(Report, report_id).readers if user.active]
