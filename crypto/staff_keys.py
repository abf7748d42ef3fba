"""Inspector sign-in and key wrapping from one passphrase (docs/inspector-keys.md).

The passphrase is stretched once with Argon2id into a master value; two keyed BLAKE2b hashes
of it give the value that signs in (the server keeps a password hash of it) and the key that
wraps the inspector's X25519 private key (it never leaves the device). The browser module
``static/js/staff-keys.mjs`` mirrors these functions, and both are tested against
``tests/vectors/staff-keys-v1.json``.

Scheme 2 (``tests/vectors/staff-keys-v2.json``) adds two values only the server can compute,
both keyed with the installation secret held outside the database: a per-inspector share that
the wrapping key also needs, released to the browser after a complete sign-in, and a pepper
applied to the authentication value before the server hashes it. A copy of the database alone
then confirms no guessed passphrase.
"""

from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.utils
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey
from nacl.pwhash import argon2id
from nacl.secret import SecretBox

from crypto.encoding import b64encode
from crypto.errors import DecryptionError, ShapeError
from crypto.framing import frame

SALT_BYTES = 16
KEY_BYTES = 32
NONCE_BYTES = 24
MAC_BYTES = 16
WRAPPED_BYTES = NONCE_BYTES + MAC_BYTES + KEY_BYTES  # 72
LOGIN_CONTEXT = b"integrity/v1/staff-login"
WRAP_CONTEXT = b"integrity/v1/staff-wrap"
SHARE_CONTEXT = b"integrity/v2/wrap-share"
WRAP_V2_CONTEXT = b"integrity/v2/staff-wrap"
PEPPER_KEY_CONTEXT = b"integrity/v2/login-pepper-key"
PEPPER_CONTEXT = b"integrity/v2/login-pepper"


@dataclass(frozen=True)
class StaffKeys:
    """What a passphrase gives on the device: the sign-in value and the key-wrapping key."""

    # Kept out of repr so that neither value lands in a log or a traceback.
    auth_value: bytes = field(repr=False)
    wrapping_key: bytes = field(repr=False)


def _generichash(data: bytes, key: bytes) -> bytes:
    digest: bytes = blake2b(data, digest_size=KEY_BYTES, key=key, encoder=RawEncoder)
    return digest


def _check_length(value: bytes, length: int, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != length:
        raise ShapeError(f"The {what} must be {length} bytes.")


def normalise_passphrase(passphrase: str) -> bytes:
    """``utf8(NFKC(passphrase))``: the same passphrase typed on any keyboard gives these bytes."""
    if not isinstance(passphrase, str):
        raise TypeError("The passphrase must be text.")
    return unicodedata.normalize("NFKC", passphrase).encode("utf-8")


def derive_staff_master(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    """``crypto_pwhash(32, utf8(NFKC(passphrase)), salt, opslimit, memlimit, ARGON2ID13)``."""
    _check_length(salt, SALT_BYTES, "salt")
    master: bytes = argon2id.kdf(KEY_BYTES, normalise_passphrase(passphrase), salt,
                                 opslimit=opslimit, memlimit=memlimit)
    return master


def staff_keys_from_master(master: bytes) -> StaffKeys:
    """The two independent values that follow from the master, one keyed hash each."""
    _check_length(master, KEY_BYTES, "master key")
    return StaffKeys(_generichash(LOGIN_CONTEXT, master), _generichash(WRAP_CONTEXT, master))


def derive_staff_keys(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> StaffKeys:
    """The sign-in value and the wrapping key of ``passphrase`` under the inspector's salt."""
    return staff_keys_from_master(derive_staff_master(passphrase, salt, opslimit, memlimit))


def login_value(keys: StaffKeys) -> str:
    """What the sign-in form sends in place of the passphrase: ``b64(auth_value)``."""
    return b64encode(keys.auth_value)


def new_staff_salt() -> bytes:
    """A fresh per-inspector salt (16 random bytes), drawn when the passphrase is set."""
    salt: bytes = nacl.utils.random(SALT_BYTES)
    return salt


def wrap_private_key(secret_key: bytes, wrapping_key: bytes, nonce: bytes | None = None) -> bytes:
    """``nonce || crypto_secretbox_easy(secret_key, nonce, wrapping_key)``: 72 bytes."""
    _check_length(secret_key, KEY_BYTES, "secret key")
    _check_length(wrapping_key, KEY_BYTES, "wrapping key")
    if nonce is None:
        nonce = nacl.utils.random(NONCE_BYTES)
    _check_length(nonce, NONCE_BYTES, "nonce")
    return bytes(SecretBox(wrapping_key).encrypt(secret_key, nonce))


def unwrap_private_key(
    wrapped: bytes, wrapping_key: bytes, expected_public_key: bytes | None = None
) -> bytes:
    """The secret key in ``wrapped``; checked against ``expected_public_key`` when given."""
    _check_length(wrapped, WRAPPED_BYTES, "wrapped private key")
    _check_length(wrapping_key, KEY_BYTES, "wrapping key")
    try:
        secret_key: bytes = SecretBox(wrapping_key).decrypt(wrapped)
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("The passphrase does not unlock this key.") from exc
    if expected_public_key is not None:
        _check_length(expected_public_key, KEY_BYTES, "public key")
        public_key = bytes(PrivateKey(secret_key).public_key)
        if not hmac.compare_digest(public_key, expected_public_key):
            raise DecryptionError("The unwrapped key does not belong to this public key.")
    return secret_key


def rewrap_private_key(
    wrapped: bytes, old_wrapping_key: bytes, new_wrapping_key: bytes,
    expected_public_key: bytes | None = None,
) -> bytes:
    """The same private key wrapped under a new passphrase's key, for a passphrase change."""
    secret_key = unwrap_private_key(wrapped, old_wrapping_key, expected_public_key)
    return wrap_private_key(secret_key, new_wrapping_key)


# Scheme 2: values keyed with the installation secret (docs/inspector-keys.md#scheme-2).

def wrap_share(installation_secret: bytes, user_id: int) -> bytes:
    """The server's share of an inspector's wrapping key:
    ``hash(frame("integrity/v2/wrap-share", ascii(user_id)), key=installation_secret)``."""
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id < 0:
        raise ShapeError("The user id must be a whole number.")
    return _generichash(frame(SHARE_CONTEXT, str(user_id).encode("ascii")), installation_secret)


def shared_wrapping_key(wrapping_key: bytes, share: bytes) -> bytes:
    """The scheme-2 wrapping key: ``hash(frame("integrity/v2/staff-wrap", share),
    key=wrapping_key)``, where ``wrapping_key`` is the scheme-1 value the passphrase gives."""
    _check_length(wrapping_key, KEY_BYTES, "wrapping key")
    _check_length(share, KEY_BYTES, "share")
    return _generichash(frame(WRAP_V2_CONTEXT, share), wrapping_key)


def login_pepper_key(installation_secret: bytes) -> bytes:
    """``hash(frame("integrity/v2/login-pepper-key"), key=installation_secret)``."""
    return _generichash(frame(PEPPER_KEY_CONTEXT), installation_secret)


def peppered_auth_value(auth_value: bytes, pepper_key: bytes) -> bytes:
    """What the server's password hash covers in scheme 2:
    ``hash(frame("integrity/v2/login-pepper", auth_value), key=pepper_key)``."""
    _check_length(auth_value, KEY_BYTES, "authentication value")
    _check_length(pepper_key, KEY_BYTES, "pepper key")
    return _generichash(frame(PEPPER_CONTEXT, auth_value), pepper_key)
