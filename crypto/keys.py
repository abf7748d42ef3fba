"""Key derivation from a receipt, and X25519 key pairs for inspectors and recovery."""

from __future__ import annotations

import json
from dataclasses import dataclass

from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey
from nacl.pwhash import argon2id

from crypto.encoding import b64decode, b64encode
from crypto.errors import KeyFileError
from crypto.framing import frame
from crypto.receipt import normalise_receipt

SALT_BYTES = 16
KEY_BYTES = 32
LOOKUP_CONTEXT = b"integrity/v1/lookup"
REPORTER_BOX_CONTEXT = b"integrity/v1/reporter-box"
LOOKUP_KEY_CONTEXT = b"integrity/v2/lookup-key"
KEY_FILE_KIND = "integrity-x25519-key"


@dataclass(frozen=True)
class ReporterKeys:
    """What a receipt opens: the mailbox credential and the reporter's box key pair."""

    lookup: bytes
    public_key: bytes
    secret_key: bytes

    @property
    def lookup_hash(self) -> bytes:
        return lookup_hash(self.lookup)


def _generichash(data: bytes, key: bytes = b"") -> bytes:
    digest: bytes = blake2b(data, digest_size=32, key=key, encoder=RawEncoder)
    return digest


def derive_seed(receipt: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    """``crypto_pwhash(32, ascii(receipt), salt, opslimit, memlimit, ARGON2ID13)``."""
    digits = normalise_receipt(receipt)
    seed: bytes = argon2id.kdf(KEY_BYTES, digits.encode("ascii"), salt,
                               opslimit=opslimit, memlimit=memlimit)
    return seed


def reporter_keys_from_seed(seed: bytes) -> ReporterKeys:
    """The lookup token and the box key pair that follow from the seed."""
    lookup = _generichash(LOOKUP_CONTEXT, key=seed)
    box_seed = _generichash(REPORTER_BOX_CONTEXT, key=seed)
    private = PrivateKey.from_seed(box_seed)
    return ReporterKeys(lookup, bytes(private.public_key), bytes(private))


def derive_reporter_keys(receipt: str, salt: bytes, opslimit: int, memlimit: int) -> ReporterKeys:
    """Everything the receipt gives its holder, derived as the protocol says."""
    return reporter_keys_from_seed(derive_seed(receipt, salt, opslimit, memlimit))


def lookup_hash(lookup: bytes) -> bytes:
    """``crypto_generichash(32, lookup)``, what protocol 1 said the server stores."""
    return _generichash(lookup)


def lookup_key(installation_secret: bytes) -> bytes:
    """The key of stored lookup hashes, from the secret held outside the database:
    ``hash(frame("integrity/v2/lookup-key"), key=installation_secret)``."""
    return _generichash(frame(LOOKUP_KEY_CONTEXT), key=installation_secret)


def keyed_lookup_hash(lookup: bytes, key: bytes) -> bytes:
    """What the server stores in place of the lookup token: ``hash(hash(lookup), key=key)``.
    Without ``key`` a copy of the database cannot tell whether a guessed receipt is right;
    keying the protocol 1 hash (not the token) lets stored rows be converted in place."""
    return keyed_stored_hash(lookup_hash(lookup), key)


def keyed_stored_hash(unkeyed: bytes, key: bytes) -> bytes:
    """``hash(unkeyed, key=key)``: a protocol 1 stored hash, keyed."""
    return _generichash(unkeyed, key=key)


@dataclass(frozen=True)
class KeyPair:
    public_key: bytes
    secret_key: bytes

    @classmethod
    def generate(cls) -> KeyPair:
        private = PrivateKey.generate()
        return cls(bytes(private.public_key), bytes(private))

    @classmethod
    def from_secret_key(cls, secret_key: bytes) -> KeyPair:
        private = PrivateKey(secret_key)
        return cls(bytes(private.public_key), bytes(private))


def fingerprint(public_key: bytes) -> str:
    """A short, readable fingerprint of a public key for comparing by eye."""
    digest = _generichash(public_key)[:10].hex()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def dump_key_file(pair: KeyPair, label: str) -> str:
    """The JSON of an offline key file (keep it like a password: it opens cases)."""
    return json.dumps(
        {"kind": KEY_FILE_KIND, "version": 1, "label": label,
         "public_key": b64encode(pair.public_key), "secret_key": b64encode(pair.secret_key)},
        indent=2,
    ) + "\n"


def load_key_file(text: str) -> KeyPair:
    """Read a key file written by ``dump_key_file`` and check its halves belong together."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise KeyFileError("The key file is not JSON.") from exc
    if not isinstance(data, dict) or data.get("kind") != KEY_FILE_KIND:
        raise KeyFileError("This is not an X25519 key file of this system.")
    pair = KeyPair.from_secret_key(b64decode(data.get("secret_key"), 32, what="secret key"))
    if b64encode(pair.public_key) != data.get("public_key"):
        raise KeyFileError("The key file's public key does not match its secret key.")
    return pair
