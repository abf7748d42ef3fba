"""Basic mode (no JavaScript): the server removes the files' hidden details in memory before
sealing them, unless the reporter ticked "Send my files as they are"."""

from __future__ import annotations

import io

from sqlalchemy import func, select

import crypto
from integrity.reporting.clean_files import clean_file
from integrity.reporting.models import Attachment, Message, Report
from tests.conftest import csrf_token
from tests.helpers import clean_vectors
from tests.helpers.reports import RECEIPT, file_plain_form, hidden_fields
from tests.helpers.stored import chunk_bytes, folder, nothing_stored

PHOTO = (clean_vectors.FOLDER / "photo.jpg").read_bytes()
VIDEO = (clean_vectors.FOLDER / "clip.mp4").read_bytes()
GPS_TAG = b"\x88\x25"  # the Exif tag that points to the GPS position


def _sealed_file(app, db, document) -> bytes:
    (entry,) = document["attachments"]
    store = app.extensions["integrity.attachments"]
    with store.open(entry["id"]) as sealed:
        plain = io.BytesIO()
        crypto.open_file(sealed, plain, crypto.b64decode(entry["key"]), entry["size"])
    assert entry["size"] == len(plain.getvalue())
    return plain.getvalue()


def _report_document(db, channel) -> dict:
    report = db.scalar(select(Report))
    reader_id, pair = next(iter(channel.inspectors.items()))
    slot = next(s.slot for s in report.key_slots if s.reader == reader_id)
    return crypto.open_document(report.payload, slot, pair.secret_key, 1024)


def test_a_photo_sent_without_javascript_is_sealed_without_its_position(
    client, channel, db, app
) -> None:
    response = file_plain_form(client, channel, files=(io.BytesIO(PHOTO), "lane4.jpg",
                                                       "image/jpeg"))
    assert response.status_code == 200, response.get_data(as_text=True)
    stored = _sealed_file(app, db, _report_document(db, channel))
    assert stored == clean_file(PHOTO).data
    assert clean_vectors.MODEL.encode() not in stored and GPS_TAG not in stored
    # Nothing readable reached the data folder, or the database's chunk rows.
    for path in folder(app).root.parent.rglob("*"):
        if path.is_file():
            assert clean_vectors.MODEL.encode() not in path.read_bytes()
    assert clean_vectors.MODEL.encode() not in chunk_bytes(app)


def test_the_reporter_may_send_a_photo_as_it_is_on_purpose(client, channel, db, app) -> None:
    response = file_plain_form(client, channel, keep_details="1",
                               files=(io.BytesIO(PHOTO), "lane4.jpg", "image/jpeg"))
    assert response.status_code == 200
    assert _sealed_file(app, db, _report_document(db, channel)) == PHOTO


def test_a_file_that_cannot_be_cleaned_is_refused_unless_chosen(client, channel, db, app) -> None:
    refused = file_plain_form(client, channel, files=(io.BytesIO(VIDEO), "lane4.mp4",
                                                      "video/mp4"))
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "lane4.mp4" in html and "Send my files as they are" in html
    assert db.scalar(select(func.count()).select_from(Report)) == 0
    assert db.scalar(select(func.count()).select_from(Attachment)) == 0
    assert nothing_stored(app)
    # The answers are still in the form.
    assert "Officer at lane 4 asks 20 EUR per car." in html
    sent = file_plain_form(client, channel, keep_details="1",
                           files=(io.BytesIO(VIDEO), "lane4.mp4", "video/mp4"))
    assert sent.status_code == 200
    assert _sealed_file(app, db, _report_document(db, channel)) == VIDEO


def test_the_form_says_files_are_cleaned_and_offers_to_keep_them(client, channel) -> None:
    html = client.get(f"/report/{channel.slug}").get_data(as_text=True)
    assert "They are removed before your files are sealed" in html
    assert 'name="keep_details" value="1"' in html


def test_a_reply_without_javascript_is_cleaned_too(client, channel, db, app) -> None:
    receipt = RECEIPT.search(file_plain_form(client, channel).get_data(as_text=True)).group(1)
    page = client.post("/mailbox", data={"csrf_token": csrf_token(client, "/mailbox"),
                                         "receipt": receipt})
    text = page.get_data(as_text=True)
    assert 'name="keep_details"' in text
    (fields,) = hidden_fields(text, "/mailbox/reply")
    reply = client.post("/mailbox/reply", data={
        **fields, "text": "Another photo.", "files": (io.BytesIO(PHOTO), "lane5.jpg", "image/jpeg"),
    }, content_type="multipart/form-data")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    message = db.scalar(select(Message))
    reader_id, pair = next(iter(channel.inspectors.items()))
    slot = next(s.slot for s in message.key_slots if s.reader == reader_id)
    document = crypto.open_document(message.payload, slot, pair.secret_key, 1024)
    assert _sealed_file(app, db, document) == clean_file(PHOTO).data
