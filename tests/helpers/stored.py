"""What the attachment store and the kept wave summaries hold, on either database: chunk rows
and a table on PostgreSQL, files of the data folder on SQLite."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import func, select

from integrity import current
from integrity.reporting.chunk_store import DatabaseStore
from integrity.reporting.models import AttachmentChunk
from integrity.reporting.storage import FolderStore


def sealed_bytes(app: Flask, attachment_id: str) -> bytes:
    """An attachment's sealed bytes as stored (a test's small file: read whole)."""
    with current.attachment_store(app).open(attachment_id) as handle:
        return handle.read()


def in_database(app: Flask) -> bool:
    """Whether this installation stores attachments as rows (PostgreSQL)."""
    return isinstance(current.attachment_store(app), DatabaseStore)


def chunk_rows(app: Flask, attachment_id: str | None = None) -> int:
    """How many chunk rows the database holds (of one attachment, or of all)."""
    query = select(func.count()).select_from(AttachmentChunk)
    if attachment_id is not None:
        query = query.where(AttachmentChunk.attachment_id == attachment_id)
    with current.engine(app).connect() as connection:
        return int(connection.scalar(query) or 0)


def chunk_bytes(app: Flask) -> bytes:
    """Every chunk row's bytes, each attachment's in order (a test's few small files)."""
    query = select(AttachmentChunk.data).order_by(AttachmentChunk.attachment_id,
                                                  AttachmentChunk.seq)
    with current.engine(app).connect() as connection:
        return b"".join(connection.scalars(query))


def folder(app: Flask) -> FolderStore:
    """The data folder's attachment files (the store itself on SQLite)."""
    store = current.attachment_store(app)
    if isinstance(store, DatabaseStore):
        assert store.files is not None
        return store.files
    assert isinstance(store, FolderStore)
    return store


def nothing_stored(app: Flask) -> bool:
    """No attachment at all: no chunk row, no file (not even a partial one)."""
    root = folder(app).root
    return chunk_rows(app) == 0 and (not root.exists() or list(root.iterdir()) == [])


def kept_summaries(app: Flask, wave_id: int) -> list[dict[str, object]]:
    """The summaries kept of a closed wave."""
    return [json.loads(text) for text in current.wave_summaries(app).kept(wave_id)]
