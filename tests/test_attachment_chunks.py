"""On PostgreSQL sealed attachments are rows of the database (integrity/reporting/chunk_store.py),
streamed in and out without ever being whole in memory, and the summaries of closed survey
waves a table: what one server stores, another serves. `integrity migrate-attachments` moves
attachments between the data folder and the rows, checked and safe to run again."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity import current
from integrity.app import create_app
from integrity.channels import add_offline_inspector
from integrity.config import Settings
from integrity.dashboard import pages
from integrity.dashboard.summary_store import KeptWaveSummary
from integrity.db import dispose, new_session
from integrity.demo import load_channel, load_organisation
from integrity.reporting.chunk_store import CHUNK_BYTES, DatabaseStore
from integrity.reporting.models import AttachmentChunk
from integrity.reporting.storage import READ_SIZE, Busy, new_attachment_id
from tests.conftest import FAST_PROTOCOL, ChannelSetup, make_settings
from tests.helpers.cli import run
from tests.helpers.reports import file_plain_form
from tests.helpers.stored import chunk_bytes, chunk_rows, folder, nothing_stored, sealed_bytes
from tests.protocol_client import ReporterClient

PLAIN = os.urandom(700_000)  # sealed, three chunk rows


def _database_only(app: Flask) -> DatabaseStore:
    store = current.attachment_store(app)
    if not isinstance(store, DatabaseStore):
        pytest.skip("attachments are rows on PostgreSQL only")
    return store


def _sealed(plain: bytes = PLAIN) -> tuple[bytes, bytes]:
    target = io.BytesIO()
    key = crypto.seal_file(io.BytesIO(plain), target)
    return target.getvalue(), key


def _entry(upload_id: str, key: bytes, plain: bytes = PLAIN) -> dict[str, object]:
    return {"id": upload_id, "name": "ledger.bin", "type": "application/octet-stream",
            "size": len(plain), "key": crypto.b64encode(key)}


def _opened(sealed: bytes, key: bytes) -> bytes:
    plain = io.BytesIO()
    crypto.open_file(io.BytesIO(sealed), plain, key)
    return plain.getvalue()


# ---------------------------------------------------------------- through the API


def test_an_upload_lands_as_chunk_rows_and_downloads_byte_for_byte(
        app: Flask, client, channel: ChannelSetup) -> None:
    _database_only(app)
    sealed, key = _sealed()
    answer = client.post("/api/v1/attachments", data=sealed,
                         content_type="application/octet-stream")
    assert answer.status_code == 201
    upload_id = answer.get_json()["id"]
    assert chunk_rows(app, upload_id) == -(-len(sealed) // CHUNK_BYTES) == 3
    assert chunk_bytes(app) == sealed  # the sealed stream as sent, nothing else
    assert not folder(app).root.exists()  # no file, not even a partial one
    reporter = ReporterClient(client)
    filed = reporter.file(channel.slug, {"what": "See the ledger."},
                          attachments=([upload_id], [_entry(upload_id, key)]))
    keys = reporter.derive(filed.receipt)
    served = client.post("/api/v1/mailbox/attachment",
                         json={"lookup": crypto.b64encode(keys.lookup), "id": upload_id})
    assert served.status_code == 200 and served.content_length == len(sealed)
    assert served.get_data() == sealed
    assert _opened(served.get_data(), key) == PLAIN


def test_a_resumable_upload_appends_rows_at_any_offset(app: Flask, client,
                                                       channel: ChannelSetup) -> None:
    _database_only(app)
    sealed, key = _sealed()
    upload_id = client.post("/api/v1/uploads", json={"length": len(sealed)}).get_json()["id"]
    # Offsets inside a row and on a row's edge: each append starts again in the row it falls in.
    for start, end in ((0, 1000), (1000, CHUNK_BYTES), (CHUNK_BYTES, 300_001),
                       (300_001, len(sealed))):
        answer = client.patch(f"/api/v1/uploads/{upload_id}", data=sealed[start:end],
                              content_type="application/octet-stream",
                              headers={"Upload-Offset": str(start)})
        assert answer.status_code == 200 and answer.get_json()["offset"] == end
    assert answer.get_json()["complete"] is True
    assert chunk_rows(app, upload_id) == 3 and chunk_bytes(app) == sealed
    assert not folder(app).root.exists()
    filed = ReporterClient(client).file(channel.slug, {"what": "In pieces."},
                                        attachments=([upload_id], [_entry(upload_id, key)]))
    assert _opened(ReporterClient(client).download(filed.receipt, upload_id), key) == PLAIN


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, object]:
    return getattr(request, "param", {})


@pytest.mark.parametrize("settings_overrides", [{"max_attachment_bytes": 400_000}],
                         indirect=True)
def test_a_refused_upload_leaves_no_row(app: Flask, client, channel: ChannelSetup) -> None:
    sealed, _ = _sealed()
    too_large = client.post("/api/v1/attachments", data=sealed,
                            content_type="application/octet-stream")
    assert too_large.status_code == 413
    # Past a row's worth, but not a secretstream's length: the rows written go again.
    not_a_stream = client.post("/api/v1/attachments", data=sealed[:24 + 4 * 65_553 + 5],
                               content_type="application/octet-stream")
    assert not_a_stream.status_code == 400
    refused_form = file_plain_form(client, channel, **{"q-what": "", "files": (
        io.BytesIO(PLAIN[:300_000]), "ledger.bin", "application/octet-stream")})
    assert refused_form.status_code == 400
    assert nothing_stored(app)
    small, _ = _sealed(PLAIN[:300_000])
    upload_id = client.post("/api/v1/uploads", json={"length": len(small)}).get_json()["id"]
    longer = client.patch(f"/api/v1/uploads/{upload_id}", data=small + b"more",
                          content_type="application/octet-stream",
                          headers={"Upload-Offset": "0"})
    assert longer.status_code == 413
    # The upload holds nothing still (on SQLite, its empty file).
    assert current.attachment_store(app).size(upload_id) in (None, 0)
    assert chunk_rows(app) == 0


def test_a_plain_form_seals_its_files_into_rows(app: Flask, client, channel: ChannelSetup,
                                                db: Session) -> None:
    _database_only(app)
    # Under 500 KB: the test client would spool a larger body to a file it never closes.
    response = file_plain_form(client, channel, files=(io.BytesIO(PLAIN[:400_000]),
                                                       "ledger.bin", "application/octet-stream"))
    assert response.status_code == 200, response.get_data(as_text=True)
    (upload_id,) = db.scalars(select(AttachmentChunk.attachment_id).distinct())
    assert chunk_rows(app, upload_id) >= 2 and not folder(app).root.exists()
    assert current.attachment_store(app).size(upload_id) == len(chunk_bytes(app))


# ---------------------------------------------------------------- the store itself


def test_a_write_that_fails_midway_leaves_nothing(app: Flask) -> None:
    store = current.attachment_store(app)
    upload_id = new_attachment_id()

    def broken() -> Iterator[bytes]:
        yield bytes(CHUNK_BYTES * 2)  # two rows inserted before the failure
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        store.write(upload_id, broken(), 10 * CHUNK_BYTES)
    assert not store.exists(upload_id) and nothing_stored(app)
    with pytest.raises(crypto.TooLargeError):
        store.write(upload_id, (bytes(READ_SIZE) for _ in range(20)), 3 * CHUNK_BYTES)
    assert not store.exists(upload_id) and nothing_stored(app)


def test_a_second_append_while_one_runs_is_refused(app: Flask) -> None:
    store = current.attachment_store(app)
    upload_id = new_attachment_id()
    refused = []

    def pieces() -> Iterator[bytes]:
        yield b"first"
        with pytest.raises(Busy):
            store.append(upload_id, 0, [b"second"], 100)
        refused.append(True)
        yield b" and more"

    assert store.append(upload_id, 0, pieces(), 100) == len(b"first and more")
    assert refused == [True]
    assert sealed_bytes(app, upload_id) == b"first and more"


def test_a_file_left_from_before_is_still_read_and_a_partial_one_moves_into_rows(
        app: Flask) -> None:
    store = _database_only(app)
    files = folder(app)
    whole, partial = new_attachment_id(), new_attachment_id()
    sealed, _ = _sealed()
    files.write(whole, [sealed], len(sealed))
    files.write(partial, [sealed[:300_000], b"never counted"], len(sealed))
    assert store.size(whole) == len(sealed) and sealed_bytes(app, whole) == sealed
    store.blur_time(whole)
    assert int(files.path(whole).stat().st_mtime) % 86400 == 0
    # The next append of an upload begun as a file takes its counted bytes into rows.
    assert store.append(partial, 300_000, [sealed[300_000:]], len(sealed)) == \
        len(sealed) - 300_000
    assert not files.path(partial).exists() and chunk_rows(app, partial) == 3
    assert sealed_bytes(app, partial) == sealed
    store.shred(whole)
    store.shred(partial)
    assert nothing_stored(app)


def test_fifty_megabytes_stream_through_the_database_in_little_memory(app: Flask) -> None:
    """Written from a generator and read back in 64 KiB reads: the traced peak stays far
    below the attachment's size (Python's allocations, the driver's buffers included)."""
    store = _database_only(app)
    block = os.urandom(READ_SIZE)
    count = 50 * 1024 * 1024 // READ_SIZE
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(block)
    warm = new_attachment_id()  # the pool's connection and compiled statements, made first
    store.write(warm, [block] * 5, 5 * READ_SIZE)
    assert sealed_bytes(app, warm) == block * 5
    upload_id = new_attachment_id()
    read = hashlib.sha256()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert store.write(upload_id, (block for _ in range(count)), 60 * 1024 * 1024) == \
            count * READ_SIZE
        with store.open(upload_id) as handle:
            for piece in iter(lambda: handle.read(READ_SIZE), b""):
                read.update(piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read.hexdigest() == expected.hexdigest()
    assert chunk_rows(app, upload_id) == count * READ_SIZE // CHUNK_BYTES
    assert peak - before < 10 * 1024 * 1024, f"peak rose by {(peak - before) / 2**20:.1f} MiB"


# ---------------------------------------------------------------- migrate-attachments


def _installation(env: dict[str, str]) -> tuple[Flask, list[tuple[str, bytes]]]:
    """An installation with two reports' attachments: the app and (id, sealed bytes)."""
    env.update({f"INTEGRITY_{name.upper()}": str(value) for name, value in FAST_PROTOCOL.items()})
    assert run(env, "init").returncode == 0
    app = create_app(Settings.from_env(environ=env))
    with app.app_context():
        session = new_session(app)
        load_organisation(session)
        slug = load_channel(session).slug
        add_offline_inspector(session, name="Inspector", email="insp@example.org",
                              public_key=crypto.KeyPair.generate().public_key,
                              channel=load_channel(session))
        session.commit()
        session.close()
    reporter = ReporterClient(app.test_client())
    stored = []
    for plain in (PLAIN, b"a small one"):
        sealed, key = _sealed(plain)
        upload_id = reporter.http.post("/api/v1/attachments", data=sealed,
                                       content_type="application/octet-stream").get_json()["id"]
        reporter.file(slug, {"what": "With a file."},
                      attachments=([upload_id], [_entry(upload_id, key, plain)]))
        stored.append((upload_id, sealed))
    return app, stored


def test_migrate_attachments_moves_them_both_ways_byte_for_byte(env: dict[str, str]) -> None:
    app, stored = _installation(env)
    try:
        if not isinstance(current.attachment_store(app), DatabaseStore):
            refused = run(env, "migrate-attachments", "--to-database")
            assert refused.returncode != 0 and "Traceback" not in refused.stderr
            assert refused.stderr.strip().splitlines()[-1] == (
                "Error: Attachments are stored in the database on PostgreSQL only; on SQLite "
                "they stay files in the data folder.")
            assert all(folder(app).path(i).read_bytes() == s for i, s in stored)
            return
        files = folder(app)
        assert chunk_rows(app) == 4 and not files.root.exists()
        moved = run(env, "migrate-attachments", "--to-files")
        assert moved.returncode == 0, moved.stderr
        assert "Moved 2 attachment(s) into the data folder (0 found there already)." in \
            moved.stdout
        assert chunk_rows(app) == 0
        assert {i: files.path(i).read_bytes() for i, _ in stored} == dict(stored)
        assert all(sealed_bytes(app, i) == s for i, s in stored)  # read from the files
        assert "Moved 0 attachment(s)" in run(env, "migrate-attachments", "--to-files").stdout
        # An interrupted move: the first file is in the rows already, its file not shredded.
        first_id, first = stored[0]
        DatabaseStore(current.engine(app), None).write(first_id, [first], len(first))
        back = run(env, "migrate-attachments", "--to-database")
        assert back.returncode == 0, back.stderr
        assert "Moved 1 attachment(s) into the database (1 found there already)." in back.stdout
        assert list(files.root.iterdir()) == []
        assert chunk_rows(app, first_id) == 3
        assert all(sealed_bytes(app, i) == s for i, s in stored)  # read from the rows
        # In both places with different bytes: left in both, named, and the command fails.
        second_id, second = stored[1]
        files.write(second_id, [second[:-1] + b"\0"], len(second))
        differing = run(env, "migrate-attachments", "--to-database")
        assert differing.returncode != 0 and second_id in differing.stderr
        assert files.path(second_id).exists() and sealed_bytes(app, second_id) == second
    finally:
        dispose(app)


def test_going_back_below_this_schema_refuses_while_rows_hold_attachments(
        app: Flask, database_url: str) -> None:
    from integrity.migrate import downgrade

    store = _database_only(app)
    store.write(new_attachment_id(), [b"sealed"], 100)
    with pytest.raises(RuntimeError, match="migrate-attachments --to-files"):
        downgrade(database_url.replace("postgresql://", "postgresql+psycopg://", 1), "0035")
    assert chunk_rows(app) == 1


# ---------------------------------------------------------------- wave summaries


def test_a_closed_waves_summary_is_kept_once_for_every_server(
        app: Flask, db: Session, filled, tmp_path: Path, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    survey, wave, _ = filled
    db.commit()
    with app.app_context():
        first = pages.trend_figures(db, survey)
    (kept,) = current.wave_summaries(app).kept(wave.id)
    on_postgres = isinstance(current.attachment_store(app), DatabaseStore)
    rows = db.scalars(select(KeptWaveSummary).where(KeptWaveSummary.wave_id == wave.id)).all()
    cache = current.settings(app).data_dir / "cache"
    if on_postgres:  # a row, and nothing in the data folder
        assert [row.summary for row in rows] == [kept] and not cache.exists()
    else:
        assert rows == [] and len(list(cache.glob(f"wave-{wave.id}-*.json"))) == 1

    # Another server (on SQLite, the same data folder) reads it without working it out.
    other_data = tmp_path / "other" if on_postgres else tmp_path
    other = create_app(make_settings(other_data, database_url))

    def worked_out(*_: object) -> None:
        raise AssertionError("the kept summary was worked out again")

    monkeypatch.setattr(pages, "wave_results", worked_out)
    try:
        with other.app_context():
            session = new_session(other)
            again = pages.trend_figures(session, survey)
            session.close()
    finally:
        dispose(other)
    assert again == first
