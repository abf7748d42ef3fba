"""base64url without padding (RFC 4648 section 5), strictly: nothing else is accepted."""

from __future__ import annotations

import base64
import re

from crypto.errors import EncodingError

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64encode(data: bytes) -> str:
    """Encode as base64url with no ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: object, length: int | None = None, *, what: str = "value") -> bytes:
    """Decode canonical unpadded base64url, optionally requiring ``length`` bytes."""
    if not isinstance(text, str) or not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise EncodingError(f"The {what} is not base64url without padding.")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64encode(data) != text:
        # Stray low bits in the last character: another text for the same bytes.
        raise EncodingError(f"The {what} is not canonical base64url.")
    if length is not None and len(data) != length:
        raise EncodingError(f"The {what} must be {length} bytes.")
    return data
