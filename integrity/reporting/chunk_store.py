"""Sealed attachments as rows of the database (PostgreSQL), so that every server reaches every
attachment: ``attachment_chunks``, the bytes of each attachment in pieces of 256 KiB, in
order. Nothing is ever held whole in memory: a write inserts each piece as it fills, in one
transaction committed at the end (a write that fails, is refused or is discarded leaves no
row); a read fetches one piece at a time, each with a query of its own, so a slow download
holds no connection. A row holds the bytes and their place, no time: claiming an attachment
has nothing to blur.

Files left in the data folder from before (``integrity migrate-attachments`` moves them) are
still read, blurred and shredded there; a resumable upload begun as a file moves into rows
with its next append.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.engine import Connection, Engine

from crypto.errors import TooLargeError
from integrity.reporting.models import AttachmentChunk
from integrity.reporting.storage import (
    READ_SIZE,
    AttachmentStore,
    Busy,
    FolderStore,
    Writer,
    check_attachment_id,
)

CHUNK_BYTES = 256 * 1024
CHUNKS = cast(Table, AttachmentChunk.__table__)
# The first key of the advisory locks that let one append at a time run on an upload.
APPEND_LOCKS = 0x1A7C


def attachment_store_for(engine: Engine, folder: Path) -> AttachmentStore:
    """The store of this installation, chosen here once: rows on PostgreSQL (files left in
    ``folder`` from before still read), files in ``folder`` on SQLite."""
    files = FolderStore(folder)
    return DatabaseStore(engine, files) if engine.dialect.name == "postgresql" else files


class _Rows:
    """Rows of CHUNK_BYTES appended to an attachment from ``seq``; a shorter last one only
    when closed. The connection is asked for at the first insert."""

    def __init__(self, connection: Callable[[], Connection], attachment_id: str,
                 seq: int = 0) -> None:
        self._connection = connection
        self._id = attachment_id
        self.seq = seq
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= CHUNK_BYTES:
            with memoryview(self._buffer) as view:
                piece = bytes(view[:CHUNK_BYTES])
            del self._buffer[:CHUNK_BYTES]
            self._insert(piece)

    def _insert(self, data: bytes) -> None:
        self._connection().execute(insert(CHUNKS).values(
            attachment_id=self._id, seq=self.seq, data=data))
        self.seq += 1

    def close(self, at_least_one: bool = False) -> None:
        """Insert what is left (an empty row if none was inserted and ``at_least_one``)."""
        if self._buffer or (at_least_one and self.seq == 0):
            self._insert(bytes(self._buffer))
            self._buffer.clear()


class _ChunkWriter(Writer):
    """One transaction, begun at the first full piece and committed by ``finish``."""

    def __init__(self, engine: Engine, attachment_id: str) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._rows = _Rows(self._open, attachment_id)

    def _open(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
            self._connection.begin()
        return self._connection

    def write(self, data: bytes) -> None:
        self._rows.write(data)

    def finish(self) -> None:
        self._rows.close(at_least_one=True)
        connection = self._open()
        connection.commit()
        connection.close()
        self._connection = None

    def discard(self) -> None:
        if self._connection is not None:
            self._connection.close()  # rolls the transaction back: no row remains
            self._connection = None


class _ChunkReader(io.RawIOBase):
    """The rows of one attachment as a file, the next one fetched when the last is read."""

    def __init__(self, store: DatabaseStore, attachment_id: str, first: bytes) -> None:
        super().__init__()
        self._store = store
        self._id = attachment_id
        self._chunk = first
        self._at = 0
        self._seq = 1

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._at >= len(self._chunk):
            if len(self._chunk) < CHUNK_BYTES:
                return 0  # a shorter piece is the last
            following = self._store.chunk(self._id, self._seq)
            if following is None:
                return 0
            self._chunk, self._at, self._seq = following, 0, self._seq + 1
        count = min(len(buffer), len(self._chunk) - self._at)
        buffer[:count] = self._chunk[self._at:self._at + count]
        self._at += count
        return count

    def close(self) -> None:
        self._chunk = b""
        super().close()


class DatabaseStore(AttachmentStore):
    """Attachments as ``attachment_chunks`` rows; ``files``, those left from before (None:
    the rows alone, as ``integrity migrate-attachments`` moves them)."""

    def __init__(self, engine: Engine, files: FolderStore | None) -> None:
        self._engine = engine
        self.files = files

    def chunk(self, attachment_id: str, seq: int) -> bytes | None:
        """The piece ``seq`` of an attachment, or None past its end."""
        with self._engine.connect() as connection:
            data = connection.scalar(select(CHUNKS.c.data).where(
                CHUNKS.c.attachment_id == attachment_id, CHUNKS.c.seq == seq))
        return None if data is None else bytes(data)

    def writer(self, attachment_id: str) -> Writer:
        return _ChunkWriter(self._engine, check_attachment_id(attachment_id))

    def open(self, attachment_id: str) -> BinaryIO:
        first = self.chunk(check_attachment_id(attachment_id), 0)
        if first is None:
            if self.files is None:
                raise FileNotFoundError(attachment_id)
            return self.files.open(attachment_id)
        return io.BufferedReader(_ChunkReader(self, attachment_id, first), READ_SIZE)

    def size(self, attachment_id: str) -> int | None:
        with self._engine.connect() as connection:
            count, total = connection.execute(
                select(func.count(), func.sum(func.length(CHUNKS.c.data)))
                .where(CHUNKS.c.attachment_id == check_attachment_id(attachment_id))).one()
        if count:
            return int(total)
        return None if self.files is None else self.files.size(attachment_id)

    def append(self, attachment_id: str, offset: int, pieces: Iterable[bytes],
               room: int) -> int:
        check_attachment_id(attachment_id)
        begun_as_file = False
        with self._engine.begin() as connection:
            if not connection.scalar(select(func.pg_try_advisory_xact_lock(
                    APPEND_LOCKS, func.hashtext(attachment_id)))):
                raise Busy(attachment_id)
            rows = _Rows(lambda: connection, attachment_id)
            held = connection.scalar(select(func.count()).select_from(CHUNKS).where(
                CHUNKS.c.attachment_id == attachment_id))
            if not held and self.files and self.files.exists(attachment_id):
                begun_as_file = True
                with self.files.open(attachment_id) as source:
                    _copy_head(source, offset, rows)
            else:
                self._cut(connection, attachment_id, offset, rows)
            written = 0
            for piece in pieces:
                if written + len(piece) > room:  # rolled back: the upload stays as it was
                    raise TooLargeError("The upload is longer than the length it declared.")
                rows.write(piece)
                written += len(piece)
            rows.close()
        if begun_as_file and self.files:
            self.files.shred(attachment_id)
        return written

    def _cut(self, connection: Connection, attachment_id: str, offset: int,
             rows: _Rows) -> None:
        """Drop the rows from the one ``offset`` falls in; ``rows`` starts again there with
        that row's bytes before ``offset`` (bytes past it were never counted)."""
        start, keep = divmod(offset, CHUNK_BYTES)
        head = connection.scalar(select(CHUNKS.c.data).where(
            CHUNKS.c.attachment_id == attachment_id, CHUNKS.c.seq == start))
        connection.execute(delete(CHUNKS).where(CHUNKS.c.attachment_id == attachment_id,
                                                CHUNKS.c.seq >= start))
        rows.seq = start
        rows.write(bytes(head or b"")[:keep].ljust(keep, b"\0"))

    def blur_time(self, attachment_id: str, day: datetime | None = None) -> None:
        """Rows hold no time; only a file left from before has times to blur."""
        if self.files and self.files.exists(attachment_id):
            self.files.blur_time(attachment_id, day)

    def shred(self, attachment_id: str) -> None:
        """Delete the rows, and overwrite and remove a file left from before. PostgreSQL
        keeps a deleted row's bytes in the table's files until VACUUM frees the space and
        new rows reuse it (docs/threat-model.md#deletion)."""
        with self._engine.begin() as connection:
            connection.execute(delete(CHUNKS).where(
                CHUNKS.c.attachment_id == check_attachment_id(attachment_id)))
        if self.files:
            self.files.shred(attachment_id)

    def ids(self) -> Iterator[str]:
        """The attachments in rows (not the files left from before: ``files.ids()``)."""
        with self._engine.connect() as connection:
            found = list(connection.scalars(select(CHUNKS.c.attachment_id).distinct()))
        return iter(found)


def _copy_head(source: BinaryIO, length: int, rows: _Rows) -> None:
    """The first ``length`` bytes of ``source`` into ``rows``, zeros for any it lacks."""
    left = length
    while left:
        piece = source.read(min(READ_SIZE, left)) or bytes(min(READ_SIZE, left))
        rows.write(piece)
        left -= len(piece)
