"""The organisation key and the key certificates it signs (protocol 2, docs/protocol.md).

The organisation key is an Ed25519 key pair made offline; its private half (a 32-byte seed)
never reaches the server. It signs each inspector's X25519 public key, bound to the
inspector's id, and the recovery public key. Clients hold the organisation's public key from
the installation's configuration, not from the database, and refuse to seal to a key whose
certificate does not verify.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import nacl.exceptions
from nacl.signing import SigningKey, VerifyKey

from crypto.encoding import b64decode, b64encode
from crypto.errors import KeyFileError, ShapeError
from crypto.framing import frame, generichash

SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
INSPECTOR_KEY_CONTEXT = b"integrity/v2/inspector-key"
RECOVERY_KEY_CONTEXT = b"integrity/v2/recovery-key"


@dataclass(frozen=True)
class OrgKey:
    """The organisation's signing key pair; ``seed`` is the private half."""

    public_key: bytes
    seed: bytes

    @classmethod
    def from_seed(cls, seed: bytes) -> OrgKey:
        """``crypto_sign_seed_keypair(seed)``."""
        _check_length(seed, SEED_BYTES, "organisation key seed")
        return cls(bytes(SigningKey(seed).verify_key), seed)

    @classmethod
    def generate(cls) -> OrgKey:
        signing = SigningKey.generate()
        return cls(bytes(signing.verify_key), bytes(signing))

    def __repr__(self) -> str:  # the seed stays out of logs and tracebacks
        return f"OrgKey(public_key={self.public_key.hex()})"


def _check_length(value: object, length: int, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != length:
        raise ShapeError(f"The {what} must be {length} bytes.")


def _check_id(inspector_id: str) -> bytes:
    if not isinstance(inspector_id, str) or not inspector_id.isascii() \
            or not inspector_id.isdigit() or len(inspector_id) > 20:
        raise ShapeError("An inspector id is 1 to 20 ASCII digits.")
    return inspector_id.encode("ascii")


def inspector_key_message(inspector_id: str, public_key: bytes) -> bytes:
    """``frame("integrity/v2/inspector-key", ascii(id), public_key)``: what the signature covers."""
    _check_length(public_key, PUBLIC_KEY_BYTES, "public key")
    return frame(INSPECTOR_KEY_CONTEXT, _check_id(inspector_id), public_key)


def recovery_key_message(public_key: bytes) -> bytes:
    """``frame("integrity/v2/recovery-key", public_key)``."""
    _check_length(public_key, PUBLIC_KEY_BYTES, "public key")
    return frame(RECOVERY_KEY_CONTEXT, public_key)


def _sign(org: OrgKey, message: bytes) -> bytes:
    signature: bytes = SigningKey(org.seed).sign(message).signature
    return signature


def _verifies(org_public_key: bytes, message: bytes, signature: object) -> bool:
    _check_length(org_public_key, PUBLIC_KEY_BYTES, "organisation public key")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        VerifyKey(org_public_key).verify(message, signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def sign_inspector_key(org: OrgKey, inspector_id: str, public_key: bytes) -> bytes:
    """The 64-byte certificate of an inspector's key: ``crypto_sign_detached``."""
    return _sign(org, inspector_key_message(inspector_id, public_key))


def verify_inspector_key(org_public_key: bytes, inspector_id: str, public_key: bytes,
                         signature: object) -> bool:
    """Whether ``signature`` is the organisation's certificate of this inspector's key."""
    return _verifies(org_public_key, inspector_key_message(inspector_id, public_key), signature)


def sign_recovery_key(org: OrgKey, public_key: bytes) -> bytes:
    """The 64-byte certificate of the recovery public key."""
    return _sign(org, recovery_key_message(public_key))


def verify_recovery_key(org_public_key: bytes, public_key: bytes, signature: object) -> bool:
    """Whether ``signature`` is the organisation's certificate of the recovery key."""
    return _verifies(org_public_key, recovery_key_message(public_key), signature)


def key_hash(public_key: bytes) -> bytes:
    """``hash(public_key)``, 32 bytes: a key as documents record it (``"fingerprint"``)."""
    _check_length(public_key, PUBLIC_KEY_BYTES, "public key")
    return generichash(public_key)


ORG_KEY_FILE_KIND = "integrity-ed25519-org-key"


def dump_org_key_file(org: OrgKey, label: str = "organisation key") -> str:
    """The JSON of the organisation key's private half (print it; never store it online)."""
    return json.dumps(
        {"kind": ORG_KEY_FILE_KIND, "version": 1, "label": label,
         "public_key": b64encode(org.public_key), "seed": b64encode(org.seed)},
        indent=2,
    ) + "\n"


def load_org_key_file(text: str) -> OrgKey:
    """Read a file written by ``dump_org_key_file`` and check its halves belong together."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise KeyFileError("The organisation key file is not JSON.") from exc
    if not isinstance(data, dict) or data.get("kind") != ORG_KEY_FILE_KIND:
        raise KeyFileError("This is not an organisation key file of this system.")
    org = OrgKey.from_seed(b64decode(data.get("seed"), SEED_BYTES, what="organisation key seed"))
    if b64encode(org.public_key) != data.get("public_key"):
        raise KeyFileError("The key file's public key does not match its private half.")
    return org
