"""Backups that restore: `integrity backup` seals one snapshot of the installation to the
recovery key; `integrity restore` rebuilds an empty installation from it, and only an empty
one (docs/operations.md)."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

import crypto
from crypto import archive
from crypto.errors import DecryptionError, ShapeError
from integrity import current
from integrity.app import create_app
from integrity.backup import BackupError, restore_backup
from integrity.config import Settings
from integrity.db import dispose, make_engine
from integrity.demo import DEMO_ACCOUNTS
from integrity.models import User
from integrity.reporting.chunk_store import DatabaseStore
from surveys.demo import DEMO_CODES
from tests.conftest import BACKENDS, cli_environment, copied_installation
from tests.helpers.cli import database_url, run
from tests.protocol_client import ReporterClient, Upload

TEXT = "The night shift at Kalna waves one broker's trucks through for cash."
FILE = bytes(range(256)) * 700 + b"the ledger, page 4"  # three secretstream chunks
PASSPHRASE = "lantern quarry pebble orchard"
FAST = {"INTEGRITY_KDF_OPSLIMIT": "1", "INTEGRITY_KDF_MEMLIMIT": "65536",
        "INTEGRITY_POW_BITS": "0"}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# ---------------------------------------------------------------- the sealed format


def _sealed(plain: bytes, pair: crypto.KeyPair) -> bytes:
    out = io.BytesIO()
    writer = archive.ArchiveWriter(out, pair.public_key)
    for start in range(0, len(plain), 10_000):
        writer.write(plain[start:start + 10_000])
    writer.close()
    return out.getvalue()


def _opened(sealed: bytes, pair: crypto.KeyPair) -> bytes:
    reader = archive.ArchiveReader(io.BytesIO(sealed), pair)
    plain = b"".join(iter(lambda: reader.read(5000), b""))
    reader.drain()
    return plain


@pytest.mark.parametrize("size", [0, 1, 65536, 65537, 200_000])
def test_an_archive_opens_only_with_its_recovery_key_and_only_whole(size: int) -> None:
    pair, other = crypto.KeyPair.generate(), crypto.KeyPair.generate()
    plain = os.urandom(size)
    sealed = _sealed(plain, pair)
    assert sealed.startswith(b"INTEGRITY-BACKUP\x01" + pair.public_key)
    assert len(sealed) == archive.HEADER_BYTES + crypto.stream.sealed_length(size)
    assert _opened(sealed, pair) == plain
    with pytest.raises(DecryptionError, match="another recovery key"):
        _opened(sealed, other)
    forged = sealed[:17] + other.public_key + sealed[49:]  # the header claims the other key
    with pytest.raises(DecryptionError, match="does not open"):
        _opened(forged, other)
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    for damaged in (bytes(flipped), sealed[:-1], sealed + b"\0",
                    sealed[:archive.HEADER_BYTES + 24 + crypto.stream.CHUNK_SEALED]):
        if damaged == sealed:
            continue
        with pytest.raises(DecryptionError, match="damaged or cut short"):
            _opened(damaged, pair)
    with pytest.raises(ShapeError, match="not a backup"):
        _opened(b"PK\x03\x04" + sealed[4:], pair)
    with pytest.raises(ShapeError, match="format version 2"):
        _opened(sealed[:16] + b"\x02" + sealed[17:], pair)


def _forged(pair: crypto.KeyPair, names: list[str]) -> bytes:
    """A backup sealed to ``pair`` holding a manifest and the entries ``names``."""
    out = io.BytesIO()
    writer = archive.ArchiveWriter(out, pair.public_key)
    with tarfile.open(fileobj=writer, mode="w|") as tar:
        for name, data in [("manifest.json", b'{"format": "integrity-backup", "version": 1, '
                            b'"database": "sqlite"}'), *((n, b"x") for n in names)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    writer.close()
    return out.getvalue()


@pytest.mark.parametrize(("names", "words"), [
    (["../secret_key"], "unexpected entry"), (["data/.secret_key"], "unexpected entry"),
    (["attachments/a/b"], "unexpected entry"), (["database/other.db"], "unexpected entry"),
    (["data/passwd"], "unexpected entry"),
    (["attachments/a", "attachments/a"], "could not be unpacked"),
    (["attachments/a"], "holds no SQLite database"),
])
def test_a_restore_refuses_what_a_backup_never_holds_and_writes_nothing(
        tmp_path: Path, names: list[str], words: str) -> None:
    pair = crypto.KeyPair.generate()
    settings = Settings.from_env(environ={}, data_dir=tmp_path / "data")
    with pytest.raises(BackupError, match=words):
        restore_backup(settings, io.BytesIO(_forged(pair, names)), pair)
    assert list((tmp_path / "data").iterdir()) == []
    assert not (tmp_path / "secret_key").exists()


# ---------------------------------------------------------------- back up, wipe, restore


def _ok(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = run(env, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _tables(env: dict[str, str]) -> list[str]:
    if env.get("INTEGRITY_DATABASE_URL") is None and not (
            Path(env["INTEGRITY_DATA_DIR"]) / "integrity.db").exists():
        return []
    engine = make_engine(database_url(env))
    try:
        with engine.connect() as connection:
            return inspect(connection).get_table_names()
    finally:
        engine.dispose()


def _empty(env: dict[str, str]) -> bool:
    folder = Path(env["INTEGRITY_DATA_DIR"])
    left = [p.name for p in folder.iterdir()] if folder.exists() else []
    return not _tables(env) and left in ([], ["attachments"])


def _one_sentence(stderr: str, *words: str) -> None:
    assert "Traceback" not in stderr, stderr
    message = stderr.strip().splitlines()[-1].removeprefix("Error: ")
    assert message.count(". ") == 0 and message.endswith("."), message
    for word in words:
        assert word in message, message


def _app(env: dict[str, str]):
    return create_app(Settings.from_env(environ=env))


def _file_reports(env: dict[str, str]) -> list[tuple[str, str | None]]:
    """Two reports, the first with an attachment: (receipt, attachment id)."""
    app = _app(env)
    try:
        reporter = ReporterClient(app.test_client())
        first = reporter.file("integrity", {"what": TEXT},
                              uploads=[Upload("ledger.bin", "application/octet-stream", FILE)])
        second = reporter.file("integrity", {"what": "A second report, without a file."})
    finally:
        dispose(app)
    return [(first.receipt, first.attachment_ids[0]), (second.receipt, None)]


def _file_left_from_before(env: dict[str, str]) -> tuple[str, str]:
    """On PostgreSQL, a third report whose attachment is a file of the data folder, as one
    filed before attachments were rows (and before `integrity migrate-attachments`)."""
    app = _app(env)
    try:
        reporter = ReporterClient(app.test_client())
        filed = reporter.file("integrity", {"what": TEXT},
                              uploads=[Upload("ledger.bin", "application/octet-stream", FILE)])
        (attachment_id,) = filed.attachment_ids
        store = current.attachment_store(app)
        assert isinstance(store, DatabaseStore) and store.files is not None
        with store.open(attachment_id) as rows:
            store.files.write(attachment_id, iter(lambda: rows.read(65536), b""), 10**9)
        DatabaseStore(current.engine(app), None).shred(attachment_id)
    finally:
        dispose(app)
    return filed.receipt, attachment_id


def _secrets_of(env: dict[str, str], receipts: list[str]) -> list[bytes]:
    """What must never be readable in a backup file."""
    engine = make_engine(database_url(env))
    try:
        with engine.connect() as connection:
            hashes = list(connection.scalars(select(User.password_hash)))
    finally:
        engine.dispose()
    assert hashes and all("$argon2id$" in h for h in hashes)
    folder = Path(env["INTEGRITY_DATA_DIR"])
    found = [TEXT.encode(), FILE[-200:], b"$argon2id$", *(h.encode() for h in hashes)]
    found += [a.totp_secret.encode() for a in DEMO_ACCOUNTS if a.totp_secret]
    found += [r.encode() for r in receipts] + [crypto.format_receipt(r).encode() for r in receipts]
    found += [(folder / name).read_text().strip().encode()
              for name in ("secret_key", "installation_secret")]
    return found


def _check_restored(env: dict[str, str], filed: list[tuple[str, str | None]],
                    inspector_key: Path, tmp_path: Path) -> None:
    app = _app(env)
    try:
        reporter = ReporterClient(app.test_client())
        for receipt, attachment_id in filed:
            box = reporter.mailbox(receipt)
            document = box["report"]["document"]
            if attachment_id is None:
                continue
            assert document["answers"]["what"] == TEXT
            (entry,) = document["attachments"]
            plain = io.BytesIO()
            crypto.open_file(io.BytesIO(reporter.download(receipt, attachment_id)), plain,
                             crypto.b64decode(entry["key"]), entry["size"])
            assert plain.getvalue() == FILE
        survey = app.test_client()
        token = CSRF.search(survey.get("/survey").get_data(as_text=True))
        assert token
        questions = survey.post("/survey", data={"csrf_token": token.group(1),
                                                 "code": DEMO_CODES[3]})
        assert questions.status_code == 200 and "Border integrity" in questions.get_data(
            as_text=True)
    finally:
        dispose(app)
    export = tmp_path / "export.json"
    _ok(env, "export", "--out", str(export))
    opened = json.loads(_ok(env, "decrypt", "--key-file", str(inspector_key), str(export)))
    assert TEXT in [r["document"]["answers"].get("what") for r in opened["reports"]]
    assert "intact" in _ok(env, "audit", "verify")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_backup_reveals_nothing_and_restores_an_empty_installation_whole(
        backend: str, tmp_path: Path, demo_installations) -> None:
    # After `integrity init` and `integrity demo`.
    with copied_installation(demo_installations(backend), tmp_path / "data") as env:
        env.update(FAST)
        refused = run(env, "backup", "--out", str(tmp_path / "early.backup"))
        assert refused.returncode != 0
        _one_sentence(refused.stderr, "No recovery key is configured")
        assert not (tmp_path / "early.backup").exists()
        made = _ok(env, "recovery-key", "init", "--sheet", str(tmp_path / "sheet.html"))
        pair = crypto.load_key_file(made[made.index("{"):])
        # The recovery key file as kept in the safe, protected with a passphrase.
        key_file = tmp_path / "recovery.key"
        key_file.write_text(crypto.dump_key_file(pair, "recovery key", PASSPHRASE,
                                                opslimit=1, memlimit=65536))
        filed = _file_reports(env)
        # On PostgreSQL the attachments are rows, in the dump; a file left from before is
        # backed up as a file, and read from there again once restored.
        counts = "database and 1 attachment file(s)"
        if backend == "postgresql":
            filed.append(_file_left_from_before(env))
            counts = "database (1 attachment(s) stored in it) and 1 attachment file(s)"
        backup = tmp_path / "nightly.backup"
        said = _ok(env, "backup", "--out", str(backup))
        assert counts in said and crypto.fingerprint(pair.public_key) in said
        assert backup.stat().st_mode & 0o077 == 0
        again = run(env, "backup", "--out", str(backup))
        assert again.returncode != 0 and "exists" in again.stderr
        sealed = backup.read_bytes()
        for secret in _secrets_of(env, [receipt for receipt, _ in filed]):
            assert secret not in sealed
        inspector_key = Path(env["INTEGRITY_DATA_DIR"]) / "demo-inspector.key"
        assert "intact" in _ok(env, "audit", "verify")

        with cli_environment(tmp_path / "restored", backend) as target:
            target.update(FAST)
            other = tmp_path / "other.key"
            other.write_text(crypto.dump_key_file(crypto.KeyPair.generate(), "not it"))
            wrong = run(target, "restore", "--key-file", str(other), str(backup))
            assert wrong.returncode != 0
            _one_sentence(wrong.stderr, "another recovery key")
            assert _empty(target)
            bad = run(target, "restore", "--key-file", str(key_file), str(backup),
                      stdin="not the passphrase\n")
            assert bad.returncode != 0 and "passphrase does not open" in bad.stderr
            assert _empty(target)
            cut = tmp_path / "cut.backup"
            cut.write_bytes(sealed[:len(sealed) // 2])
            damaged = run(target, "restore", "--key-file", str(key_file), str(cut),
                          stdin=f"{PASSPHRASE}\n")
            assert damaged.returncode != 0
            _one_sentence(damaged.stderr, "damaged or cut short")
            assert _empty(target)
            # A secret key file of another installation: refused, nothing written.
            stray = Path(target["INTEGRITY_DATA_DIR"]) / "secret_key"
            stray.write_text("another installation's key\n")
            refused = run(target, "restore", "--key-file", str(key_file), str(backup),
                          stdin=f"{PASSPHRASE}\n")
            assert refused.returncode != 0
            _one_sentence(refused.stderr, "differs from the one in the backup")
            assert not _tables(target)
            assert sorted(p.name for p in stray.parent.iterdir()) in (
                ["secret_key"], ["attachments", "secret_key"])
            stray.unlink()

            restored = _ok(target, "restore", "--key-file", str(key_file), str(backup),
                           stdin=f"{PASSPHRASE}\n")
            assert counts in restored
            _check_restored(target, filed, inspector_key, tmp_path)
            over = run(target, "restore", "--key-file", str(key_file), str(backup),
                       stdin=f"{PASSPHRASE}\n")
            assert over.returncode != 0
            _one_sentence(over.stderr, "already holds tables")
