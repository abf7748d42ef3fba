"""Authenticated threads of protocol 2 reports, end to end over the API and the case routes:
messages carry links, the server keeps each chain in line (409), and readers detect what a
database writer does (forged, replayed, moved, deleted, reordered messages)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text

import crypto
from crypto import threads
from crypto.certificates import OrgKey, sign_inspector_key
from integrity.models import Channel, Role, User
from integrity.reporting.models import KeySlot, Message
from tests.conftest import csrf_token
from tests.helpers.protocol2 import copy_message, thread_rows
from tests.helpers.reports import filed_report_id, plain_mailbox_token
from tests.protocol2_client import (
    Reporter2Client,
    case_links,
    inspector_message,
    open_case_thread,
)
from tests.protocol_client import ReporterClient

ORG = OrgKey.from_seed(bytes(range(32, 64)))
ANSWERS = {"what": "A supervisor takes a cut of every fine at the east crossing"}


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"org_public_key": crypto.b64encode(ORG.public_key)}


@pytest.fixture
def inspector(db, make_account, channel):
    """An inspector who signs in, with a certified key, the channel's only recipient."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    account = make_account(Role.INSPECTOR)
    pair = crypto.KeyPair.generate()
    user = db.get(User, account.id)
    user.public_key = pair.public_key
    user.key_certificate = sign_inspector_key(ORG, str(user.id), pair.public_key)
    ch.recipients.clear()
    ch.recipients.append(user)
    db.commit()
    return account, pair


@pytest.fixture
def case(app, client, login, channel, inspector):
    """A protocol 2 report filed, and the inspector signed in: (reporter, filed, report id)."""
    reporter = Reporter2Client(app.test_client(), ORG.public_key, check_floors=False)
    filed = reporter.file(channel.slug, ANSWERS)
    login(inspector[0])
    return reporter, filed, filed_report_id(app, filed)


def _sealed(client, report_id: int) -> dict:
    return client.get(f"/cases/{report_id}/sealed").get_json()


def _post(client, report_id: int, body: dict, *, note: bool = False):
    headers = {"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}
    return client.post(f"/cases/{report_id}/{'notes' if note else 'messages'}", json=body,
                       headers=headers)


def _converse(client, case, inspector) -> None:
    """reporter, inspector, reporter in the thread; one note."""
    reporter, filed, report_id = case
    account, pair = inspector
    assert reporter.reply(filed.receipt, "First: it happens on Fridays.").status_code == 201
    body = inspector_message(_sealed(client, report_id), pair.secret_key, str(account.id),
                             "Which gate exactly?")
    assert _post(client, report_id, body).status_code == 201
    assert reporter.reply(filed.receipt, "Gate 4, the lorry lane.").status_code == 201
    note = inspector_message(_sealed(client, report_id), pair.secret_key, str(account.id),
                             "Pull the gate 4 rota.", note=True)
    assert _post(client, report_id, note, note=True).status_code == 201


def _reporter_checks(case) -> list[threads.LinkCheck]:
    reporter, filed, _ = case
    return reporter.mailbox(filed.receipt)["checks"]


def _inspector_checks(client, case, inspector, chain: str = "thread") -> list[threads.LinkCheck]:
    sealed = _sealed(client, case[2])
    thread = open_case_thread(sealed, inspector[1].secret_key)
    return threads.check_links(thread.secret, chain,
                               crypto.b64decode(sealed["report"]["payload"]),
                               case_links(sealed, chain))


def test_both_sides_see_an_intact_thread_and_notes_stay_with_the_inspectors(
    client, case, inspector
) -> None:
    _converse(client, case, inspector)
    box = case[0].mailbox(case[1].receipt)
    assert [m["document"]["text"] for m in box["messages"]] == [
        "First: it happens on Fridays.", "Which gate exactly?", "Gate 4, the lorry lane."]
    assert [m["link"]["role"] for m in box["messages"]] == ["reporter", "inspector", "reporter"]
    assert all(check.intact for check in box["checks"]) and len(box["checks"]) == 3
    assert all(c.intact for c in _inspector_checks(client, case, inspector))
    notes = _inspector_checks(client, case, inspector, "notes")
    assert len(notes) == 1 and notes[0].intact


def test_a_writer_who_read_before_another_wrote_gets_409_and_nothing_is_stored(
    db, client, case, inspector
) -> None:
    reporter, filed, report_id = case
    account, pair = inspector
    stale = inspector_message(_sealed(client, report_id), pair.secret_key, str(account.id),
                              "Written on an old view")
    assert reporter.reply(filed.receipt, "Meanwhile, the reporter wrote.").status_code == 201
    answer = _post(client, report_id, stale)
    assert answer.status_code == 409
    assert "changed since you opened it" in answer.get_json()["error"]
    assert db.scalar(select(Message).where(Message.report_id == report_id,
                                           Message.sender == "inspector")) is None


def test_links_are_required_for_protocol_2_and_refused_for_protocol_1(
    app, client, case, inspector, channel
) -> None:
    reporter, filed, report_id = case
    body = inspector_message(_sealed(client, report_id), inspector[1].secret_key,
                             str(inspector[0].id), "No link")
    del body["link"]
    answer = _post(client, report_id, body)
    assert answer.status_code == 400 and "needs its link" in answer.get_json()["error"]
    old = ReporterClient(app.test_client())
    old_filed = old.file(channel.slug, ANSWERS)
    keys = old.derive(old_filed.receipt)
    sealed = crypto.seal_document({"text": "x", "attachments": []},
                                  {**{r["id"]: crypto.b64decode(r["public_key"])
                                      for r in old.mailbox(old_filed.receipt)["recipients"]},
                                   "reporter": keys.public_key}, 1024)
    answer = old.http.post("/api/v1/mailbox/messages", json={
        "lookup": crypto.b64encode(keys.lookup), "payload": crypto.b64encode(sealed.payload),
        "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
        "link": {"seq": 1, "prev": crypto.b64encode(bytes(32)),
                 "auth": crypto.b64encode(bytes(32))}})
    assert answer.status_code == 400 and "protocol 1" in answer.get_json()["error"]


def test_a_forged_inspector_message_is_not_authentic(db, client, case, inspector) -> None:
    _converse(client, case, inspector)
    reporter, filed, report_id = case
    rows = thread_rows(db, report_id)
    thread = reporter.mailbox(filed.receipt)["thread"]
    sealed = crypto.seal_document({"protocol": 2, "text": "Send us your phone number.",
                                   "attachments": []},
                                  {"reporter": thread.reporter_public_key}, 1024)
    forged = Message(report_id=report_id, sender="inspector", author_id=inspector[0].id,
                     payload=sealed.payload, chain="thread", seq=4,
                     prev=threads.link_hash("thread", reporter.mailbox(filed.receipt)["links"][-1]),
                     auth=bytes(32))
    db.add(forged)
    db.flush()
    db.add(KeySlot(report_id=report_id, message_id=forged.id, reader="reporter",
                   slot=sealed.key_slots["reporter"]))
    db.commit()
    checks = _reporter_checks(case)
    assert [c.authentic for c in checks] == [True, True, True, False]
    assert len(rows) == 3


def test_a_forged_reporter_message_is_not_authentic_to_the_inspector(
    db, client, case, inspector
) -> None:
    _converse(client, case, inspector)
    report_id = case[2]
    sealed = crypto.seal_document({"protocol": 2, "text": "I withdraw everything.",
                                   "attachments": []},
                                  {str(inspector[0].id): inspector[1].public_key}, 1024)
    forged = Message(report_id=report_id, sender="reporter", payload=sealed.payload,
                     chain="thread", seq=4, prev=bytes(32), auth=bytes(32))
    db.add(forged)
    db.flush()
    db.add(KeySlot(report_id=report_id, message_id=forged.id, reader=str(inspector[0].id),
                   slot=sealed.key_slots[str(inspector[0].id)]))
    db.commit()
    checks = _inspector_checks(client, case, inspector)
    assert [c.authentic for c in checks] == [True, True, True, False]


def test_a_replayed_message_is_marked(db, client, case, inspector) -> None:
    _converse(client, case, inspector)
    first = thread_rows(db, case[2])[0]
    replay = copy_message(db, first, case[2])
    replay.seq = 10  # the unique place dodged; the authenticator still says seq 1 ...
    db.commit()
    checks = _reporter_checks(case)
    assert not checks[-1].authentic  # ... so a replay under another place does not hold
    # A writer who drops the index can list it again at its own place: a replay.
    db.execute(text("DROP INDEX uq_messages_link"))
    replay.seq = 1
    db.commit()
    checks = _reporter_checks(case)
    assert [c.seq for c in checks] == [1, 2, 3, 1]
    assert checks[-1].replayed and all(c.intact for c in checks[:3])


def test_a_message_moved_from_another_case_is_not_authentic(
    app, db, client, case, inspector, channel
) -> None:
    _converse(client, case, inspector)
    other = Reporter2Client(app.test_client(), ORG.public_key, check_floors=False)
    other_filed = other.file(channel.slug, {"what": "another case"})
    assert other.reply(other_filed.receipt, "From the other case").status_code == 201
    other_id = filed_report_id(app, other_filed)
    moved = copy_message(db, thread_rows(db, other_id)[0], case[2])
    moved.seq = 4
    db.commit()
    # The key slots of the copy were sealed to the other reporter: the mailbox of this one
    # does not list it (no slot of theirs), and the inspector's check refuses it.
    checks = _inspector_checks(client, case, inspector)
    assert [c.authentic for c in checks] == [True, True, True, False]


def test_a_deleted_message_leaves_a_gap_both_sides_see(db, client, case, inspector) -> None:
    _converse(client, case, inspector)
    middle = thread_rows(db, case[2])[1]
    db.execute(delete(Message).where(Message.id == middle.id))
    db.commit()
    for checks in (_reporter_checks(case), _inspector_checks(client, case, inspector)):
        assert [c.seq for c in checks] == [1, 3]
        assert checks[1].missing_before and not checks[0].missing_before


def test_reordered_messages_are_marked_out_of_order(db, client, case, inspector) -> None:
    _converse(client, case, inspector)
    first, _, third = thread_rows(db, case[2])
    fields = ("sender", "author_id", "payload", "seq", "prev", "auth")
    a = {f: getattr(first, f) for f in fields}
    b = {f: getattr(third, f) for f in fields}
    first.seq = third.seq = None
    db.flush()
    slots_a = {s.reader: s.slot for s in first.key_slots}
    slots_b = {s.reader: s.slot for s in third.key_slots}
    for row, values, slots in ((first, b, slots_b), (third, a, slots_a)):
        for name, value in values.items():
            setattr(row, name, value)
        for slot in row.key_slots:
            slot.slot = slots[slot.reader]
    db.commit()
    checks = _reporter_checks(case)
    assert [c.seq for c in checks] == [3, 2, 1]
    assert [c.out_of_order for c in checks] == [False, True, True]


def test_a_basic_mode_reply_to_a_protocol_2_report_gets_its_link(
    app, client, case, inspector
) -> None:
    reporter, filed, report_id = case
    body = inspector_message(_sealed(client, report_id), inspector[1].secret_key,
                             str(inspector[0].id), "Can you tell us more?")
    assert _post(client, report_id, body).status_code == 201
    plain = app.test_client()  # the reporter's own browser, without JavaScript
    token = plain_mailbox_token(plain, filed.receipt)
    answer = plain.post("/mailbox/reply", data={
        "csrf_token": csrf_token(plain, "/mailbox"), "mailbox_token": token,
        "text": "Yes: two officers, every Friday."})
    assert answer.status_code == 200
    box = reporter.mailbox(filed.receipt)
    assert [m["link"]["role"] for m in box["messages"]] == ["inspector", "reporter"]
    assert box["messages"][-1]["document"] == {
        "protocol": 2, "text": "Yes: two officers, every Friday.", "attachments": []}
    assert all(check.intact for check in box["checks"])
