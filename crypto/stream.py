"""Attachments: crypto_secretstream_xchacha20poly1305 in 64 KiB chunks, the last tagged FINAL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils

from crypto.errors import DecryptionError, ShapeError, TooLargeError

HEADER_BYTES = 24
CHUNK_PLAIN = 65536
CHUNK_OVERHEAD = 17  # 1 tag byte + 16 MAC bytes
CHUNK_SEALED = CHUNK_PLAIN + CHUNK_OVERHEAD
KEY_BYTES = 32
TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL


def sealed_length(plain_length: int) -> int:
    """Length of the stream that seals ``plain_length`` bytes (at least one chunk)."""
    chunks = max(1, -(-plain_length // CHUNK_PLAIN))
    return HEADER_BYTES + plain_length + chunks * CHUNK_OVERHEAD


def valid_stream_length(length: int) -> bool:
    """Whether ``length`` is a header, full chunks, and a final chunk of 17 to 65,553 bytes."""
    body = length - HEADER_BYTES
    if body < CHUNK_OVERHEAD:
        return False
    last = body % CHUNK_SEALED
    return last == 0 or last >= CHUNK_OVERHEAD


def plain_length(sealed_length: int) -> int:
    """Length of the plaintext a stream of ``sealed_length`` bytes holds: the header less, and
    17 bytes less per chunk (ShapeError if the length does not decompose)."""
    if not valid_stream_length(sealed_length):
        raise ShapeError("The length is not a header, full chunks and a final chunk.")
    body = sealed_length - HEADER_BYTES
    chunks = -(-body // CHUNK_SEALED)
    return body - chunks * CHUNK_OVERHEAD


def padme_length(length: int) -> int:
    """Padmé (Nikitin et al., PETS 2019): ``length`` rounded up so that only its top
    ``floor(log2 E) + 1`` bits may be set, ``E = floor(log2 length)``; at most 11.2 % more
    (12 % for the smallest lengths), and a padded length leaks O(log log L) bits."""
    if length < 2:
        return length
    exponent = length.bit_length() - 1  # floor(log2 L)
    low_bits = exponent - exponent.bit_length()  # E - (floor(log2 E) + 1)
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def largest_plain_length(max_sealed: int) -> int:
    """The longest plaintext whose sealed stream is at most ``max_sealed`` bytes (-1 if none)."""
    body = max_sealed - HEADER_BYTES
    if body < CHUNK_OVERHEAD:
        return -1
    full, rest = divmod(body, CHUNK_SEALED)
    return full * CHUNK_PLAIN + max(0, rest - CHUNK_OVERHEAD)


def padded_length(length: int, max_sealed: int | None = None) -> int:
    """How long a file of ``length`` bytes is made before sealing: its Padmé length, but never
    so long that the sealed stream would pass ``max_sealed`` (nor shorter than the file)."""
    padded = padme_length(length)
    if max_sealed is not None:
        padded = min(padded, max(length, largest_plain_length(max_sealed)))
    return padded


def check_stream_length(length: int, max_length: int) -> None:
    """The server's check of an uploaded stream's length (it cannot read the content)."""
    if length > max_length:
        raise TooLargeError("The attachment is larger than this server accepts.")
    if not valid_stream_length(length):
        raise ShapeError(
            "The attachment is not a secretstream of 65,536-byte chunks with a final chunk."
        )


def _chunks(source: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """Plaintext chunks of 64 KiB with a flag on the last one (an empty file gives one)."""
    current = source.read(CHUNK_PLAIN)
    while True:
        following = source.read(CHUNK_PLAIN) if len(current) == CHUNK_PLAIN else b""
        if not following:
            yield current, True
            return
        yield current, False
        current = following


class StreamSealer:
    """Incremental sealing for data that arrives piece by piece (an upload being parsed)."""

    def __init__(self, key: bytes) -> None:
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        self.header: bytes = sodium.crypto_secretstream_xchacha20poly1305_init_push(
            self._state, key
        )
        self.finished = False

    def push(self, plain: bytes, last: bool) -> bytes:
        """Seal one chunk: exactly 65,536 bytes, or up to that for the last one."""
        if self.finished:
            raise ShapeError("The stream is already finished.")
        if len(plain) > CHUNK_PLAIN or (not last and len(plain) != CHUNK_PLAIN):
            raise ShapeError("Every chunk but the last holds exactly 65,536 bytes.")
        self.finished = last
        tag = TAG_FINAL if last else TAG_MESSAGE
        sealed: bytes = sodium.crypto_secretstream_xchacha20poly1305_push(
            self._state, plain, None, tag
        )
        return sealed


def seal_chunks(chunks: Iterable[tuple[bytes, bool]], key: bytes) -> Iterator[bytes]:
    """The header, then each (plaintext, is_last) chunk sealed; the last is tagged FINAL."""
    sealer = StreamSealer(key)
    yield sealer.header
    for plain, last in chunks:
        yield sealer.push(plain, last)


def seal_file(source: BinaryIO, target: BinaryIO, key: bytes | None = None) -> bytes:
    """Seal ``source`` into ``target`` chunk by chunk; returns the file key."""
    key = key if key is not None else nacl.utils.random(KEY_BYTES)
    for piece in seal_chunks(_chunks(source), key):
        target.write(piece)
    return key


def open_chunks(source: BinaryIO, key: bytes) -> Iterator[bytes]:
    """Plaintext chunks of a sealed stream; fails unless it ends exactly at a FINAL chunk."""
    header = source.read(HEADER_BYTES)
    if len(header) != HEADER_BYTES:
        raise DecryptionError("The attachment ends before its header.")
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
        while True:
            sealed = source.read(CHUNK_SEALED)
            if not sealed:
                raise DecryptionError("The attachment was cut short: no final chunk.")
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, sealed, None)
            yield plain
            if tag == TAG_FINAL:
                break
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("The attachment does not open with this key.") from exc
    if source.read(1):
        raise DecryptionError("The attachment has data after its final chunk.")


def cut_to(chunks: Iterable[bytes], size: int | None) -> Iterator[bytes]:
    """The first ``size`` bytes of ``chunks`` (all of them for None): a padded file cut back to
    its true size. Every chunk is still read, so that the whole stream is authenticated."""
    left = size
    for chunk in chunks:
        if left is None:
            yield chunk
        elif left > 0:
            yield chunk[:left]
            left -= min(left, len(chunk))


def open_file(source: BinaryIO, target: BinaryIO, key: bytes, size: int | None = None) -> int:
    """Open a sealed stream into ``target``, cut to ``size`` (the attachment entry's true size:
    what follows it is padding); returns the length written."""
    total = 0
    for plain in cut_to(open_chunks(source, key), size):
        target.write(plain)
        total += len(plain)
    return total
