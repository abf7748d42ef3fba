"""Backups that restore (docs/operations.md): one consistent snapshot of the database
(``pg_dump`` on PostgreSQL, SQLite's online backup API), the data folder's secrets and the
attachment files, as a tar stream sealed to the recovery key's public half
(``crypto.archive``); and the restore of such a file into an empty installation.

On PostgreSQL the attachments are rows of the database (``reporting.chunk_store``), in the
dump with everything else; files left in the data folder from before are backed up as files,
and restored where they were read from."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

from sqlalchemy import distinct, func, inspect, select
from sqlalchemy.engine import make_url

from crypto import KeyPair, fingerprint
from crypto.archive import ArchiveReader, ArchiveWriter
from crypto.errors import CryptoError
from integrity.config import (
    INSTALLATION_SECRET_FILE,
    ORG_PUBLIC_KEY_FILE,
    SECRET_KEY_FILE,
    Settings,
)
from integrity.db import make_engine

FORMAT = "integrity-backup"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/integrity.sqlite3"
PG_MEMBER = "database/integrity.pgdump"
ATTACHMENTS = "attachments"
DATA_FILES = (SECRET_KEY_FILE, INSTALLATION_SECRET_FILE, ORG_PUBLIC_KEY_FILE)
COPY_BYTES = 64 * 1024


class BackupError(Exception):
    """A backup or a restore cannot go ahead; the message is one sentence."""


@dataclass(frozen=True)
class BackupSummary:
    database: str
    attachments: int  # attachment files
    fingerprint: str
    stored: int = 0  # attachments stored in the database (PostgreSQL)


# ---------------------------------------------------------------- the database


def database_kind(settings: Settings) -> str:
    """``sqlite`` or ``postgresql``: the two databases this system runs on."""
    name = make_url(settings.database_url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups cover SQLite and PostgreSQL, not {name}.")
    return name


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


def _pg_command(settings: Settings) -> tuple[str, dict[str, str]]:
    """The libpq address of the database (without its password) and the environment that
    carries the password, so that it never shows in the process list."""
    url = make_url(settings.database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    program = shutil.which(args[0])
    if program is None:
        raise BackupError(f"{args[0]} is not on the PATH; install the PostgreSQL client tools.")
    done = subprocess.run([program, *args[1:]], env=env, capture_output=True, text=True,  # noqa: S603
                          check=False)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else done.returncode}")


def _dump_database(settings: Settings, folder: Path) -> tuple[str, Path]:
    """A consistent snapshot of the database in ``folder``: its archive member name and path."""
    if database_kind(settings) == "postgresql":
        address, env = _pg_command(settings)
        target = folder / "integrity.pgdump"
        # pg_dump reads the whole database in one repeatable-read transaction.
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
              f"--file={target}", f"--dbname={address}"], env, "pg_dump")
        return PG_MEMBER, target
    target = folder / "integrity.sqlite3"
    source = sqlite3.connect(f"{_sqlite_path(settings).resolve().as_uri()}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # the online backup API: a consistent copy while others write
    finally:
        copy.close()
        source.close()
    return SQLITE_MEMBER, target


def recovery_public_key(settings: Settings) -> bytes | None:
    """The configured recovery key's public half, read from the database."""
    from integrity.models import Installation

    if database_kind(settings) == "sqlite" and not _sqlite_path(settings).exists():
        return None  # and no empty database file made by asking
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(Installation.__tablename__):
                return None
            key = connection.scalar(select(Installation.recovery_public_key))
    finally:
        engine.dispose()
    return bytes(key) if key else None


def stored_attachments(settings: Settings) -> int:
    """How many attachments the database holds as rows (on PostgreSQL)."""
    from integrity.reporting.models import AttachmentChunk

    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(AttachmentChunk.__tablename__):
                return 0  # a schema from before they were
            return connection.scalar(
                select(func.count(distinct(AttachmentChunk.attachment_id)))) or 0
    finally:
        engine.dispose()


def _database_has_tables(settings: Settings) -> bool:
    if database_kind(settings) == "sqlite" and not _sqlite_path(settings).exists():
        return False
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return bool(inspect(connection).get_table_names())
    finally:
        engine.dispose()


# ---------------------------------------------------------------- writing


def _configured(settings: Settings) -> dict[str, str]:
    """The data folder's secret files and the settings that take their place when set."""
    return {SECRET_KEY_FILE: settings.secret_key,
            INSTALLATION_SECRET_FILE: settings.installation_secret,
            ORG_PUBLIC_KEY_FILE: settings.org_public_key}


def _secret_texts(settings: Settings) -> dict[str, str]:
    """The data folder's secret files as the installation uses them (a secret configured in
    the environment is backed up as the file it would otherwise be)."""
    texts: dict[str, str] = {}
    for name, value in _configured(settings).items():
        path = settings.data_dir / name
        if value:
            texts[name] = value.strip() + "\n"
        elif path.exists():
            texts[name] = path.read_text()
    return texts


def _attachment_files(settings: Settings) -> list[Path]:
    """The attachment files: finished ones only (a name starting with a dot is being written)."""
    root = settings.data_dir / ATTACHMENTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith("."))


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    archive.addfile(info, io.BytesIO(data))


def _add_file(archive: tarfile.TarFile, name: str, path: Path) -> bool:
    """Add ``path``; False if it went in the meantime (an attachment shredded by a purge)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return False
    with handle:
        info = tarfile.TarInfo(name)
        info.size, info.mode = os.fstat(handle.fileno()).st_size, 0o600
        archive.addfile(info, handle)
    return True


def write_backup(settings: Settings, out: Path) -> BackupSummary:
    """Write the sealed backup to ``out`` (written under a temporary name, then moved)."""
    kind = database_kind(settings)
    public_key = recovery_public_key(settings)
    if public_key is None:
        raise BackupError("No recovery key is configured: make one with `integrity "
                          "recovery-key init` first, since a backup is sealed to it.")
    if out.exists():
        raise BackupError(f"{out} exists; refusing to overwrite it.")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.part")
    count = 0
    try:
        with tempfile.TemporaryDirectory(prefix="integrity-backup-") as folder:
            member, dump = _dump_database(settings, Path(folder))
            attachments = _attachment_files(settings)  # listed after the snapshot
            stored = stored_attachments(settings)  # counted after it too
            manifest = {"format": FORMAT, "version": 1, "database": kind,
                        "created": datetime.now(UTC).isoformat(timespec="seconds"),
                        "recovery_key": fingerprint(public_key)}
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                sealed = ArchiveWriter(handle, public_key)
                with tarfile.open(fileobj=cast("BinaryIO", sealed), mode="w|",
                                  format=tarfile.PAX_FORMAT) as tar:
                    _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
                    for name, text in _secret_texts(settings).items():
                        _add_bytes(tar, f"data/{name}", text.encode())
                    _add_file(tar, member, dump)
                    for path in attachments:
                        count += _add_file(tar, f"{ATTACHMENTS}/{path.name}", path)
                sealed.close()
                handle.flush()
                os.fsync(handle.fileno())
        partial.rename(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupSummary(kind, count, fingerprint(public_key), stored)


# ---------------------------------------------------------------- restoring


def check_empty(settings: Settings) -> None:
    """Refuse a target that is not empty: a database with tables, or attachment files."""
    if _database_has_tables(settings):
        raise BackupError("The database already holds tables; restore only into an empty "
                          "database, never over an installation.")
    if _attachment_files(settings):
        raise BackupError(f"{settings.data_dir / ATTACHMENTS} already holds files; restore only "
                          f"into an empty installation.")


def _check_secret(settings: Settings, name: str, text: str) -> bool:
    """Whether the backed-up ``name`` must be written; refuses a different one in place."""
    configured = _configured(settings)[name]
    path = settings.data_dir / name
    present = configured or (path.read_text() if path.exists() else None)
    if present is None:
        return True
    if present.strip() != text.strip():
        where = f"INTEGRITY_{name.upper()}" if configured else str(path)
        raise BackupError(f"{where} differs from the one in the backup; restore only into an "
                          f"empty installation.")
    return False


@contextmanager
def _staging(settings: Settings) -> Iterator[Path]:
    """A private folder inside the data folder (so files move into place by renaming),
    removed afterwards whatever happens."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".restore-", dir=settings.data_dir))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unpack(source: BinaryIO, pair: KeyPair, folder: Path) -> dict[str, object]:
    """Open the whole archive into ``folder``; returns its manifest. Raises before anything
    is used if the key is wrong or any byte of the file was changed."""
    reader = ArchiveReader(source, pair)
    manifest: dict[str, object] | None = None
    with tarfile.open(fileobj=cast("BinaryIO", reader), mode="r|") as tar:
        for info in tar:
            if not info.isfile() or not _allowed(info.name):
                raise BackupError(f"The backup holds an unexpected entry: {info.name}.")
            data = tar.extractfile(info)
            assert data is not None
            target = folder / info.name
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                shutil.copyfileobj(data, handle, COPY_BYTES)
            if info.name == MANIFEST:
                manifest = json.loads(target.read_text())
    reader.drain()
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("The backup has no manifest of this system.")
    return manifest


def _allowed(name: str) -> bool:
    parts = name.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return False
    if name in (MANIFEST, SQLITE_MEMBER, PG_MEMBER):
        return True
    return len(parts) == 2 and (parts[0] == ATTACHMENTS
                                or (parts[0] == "data" and parts[1] in DATA_FILES))


def restore_backup(settings: Settings, source: BinaryIO, pair: KeyPair) -> BackupSummary:
    """Rebuild the empty installation ``settings`` names from the backup ``source``."""
    kind = database_kind(settings)
    check_empty(settings)
    with _staging(settings) as folder:
        try:
            manifest = _unpack(source, pair, folder)
        except (CryptoError, tarfile.TarError, json.JSONDecodeError) as exc:
            raise BackupError(str(exc) if isinstance(exc, CryptoError)
                              else "The backup is damaged: its archive does not read.") from exc
        except OSError as exc:  # a full disk, or an entry twice in a forged archive
            raise BackupError(f"The backup could not be unpacked: {exc.strerror}.") from exc
        if manifest.get("database") != kind:
            raise BackupError(f"This is a backup of a {manifest.get('database')} installation; "
                              f"restore it into one of the same kind, not {kind}.")
        secrets = {name: (folder / "data" / name).read_text() for name in DATA_FILES
                   if (folder / "data" / name).exists()}
        to_write = [name for name, text in secrets.items() if _check_secret(settings, name, text)]
        check_empty(settings)  # once more: nothing may have arrived while the file was read
        _restore_database(settings, kind, folder)
        for name in to_write:
            (folder / "data" / name).rename(settings.data_dir / name)
        count = _move_attachments(settings, folder / ATTACHMENTS)
    return BackupSummary(kind, count, fingerprint(pair.public_key), stored_attachments(settings))


def _restore_database(settings: Settings, kind: str, folder: Path) -> None:
    if kind == "postgresql":
        dump = folder / PG_MEMBER
        if not dump.exists():
            raise BackupError("The backup holds no PostgreSQL dump.")
        address, env = _pg_command(settings)
        # One transaction: a failure leaves the database as empty as it was.
        _run(["pg_restore", "--single-transaction", "--exit-on-error", "--no-owner",
              "--no-privileges", f"--dbname={address}", str(dump)], env, "pg_restore")
        return
    copy = folder / SQLITE_MEMBER
    if not copy.exists():
        raise BackupError("The backup holds no SQLite database.")
    target = _sqlite_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm", "-journal"):  # of an empty file, if any
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    partial = target.with_name(f".{target.name}.part")  # the database may be on another disk
    try:
        shutil.copyfile(copy, partial)
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _move_attachments(settings: Settings, staged: Path) -> int:
    root = settings.data_dir / ATTACHMENTS
    files = sorted(staged.iterdir()) if staged.is_dir() else []
    root.mkdir(parents=True, exist_ok=True)
    for path in files:
        path.rename(root / path.name)
    return len(files)
