"""Secrets the server must use but must not keep in clear: sealed under a key derived from the
installation secret, which lives outside the database (docs/security.md#secrets-at-rest).

A staff member's second-factor (TOTP) secret is stored as
``nonce || XChaCha20-Poly1305(secret, ad=frame("integrity/v2/totp-secret", le64(user_id)), key)``
with ``key = hash(frame("integrity/v2/totp-key"), key=installation_secret)``: a copy of the
database alone gives no second factor, and a sealed secret moved to another account's row
does not open there.
"""

from __future__ import annotations

import os

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)
from nacl.encoding import RawEncoder
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.hash import blake2b

from crypto.errors import DecryptionError
from crypto.framing import frame, le64

TOTP_KEY_CONTEXT = b"integrity/v2/totp-key"
TOTP_SECRET_CONTEXT = b"integrity/v2/totp-secret"
NONCE_BYTES: int = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


def totp_key(installation_secret: bytes) -> bytes:
    """The key that seals second-factor secrets: ``hash(frame("integrity/v2/totp-key"),
    key=installation_secret)``."""
    digest: bytes = blake2b(frame(TOTP_KEY_CONTEXT), digest_size=32, key=installation_secret,
                            encoder=RawEncoder)
    return digest


def _ad(user_id: int) -> bytes:
    return frame(TOTP_SECRET_CONTEXT, le64(user_id))


def seal_totp_secret(secret: str, key: bytes, user_id: int) -> bytes:
    """What the server stores for user ``user_id``'s second-factor secret."""
    nonce = os.urandom(NONCE_BYTES)
    sealed: bytes = crypto_aead_xchacha20poly1305_ietf_encrypt(
        secret.encode("ascii"), _ad(user_id), nonce, key)
    return nonce + sealed


def open_totp_secret(stored: bytes, key: bytes, user_id: int) -> str:
    """The second-factor secret sealed for ``user_id``; DecryptionError under another key or
    for another account."""
    try:
        opened: bytes = crypto_aead_xchacha20poly1305_ietf_decrypt(
            bytes(stored[NONCE_BYTES:]), _ad(user_id), bytes(stored[:NONCE_BYTES]), key)
    except (NaclCryptoError, ValueError) as exc:
        raise DecryptionError("This second-factor secret does not open with this "
                              "installation's secret.") from exc
    return opened.decode("ascii")
