"""Sealed documents: padded JSON under a fresh key, the key sealed to each reader."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.utils
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.secret import SecretBox

from crypto.errors import DecryptionError, ShapeError, TooLargeError

NONCE_BYTES = 24
MAC_BYTES = 16
KEY_BYTES = 32
SLOT_BYTES = 80  # crypto_box_seal of a 32-byte key: 32 ephemeral + 32 + 16 MAC
PAYLOAD_OVERHEAD = NONCE_BYTES + MAC_BYTES


@dataclass(frozen=True)
class SealedDocument:
    payload: bytes
    key_slots: dict[str, bytes]
    key: bytes  # the document key; callers drop it once the slots are made


def pad(plain: bytes, block: int) -> bytes:
    """``sodium_pad``: ISO/IEC 7816-4 padding up to a multiple of ``block``."""
    padded: bytes = nacl.bindings.sodium_pad(plain, block)
    return padded


def unpad(padded: bytes, block: int) -> bytes:
    try:
        plain: bytes = nacl.bindings.sodium_unpad(padded, block)
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise DecryptionError("The document's padding is not valid.") from exc
    return plain


def encode_json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def seal_key(key: bytes, public_key: bytes) -> bytes:
    """One key slot: ``crypto_box_seal(key, public_key)``."""
    slot: bytes = SealedBox(PublicKey(public_key)).encrypt(key)
    return slot


def open_key_slot(slot: bytes, secret_key: bytes) -> bytes:
    """The document key in ``slot``, for the holder of ``secret_key``."""
    if len(slot) != SLOT_BYTES:
        raise ShapeError(f"A key slot is {SLOT_BYTES} bytes.")
    try:
        key: bytes = SealedBox(PrivateKey(secret_key)).decrypt(slot)
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("This key cannot open that key slot.") from exc
    return key


def seal_payload(plain: bytes, key: bytes, pad_block: int, nonce: bytes | None = None) -> bytes:
    """``nonce || crypto_secretbox_easy(sodium_pad(plain), nonce, key)``."""
    nonce = nonce if nonce is not None else nacl.utils.random(NONCE_BYTES)
    sealed: bytes = SecretBox(key).encrypt(pad(plain, pad_block), nonce)
    return sealed


def open_payload(payload: bytes, key: bytes, pad_block: int) -> bytes:
    try:
        padded: bytes = SecretBox(key).decrypt(payload)
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("The document does not open with this key.") from exc
    return unpad(padded, pad_block)


def seal_document(
    document: Mapping[str, Any], readers: Mapping[str, bytes], pad_block: int
) -> SealedDocument:
    """Seal ``document`` (JSON) so that each reader (id to public key) can open it."""
    key = nacl.utils.random(KEY_BYTES)
    payload = seal_payload(encode_json(document), key, pad_block)
    slots = {reader: seal_key(key, public_key) for reader, public_key in readers.items()}
    return SealedDocument(payload, slots, key)


def open_document(
    payload: bytes, slot: bytes, secret_key: bytes, pad_block: int
) -> dict[str, Any]:
    """The JSON object sealed in ``payload``, opened through the reader's ``slot``."""
    plain = open_payload(payload, open_key_slot(slot, secret_key), pad_block)
    try:
        document = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DecryptionError("The document is not UTF-8 JSON.") from exc
    if not isinstance(document, dict):
        raise DecryptionError("The document is not a JSON object.")
    return document


def check_payload_length(length: int, pad_block: int, max_length: int) -> None:
    """The server's shape check: ``40 + k * pad_block`` bytes for k >= 1, within the limit."""
    padded = length - PAYLOAD_OVERHEAD
    if padded < pad_block or padded % pad_block:
        raise ShapeError(
            f"The payload must be 40 bytes plus a whole number of {pad_block}-byte blocks."
        )
    if length > max_length:
        raise TooLargeError("The payload is larger than this server accepts.")
