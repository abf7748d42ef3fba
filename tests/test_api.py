"""Protocol v1 over HTTP: a client written from the contract files, reads and replies; every
refusal the contract names answers one sentence and stores nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from crypto import stream
from integrity import current
from integrity.db import dispose
from integrity.reporting.models import (
    Attachment,
    AttachmentChunk,
    KeySlot,
    Message,
    PowChallenge,
    Report,
)
from tests.helpers.stored import chunk_rows, folder, in_database, nothing_stored
from tests.protocol_client import ReporterClient, Upload

ANSWERS = {"what": "The shift chief takes 50 EUR per lorry at lane 2.", "when": "2026-11-02"}


@pytest.fixture(autouse=True, params=["store_at_once", "store_filing"])
def filing_writer(request: pytest.FixtureRequest, app) -> str:
    """Every test here runs with each way of storing a report. On PostgreSQL the API stores
    with one statement (``store_at_once``); ``store_filing``, its reference through the ORM,
    is what SQLite uses, and is run on PostgreSQL too."""
    if request.param == "store_filing":
        app.extensions["integrity.route_cache"] = None
    elif app.extensions["integrity.route_cache"] is None:
        pytest.skip("SQLite stores reports with store_filing only")
    return str(request.param)


def _rows(db: Session) -> dict[str, int]:
    db.expire_all()
    return {model.__tablename__: db.scalar(select(func.count()).select_from(model))
            for model in (Report, KeySlot, Message, Attachment)}


def _refused(response, status: int, words: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert words.lower() in error.lower(), error
    assert error.endswith(".") and "\n" not in error


# --- the happy path -----------------------------------------------------------------------


def test_config_publishes_what_a_client_needs(reporter: ReporterClient, channel) -> None:
    config = reporter.config
    assert config["protocol"] == 1
    assert len(crypto.b64decode(config["salt"])) == 16
    assert config["argon2id"] == {"opslimit": 1, "memlimit": 65536}
    assert config["pad_block"] == 1024 and config["recovery_key"] is None
    assert config["pow_bits"] == 4
    listed = reporter.channel(channel.slug)
    assert {r["id"] for r in listed["recipients"]} == set(channel.inspectors)
    assert listed["allow_exclusion"] is True
    assert {c["slug"] for c in listed["categories"]} >= {"bribery", "smuggling-collusion"}
    assert [q["key"] for q in listed["questions"]][0] == "what"
    assert any(u["parent"] is None for u in config["org_units"])
    # The salt is fixed for the installation.
    assert ReporterClient(reporter.http).config["salt"] == config["salt"]


def test_report_is_filed_read_by_each_inspector_and_by_the_reporter(
    app, reporter: ReporterClient, channel, db: Session
) -> None:
    photo = Upload("gate.jpg", "image/jpeg", bytes(range(256)) * 600)
    filed = reporter.file(channel.slug, ANSWERS, uploads=[photo], category="bribery",
                          org_unit=reporter.config["org_units"][0]["id"])
    assert filed.response.get_json() == {"status": "received"}
    report = db.scalar(select(Report))
    assert report.category.slug == "bribery" and report.status == "new"
    assert report.lookup_hash == crypto.keyed_lookup_hash(filed.keys.lookup,
                                                          current.lookup_key(app))
    assert report.lookup_hash != crypto.lookup_hash(filed.keys.lookup)
    assert filed.keys.lookup not in (report.lookup_hash, report.payload)
    for reader_id, pair in channel.inspectors.items():
        slot = db.scalar(select(KeySlot.slot).where(KeySlot.report_id == report.id,
                                                    KeySlot.reader == reader_id))
        document = crypto.open_document(report.payload, slot, pair.secret_key, 1024)
        assert document["answers"] == ANSWERS
        entry = document["attachments"][0]
        assert entry["name"] == "gate.jpg" and entry["size"] == len(photo.data)
        store = current.attachment_store(reporter.http.application)
        plain = io.BytesIO()
        with store.open(entry["id"]) as sealed_file:
            crypto.open_file(sealed_file, plain, crypto.b64decode(entry["key"]), entry["size"])
        assert plain.getvalue() == photo.data
    box = reporter.mailbox(filed.receipt)
    assert box["report"]["document"]["answers"] == ANSWERS
    assert box["report"]["status"] == "new" and box["report"]["channel"] == channel.slug
    assert len(box["report"]["created_on"]) == 10 and box["messages"] == []
    sealed = reporter.download(filed.receipt, filed.attachment_ids[0])
    assert crypto.valid_stream_length(len(sealed))


def test_attachment_rows_carry_no_time_once_claimed(reporter, channel, db: Session) -> None:
    filed = reporter.file(channel.slug, ANSWERS, uploads=[Upload("a.txt", "text/plain", b"x")])
    attachment = db.get(Attachment, filed.attachment_ids[0])
    assert attachment.uploaded_at is None and attachment.report_id is not None
    app = reporter.http.application
    if in_database(app):  # rows: the bytes and their place, nothing that could hold a time
        assert chunk_rows(app, attachment.id) == 1
        assert set(AttachmentChunk.__table__.columns.keys()) == {"attachment_id", "seq", "data"}
        assert not folder(app).path(attachment.id).exists()
    else:
        assert int(folder(app).path(attachment.id).stat().st_mtime) % 86400 == 0


def test_reporter_replies_with_an_attachment_and_reads_the_thread(reporter, channel, db) -> None:
    filed = reporter.file(channel.slug, ANSWERS)
    response = reporter.reply(filed.receipt, "The lorry plate was AB-123.",
                              [Upload("plate.png", "image/png", b"\x89PNG" + bytes(70000))])
    assert response.status_code == 201, response.get_data(as_text=True)
    box = reporter.mailbox(filed.receipt)
    (message,) = box["messages"]
    assert message["from"] == "reporter" and message["document"]["text"].startswith("The lorry")
    attachment_id = message["document"]["attachments"][0]["id"]
    assert len(reporter.download(filed.receipt, attachment_id)) == stream.sealed_length(70004)
    # Every inspector of the case can open the reporter's message.
    stored = db.scalar(select(Message))
    for reader_id, pair in channel.inspectors.items():
        slot = db.scalar(select(KeySlot.slot).where(KeySlot.message_id == stored.id,
                                                    KeySlot.reader == reader_id))
        assert crypto.open_document(stored.payload, slot, pair.secret_key, 1024)["text"]


def test_excluded_inspector_gets_no_slot_and_no_case(reporter, channel, db: Session) -> None:
    excluded = sorted(channel.inspectors)[0]
    reporter.file(channel.slug, ANSWERS, excluded=[excluded])
    report = db.scalar(select(Report))
    assert [str(u.id) for u in report.readers] == [sorted(channel.inspectors)[1]]
    assert excluded not in {slot.reader for slot in report.key_slots}


def test_api_sets_no_cookie_and_is_not_cached(reporter, channel) -> None:
    filed = reporter.file(channel.slug, ANSWERS)
    assert "Set-Cookie" not in filed.response.headers
    assert filed.response.headers["Cache-Control"] == "no-store"


# --- refusals: one sentence, nothing stored ------------------------------------------------


def _mutate(body: dict, **changes) -> dict:
    copy = {**body, "key_slots": dict(body["key_slots"])}
    for key, value in changes.items():
        if value is KeyError:
            copy.pop(key, None)
        else:
            copy[key] = value
    return copy


@pytest.mark.parametrize(("change", "words"), [
    ({"lookup": "not base64!"}, "base64url"),
    ({"lookup": crypto.b64encode(bytes(32)) + "=="}, "base64url"),
    ({"lookup": crypto.b64encode(bytes(31))}, "32 bytes"),
    ({"reporter_public_key": KeyError}, "missing"),
    ({"payload": crypto.b64encode(bytes(40 + 1000))}, "blocks"),
    ({"payload": crypto.b64encode(bytes(40))}, "blocks"),
    ({"protocol": 3}, "versions 1 and 2"),
    ({"protocol": 2}, "no organisation key"),  # a protocol 1 body sent as protocol 2
    ({"channel": "nope"}, "no open channel"),
    ({"category": "not-a-category"}, "category"),
    ({"org_unit": "999999"}, "unit"),
    ({"excluded": ["12345"]}, "not a recipient"),
    ({"excluded": "1"}, "list"),
    ({"attachments": ["no-such-upload"]}, "attachment"),
    ({"key_slots": []}, "key_slots"),
])
def test_bad_shapes_are_refused_with_one_sentence(reporter, channel, db, change, words) -> None:
    filed = reporter.report_body(channel.slug, ANSWERS)
    before = _rows(db)
    filed.body = _mutate(filed.body, **change)
    _refused(reporter.send(filed).response, 400, words)
    assert _rows(db) == before


@pytest.mark.parametrize(("changes", "words"), [
    # The first problem in the order of docs/protocol.md is the one answered, whether or not
    # it needs the route to be found.
    ({"channel": "nope", "lookup": "not base64!"}, "no open channel"),
    ({"payload": crypto.b64encode(bytes(40)), "excluded": "1"}, "blocks"),
    ({"excluded": ["12345"], "key_slots": []}, "not a recipient"),
    ({"key_slots": {"reporter": crypto.b64encode(bytes(80))}, "attachments": "1"}, "missing"),
    ({"attachments": ["no-such-upload"], "pow": KeyError}, "attachment"),
])
def test_the_first_of_several_problems_is_answered(reporter, channel, db, changes,
                                                   words) -> None:
    filed = reporter.report_body(channel.slug, ANSWERS)
    filed.body = _mutate(filed.body, **changes)
    _refused(reporter.send(filed, with_pow="pow" not in changes).response, 400, words)
    assert _rows(db)["reports"] == 0


def test_wrong_slot_size_and_missing_or_extra_slots_are_refused(reporter, channel, db) -> None:
    filed = reporter.report_body(channel.slug, ANSWERS)
    slots = filed.body["key_slots"]
    some_inspector = sorted(channel.inspectors)[0]
    cases = [
        ({**slots, some_inspector: crypto.b64encode(bytes(79))}, "80 bytes"),
        ({k: v for k, v in slots.items() if k != some_inspector}, "missing"),
        ({k: v for k, v in slots.items() if k != "reporter"}, "missing"),
        ({**slots, "recovery": crypto.b64encode(bytes(80))}, "must not have one"),
        ({**slots, "999": crypto.b64encode(bytes(80))}, "must not have one"),
    ]
    for bad_slots, words in cases:
        attempt = reporter.report_body(channel.slug, ANSWERS)
        attempt.body = {**attempt.body, "key_slots": bad_slots}
        _refused(reporter.send(attempt).response, 400, words)
    assert _rows(db)["reports"] == 0


def test_excluding_every_inspector_is_refused(reporter, channel, db) -> None:
    filed = reporter.report_body(channel.slug, ANSWERS, excluded=sorted(channel.inspectors))
    _refused(reporter.send(filed).response, 400, "at least one inspector")
    assert _rows(db)["reports"] == 0


def test_duplicate_lookup_is_409(reporter, channel, db) -> None:
    first = reporter.file(channel.slug, ANSWERS)
    again = reporter.send(reporter.report_body(channel.slug, ANSWERS, receipt=first.receipt))
    _refused(again.response, 409, "already in use")
    assert _rows(db)["reports"] == 1


def test_missing_wrong_and_reused_proof_of_work_is_429(reporter, channel, db) -> None:
    missing = reporter.send(reporter.report_body(channel.slug, ANSWERS), with_pow=False)
    _refused(missing.response, 429, "proof of work")
    wrong = reporter.report_body(channel.slug, ANSWERS)
    solved = reporter.pow()
    challenge = crypto.b64decode(solved["challenge"])
    bad_nonce = next(n for n in range(10**6) if not crypto.verify_pow(challenge, n, 4))
    wrong.body["pow"] = {"challenge": solved["challenge"], "nonce": bad_nonce}
    _refused(reporter.send(wrong).response, 429, "does not solve")
    good = reporter.send(reporter.report_body(channel.slug, ANSWERS))
    assert good.response.status_code == 201
    reused = reporter.report_body(channel.slug, ANSWERS)
    reused.body["pow"] = good.body["pow"]
    _refused(reporter.send(reused).response, 429, "already used")
    assert _rows(db)["reports"] == 1


def test_expired_proof_of_work_is_429(reporter, channel, db) -> None:
    filed = reporter.report_body(channel.slug, ANSWERS)
    filed.body["pow"] = reporter.pow()
    for challenge in db.scalars(select(PowChallenge)):
        challenge.expires_at = challenge.expires_at.replace(year=2000)
    db.commit()
    _refused(reporter.send(filed).response, 429, "expired")


def test_bodies_must_be_json(client, channel) -> None:
    _refused(client.post("/api/v1/reports", data="{}", content_type="text/plain"), 415, "json")
    _refused(client.post("/api/v1/reports", data="{not json", content_type="application/json"),
             400, "not valid json")
    _refused(client.post("/api/v1/reports", json=[1, 2]), 400, "json object")
    _refused(client.post("/api/v1/attachments", data=b"x" * 41, content_type="text/plain"),
             415, "octet-stream")


def test_attachment_length_must_decompose_into_chunks(client, db) -> None:
    for length in (0, 40, 24 + stream.CHUNK_SEALED + 3):
        _refused(client.post("/api/v1/attachments", data=bytes(length),
                             content_type="application/octet-stream"), 400, "secretstream")
    assert _rows(db)["attachments"] == 0


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"max_attachment_bytes": 200_000, "max_payload_bytes": 40 + 4 * 1024,
            "ratelimit_mailbox_failures": "5 per minute"}


def test_oversized_attachment_is_413_and_leaves_no_file(client, db, app) -> None:
    sealed = io.BytesIO()
    crypto.seal_file(io.BytesIO(bytes(300_000)), sealed)
    _refused(client.post("/api/v1/attachments", data=sealed.getvalue(),
                         content_type="application/octet-stream"), 413, "larger")
    assert nothing_stored(app)
    assert _rows(db)["attachments"] == 0


def test_oversized_payload_is_413(reporter, channel, db) -> None:
    filed = reporter.report_body(channel.slug, {"what": "x" * 6000})
    _refused(reporter.send(filed).response, 413, "larger")
    assert _rows(db)["reports"] == 0


def test_attachment_cannot_be_claimed_twice(reporter, channel, db) -> None:
    first = reporter.file(channel.slug, ANSWERS, uploads=[Upload("a", "text/plain", b"a")])
    second = reporter.report_body(channel.slug, ANSWERS)
    second.body["attachments"] = first.attachment_ids
    _refused(reporter.send(second).response, 400, "already belongs")


# --- the mailbox --------------------------------------------------------------------------


def test_unknown_or_malformed_lookups_get_the_same_404(client, channel) -> None:
    answers = [
        client.post("/api/v1/mailbox", json={"lookup": crypto.b64encode(bytes(32))}),
        client.post("/api/v1/mailbox", json={"lookup": "!!"}),
        client.post("/api/v1/mailbox", json={}),
    ]
    assert {r.status_code for r in answers} == {404}
    assert len({r.get_data() for r in answers}) == 1


def test_repeated_mailbox_failures_get_429(client, reporter, channel) -> None:
    filed = reporter.file(channel.slug, ANSWERS)
    statuses = [client.post("/api/v1/mailbox", json={"lookup": crypto.b64encode(bytes(32))})
                .status_code for _ in range(6)]
    assert statuses == [404] * 5 + [429]
    # Successful look-ups do not count, but the block holds for everyone on that address.
    lookup = crypto.b64encode(filed.keys.lookup)
    assert client.post("/api/v1/mailbox", json={"lookup": lookup}).status_code == 429


def test_message_slots_must_match_the_mailbox_recipients(reporter, channel, db) -> None:
    filed = reporter.file(channel.slug, ANSWERS)
    sealed = crypto.seal_document({"text": "hi", "attachments": []},
                                  {"reporter": filed.keys.public_key}, 1024)
    response = reporter.http.post("/api/v1/mailbox/messages", json={
        "lookup": crypto.b64encode(filed.keys.lookup),
        "payload": crypto.b64encode(sealed.payload),
        "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()}})
    _refused(response, 400, "missing")
    assert _rows(db)["messages"] == 0


def test_attachment_of_another_report_is_404(reporter, channel) -> None:
    one = reporter.file(channel.slug, ANSWERS, uploads=[Upload("a", "text/plain", b"a")])
    other = reporter.file(channel.slug, ANSWERS)
    with reporter.http.post("/api/v1/mailbox/attachment", json={
        "lookup": crypto.b64encode(other.keys.lookup), "id": one.attachment_ids[0]}) as response:
        assert response.status_code == 404


def test_unclaimed_uploads_are_removed_after_an_hour(app, reporter, channel, db) -> None:
    from datetime import timedelta

    from integrity.models import utcnow
    from integrity.reporting.attachments import purge_unclaimed_attachments

    stale_id, _ = reporter.upload(Upload("a", "text/plain", b"stale"))
    claimed = reporter.file(channel.slug, ANSWERS, uploads=[Upload("b", "text/plain", b"kept")])
    store = app.extensions["integrity.attachments"]
    settings = app.extensions["integrity.settings"]
    assert purge_unclaimed_attachments(db, settings, store) == 0
    removed = purge_unclaimed_attachments(db, settings, store, utcnow() + timedelta(minutes=61))
    db.commit()
    assert removed == 1
    assert not store.exists(stale_id) and db.get(Attachment, stale_id) is None
    assert store.exists(claimed.attachment_ids[0])


def test_odd_values_get_400_not_500(reporter, channel, db) -> None:
    """Inputs that look almost right: a trailing newline, other scripts' digits, true as 1."""
    for change, words in (({"lookup": crypto.b64encode(bytes(30)) + "AA\n"}, "base64url"),
                          ({"org_unit": "²"}, "unit"), ({"org_unit": "١"}, "unit"),
                          ({"protocol": True}, "versions 1 and 2"),
                          ({"protocol": 1.0}, "versions 1 and 2")):
        filed = reporter.report_body(channel.slug, ANSWERS)
        filed.body = _mutate(filed.body, **change)
        _refused(reporter.send(filed).response, 400, words)
    response = reporter.http.post("/api/v1/mailbox", json={"lookup": "AAAA\n"})
    assert response.status_code == 404
    assert _rows(db)["reports"] == 0


def test_protocol_parameters_stay_fixed_once_the_installation_exists(app, reporter, channel):
    """Receipts and documents keep opening if the settings change later."""
    from integrity.app import create_app
    from tests.conftest import make_settings

    filed = reporter.file(channel.slug, ANSWERS)
    settings = app.extensions["integrity.settings"]
    changed = create_app(make_settings(settings.data_dir.parent, settings.database_url,
                                       kdf_opslimit=2, kdf_memlimit=131072, pad_block=512))
    try:
        later = ReporterClient(changed.test_client())
        assert later.config["argon2id"] == reporter.config["argon2id"]
        assert later.config["pad_block"] == 1024
        assert later.mailbox(filed.receipt)["report"]["document"]["answers"] == ANSWERS
    finally:
        dispose(changed)


def test_message_ids_are_places_in_the_thread(reporter, channel) -> None:
    filed = reporter.file(channel.slug, ANSWERS)
    other = reporter.file(channel.slug, ANSWERS)
    for text in ("one", "two"):
        assert reporter.reply(other.receipt, text).status_code == 201
        assert reporter.reply(filed.receipt, text).status_code == 201
    assert [m["id"] for m in reporter.mailbox(filed.receipt)["messages"]] == ["1", "2"]
