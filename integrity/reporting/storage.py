"""Sealed attachment files in the data folder, written as they stream in."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import BinaryIO

from crypto.errors import TooLargeError

READ_SIZE = 64 * 1024


def new_attachment_id() -> str:
    """128 random bits, base64url: unguessable and says nothing about when it was made."""
    return secrets.token_urlsafe(16)


class AttachmentStore:
    """Files named by attachment id under ``<data>/attachments``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, attachment_id: str) -> Path:
        if not attachment_id or "/" in attachment_id or attachment_id.startswith("."):
            raise ValueError("not an attachment id")
        return self.root / attachment_id

    def write(self, attachment_id: str, pieces: Iterable[bytes], max_bytes: int) -> int:
        """Write ``pieces`` to the file of ``attachment_id``; nothing remains if it fails."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.path(attachment_id)
        partial = self.root / f".{attachment_id}.part"
        size = 0
        try:
            with partial.open("xb") as handle:
                for piece in pieces:
                    size += len(piece)
                    if size > max_bytes:
                        raise TooLargeError("The attachment is larger than this server accepts.")
                    handle.write(piece)
                handle.flush()
                os.fsync(handle.fileno())
            partial.rename(final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return size

    def write_stream(self, attachment_id: str, stream: BinaryIO, max_bytes: int) -> int:
        """Copy a request body to disk in 64 KiB reads, never holding the whole of it."""
        return self.write(attachment_id, iter(lambda: stream.read(READ_SIZE), b""), max_bytes)

    def open(self, attachment_id: str) -> BinaryIO:
        return self.path(attachment_id).open("rb")

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
