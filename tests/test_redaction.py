"""Deleting a file or a message and redacting a passage (EU Directive 2019/1937, Art. 17):
the bytes are gone from the database and the data folder, a tombstone stays in the thread
(why, sealed to the case's readers only), the audit entry names no content, both sides still
open and verify the thread, and the daily register still holds."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

import crypto
from crypto import thread_documents, threads
from crypto.certificates import OrgKey, sign_inspector_key
from crypto.framing import generichash
from integrity import current
from integrity.audit import AuditEntry, verify
from integrity.audit_register import check_register, write_register
from integrity.models import Channel, Role, User, today
from integrity.reporting.models import Attachment, KeySlot, Message, Tombstone
from tests.conftest import csrf_token
from tests.helpers.reports import filed_report_id, open_reason, seal_reason
from tests.helpers.stored import folder, sealed_bytes
from tests.protocol2_client import (
    Reporter2Client,
    case_links,
    inspector_message,
    open_case_thread,
)
from tests.protocol_client import Upload

ORG = OrgKey.from_seed(bytes(range(32, 64)))
ANSWERS = {"what": "Fuel is sold off the border patrol's tanker at night"}
FILE = b"REDACT-FILE-MARKER " * 400
REASON = "Shows a bystander's face; not needed for the case."


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"org_public_key": crypto.b64encode(ORG.public_key)}


@pytest.fixture
def inspector(db, make_account, channel):
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
    """A protocol 2 report with a file, a reporter's message with a file, an inspector's
    reply and a note; the inspector signed in."""
    reporter = Reporter2Client(app.test_client(), ORG.public_key, check_floors=False)
    filed = reporter.file(channel.slug, ANSWERS, uploads=[Upload("face.jpg", "image/jpeg", FILE)])
    login(inspector[0])
    report_id = filed_report_id(app, filed)
    account, pair = inspector
    assert reporter.reply(filed.receipt, "My colleague Petrov saw it too.",
                          [Upload("plate.jpg", "image/jpeg", b"PLATE" * 300)]).status_code == 201
    body = inspector_message(_sealed(client, report_id), pair.secret_key, str(account.id),
                             "Thank you. Which night?")
    assert _post(client, f"/cases/{report_id}/messages", body).status_code == 201
    note = inspector_message(_sealed(client, report_id), pair.secret_key, str(account.id),
                             "Check the tanker log.", note=True)
    assert _post(client, f"/cases/{report_id}/notes", note).status_code == 201
    return reporter, filed, report_id


def _sealed(client, report_id: int) -> dict:
    return client.get(f"/cases/{report_id}/sealed").get_json()


def _post(client, url: str, body: object):
    report_id = url.split("/")[2]
    return client.post(url, json=body,
                       headers={"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")})


def _open(item: dict, secret_key: bytes, pad_block: int) -> dict:
    return crypto.open_document(crypto.b64decode(item["payload"]),
                                crypto.b64decode(item["key_slot"]), secret_key, pad_block)


def _replacement(sealed: dict, secret_key: bytes, message: dict, new_payload: bytes,
                 inspector_id: str) -> dict:
    """The authenticator of a message's replacement, as the case page's keyring makes it."""
    thread = open_case_thread(sealed, secret_key)
    link = message["link"]
    original = (crypto.b64decode(link["replaced"]["payload_hash"]) if link.get("replaced")
                else generichash(crypto.b64decode(message["payload"])))
    auth = threads.replacement_auth(thread.secret, link["chain"], link["seq"], original,
                                    new_payload, inspector_id)
    return {"auth": crypto.b64encode(auth)}


def _checks(sealed: dict, secret_key: bytes, chain: str) -> list[threads.LinkCheck]:
    thread = open_case_thread(sealed, secret_key)
    return threads.check_links(thread.secret, chain,
                               crypto.b64decode(sealed["report"]["payload"]),
                               case_links(sealed, chain))


def _everything_stored(app, db) -> bytes:
    """Every value of every table, and every file of the data folder, as one byte string."""
    found = []
    for table in inspect(db.get_bind()).get_table_names():
        for row in db.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 (table names)
            for value in row:
                found.append(value if isinstance(value, bytes) else
                             bytes(value) if isinstance(value, memoryview) else
                             str(value).encode())
    root = folder(app).root.parent
    for path in root.rglob("*"):
        if path.is_file():
            found.append(path.read_bytes())
    return b"\x00".join(found)


def _reason(client, report_id: int, reason: str = REASON) -> dict:
    """``reason`` sealed as the case page seals it, to the case's readers as they are now."""
    return seal_reason(_sealed(client, report_id), reason)


def _report_file(db, report_id: int) -> Attachment:
    return db.scalar(select(Attachment).where(Attachment.report_id == report_id,
                                              Attachment.message_id.is_(None)))


def test_deleting_a_file_removes_its_bytes_everywhere_and_leaves_a_tombstone(
    app, db, client, case, inspector
) -> None:
    reporter, filed, report_id = case
    attachment_id = _report_file(db, report_id).id
    store = app.extensions["integrity.attachments"]
    sealed = sealed_bytes(app, attachment_id)
    piece = sealed[100:164]
    assert piece in _everything_stored(app, db)
    response = _post(client, f"/cases/{report_id}/attachments/{attachment_id}/delete",
                     {"reason": _reason(client, report_id)})
    assert response.status_code == 200, response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Attachment, attachment_id) is None
    assert not store.exists(attachment_id)
    assert piece not in _everything_stored(app, db)
    # The audit entry names the file, its size and the hash of what went: no content.
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "attachment_deleted"))
    assert entry.facts == {"attachment": attachment_id, "size": len(sealed),
                           "sha256": hashlib.sha256(sealed).hexdigest()}
    assert REASON not in entry.details
    assert verify(db).ok
    # The inspector sees the tombstone and opens its sealed reason; the reporter without it.
    data = _sealed(client, report_id)
    tombstone = db.scalar(select(Tombstone))
    assert {k: v for k, v in data["tombstones"][0].items() if k != "reason"} == {
        "id": str(tombstone.id), "kind": "attachment", "message": None,
        "attachment": attachment_id, "on": today().isoformat(),
        "by": db.get(User, inspector[0].id).name}
    assert open_reason(data, data["tombstones"][0], inspector[1]) == REASON
    box = reporter.mailbox(filed.receipt)
    assert [t["kind"] for t in box["tombstones"]] == ["attachment"]
    assert "reason" not in box["tombstones"][0]
    assert REASON not in str(box)
    # The file is no longer served to either side.
    keys = reporter.derive(filed.receipt)
    assert reporter.http.post("/api/v1/mailbox/attachment", json={
        "lookup": crypto.b64encode(keys.lookup), "id": attachment_id}).status_code == 404
    assert client.get(f"/cases/{report_id}/attachments/{attachment_id}").status_code == 404
    # The report itself is untouched: the daily register still holds.
    db.execute(text("UPDATE reports SET created_on = :day"),
               {"day": today() - timedelta(days=1)})
    db.commit()
    write_register(db, today())
    db.commit()
    assert check_register(db).ok


def test_deleting_a_message_keeps_both_sides_verifying_and_hides_the_reason(
    app, db, client, case, inspector
) -> None:
    reporter, filed, report_id = case
    account, pair = inspector
    sealed = _sealed(client, report_id)
    target = next(m for m in sealed["messages"] if m["from"] == "reporter")
    old = crypto.b64decode(target["payload"])
    file_id = db.scalar(select(Attachment.id).where(Attachment.message_id == int(target["id"])))
    file_bytes = sealed_bytes(app, file_id)
    body = {"reason": seal_reason(sealed, REASON),
            "replacement": _replacement(sealed, pair.secret_key, target, b"", str(account.id))}
    response = _post(client, f"/cases/{report_id}/messages/{target['id']}/delete", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    db.expire_all()
    message = db.get(Message, int(target["id"]))
    assert message.payload == b"" and message.payload_hash == generichash(old)
    assert not db.scalars(select(KeySlot).where(KeySlot.message_id == message.id)).all()
    assert not current.attachment_store(app).exists(file_id)
    stored = _everything_stored(app, db)
    assert old[40:104] not in stored and file_bytes[100:164] not in stored
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "message_deleted"))
    assert entry.facts == {"message": message.id, "size": len(old),
                           "sha256": hashlib.sha256(old).hexdigest(),
                           "attachments": [{"id": file_id, "size": len(file_bytes),
                                            "sha256": hashlib.sha256(file_bytes).hexdigest()}]}
    # The inspector's thread still verifies, and the reply after it too.
    after = _sealed(client, report_id)
    assert all(check.intact for check in _checks(after, pair.secret_key, "thread"))
    assert [t["kind"] for t in after["tombstones"]] == ["message"]
    assert open_reason(after, after["tombstones"][0], pair) == REASON
    # The reporter's mailbox lists the message in its place, deleted, and verifies the thread.
    box = reporter.mailbox(filed.receipt)
    assert [m["deleted"] for m in box["messages"]] == [True, False]
    assert all(check.intact for check in box["checks"])
    assert box["messages"][1]["document"]["text"] == "Thank you. Which night?"
    assert box["tombstones"] == [{"kind": "message", "message": box["messages"][0]["id"],
                                  "attachment": None, "on": today().isoformat(),
                                  "by": db.get(User, account.id).name}]
    # Both sides can still write after it.
    assert reporter.reply(filed.receipt, "The night of the 3rd.").status_code == 201
    more = inspector_message(_sealed(client, report_id), pair.secret_key, str(account.id),
                             "Noted.")
    assert _post(client, f"/cases/{report_id}/messages", more).status_code == 201
    assert all(check.intact for check in reporter.mailbox(filed.receipt)["checks"])
    # Deleting it again is refused.
    again = _post(client, f"/cases/{report_id}/messages/{target['id']}/delete", body)
    assert again.status_code == 400


def _redacted_body(sealed: dict, pair, account, message: dict, *, note: bool = False) -> dict:
    """The inspector's browser: open, replace the passage, seal again to the same readers."""
    document = _open(message, pair.secret_key, sealed["pad_block"])
    new = {**document, "text": document["text"].replace("Petrov", "[removed]")}
    thread = open_case_thread(sealed, pair.secret_key)
    readers = {r["id"]: crypto.b64decode(r["public_key"]) for r in sealed["recipients"]}
    if not note:
        readers["reporter"] = thread.reporter_public_key
    again = crypto.seal_document(new, readers, sealed["pad_block"])
    return {"reason": seal_reason(sealed, REASON), "payload": crypto.b64encode(again.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in again.key_slots.items()},
            "replacement": _replacement(sealed, pair.secret_key, message, again.payload,
                                        str(account.id))}


def test_redacting_a_passage_reseals_the_message_and_both_sides_verify(
    db, client, case, inspector
) -> None:
    reporter, filed, report_id = case
    account, pair = inspector
    sealed = _sealed(client, report_id)
    target = next(m for m in sealed["messages"] if m["from"] == "reporter")
    old = crypto.b64decode(target["payload"])
    body = _redacted_body(sealed, pair, account, target)
    response = _post(client, f"/cases/{report_id}/messages/{target['id']}/redact", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    after = _sealed(client, report_id)
    changed = next(m for m in after["messages"] if m["id"] == target["id"])
    assert _open(changed, pair.secret_key, after["pad_block"])["text"] == \
        "My colleague [removed] saw it too."
    assert all(check.intact for check in _checks(after, pair.secret_key, "thread"))
    box = reporter.mailbox(filed.receipt)
    assert box["messages"][0]["document"]["text"] == "My colleague [removed] saw it too."
    # The file of the redacted message stays.
    assert box["messages"][0]["document"]["attachments"][0]["name"] == "plate.jpg"
    assert all(check.intact for check in box["checks"])
    assert [t["kind"] for t in box["tombstones"]] == ["passage"]
    assert REASON not in str(box)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "message_redacted"))
    assert entry.facts == {"message": int(target["id"]), "size": len(old),
                           "sha256": hashlib.sha256(old).hexdigest()}
    # A second redaction keeps the first payload's hash for the link.
    second = _redacted_body(after, pair, account, changed)
    assert _post(client, f"/cases/{report_id}/messages/{target['id']}/redact",
                 second).status_code == 200
    assert all(check.intact for check in reporter.mailbox(filed.receipt)["checks"])


def test_a_replacement_without_the_thread_secret_is_not_authentic(
    db, client, case, inspector
) -> None:
    reporter, filed, report_id = case
    account, pair = inspector
    sealed = _sealed(client, report_id)
    target = next(m for m in sealed["messages"] if m["from"] == "reporter")
    body = _redacted_body(sealed, pair, account, target)
    body["replacement"] = {"auth": crypto.b64encode(bytes(32))}  # a database writer's guess
    assert _post(client, f"/cases/{report_id}/messages/{target['id']}/redact",
                 body).status_code == 200
    checks = reporter.mailbox(filed.receipt)["checks"]
    assert [c.authentic for c in checks] == [False, True]
    # Deleting a message behind the application's back (payload emptied, hash kept) shows too.
    message = db.get(Message, int(next(m for m in sealed["messages"]
                                       if m["from"] == "inspector")["id"]))
    message.payload_hash, message.payload = generichash(message.payload), b""
    message.replaced_by, message.replacement_auth = str(account.id), bytes(32)
    db.commit()
    assert not _checks(_sealed(client, report_id), pair.secret_key, "thread")[1].authentic


def test_redaction_refusals(db, client, case, inspector) -> None:
    reporter, filed, report_id = case
    account, pair = inspector
    sealed = _sealed(client, report_id)
    target = next(m for m in sealed["messages"] if m["from"] == "reporter")
    body = _redacted_body(sealed, pair, account, target)
    url = f"/cases/{report_id}/messages/{target['id']}/redact"
    assert _post(client, url, {k: v for k, v in body.items() if k != "reason"}).get_json() == {
        "error": "Say why it is deleted."}
    # A reason in clear is refused: it must arrive sealed.
    assert _post(client, url, {**body, "reason": REASON}).get_json() == {
        "error": "The reason must be sealed to the case's readers: an object with “payload” "
                 "and “key_slots”."}
    assert _post(client, url, {k: v for k, v in body.items() if k != "replacement"}
                 ).status_code == 400
    slots = dict(body["key_slots"])
    slots.pop("reporter")
    assert _post(client, url, {**body, "key_slots": slots}).status_code == 400
    assert _post(client, f"/cases/{report_id}/messages/999999/redact", body).status_code == 404
    assert _post(client, f"/cases/{report_id}/attachments/nope/delete",
                 {"reason": body["reason"]}).status_code == 404
    # Nothing was changed or recorded by the refusals.
    assert db.scalar(select(Tombstone.id)) is None
    assert db.scalar(select(AuditEntry.seq).where(AuditEntry.action.in_(
        ["message_redacted", "attachment_deleted"]))) is None


def test_a_note_is_redacted_to_the_readers_only_and_the_reporter_sees_no_tombstone(
    client, case, inspector
) -> None:
    reporter, filed, report_id = case
    account, pair = inspector
    sealed = _sealed(client, report_id)
    note = next(m for m in sealed["messages"] if m["from"] == "note")
    document = _open(note, pair.secret_key, sealed["pad_block"])
    new = {**document, "text": "Check the [removed]."}
    readers = {r["id"]: crypto.b64decode(r["public_key"]) for r in sealed["recipients"]}
    again = crypto.seal_document(new, readers, sealed["pad_block"])
    body = {"reason": seal_reason(sealed, REASON), "payload": crypto.b64encode(again.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in again.key_slots.items()},
            "replacement": _replacement(sealed, pair.secret_key, note, again.payload,
                                        str(account.id))}
    assert _post(client, f"/cases/{report_id}/messages/{note['id']}/redact",
                 body).status_code == 200
    assert all(c.intact for c in _checks(_sealed(client, report_id), pair.secret_key, "notes"))
    assert reporter.mailbox(filed.receipt)["tombstones"] == []


def test_the_mailbox_without_javascript_shows_tombstones_without_the_reason(
    app, db, client, case, inspector
) -> None:
    reporter, filed, report_id = case
    account, pair = inspector
    sealed = _sealed(client, report_id)
    target = next(m for m in sealed["messages"] if m["from"] == "reporter")
    body = {"reason": seal_reason(sealed, REASON),
            "replacement": _replacement(sealed, pair.secret_key, target, b"", str(account.id))}
    assert _post(client, f"/cases/{report_id}/messages/{target['id']}/delete",
                 body).status_code == 200
    attachment = _report_file(db, report_id)
    assert _post(client, f"/cases/{report_id}/attachments/{attachment.id}/delete",
                 {"reason": _reason(client, report_id)}).status_code == 200
    page = reporter_page(app, filed.receipt)
    assert "A message was deleted on" in page and "A file was deleted on" in page
    assert "Thank you. Which night?" in page
    assert "Petrov" not in page and REASON not in page


def reporter_page(app, receipt: str) -> str:
    anonymous = app.test_client()
    response = anonymous.post("/mailbox", data={"receipt": receipt,
                                                "csrf_token": csrf_token(anonymous, "/mailbox")})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_thread_documents_unchanged_by_replacement_fields() -> None:
    """A message never replaced judges exactly as before (the vectors hold)."""
    secret = bytes(range(32))
    report_payload = b"r" * 64
    payload = crypto.seal_document(thread_documents.message_document("hi", []),
                                   {"x": crypto.KeyPair.generate().public_key}, 1024).payload
    first = threads.next_link(secret, "thread", report_payload, None, "reporter", "", payload)
    assert threads.check_links(secret, "thread", report_payload, [first])[0].intact
    replaced = threads.Link(first.seq, first.role, first.sender, first.prev, b"", first.auth,
                            generichash(payload), "7",
                            threads.replacement_auth(secret, "thread", 1,
                                                     generichash(payload), b"", "7"))
    assert threads.check_links(secret, "thread", report_payload, [replaced])[0].intact
    assert threads.link_hash("thread", replaced) == threads.link_hash("thread", first)
