"""The reporting protocol (docs/protocol.md) on PyNaCl: no Flask, no database.

The browser module ``static/js/protocol.mjs`` mirrors these functions one for one, and both
are tested against ``tests/vectors/protocol-v1.json``. Inspector sign-in and key wrapping
(``crypto.staff_keys``, mirrored by ``static/js/staff-keys.mjs``) have their own vectors,
``tests/vectors/staff-keys-v1.json``.
"""

from crypto.at_rest import open_totp_secret, seal_totp_secret, totp_key
from crypto.documents import (
    SLOT_BYTES,
    SealedDocument,
    check_payload_length,
    open_document,
    open_key_slot,
    open_payload,
    pad,
    seal_document,
    seal_key,
    seal_payload,
    unpad,
)
from crypto.encoding import b64decode, b64encode
from crypto.errors import (
    CryptoError,
    DecryptionError,
    EncodingError,
    KeyFileError,
    ReceiptError,
    ShapeError,
    TooLargeError,
)
from crypto.keys import (
    KeyPair,
    ReporterKeys,
    derive_reporter_keys,
    dump_key_file,
    fingerprint,
    key_file_needs_passphrase,
    keyed_lookup_hash,
    load_key_file,
    lookup_hash,
    lookup_key,
)
from crypto.pow import achieved_bits, solve_pow, verify_pow
from crypto.receipt import format_receipt, generate_receipt, normalise_receipt
from crypto.staff_keys import (
    StaffKeys,
    derive_staff_keys,
    login_pepper_key,
    login_value,
    new_staff_salt,
    peppered_auth_value,
    rewrap_private_key,
    shared_wrapping_key,
    unwrap_private_key,
    wrap_private_key,
    wrap_share,
)
from crypto.stream import check_stream_length, open_file, seal_file, valid_stream_length

__all__ = [
    "SLOT_BYTES", "CryptoError", "DecryptionError", "EncodingError", "KeyFileError", "KeyPair",
    "ReceiptError", "ReporterKeys", "SealedDocument", "ShapeError", "StaffKeys", "TooLargeError",
    "achieved_bits", "b64decode", "b64encode", "check_payload_length", "check_stream_length",
    "derive_reporter_keys", "derive_staff_keys", "dump_key_file", "fingerprint", "format_receipt",
    "generate_receipt", "keyed_lookup_hash", "load_key_file", "login_value", "lookup_hash",
    "lookup_key", "new_staff_salt",
    "normalise_receipt", "open_document", "open_file", "open_key_slot", "open_payload", "pad",
    "rewrap_private_key", "seal_document", "seal_file", "seal_key", "seal_payload", "solve_pow",
    "unpad", "unwrap_private_key", "valid_stream_length", "verify_pow", "wrap_private_key",
    "key_file_needs_passphrase", "login_pepper_key", "peppered_auth_value",
    "shared_wrapping_key", "wrap_share", "open_totp_secret", "seal_totp_secret", "totp_key",
]
