"""Protocol 2's one way of putting several byte strings into one: each with its length first.

``frame(a, b, ...) = le32(len(a)) || a || le32(len(b)) || b || ...``, so no two different
lists of parts give the same bytes. Every hashed, signed or authenticated input of protocol 2
is a frame whose first part is a context string naming what it is for.
"""

from __future__ import annotations

import struct

from nacl.encoding import RawEncoder
from nacl.hash import blake2b

HASH_BYTES = 32


def frame(*parts: bytes) -> bytes:
    """Each part after its length as a 4-byte little-endian unsigned integer."""
    out = bytearray()
    for part in parts:
        if not isinstance(part, bytes | bytearray):
            raise TypeError("Every part of a frame is bytes.")
        out += struct.pack("<I", len(part))
        out += part
    return bytes(out)


def le64(value: int) -> bytes:
    """An unsigned 64-bit integer as 8 bytes, little-endian."""
    return struct.pack("<Q", value)


def generichash(data: bytes, key: bytes = b"") -> bytes:
    """``crypto_generichash(32, data, key)``: BLAKE2b-256, keyed when ``key`` is given."""
    digest: bytes = blake2b(data, digest_size=HASH_BYTES, key=key, encoder=RawEncoder)
    return digest
