"""The reporter pages without JavaScript: the server seals in memory and stores the same rows."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

import crypto
from crypto.stream import padded_length, sealed_length
from integrity.reporting.models import Attachment, KeySlot, Message, Report
from tests.conftest import csrf_token
from tests.helpers.reports import RECEIPT, file_plain_form, hidden_fields
from tests.helpers.stored import chunk_bytes, folder, nothing_stored
from tests.protocol_client import ReporterClient

MARKER = b"DISTINCTIVE-ATTACHMENT-MARKER"


def test_landing_page_says_what_is_secret_and_what_is_not(client, channel) -> None:
    html = client.get("/").get_data(as_text=True)
    for words in ("What stays secret", "What the server sees in clear", "Tor Browser",
                  "The day you report (not the time)"):
        assert words in html


def test_report_form_follows_the_questionnaire_and_states_its_mode(client, channel) -> None:
    html = client.get(f"/report/{channel.slug}").get_data(as_text=True)
    # "Loading protection…" for the script to replace; basic mode in <noscript> for no script.
    assert 'id="mode" data-mode="loading"' in html and "Loading protection" in html
    noscript = html.split("<noscript>\n<p", 1)[1].split("</noscript>", 1)[0]
    assert 'data-mode="plain"' in noscript and "Basic mode (JavaScript is off)." in noscript
    assert 'name="q-what"' in html and 'type="date"' in html and 'name="q-evidence"' in html
    assert 'name="exclude"' in html  # the demo channel allows exclusion
    assert 'enctype="multipart/form-data"' in html
    assert 'integrity="sha384-' in html or "dist/report." in html


def test_plain_form_files_a_report_with_a_file_sealed_as_it_streams(
    client, channel, db, app
) -> None:
    photo = MARKER + bytes(range(256)) * 800  # about 200 KB: more than three chunks
    response = file_plain_form(client, channel,
                               files=(io.BytesIO(photo), "lane4.jpg", "image/jpeg"))
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    receipt = RECEIPT.search(html).group(1)
    assert "cannot be recovered" in html
    assert response.headers["Cache-Control"] == "no-store"
    report = db.scalar(select(Report))
    assert report.category.slug == "bribery" and report.org_unit is None
    # The same rows as the browser path: slots for every inspector and the reporter.
    readers = {slot.reader for slot in report.key_slots}
    assert readers == set(channel.inspectors) | {"reporter"}
    reader_id, pair = next(iter(channel.inspectors.items()))
    slot = next(s.slot for s in report.key_slots if s.reader == reader_id)
    document = crypto.open_document(report.payload, slot, pair.secret_key, 1024)
    assert document["answers"] == {"what": "Officer at lane 4 asks 20 EUR per car.",
                                   "when": "2026-11-20", "ongoing": "yes",
                                   "evidence": ["Photos or video", "Messages"]}
    (entry,) = document["attachments"]
    assert entry["name"] == "lane4.jpg" and entry["type"] == "image/jpeg"
    assert entry["size"] == len(photo)
    store = app.extensions["integrity.attachments"]
    with store.open(entry["id"]) as sealed:
        plain = io.BytesIO()
        crypto.open_file(sealed, plain, crypto.b64decode(entry["key"]), entry["size"])
    assert plain.getvalue() == photo
    # Sealed padded to its Padmé length, as the browser does: zeros after the file.
    padded = padded_length(len(photo), app.extensions["integrity.settings"].max_attachment_bytes)
    assert padded > len(photo)
    assert store.size(entry["id"]) == sealed_length(padded)
    with store.open(entry["id"]) as sealed:
        whole = io.BytesIO()
        crypto.open_file(sealed, whole, crypto.b64decode(entry["key"]))
    assert whole.getvalue() == photo + bytes(padded - len(photo))
    assert db.get(Attachment, entry["id"]).report_id == report.id
    # Nothing readable was left in the data folder, not even in a temporary file, nor in
    # the database's chunk rows.
    for path in folder(app).root.parent.rglob("*"):
        if path.is_file():
            assert MARKER not in path.read_bytes(), path
    assert MARKER not in chunk_bytes(app)
    # The reporter's client (protocol only) opens the report with the printed receipt.
    box = ReporterClient(client).mailbox(receipt)
    assert box["report"]["document"]["answers"]["ongoing"] == "yes"


def test_plain_form_refuses_missing_required_answer_and_stores_nothing(client, channel, db):
    response = file_plain_form(client, channel, **{"q-what": ""})
    assert response.status_code == 400
    assert "Please answer" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Report)) == 0
    assert db.scalar(select(func.count()).select_from(Attachment)) == 0


def test_plain_form_with_a_refused_file_leaves_no_file_behind(client, channel, db, app) -> None:
    response = file_plain_form(client, channel, **{"q-what": "",
                                                     "files": (io.BytesIO(MARKER * 10), "a.txt")})
    assert response.status_code == 400
    assert nothing_stored(app)


def test_plain_mailbox_opens_the_thread_and_takes_a_reply(client, channel, db) -> None:
    html = file_plain_form(client, channel).get_data(as_text=True)
    receipt = RECEIPT.search(html).group(1)
    token = csrf_token(client, "/mailbox")
    page = client.post("/mailbox", data={"csrf_token": token, "receipt": receipt})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Officer at lane 4 asks 20 EUR per car." in text
    assert "Received, not yet acknowledged" in text
    # The page carries a mailbox token for what follows, never the receipt.
    assert receipt not in text and receipt.replace(" ", "") not in text
    (fields,) = hidden_fields(text, "/mailbox/reply")
    assert set(fields) == {"csrf_token", "mailbox_token"}
    reply = client.post("/mailbox/reply", data={
        **fields, "text": "It happens on night shifts.",
        "files": (io.BytesIO(b"shift plan"), "plan.txt", "text/plain"),
    }, content_type="multipart/form-data")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert "Your message was sent." in reply.get_data(as_text=True)
    assert "It happens on night shifts." in reply.get_data(as_text=True)
    message = db.scalar(select(Message))
    reader_id, pair = next(iter(channel.inspectors.items()))
    slot = db.scalar(select(KeySlot.slot).where(KeySlot.message_id == message.id,
                                                KeySlot.reader == reader_id))
    document = crypto.open_document(message.payload, slot, pair.secret_key, 1024)
    assert document["text"] == "It happens on night shifts."
    (entry,) = document["attachments"]
    (fields,) = hidden_fields(reply.get_data(as_text=True), "/mailbox/file")
    assert set(fields) == {"csrf_token", "mailbox_token", "attachment"}
    assert fields["attachment"] == entry["id"]
    download = client.post("/mailbox/file", data=fields)
    assert download.status_code == 200
    assert download.get_data() == b"shift plan"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert 'filename="plan.txt"' in download.headers["Content-Disposition"]
    download.close()


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * 65536, 3 * 65536 + 1234])
def test_a_plain_download_states_its_plaintext_length(client, channel, size) -> None:
    content = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    filed = file_plain_form(client, channel, files=(io.BytesIO(content), "data.bin"))
    receipt = RECEIPT.search(filed.get_data(as_text=True)).group(1)
    page = client.post("/mailbox", data={"csrf_token": csrf_token(client, "/mailbox"),
                                         "receipt": receipt})
    (fields,) = hidden_fields(page.get_data(as_text=True), "/mailbox/file")
    download = client.post("/mailbox/file", data=fields, buffered=True)
    assert download.status_code == 200
    assert download.headers["Content-Length"] == str(size)
    assert download.get_data() == content
    download.close()


def test_the_plaintext_length_follows_from_the_sealed_length() -> None:
    from crypto.stream import plain_length, sealed_length

    for size in (0, 1, 65535, 65536, 65537, 2 * 65536, 2 * 65536 + 1, 10 * 65536 + 99):
        assert plain_length(sealed_length(size)) == size
    for length in (0, 24, 24 + 16, 24 + 65553 + 16, 24 + 65553 + 5):
        with pytest.raises(crypto.ShapeError):
            plain_length(length)


def test_plain_mailbox_with_unknown_receipt_says_so(client, channel) -> None:
    token = csrf_token(client, "/mailbox")
    for receipt in ("1234 5678 9012 3456 7890", "12"):
        page = client.post("/mailbox", data={"csrf_token": token, "receipt": receipt})
        assert page.status_code in (400, 404)
        assert "receipt" in page.get_data(as_text=True).lower()
