"""Sharing a case by re-sealing its keys, exclusions, and the case's sealed files, driven by a
Python client that does what the case page's script does."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

import crypto
from integrity.audit import AuditEntry, verify
from integrity.models import Channel, Role, User
from integrity.notifications.models import Notification
from integrity.reporting.models import KeySlot, report_exclusions, report_readers
from tests.conftest import csrf_token
from tests.helpers.pages import sign_in
from tests.helpers.reports import filed_report_id, first_case, open_item, seal_item
from tests.protocol_client import ReporterClient, Upload

ANSWERS = {"what": "The shift chief takes cash for waving lorries through lane 2."}


@pytest.fixture
def keyed(db, make_account, channel):
    """Three inspectors with key pairs: two recipients of the channel, one outside it."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    assert ch is not None
    ch.allow_exclusion = True
    result = []
    for index in range(3):
        account = make_account(Role.INSPECTOR)
        pair = crypto.KeyPair.generate()
        user = db.get(User, account.id)
        assert user is not None
        user.public_key = pair.public_key
        if index < 2:
            ch.recipients.append(user)
        result.append((account, pair))
    db.commit()
    return result


def _plain(sealed: bytes, entry: dict) -> bytes:
    target = io.BytesIO()
    crypto.open_file(io.BytesIO(sealed), target, crypto.b64decode(entry["key"]),
                     entry["size"])
    return target.getvalue()


def _signed_in(app, account):
    client = app.test_client()
    sign_in(client, account)
    return client


def _share_body(data: dict, pair: crypto.KeyPair, target_id: str, target_key: bytes) -> dict:
    """What the page sends: every slot this inspector holds, opened and sealed to the target."""
    documents = [("report", data["report"]["key_slot"])] + [
        (m["id"], m["key_slot"]) for m in data["messages"] if m["key_slot"]]
    slots = {}
    for document, slot in documents:
        key = crypto.open_key_slot(crypto.b64decode(slot), pair.secret_key)
        slots[document] = crypto.b64encode(crypto.seal_key(key, target_key))
    return {"inspector": target_id, "reason": "She audits lane 2 this month.",
            "key_slots": slots}


def test_a_shared_case_opens_for_the_new_reader_with_its_whole_thread(app, db, channel,
                                                                      keyed) -> None:
    (first, first_pair), _, (outsider, outsider_pair) = keyed
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    assert reporter.reply(filed.receipt, "He works the Tuesday night shift.").status_code == 201
    client = _signed_in(app, first)
    report_id = first_case(client)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    headers = {"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}
    reply = seal_item(data, {"text": "Which lorries?", "attachments": []}, note=False)
    sent = client.post(f"/cases/{report_id}/messages", json=reply, headers=headers)
    assert sent.status_code == 201
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    candidates = {c["id"]: c for c in data["share_candidates"]}
    assert str(outsider.id) in candidates

    outside = _signed_in(app, outsider)
    assert outside.get(f"/cases/{report_id}").status_code == 404
    body = _share_body(data, first_pair, str(outsider.id),
                       crypto.b64decode(candidates[str(outsider.id)]["public_key"]))
    response = client.post(f"/cases/{report_id}/share", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    # They are told (at the next batch time), and the case is new to them.
    shared_notices = db.scalars(select(Notification.user_id).where(
        Notification.kind == "case_shared")).all()
    assert shared_notices == [outsider.id]
    assert db.scalar(select(report_readers.c.unseen).where(
        report_readers.c.report_id == report_id, report_readers.c.user_id == outsider.id))

    # The new reader opens the report and every message with their own slots.
    assert outside.get(f"/cases/{report_id}").status_code == 200
    shared = outside.get(f"/cases/{report_id}/sealed").get_json()
    assert open_item(shared, shared["report"], outsider_pair)["answers"] == ANSWERS
    assert [open_item(shared, m, outsider_pair)["text"] for m in shared["messages"]] == [
        "He works the Tuesday night shift.", "Which lorries?"]
    # From now on the reporter's messages are sealed to them too.
    assert str(outsider.id) in {r["id"] for r in reporter.mailbox(filed.receipt)["recipients"]}
    assert reporter.reply(filed.receipt, "The ones with Ukrainian plates.").status_code == 201
    latest = outside.get(f"/cases/{report_id}/sealed").get_json()["messages"][-1]
    assert open_item(shared, latest, outsider_pair)["text"] == "The ones with Ukrainian plates."
    # Sharing again is refused, and the share is in the audit log without any content.
    again = client.post(f"/cases/{report_id}/share", json=body, headers=headers)
    assert again.status_code == 409
    shares = db.scalars(select(AuditEntry).where(AuditEntry.action == "case_shared")).all()
    assert len(shares) == 1 and shares[0].subject == f"report:{report_id}"
    assert shares[0].facts["reason"] == "She audits lane 2 this month."
    assert verify(db).ok


def test_an_excluded_inspector_is_never_offered_nor_given_the_case(app, db, channel,
                                                                    keyed) -> None:
    (first, first_pair), (excluded, excluded_pair), _ = keyed
    reporter = ReporterClient(app.test_client())
    reporter.file(channel.slug, ANSWERS, excluded=[str(excluded.id)])
    assert db.execute(select(report_exclusions.c.user_id)).scalars().all() == [excluded.id]
    client = _signed_in(app, first)
    report_id = first_case(client)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    assert str(excluded.id) not in {c["id"] for c in data["share_candidates"]}
    assert str(excluded.id) not in {r["id"] for r in data["recipients"]}
    # The excluded inspector's inbox does not list it; its page is "not found".
    left_out = _signed_in(app, excluded)
    assert f"/cases/{report_id}" not in left_out.get("/cases/").get_data(as_text=True)
    assert left_out.get(f"/cases/{report_id}").status_code == 404
    assert left_out.get(f"/cases/{report_id}/sealed").status_code == 404
    # A share forced through the API is refused with the sentence any other refusal gets.
    headers = {"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}
    body = _share_body(data, first_pair, str(excluded.id), excluded_pair.public_key)
    response = client.post(f"/cases/{report_id}/share", json=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json() == {"error": "This inspector cannot receive the case."}
    assert not db.scalars(select(KeySlot).where(KeySlot.reader == str(excluded.id))).all()


def test_share_refusals_store_nothing(app, db, channel, keyed, make_account) -> None:
    (first, first_pair), (second, _), (outsider, outsider_pair) = keyed
    manager = make_account(Role.MANAGER)
    reporter = ReporterClient(app.test_client())
    reporter.file(channel.slug, ANSWERS)
    client = _signed_in(app, first)
    report_id = first_case(client)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    headers = {"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}
    good = _share_body(data, first_pair, str(outsider.id), outsider_pair.public_key)
    slot = good["key_slots"]["report"]
    cases = [
        ({**good, "inspector": str(manager.id)}, 400, "cannot receive"),
        ({**good, "inspector": "999999"}, 400, "cannot receive"),
        ({**good, "inspector": 7}, 400, "cannot receive"),
        ({**good, "inspector": str(second.id)}, 409, "already reads"),
        ({**good, "key_slots": {}}, 400, "key_slots"),
        ({**good, "key_slots": {"report": slot, "12345": slot}}, 400, "every document"),
        ({**good, "key_slots": {"report": slot[:-4]}}, 400, "key slot"),
        ([good], 400, "JSON object"),
        ({**good, "reason": ""}, 400, "Say why you share the case."),
        ({key: value for key, value in good.items() if key != "reason"}, 400, "Say why"),
        ({**good, "reason": "x" * 501}, 400, "under 500 characters"),
    ]
    before = len(db.scalars(select(KeySlot)).all())
    for body, status, words in cases:
        response = client.post(f"/cases/{report_id}/share", json=body, headers=headers)
        assert response.status_code == status, (body, response.get_json())
        assert words in response.get_json()["error"], response.get_json()
    # Without the form token nothing is accepted either.
    assert client.post(f"/cases/{report_id}/share", json=good).status_code == 400
    db.expire_all()
    assert len(db.scalars(select(KeySlot)).all()) == before
    outside = _signed_in(app, outsider)
    assert outside.get(f"/cases/{report_id}").status_code == 404


def test_case_files_are_served_sealed_to_readers_of_that_case_only(app, db, channel,
                                                                    keyed) -> None:
    (first, first_pair), _, (outsider, _) = keyed
    reporter = ReporterClient(app.test_client())
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 300
    first_filed = reporter.file(channel.slug, ANSWERS,
                                uploads=[Upload("lane2.jpg", "image/jpeg", photo)])
    other = reporter.file(channel.slug, {"what": "Another case."},
                          uploads=[Upload("other.jpg", "image/jpeg", b"other")])
    client = _signed_in(app, first)
    report_id = filed_report_id(app, other)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    entry = open_item(data, data["report"], first_pair)["attachments"][0]
    with client.get(f"/cases/{report_id}/attachments/{entry['id']}") as served:
        assert served.status_code == 200
        assert served.mimetype == "application/octet-stream"
        assert served.headers["Cache-Control"] == "no-store"
        assert served.data != b"other"
        assert _plain(served.data, entry) == b"other"
    # The first report's file is not reachable through the second case, nor by an outsider.
    older = filed_report_id(app, first_filed)
    older_data = client.get(f"/cases/{older}/sealed").get_json()
    older_entry = open_item(older_data, older_data["report"], first_pair)["attachments"][0]
    assert client.get(f"/cases/{report_id}/attachments/{older_entry['id']}").status_code == 404
    assert client.get(f"/cases/{report_id}/attachments/{'0' * 32}").status_code == 404
    outside = _signed_in(app, outsider)
    assert outside.get(f"/cases/{older}/attachments/{older_entry['id']}").status_code == 404
    with client.get(f"/cases/{older}/attachments/{older_entry['id']}") as opened:
        assert _plain(opened.data, older_entry) == photo
