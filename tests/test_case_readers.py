"""Impartiality of case handling: an inspector steps away from a case (recusal), a reader
takes a colleague off it, and a second inspector confirms a closing where the channel asks."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

import crypto
from integrity.audit import AuditEntry, verify
from integrity.models import Channel, Role, User
from integrity.notifications.models import Notification
from integrity.reporting.models import ClosingRequest, KeySlot, Message, Report, report_readers
from tests.conftest import csrf_token
from tests.helpers.pages import signed_in
from tests.helpers.reports import first_case, open_item, seal_item
from tests.protocol_client import ReporterClient

ANSWERS = {"what": "The deputy chief's brother runs the haulier waved through lane 2."}
CONFLICT = "The deputy chief named in the report is my brother-in-law."


@pytest.fixture
def team(db, make_account, channel):
    """Three inspectors with key pairs, the channel's only recipients."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    assert ch is not None
    ch.recipients.clear()
    people = []
    for _index in range(3):
        account = make_account(Role.INSPECTOR)
        pair = crypto.KeyPair.generate()
        user = db.get(User, account.id)
        assert user is not None
        user.public_key = pair.public_key
        ch.recipients.append(user)
        people.append((account, pair))
    db.commit()
    return people


def _filed(app, channel) -> tuple[ReporterClient, str]:
    """A report filed, whose reporter was already sent the final notice that closing needs
    (tests/test_case_thread.py tests that closing waits for one)."""
    reporter = ReporterClient(app.test_client())
    receipt = reporter.file(channel.slug, ANSWERS).receipt
    engine = app.extensions["integrity.engine"]
    with engine.begin() as connection:
        connection.execute(update(Report).where(Report.final_notice_on.is_(None))
                           .values(final_notice_on=Report.created_on))
    return reporter, receipt


def _form(client, report_id: int, path: str, data: dict[str, str]):
    token = csrf_token(client, f"/cases/{report_id}")
    return client.post(f"/cases/{report_id}/{path}", data={"csrf_token": token, **data},
                       follow_redirects=True)


def _readers(db, report_id: int) -> set[int]:
    db.expire_all()
    return set(db.scalars(select(report_readers.c.user_id).where(
        report_readers.c.report_id == report_id)))


def _slot_readers(db, report_id: int, message_id: int | None = None) -> set[str]:
    condition = (KeySlot.message_id.is_(None) if message_id is None
                 else KeySlot.message_id == message_id)
    return set(db.scalars(select(KeySlot.reader).where(KeySlot.report_id == report_id,
                                                       condition)))


def test_an_inspector_who_steps_away_loses_every_key_and_the_case(app, db, channel,
                                                                   team) -> None:
    (first, _), (second, second_pair), _ = team
    reporter, receipt = _filed(app, channel)
    client = signed_in(app, first)
    report_id = first_case(client)
    assert str(first.id) in _slot_readers(db, report_id)

    page = _form(client, report_id, "recuse", {"recuse-reason": CONFLICT})
    assert "You stepped away from the case" in page.get_data(as_text=True)
    assert first.id not in _readers(db, report_id)
    assert not db.scalars(select(KeySlot).where(KeySlot.reader == str(first.id))).all()
    # Their case page, its ciphertext and its history are "not found", as for any outsider.
    for path in ("", "/sealed", "/history"):
        assert client.get(f"/cases/{report_id}{path}").status_code == 404
    assert f"/cases/{report_id}\"" not in client.get("/cases/").get_data(as_text=True)

    # What is written from now on is not sealed to them: neither the reporter's message...
    assert str(first.id) not in {r["id"] for r in reporter.mailbox(receipt)["recipients"]}
    assert reporter.reply(receipt, "He also signs the inspection sheets.").status_code == 201
    latest = db.scalar(select(Message.id).where(Message.report_id == report_id)
                       .order_by(Message.position.desc()))
    assert str(first.id) not in _slot_readers(db, report_id, latest)
    assert str(second.id) in _slot_readers(db, report_id, latest)
    # ...nor a colleague's note, which is sealed to the readers the server lists now.
    colleague = signed_in(app, second)
    data = colleague.get(f"/cases/{report_id}/sealed").get_json()
    assert str(first.id) not in {r["id"] for r in data["recipients"]}
    note = seal_item(data, {"text": "Check the sheets.", "attachments": []}, note=True)
    headers = {"X-CSRFToken": csrf_token(colleague, f"/cases/{report_id}")}
    assert colleague.post(f"/cases/{report_id}/notes", json=note,
                          headers=headers).status_code == 201
    # A note sealed to them as well is refused: the key slots must name the readers exactly.
    forced = seal_item({**data, "recipients": [*data["recipients"], {
        "id": str(first.id), "public_key": crypto.b64encode(team[0][1].public_key)}]},
        {"text": "x", "attachments": []}, note=True)
    assert colleague.post(f"/cases/{report_id}/notes", json=forced,
                          headers=headers).status_code == 400
    data = colleague.get(f"/cases/{report_id}/sealed").get_json()
    assert open_item(data, data["messages"][-1], second_pair)["text"] == "Check the sheets."

    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "case_recused"))
    assert entry is not None and entry.actor_id == first.id
    assert entry.subject == f"report:{report_id}" and entry.facts["reason"] == CONFLICT
    history = colleague.get(f"/cases/{report_id}/history").get_data(as_text=True)
    assert "Stepped away from the case. Why: The deputy chief" in history
    assert verify(db).ok


def test_the_last_reader_cannot_step_away_and_a_reason_is_needed(app, db, channel,
                                                                  team) -> None:
    (first, _), (second, _), (third, _) = team
    _filed(app, channel)
    client = signed_in(app, first)
    report_id = first_case(client)
    page = _form(client, report_id, "recuse", {"recuse-reason": "  "})
    assert "Why you step away" in page.get_data(as_text=True)
    assert first.id in _readers(db, report_id)
    for other in (second, third):
        assert _form(signed_in(app, other), report_id, "recuse",
                     {"recuse-reason": "I trained with the officer."}).status_code == 200
    assert _readers(db, report_id) == {first.id}
    page = _form(client, report_id, "recuse", {"recuse-reason": CONFLICT})
    assert ("You are the only inspector who can read this case: share it with a colleague "
            "first, then step away.") in page.get_data(as_text=True)
    assert _readers(db, report_id) == {first.id}
    assert str(first.id) in _slot_readers(db, report_id)
    assert len(db.scalars(select(AuditEntry).where(
        AuditEntry.action == "case_recused")).all()) == 2


def test_a_reader_takes_a_colleague_off_the_case_with_a_reason(app, db, channel, team) -> None:
    (first, _), (second, _), (third, _) = team
    _filed(app, channel)
    client = signed_in(app, first)
    report_id = first_case(client)
    db.execute(Report.__table__.update().where(Report.id == report_id)
               .values(assignee_id=second.id))
    db.commit()
    reason = "He was transferred to the unit the report is about."
    page = _form(client, report_id, "readers/remove",
                 {"remove-reader": str(second.id), "remove-reason": reason})
    assert "no longer reads the case" in page.get_data(as_text=True)
    assert _readers(db, report_id) == {first.id, third.id}
    assert str(second.id) not in _slot_readers(db, report_id)
    assert db.get(Report, report_id).assignee_id is None
    assert signed_in(app, second).get(f"/cases/{report_id}").status_code == 404
    # They are told that a case was taken from them, and nothing about which.
    notice = db.scalar(select(Notification).where(Notification.kind == "case_removed"))
    assert notice is not None and notice.user_id == second.id and notice.params == {}
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "reader_removed"))
    assert entry is not None and entry.actor_id == first.id
    assert entry.facts == {"reader": second.id, "reason": reason, "was_responsible": True}

    # Without a reason, or naming someone who does not read it, nothing changes.
    page = _form(client, report_id, "readers/remove",
                 {"remove-reader": str(third.id), "remove-reason": ""})
    assert third.id in _readers(db, report_id)
    page = _form(client, report_id, "readers/remove",
                 {"remove-reader": str(second.id), "remove-reason": reason})
    assert "Not a valid choice" in page.get_data(as_text=True)
    assert len(db.scalars(select(AuditEntry).where(
        AuditEntry.action == "reader_removed")).all()) == 1


def _needs_confirmation(db, channel) -> None:
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.closing_needs_confirmation = True
    db.commit()


def test_closing_waits_for_another_inspectors_confirmation(app, db, channel, team) -> None:
    (first, _), (second, _), _ = team
    _needs_confirmation(db, channel)
    _filed(app, channel)
    client = signed_in(app, first)
    report_id = first_case(client)
    colleague = signed_in(app, second)
    assert colleague.get(f"/cases/{report_id}").status_code == 200  # seen: no news for them
    page = _form(client, report_id, "status", {"status": "closed", "outcome": "substantiated"})
    assert "will close when another inspector" in page.get_data(as_text=True)
    db.expire_all()
    report = db.get(Report, report_id)
    assert report.status == "new" and report.closing_request is not None
    assert report.closing_request.requested_by_id == first.id
    # The colleagues' inboxes mark the case as having news; the one who asked, not.
    unseen = dict(db.execute(select(report_readers.c.user_id, report_readers.c.unseen).where(
        report_readers.c.report_id == report_id)).all())
    assert unseen[second.id] and not unseen[first.id]
    # The one who asked cannot confirm; the page offers them only to withdraw.
    assert "Confirm the closing" not in page.get_data(as_text=True)
    page = _form(client, report_id, "closing/confirm", {})
    assert "Another inspector must confirm the closing you asked for." in page.get_data(
        as_text=True)
    db.expire_all()
    assert db.get(Report, report_id).status == "new"
    # While it waits, the status does not change another way.
    page = _form(colleague, report_id, "status", {"status": "in_progress", "outcome": ""})
    assert "confirm or decline it first" in page.get_data(as_text=True)

    page = _form(colleague, report_id, "closing/confirm", {})
    assert "The case is closed." in page.get_data(as_text=True)
    db.expire_all()
    report = db.get(Report, report_id)
    assert (report.status, report.outcome) == ("closed", "substantiated")
    assert db.get(ClosingRequest, report_id) is None
    actions = [(e.action, e.actor_id) for e in db.scalars(
        select(AuditEntry).where(AuditEntry.subject == f"report:{report_id}",
                                 AuditEntry.action != "case_opened")
        .order_by(AuditEntry.seq))]
    assert actions == [("closing_requested", first.id), ("closing_confirmed", second.id),
                       ("status_changed", second.id)]
    history = colleague.get(f"/cases/{report_id}/history").get_data(as_text=True)
    assert "Asked to close the case with the outcome “Substantiated”" in history
    assert "Confirmed the closing Test inspector asked for" in history


def test_a_declined_closing_leaves_the_case_open(app, db, channel, team) -> None:
    (first, _), (second, _), (third, _) = team
    _needs_confirmation(db, channel)
    _filed(app, channel)
    client = signed_in(app, first)
    report_id = first_case(client)
    _form(client, report_id, "status", {"status": "closed", "outcome": "unsubstantiated"})
    colleagues = [signed_in(app, second), signed_in(app, third)]
    page = _form(colleagues[0], report_id, "closing/decline", {})
    assert "The case stays open." in page.get_data(as_text=True)
    db.expire_all()
    assert db.get(Report, report_id).status == "new"
    assert db.get(ClosingRequest, report_id) is None
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "closing_declined"))
    assert entry.actor_id == second.id and entry.facts["requested_by"] == first.id
    # Alone on the case, an inspector is told to share it before asking to close it.
    for colleague in colleagues:
        _form(colleague, report_id, "recuse", {"recuse-reason": CONFLICT})
    page = _form(client, report_id, "status", {"status": "closed", "outcome": "unsubstantiated"})
    assert "share it with a colleague first" in page.get_data(as_text=True)
    db.expire_all()
    assert db.get(ClosingRequest, report_id) is None
