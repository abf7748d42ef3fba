"""Resumable uploads (docs/protocol.md#resumable-uploads): the length first, then the bytes in
as many appends as the link needs; a request cut off keeps what reached the disk; only a
complete upload can be claimed; unclaimed ones, complete or not, are purged; and the
single-request upload of protocol 1 is unchanged."""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import crypto
from integrity import current
from integrity.models import utcnow
from integrity.reporting.attachments import purge_unclaimed_attachments
from integrity.reporting.models import Attachment
from integrity.reporting.resumable import append
from tests.conftest import ChannelSetup
from tests.helpers.stored import nothing_stored, sealed_bytes
from tests.protocol_client import ReporterClient

PLAIN = os.urandom(300_000)


def _sealed() -> tuple[bytes, bytes]:
    target = io.BytesIO()
    key = crypto.seal_file(io.BytesIO(PLAIN), target)
    return target.getvalue(), key


def _start(client: FlaskClient, length: int):
    return client.post("/api/v1/uploads", json={"length": length})


def _append(client: FlaskClient, upload_id: str, offset: int, data: bytes, **headers: str):
    return client.patch(f"/api/v1/uploads/{upload_id}", data=data,
                        content_type="application/octet-stream",
                        headers={"Upload-Offset": str(offset), **headers})


def test_an_upload_arrives_in_pieces_and_a_report_claims_it_whole(
        app: Flask, client: FlaskClient, channel: ChannelSetup) -> None:
    sealed, key = _sealed()
    started = _start(client, len(sealed))
    assert started.status_code == 201
    upload = started.get_json()
    assert upload["offset"] == 0 and upload["length"] == len(sealed) and not upload["complete"]
    upload_id = upload["id"]
    half = len(sealed) // 2
    answer = _append(client, upload_id, 0, sealed[:half])
    assert answer.status_code == 200
    assert answer.get_json() == {"id": upload_id, "offset": half, "length": len(sealed),
                                 "complete": False}
    # A report cannot claim it yet: it has not finished arriving.
    reporter = ReporterClient(app.test_client())
    early = reporter.send(reporter.report_body(channel.slug, {"what": "Too early."},
                                               attachments=([upload_id], [])))
    assert early.response.status_code == 409
    assert early.response.get_json()["error"] == "An attachment has not finished arriving."
    # Another offset is refused with the one held; the held one is given by GET too.
    wrong = _append(client, upload_id, 0, sealed[:10])
    assert wrong.status_code == 409 and wrong.get_json()["offset"] == half
    assert client.get(f"/api/v1/uploads/{upload_id}").get_json()["offset"] == half
    done = _append(client, upload_id, half, sealed[half:])
    assert done.get_json() == {"id": upload_id, "offset": len(sealed), "length": len(sealed),
                               "complete": True}
    # Appending to a complete upload at its end changes nothing.
    assert _append(client, upload_id, len(sealed), b"").get_json()["complete"] is True

    entry = {"id": upload_id, "name": "photo.jpg", "type": "image/jpeg", "size": len(PLAIN),
             "key": crypto.b64encode(key)}
    filed = reporter.file(channel.slug, {"what": "See the photo."},
                          attachments=([upload_id], [entry]))
    assert reporter.download(filed.receipt, upload_id) == sealed
    assert sealed_bytes(app, upload_id) == sealed
    assert client.get(f"/api/v1/uploads/{upload_id}").status_code == 404  # claimed: gone


def test_a_request_cut_off_keeps_what_reached_the_disk(app: Flask, db: Session) -> None:
    from werkzeug.exceptions import ClientDisconnected

    sealed, _ = _sealed()
    client = app.test_client()
    upload_id = _start(client, len(sealed)).get_json()["id"]

    class CutOff(io.RawIOBase):
        """A request body whose connection drops after ``keep`` bytes."""

        def __init__(self, data: bytes, keep: int) -> None:
            self.data, self.keep, self.at = data, keep, 0

        def read(self, size: int = -1) -> bytes:
            if self.at >= self.keep:
                raise ClientDisconnected()
            piece = self.data[self.at:min(self.keep, self.at + size)]
            self.at += len(piece)
            return piece

    store = current.attachment_store(app)
    with app.test_request_context():
        attachment = append(db, store, upload_id, 0, CutOff(sealed, 100_000))
        db.commit()
    assert attachment.received == 100_000
    assert client.get(f"/api/v1/uploads/{upload_id}").get_json()["offset"] == 100_000
    # A write that reached the store but was never counted is cut back to the count.
    store.append(upload_id, 100_000, [b"never counted"], len(sealed))
    assert store.size(upload_id) == 100_000 + len(b"never counted")
    assert _append(client, upload_id, 100_000, sealed[100_000:]).get_json()["complete"]
    assert sealed_bytes(app, upload_id) == sealed


@pytest.mark.parametrize(("body", "status", "sentence"), [
    ({"length": 10}, 400, None),  # not a secretstream length
    ({"length": "100"}, 400, "The field “length” must be a whole number of bytes."),
    ({"length": True}, 400, "The field “length” must be a whole number of bytes."),
    ([], 400, "The field “length” must be a whole number of bytes."),
    ({"length": 10**12}, 413, None),
])
def test_a_length_that_cannot_be_a_sealed_upload_is_refused(
        client: FlaskClient, body: object, status: int, sentence: str | None) -> None:
    answer = client.post("/api/v1/uploads", json=body)
    assert answer.status_code == status
    if sentence:
        assert answer.get_json()["error"] == sentence


def test_bad_appends_get_one_sentence_and_change_nothing(client: FlaskClient) -> None:
    sealed, _ = _sealed()
    upload_id = _start(client, len(sealed)).get_json()["id"]
    assert _append(client, "unknown-id", 0, b"x").status_code == 404
    missing = client.patch(f"/api/v1/uploads/{upload_id}", data=b"x",
                           content_type="application/octet-stream")
    assert missing.status_code == 400
    assert "Upload-Offset" in missing.get_json()["error"]
    assert _append(client, upload_id, 0, b"x", **{"Upload-Offset": "-1"}).status_code == 400
    typed = client.patch(f"/api/v1/uploads/{upload_id}", data=b"x", content_type="text/plain",
                         headers={"Upload-Offset": "0"})
    assert typed.status_code == 415
    longer = _append(client, upload_id, 0, sealed + b"more")
    assert longer.status_code == 413
    assert longer.get_json()["error"] == "The upload is longer than the length it declared."
    # Refused whole: the upload is as it was, and takes the right bytes after.
    assert client.get(f"/api/v1/uploads/{upload_id}").get_json()["offset"] == 0
    assert _append(client, upload_id, 0, sealed).get_json()["complete"] is True


def test_unclaimed_uploads_complete_or_not_are_purged(app: Flask, db: Session,
                                                      client: FlaskClient) -> None:
    sealed, _ = _sealed()
    partial = _start(client, len(sealed)).get_json()["id"]
    _append(client, partial, 0, sealed[:1000])
    whole = _start(client, len(sealed)).get_json()["id"]
    _append(client, whole, 0, sealed)
    store = current.attachment_store(app)
    settings = current.settings(app)
    later = utcnow() + timedelta(minutes=settings.unclaimed_upload_minutes + 1)
    assert purge_unclaimed_attachments(db, settings, store, now=later) == 2
    db.commit()
    assert db.get(Attachment, partial) is None and db.get(Attachment, whole) is None
    assert not store.exists(partial) and not store.exists(whole)
    assert nothing_stored(app)


def test_the_single_request_upload_of_protocol_1_is_unchanged(
        app: Flask, channel: ChannelSetup) -> None:
    from tests.protocol_client import Upload

    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, {"what": "As before."},
                          uploads=[Upload("a.jpg", "image/jpeg", PLAIN)])
    box = reporter.mailbox(filed.receipt)
    attachment = box["report"]["document"]["attachments"][0]
    sealed = reporter.download(filed.receipt, attachment["id"])
    plain = io.BytesIO()
    crypto.open_file(io.BytesIO(sealed), plain, crypto.b64decode(attachment["key"]))
    assert plain.getvalue() == PLAIN
