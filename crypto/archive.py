"""Sealed backup archives (docs/operations.md#the-backup-file): a header naming the recovery
key, a fresh file key sealed to it with crypto_box_seal, and the archive itself as a
crypto_secretstream_xchacha20poly1305 stream of 64 KiB chunks under that file key.

Only the holder of the recovery key's private half opens one. Written and read piece by piece:
neither side ever holds more than a chunk of the archive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils

from crypto.errors import DecryptionError, ShapeError
from crypto.keys import KeyPair
from crypto.stream import CHUNK_PLAIN, KEY_BYTES, StreamSealer, open_chunks

MAGIC = b"INTEGRITY-BACKUP"  # 16 bytes
VERSION = 1
PUBLIC_KEY_BYTES = 32
SEALED_KEY_BYTES = KEY_BYTES + sodium.crypto_box_SEALBYTES  # 80
HEADER_BYTES = len(MAGIC) + 1 + PUBLIC_KEY_BYTES + SEALED_KEY_BYTES  # 129


def archive_header(public_key: bytes, file_key: bytes) -> bytes:
    """``MAGIC || version || recovery public key || crypto_box_seal(file_key, public_key)``."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(file_key) != KEY_BYTES:
        raise ShapeError("A recovery public key and a file key are 32 bytes each.")
    sealed: bytes = sodium.crypto_box_seal(file_key, public_key)
    return MAGIC + bytes([VERSION]) + public_key + sealed


def read_header(source: BinaryIO) -> tuple[bytes, bytes]:
    """The recovery public key a backup is sealed to and its sealed file key."""
    header = source.read(HEADER_BYTES)
    if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
        raise ShapeError("This is not a backup of this system.")
    if header[len(MAGIC)] != VERSION:
        raise ShapeError(f"This backup is of format version {header[len(MAGIC)]}, which this "
                         f"version of the software does not read.")
    start = len(MAGIC) + 1
    return header[start:start + PUBLIC_KEY_BYTES], header[start + PUBLIC_KEY_BYTES:]


def open_file_key(sealed_key: bytes, pair: KeyPair) -> bytes:
    """The file key, opened with the recovery key pair (DecryptionError with another key)."""
    try:
        key: bytes = sodium.crypto_box_seal_open(sealed_key, pair.public_key, pair.secret_key)
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("The recovery key does not open this backup.") from exc
    return key


class ArchiveWriter:
    """A write-only file object: what is written to it goes out sealed, chunk by chunk."""

    def __init__(self, target: BinaryIO, public_key: bytes) -> None:
        file_key = nacl.utils.random(KEY_BYTES)
        self._target = target
        self._sealer = StreamSealer(file_key)
        self._pending = bytearray()
        target.write(archive_header(public_key, file_key))
        target.write(self._sealer.header)

    def write(self, data: bytes) -> int:
        self._pending += data
        # Keep at least one byte back: the last chunk, tagged FINAL, is pushed by close().
        while len(self._pending) > CHUNK_PLAIN:
            self._target.write(self._sealer.push(bytes(self._pending[:CHUNK_PLAIN]), False))
            del self._pending[:CHUNK_PLAIN]
        return len(data)

    def close(self) -> None:
        """Seal what is left as the FINAL chunk (the stream is not complete without it)."""
        if not self._sealer.finished:
            self._target.write(self._sealer.push(bytes(self._pending), True))
            self._pending.clear()


class ArchiveReader:
    """A read-only file object over the opened archive; raises DecryptionError as soon as a
    chunk does not authenticate, and at the end unless the stream closed with its FINAL
    chunk. Nothing read from it is known genuine until it is read to the end."""

    def __init__(self, source: BinaryIO, pair: KeyPair) -> None:
        public_key, sealed_key = read_header(source)
        if public_key != pair.public_key:
            raise DecryptionError("This backup is sealed to another recovery key.")
        self._chunks: Iterator[bytes] = open_chunks(source, open_file_key(sealed_key, pair))
        self._buffer = b""
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                self._done = True
            except DecryptionError as exc:
                raise DecryptionError("The backup is damaged or cut short.") from exc
        if size < 0:
            size = len(self._buffer)
        piece, self._buffer = self._buffer[:size], self._buffer[size:]
        return piece

    def drain(self) -> None:
        """Read to the end, so that the whole stream is authenticated."""
        while self.read(CHUNK_PLAIN):
            pass
