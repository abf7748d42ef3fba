"""Files uploaded through plain HTML forms: sealed while they stream in, never on disk in clear.

Werkzeug's form parser normally spools uploads larger than 500 KB to a temporary file. The
request class below replaces that: on the reporter pages each file part is sealed chunk by
chunk into the attachment store, anywhere else uploads stay in memory (and are small).

A file of a kind that can carry hidden details (photos, PDF, Office documents, videos; see
clean_files) is held in memory instead, until the whole form has been read: whether it is
cleaned before sealing depends on the reporter's "send as it is" choice, which may come after.
"""

from __future__ import annotations

import io
from typing import IO, Any

import nacl.utils
from flask import Request, g
from werkzeug.exceptions import RequestEntityTooLarge

from crypto.stream import CHUNK_PLAIN, KEY_BYTES, StreamSealer, padded_length
from integrity import current
from integrity.reporting.clean_files import CleanResult, clean_file, may_need_cleaning
from integrity.reporting.storage import AttachmentStore, new_attachment_id
from integrity.request_guard import BoundedParameters

# Endpoints whose file parts are report attachments, sealed as they arrive.
SEALED_UPLOAD_ENDPOINTS = {"reporting.file_plain", "reporting.mailbox_reply"}
# How much of a file is read before deciding whether it may need cleaning (a PDF's header
# may start anywhere in its first kilobyte).
SNIFF_BYTES = 1024


class SealingSink(io.RawIOBase):
    """A write-only file that seals what it is given into a new attachment of the store."""

    def __init__(self, store: AttachmentStore, max_bytes: int) -> None:
        super().__init__()
        self.attachment_id = new_attachment_id()
        self.key = nacl.utils.random(KEY_BYTES)
        self.size = 0
        self.sealed_size = 0
        self._max_bytes = max_bytes
        self._store = store
        self._buffer = bytearray()
        self._sealer = StreamSealer(self.key)
        self._writer = store.writer(self.attachment_id)
        self._emit(self._sealer.header)
        self._head: bytearray | None = bytearray()  # the first bytes, until the kind is known
        self._held: bytearray | None = None  # a file to clean: its plaintext, in memory only

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        piece = bytes(data)
        self.size += len(piece)
        if self.size > self._max_bytes:
            raise RequestEntityTooLarge()
        if self._head is not None:
            self._head += piece
            if len(self._head) >= SNIFF_BYTES:
                self._decide()
        elif self._held is not None:
            self._held += piece
        else:
            self._seal(piece)
        return len(piece)

    def _decide(self) -> None:
        """Hold the file for cleaning, or seal it as it streams, by its first bytes."""
        head, self._head = bytes(self._head or b""), None
        if may_need_cleaning(head):
            self._held = bytearray(head)
        else:
            self._seal(head)

    def _seal(self, piece: bytes) -> None:
        self._buffer += piece
        # Keep at least one byte back: the last chunk is only known once the part has ended.
        while len(self._buffer) > CHUNK_PLAIN:
            self._emit(self._sealer.push(bytes(self._buffer[:CHUNK_PLAIN]), last=False))
            del self._buffer[:CHUNK_PLAIN]

    def clean(self, keep_details: bool) -> CleanResult | None:
        """Seal a held file, cleaned unless the reporter chose to keep its details; what the
        cleaning found (None for a file that was sealed as it arrived). Call once, before
        ``finish``."""
        if self._head is not None:
            self._decide()
        if self._held is None:
            return None
        plain, self._held = bytes(self._held), None
        result = clean_file(plain)
        chosen = plain if keep_details else result.data
        self.size = len(chosen)
        self._seal(chosen)
        return result

    def seek(self, offset: int, whence: int = 0) -> int:
        # The parser rewinds its container when a part ends; there is nothing to rewind.
        return 0

    def _emit(self, sealed: bytes) -> None:
        self._writer.write(sealed)
        self.sealed_size += len(sealed)

    def finish(self) -> None:
        """Seal the last chunk and keep the attachment under its id."""
        if self._head is not None or self._held is not None:
            self.clean(keep_details=False)
        # Padded with zeros to its Padmé length, as the browser does: the sealed size says
        # little about the file's (its true size travels in the sealed document).
        padding = padded_length(self.size, self._max_bytes) - self.size
        while padding > 0:
            self._seal(bytes(min(padding, CHUNK_PLAIN)))
            padding -= CHUNK_PLAIN
        self._emit(self._sealer.push(bytes(self._buffer), last=True))
        self._buffer.clear()
        self._writer.finish()

    def discard(self) -> None:
        """Remove whatever was written (a refused or abandoned upload), finished or not."""
        self._writer.discard()
        self._buffer.clear()
        self._held = None
        self._store.shred(self.attachment_id)


def _upload_limit(endpoint: str | None) -> int | None:
    settings = current.settings()
    if endpoint in SEALED_UPLOAD_ENDPOINTS:
        return int(settings.max_report_attachment_bytes) + 2 * 1024 * 1024
    if endpoint in ("api.upload_attachment", "api.append_to_upload"):
        return int(settings.max_attachment_bytes)
    return None


class IntegrityRequest(Request):
    """The application's request class: uploads never reach a temporary file, and numbers read
    from the query or form with ``type=int`` are bounded (see request_guard)."""

    parameter_storage_class = BoundedParameters

    @property  # type: ignore[override]
    def max_content_length(self) -> int | None:
        """Larger bodies where attachments are taken, known before the body is parsed."""
        limit = _upload_limit(self.endpoint)
        return limit if limit is not None else Request.max_content_length.fget(self)  # type: ignore[attr-defined]

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        Request.max_content_length.fset(self, value)  # type: ignore[attr-defined]

    def _get_file_stream(
        self, total_content_length: int | None, content_type: str | None,
        filename: str | None = None, content_length: int | None = None,
    ) -> IO[bytes]:
        if self.endpoint in SEALED_UPLOAD_ENDPOINTS:
            settings = current.settings()
            sink = SealingSink(current.attachment_store(),
                               settings.max_attachment_bytes)
            g.setdefault("upload_sinks", []).append(sink)
            return sink  # type: ignore[return-value]
        return io.BytesIO()


def discard_unfinished_uploads(_exc: BaseException | None = None) -> None:
    """After each request: remove sealed uploads that no stored report or message took."""
    for sink in g.pop("upload_sinks", []):
        if not getattr(sink, "kept", False):
            sink.discard()


