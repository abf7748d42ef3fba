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


# A key file protected with a passphrase (``integrity keygen --passphrase``): the secret key is
# wrapped as an inspector's key is in the browser (docs/inspector-keys.md), under
# crypto_pwhash(32, utf8(NFKC(passphrase)), salt, opslimit, memlimit, ARGON2ID13).
KEY_FILE_OPSLIMIT = 3
KEY_FILE_MEMLIMIT = 67108864


def dump_key_file(pair: KeyPair, label: str, passphrase: str | None = None, *,
                  opslimit: int = KEY_FILE_OPSLIMIT, memlimit: int = KEY_FILE_MEMLIMIT) -> str:
    """The JSON of an offline key file (keep it like a password: it opens cases). With
    ``passphrase``, version 2: the secret key only wrapped under a key stretched from it."""
    data: dict[str, object] = {"kind": KEY_FILE_KIND, "version": 1, "label": label,
                               "public_key": b64encode(pair.public_key)}
    if passphrase is None:
        data["secret_key"] = b64encode(pair.secret_key)
    else:
        from crypto import staff_keys

        salt = staff_keys.new_staff_salt()
        key = staff_keys.derive_staff_master(passphrase, salt, opslimit, memlimit)
        data.update(version=2, kdf="argon2id13", salt=b64encode(salt), opslimit=opslimit,
                    memlimit=memlimit,
                    wrapped_secret_key=b64encode(staff_keys.wrap_private_key(pair.secret_key, key)))
    return json.dumps(data, indent=2) + "\n"


def _key_file_data(text: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise KeyFileError("The key file is not JSON.") from exc
    if not isinstance(data, dict) or data.get("kind") != KEY_FILE_KIND:
        raise KeyFileError("This is not an X25519 key file of this system.")
    return data


def key_file_needs_passphrase(text: str) -> bool:
    """Whether the key file was written with ``integrity keygen --passphrase``."""
    return "wrapped_secret_key" in _key_file_data(text)


def load_key_file(text: str, passphrase: str | None = None) -> KeyPair:
    """Read a key file written by ``dump_key_file`` and check its halves belong together."""
    data = _key_file_data(text)
    if "wrapped_secret_key" in data:
        secret_key = _unwrap_key_file(data, passphrase)
    else:
        secret_key = b64decode(data.get("secret_key"), 32, what="secret key")
    pair = KeyPair.from_secret_key(secret_key)
    if b64encode(pair.public_key) != data.get("public_key"):
        raise KeyFileError("The key file's public key does not match its secret key.")
    return pair


def _unwrap_key_file(data: dict[str, object], passphrase: str | None) -> bytes:
    from crypto import staff_keys
    from crypto.errors import DecryptionError

    if passphrase is None:
        raise KeyFileError("This key file is protected with a passphrase.")
    opslimit, memlimit = data.get("opslimit"), data.get("memlimit")
    if (data.get("kdf") != "argon2id13" or not isinstance(opslimit, int)
            or not isinstance(memlimit, int)):
        raise KeyFileError("This key file's protection is not one this system knows.")
    key = staff_keys.derive_staff_master(passphrase, b64decode(data.get("salt"), 16, what="salt"),
                                         opslimit, memlimit)
    try:
        return staff_keys.unwrap_private_key(
            b64decode(data.get("wrapped_secret_key"), staff_keys.WRAPPED_BYTES,
                      what="wrapped secret key"),
            key, b64decode(data.get("public_key"), 32, what="public key"))
    except DecryptionError as exc:
        raise KeyFileError("The passphrase does not open this key file.") from exc
