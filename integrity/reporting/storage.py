"""Where sealed attachments are kept: the interface every caller uses, and its files in the
data folder. On PostgreSQL the same interface keeps them in the database as chunk rows
(``chunk_store``), so that any server reaches any attachment;
``chunk_store.attachment_store_for`` chooses once, from the database, and no caller asks
which it got."""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import IO, BinaryIO

from flask import Response, abort, send_file

from crypto.errors import TooLargeError

READ_SIZE = 64 * 1024


def new_attachment_id() -> str:
    """128 random bits, base64url: unguessable and says nothing about when it was made."""
    return secrets.token_urlsafe(16)


def check_attachment_id(attachment_id: str) -> str:
    if not attachment_id or "/" in attachment_id or attachment_id.startswith("."):
        raise ValueError("not an attachment id")
    return attachment_id


class Busy(Exception):
    """Another request is appending to the same upload."""


class Writer(ABC):
    """One attachment being written: nothing of it is kept until ``finish``."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Add ``data`` to the end."""

    @abstractmethod
    def finish(self) -> None:
        """Keep what was written under the attachment's id."""

    @abstractmethod
    def discard(self) -> None:
        """Forget what was written (nothing, once finished)."""


class AttachmentStore(ABC):
    """Sealed attachments by id: written as they stream in, read back as a file, shredded."""

    @abstractmethod
    def writer(self, attachment_id: str) -> Writer:
        """A writer for a new attachment ``attachment_id``."""

    @abstractmethod
    def open(self, attachment_id: str) -> BinaryIO:
        """The sealed bytes as a file read piece by piece; FileNotFoundError if none."""

    @abstractmethod
    def size(self, attachment_id: str) -> int | None:
        """The number of sealed bytes kept, or None when there is no such attachment."""

    @abstractmethod
    def append(self, attachment_id: str, offset: int, pieces: Iterable[bytes],
               room: int) -> int:
        """Cut the attachment back to ``offset`` bytes and append ``pieces``; the bytes added.
        TooLargeError (and the attachment as it was) past ``room`` bytes; Busy while another
        append to it runs."""

    @abstractmethod
    def blur_time(self, attachment_id: str, day: datetime | None = None) -> None:
        """Keep no time of day with a claimed attachment."""

    @abstractmethod
    def shred(self, attachment_id: str) -> None:
        """Remove the attachment for good (nothing happens if there is none)."""

    @abstractmethod
    def ids(self) -> Iterator[str]:
        """The id of every attachment kept, in no particular order."""

    def exists(self, attachment_id: str) -> bool:
        return self.size(attachment_id) is not None

    def write(self, attachment_id: str, pieces: Iterable[bytes], max_bytes: int) -> int:
        """Write ``pieces`` as ``attachment_id``; nothing remains if it fails or passes
        ``max_bytes`` (TooLargeError)."""
        writer = self.writer(attachment_id)
        size = 0
        try:
            for piece in pieces:
                size += len(piece)
                if size > max_bytes:
                    raise TooLargeError("The attachment is larger than this server accepts.")
                writer.write(piece)
            writer.finish()
        except BaseException:
            writer.discard()
            raise
        return size

    def write_stream(self, attachment_id: str, stream: IO[bytes], max_bytes: int) -> int:
        """Copy a request body in 64 KiB reads, never holding the whole of it."""
        return self.write(attachment_id, iter(lambda: stream.read(READ_SIZE), b""), max_bytes)


def digest(store: AttachmentStore, attachment_id: str) -> str:
    """SHA-256 (hex) of an attachment as stored; of nothing when there is none."""
    found = hashlib.sha256()
    try:
        handle = store.open(attachment_id)
    except FileNotFoundError:
        return found.hexdigest()
    with handle:
        for piece in iter(lambda: handle.read(READ_SIZE), b""):
            found.update(piece)
    return found.hexdigest()


def sealed_response(store: AttachmentStore, attachment_id: str) -> Response:
    """An attachment as stored, sent as it is read (404 when it is gone)."""
    try:
        handle = store.open(attachment_id)
    except FileNotFoundError:
        abort(404)
    response = send_file(handle, mimetype="application/octet-stream", max_age=0,
                         conditional=False)
    size = store.size(attachment_id)
    if size is not None:
        response.content_length = size
    return response


class _FileWriter(Writer):
    """Written under a dot name (which backups skip), renamed into place when finished."""

    def __init__(self, root: Path, final: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._final = final
        self._partial = root / f".{final.name}.part"
        self._file: IO[bytes] | None = self._partial.open("xb")

    def write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)

    def finish(self) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        self._partial.rename(self._final)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._partial.unlink(missing_ok=True)


class FolderStore(AttachmentStore):
    """Files named by attachment id under ``<data>/attachments``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, attachment_id: str) -> Path:
        return self.root / check_attachment_id(attachment_id)

    def writer(self, attachment_id: str) -> Writer:
        return _FileWriter(self.root, self.path(attachment_id))

    def open(self, attachment_id: str) -> BinaryIO:
        return self.path(attachment_id).open("rb")

    def size(self, attachment_id: str) -> int | None:
        try:
            return self.path(attachment_id).stat().st_size
        except FileNotFoundError:
            return None

    def append(self, attachment_id: str, offset: int, pieces: Iterable[bytes],
               room: int) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(attachment_id)
        with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise Busy(attachment_id) from exc
            handle.truncate(offset)  # past what was counted: a write that was never committed
            handle.seek(offset)
            written = 0
            try:
                for piece in pieces:
                    if written + len(piece) > room:
                        handle.truncate(offset)  # refused: the upload stays as it was
                        raise TooLargeError("The upload is longer than the length it declared.")
                    handle.write(piece)
                    written += len(piece)
            finally:
                handle.flush()
                os.fsync(handle.fileno())
        return written

    def blur_time(self, attachment_id: str, day: datetime | None = None) -> None:
        """Set the file's times to midnight UTC of its day: no time of day on disk either."""
        moment = day or datetime.now(UTC)
        midnight = datetime.combine(moment.date(), time(0), tzinfo=UTC).timestamp()
        os.utime(self.path(attachment_id), (midnight, midnight))

    def shred(self, attachment_id: str) -> None:
        """Overwrite the file with zeros, then remove it."""
        path = self.path(attachment_id)
        if not path.exists():
            return
        size = path.stat().st_size
        with path.open("r+b") as handle:
            zeros = bytes(READ_SIZE)
            for offset in range(0, size, READ_SIZE):
                handle.write(zeros[: min(READ_SIZE, size - offset)])
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()

    def ids(self) -> Iterator[str]:
        """Finished files only: a name starting with a dot is being written."""
        if not self.root.is_dir():
            return iter(())
        return iter(sorted(p.name for p in self.root.iterdir()
                           if p.is_file() and not p.name.startswith(".")))
