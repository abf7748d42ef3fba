"""Why a file or a message was deleted is sealed like a note: the case page seals the reason to
the case's readers (never the reporter), the server checks the readers and the size and keeps
only ciphertext, a colleague the case is shared with opens it, a reader who leaves loses its
key, and neither the mailbox nor the audit log ever carries it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

import crypto
from admin.users import reset_second_factor
from integrity import current
from integrity.audit import AuditEntry
from integrity.cases.readers import recuse, remove_reader
from integrity.cases.redaction import MAX_REASON_BYTES
from integrity.models import Channel, Role, User
from integrity.reporting.models import (
    Attachment,
    Message,
    Report,
    Tombstone,
    TombstoneKeySlot,
)
from tests.conftest import csrf_token
from tests.helpers.pages import sign_in
from tests.helpers.reports import first_case, open_item, open_reason, seal_reason
from tests.protocol_client import ReporterClient, Upload
from tests.test_privacy_scan import _scan_database

ANSWERS = {"what": "The shift chief takes cash for waving lorries through lane 3."}
FILE_REASON = "REASON-PLAINTEXT: the photo shows the reporter's face at lane 3"
MESSAGE_REASON = "REASON-PLAINTEXT: names Sergeant Petrov, who is not part of the case"
DELETIONS = ("attachment_deleted", "message_deleted", "message_redacted")


@pytest.fixture
def keyed(db, make_account, channel):
    """Three inspectors with key pairs: the channel's two recipients, and one outside it."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.recipients.clear()
    found = []
    for index in range(3):
        account = make_account(Role.INSPECTOR)
        pair = crypto.KeyPair.generate()
        db.get(User, account.id).public_key = pair.public_key
        if index < 2:
            ch.recipients.append(db.get(User, account.id))
        found.append((account, pair))
    db.commit()
    return found


@pytest.fixture
def case(app, channel, keyed):
    """A protocol 1 report with a file and a reporter's message; the first reader signed in."""
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS,
                          uploads=[Upload("face.jpg", "image/jpeg", b"FACE" * 300)])
    assert reporter.reply(filed.receipt, "Sergeant Petrov saw it too.").status_code == 201
    client = _signed_in(app, keyed[0][0])
    return reporter, filed, client, first_case(client)


def _signed_in(app, account):
    client = app.test_client()
    sign_in(client, account)
    return client


def _sealed(client, report_id: int) -> dict:
    return client.get(f"/cases/{report_id}/sealed").get_json()


def _post(client, report_id: int, path: str, body: object):
    return client.post(f"/cases/{report_id}/{path}", json=body,
                       headers={"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")})


def _targets(data: dict, pair: crypto.KeyPair) -> tuple[str, str]:
    """The report's file and the reporter's message, as the case page finds them."""
    report = open_item(data, data["report"], pair)
    return report["attachments"][0]["id"], data["messages"][0]["id"]


def _sealed_to(data: dict, readers: dict[str, bytes], document: dict) -> dict:
    sealed = crypto.seal_document(document, readers, data["pad_block"])
    return {"payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()}}


def _database_dump(app) -> bytes:
    """The database as a backup would hold it: the SQLite file and its write-ahead log, or a
    plain ``pg_dump`` of PostgreSQL."""
    engine = app.extensions["integrity.engine"]
    url = engine.url
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal"))
                        if p.exists())
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    address = url.set(drivername="postgresql").render_as_string(hide_password=True)
    return subprocess.run(["pg_dump", "--format=plain", "--no-owner", f"--dbname={address}"],
                          env=env, check=True, capture_output=True, timeout=120).stdout


def test_reasons_rest_on_the_server_sealed_and_never_reach_the_reporter(
    app, db, case, keyed
) -> None:
    reporter, filed, client, report_id = case
    (first, first_pair), (second, second_pair), _ = keyed
    data = _sealed(client, report_id)
    file_id, message_id = _targets(data, first_pair)
    assert _post(client, report_id, f"attachments/{file_id}/delete",
                 {"reason": seal_reason(data, FILE_REASON)}).status_code == 200
    assert _post(client, report_id, f"messages/{message_id}/delete",
                 {"reason": seal_reason(data, MESSAGE_REASON)}).status_code == 200
    # Each tombstone holds a sealed reason with a slot for each reader, none for the reporter.
    tombstones = db.scalars(select(Tombstone).order_by(Tombstone.made_on,
                                                       Tombstone.position)).all()
    assert [sorted(s.reader for s in t.key_slots) for t in tombstones] == [
        sorted([str(first.id), str(second.id)])] * 2
    needles = {"file reason": FILE_REASON.encode(), "message reason": MESSAGE_REASON.encode(),
               "hex of a reason": FILE_REASON.encode().hex().encode()}
    url = app.extensions["integrity.engine"].url.render_as_string(hide_password=False)
    assert _scan_database(url, needles) > 20
    dump = _database_dump(app)
    sealed = bytes(tombstones[0].reason_payload)
    assert sealed in dump or sealed.hex().encode() in dump  # the dump holds the tombstones
    for name, needle in needles.items():
        assert needle not in dump, f"{name} found in the database dump"
    # Both readers open them, from the same listing the case page reads.
    for reader_client, pair in ((client, first_pair), (_signed_in(app, second), second_pair)):
        listing = _sealed(reader_client, report_id)
        assert [open_reason(listing, t, pair) for t in listing["tombstones"]] == [
            FILE_REASON, MESSAGE_REASON]
    # The audit entries name no reason, sealed or not.
    payloads = [crypto.b64encode(t.reason_payload) for t in tombstones]
    for entry in db.scalars(select(AuditEntry).where(AuditEntry.action.in_(DELETIONS))):
        text = json.dumps(entry.facts)
        assert "REASON-PLAINTEXT" not in text and not any(p in text for p in payloads)
        assert "reason" not in entry.facts
    # The mailbox says that something went, who and which day, never why, not even sealed.
    box = reporter.mailbox(filed.receipt)
    assert [sorted(t) for t in box["tombstones"]] == [
        ["attachment", "by", "kind", "message", "on"]] * 2
    answer = reporter.http.post("/api/v1/mailbox", json={
        "lookup": crypto.b64encode(filed.keys.lookup)}).get_data(as_text=True)
    assert "REASON-PLAINTEXT" not in answer and not any(p in answer for p in payloads)


def test_a_reason_sealed_to_the_wrong_readers_is_refused_and_nothing_is_stored(
    app, db, case, keyed
) -> None:
    reporter, filed, client, report_id = case
    (first, first_pair), (second, second_pair), (outsider, outsider_pair) = keyed
    data = _sealed(client, report_id)
    file_id, message_id = _targets(data, first_pair)
    readers = {str(first.id): first_pair.public_key, str(second.id): second_pair.public_key}
    document = {"reason": FILE_REASON}
    reporter_key = crypto.b64decode(data["reporter_public_key"])
    too_long = {"reason": "x" * (2 * MAX_REASON_BYTES)}
    refusals = [
        (_sealed_to(data, {str(first.id): first_pair.public_key}, document), 400,
         f"A key slot is missing for: {second.id}."),
        (_sealed_to(data, {**readers, "reporter": reporter_key}, document), 400,
         "There is a key slot for a reader who must not have one: reporter."),
        (_sealed_to(data, {**readers, str(outsider.id): outsider_pair.public_key}, document),
         400, f"There is a key slot for a reader who must not have one: {outsider.id}."),
        (_sealed_to(data, {**readers, "recovery": outsider_pair.public_key}, document), 400,
         "There is a key slot for a reader who must not have one: recovery."),
        (_sealed_to(data, readers, too_long), 413,
         "The sealed reason is longer than a reason of 500 characters needs."),
        ({**_sealed_to(data, readers, document), "payload": crypto.b64encode(b"x" * 64)}, 400,
         None),
        (FILE_REASON, 400, "The reason must be sealed to the case's readers: an object with "
                           "“payload” and “key_slots”."),
    ]
    message = db.get(Message, int(message_id))
    before = bytes(message.payload)
    for reason, status, error in refusals:
        for path in (f"attachments/{file_id}/delete", f"messages/{message_id}/delete"):
            response = _post(client, report_id, path, {"reason": reason})
            assert response.status_code == status, (path, response.get_json())
            if error:
                assert response.get_json() == {"error": error}
    # A reason within the limit passes: the longest a reason of 500 characters can need.
    longest = {"reason": "\u0001" * 500}
    assert len(json.dumps(longest).encode()) < MAX_REASON_BYTES
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Tombstone)) == 0
    assert db.scalar(select(func.count()).select_from(TombstoneKeySlot)) == 0
    assert db.scalar(select(AuditEntry.seq).where(AuditEntry.action.in_(DELETIONS))) is None
    assert db.get(Attachment, file_id) is not None
    assert app.extensions["integrity.attachments"].exists(file_id)
    assert bytes(db.get(Message, int(message_id)).payload) == before
    assert _post(client, report_id, f"attachments/{file_id}/delete",
                 {"reason": _sealed_to(data, readers, longest)}).status_code == 200


def _share_body(data: dict, pair: crypto.KeyPair, target: User, *, reasons: bool = True) -> dict:
    """What the case page sends: every slot this inspector holds, sealed to the target."""
    documents = [("report", data["report"]["key_slot"])]
    documents += [(m["id"], m["key_slot"]) for m in data["messages"] if m["key_slot"]]
    if reasons:
        documents += [(f"tombstone:{t['id']}", t["reason"]["key_slot"])
                      for t in data["tombstones"] if t["reason"] and t["reason"]["key_slot"]]
    slots = {}
    for document, slot in documents:
        key = crypto.open_key_slot(crypto.b64decode(slot), pair.secret_key)
        slots[document] = crypto.b64encode(crypto.seal_key(key, target.public_key))
    return {"inspector": str(target.id), "reason": "She audits lane 3 this month.",
            "key_slots": slots}


def _reason_slots(db, report_id: int) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(TombstoneKeySlot.reader).join(Tombstone).where(
        Tombstone.report_id == report_id)))


def test_a_colleague_the_case_is_shared_with_opens_the_reasons_and_loses_them_on_leaving(
    app, db, case, keyed, admin
) -> None:
    reporter, filed, client, report_id = case
    (first, first_pair), (second, second_pair), (outsider, outsider_pair) = keyed
    data = _sealed(client, report_id)
    file_id, message_id = _targets(data, first_pair)
    assert _post(client, report_id, f"attachments/{file_id}/delete",
                 {"reason": seal_reason(data, FILE_REASON)}).status_code == 200
    data = _sealed(client, report_id)
    target = db.get(User, outsider.id)
    # A share must carry the reason's slot too, as every other document's.
    short = _post(client, report_id, "share", _share_body(data, first_pair, target,
                                                          reasons=False))
    assert short.status_code == 400
    assert _post(client, report_id, "share",
                 _share_body(data, first_pair, target)).status_code == 201
    assert _reason_slots(db, report_id) == {str(first.id), str(second.id), str(outsider.id)}
    colleague = _signed_in(app, outsider)
    shared = _sealed(colleague, report_id)
    assert open_reason(shared, shared["tombstones"][0], outsider_pair) == FILE_REASON
    # A new reason is sealed to the three readers now, and no longer to two.
    two = seal_reason(data, MESSAGE_REASON)
    assert _post(client, report_id, f"messages/{message_id}/delete",
                 {"reason": two}).status_code == 400
    settings = current.settings(app)
    report = db.get(Report, report_id)
    # Taken off the case, or stepping away: their reasons' slots go with the rest.
    remove_reader(db, settings, report, db.get(User, first.id), target, "Not needed any more.")
    db.commit()
    assert _reason_slots(db, report_id) == {str(first.id), str(second.id)}
    recuse(db, db.get(Report, report_id), db.get(User, second.id), "I know the officer.")
    db.commit()
    assert _reason_slots(db, report_id) == {str(first.id)}
    assert _signed_in(app, second).get(f"/cases/{report_id}/sealed").status_code == 404
    # A second factor reset drops the inspector's key and, where a colleague can share the case
    # again, every slot sealed to the old key.
    assert _post(client, report_id, "share", _share_body(
        _sealed(client, report_id), first_pair, db.get(User, outsider.id))).status_code == 201
    assert _reason_slots(db, report_id) == {str(first.id), str(outsider.id)}
    reset_second_factor(db, db.get(User, admin.id), db.get(User, outsider.id), "Phone lost.",
                        passphrase_lost=False, hours=24)
    db.commit()
    assert _reason_slots(db, report_id) == {str(first.id)}
