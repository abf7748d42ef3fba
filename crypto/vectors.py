"""Test vectors for protocol v1, from fixed inputs: ``python -m crypto.vectors > FILE``.

Deterministic values (derivations, hashes, padding, secretbox under a fixed nonce) are
recomputed by the tests; the randomised ones (sealed-box key slots, stream headers) were
drawn once and are checked by opening them.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

from crypto import documents, keys, pow, stream
from crypto.encoding import b64encode

SALT = bytes(range(16))
RECEIPTS = ("00000000000000000000", "12345678901234567890", "99999999999999999999")
# The protocol's real cost, and a cheap one so browser tests stay fast.
COSTS = ((3, 67108864), (2, 8388608))
INSPECTOR_SEED = bytes([7]) * 32
DOCUMENT_KEY = bytes(range(32, 64))
DOCUMENT_NONCE = bytes(range(100, 124))
PAD_BLOCK = 1024


def plain_bytes(length: int) -> bytes:
    """A fixed, non-repeating-looking plaintext of ``length`` bytes."""
    return bytes((i * 31 + 7) % 251 for i in range(length))


def deterministic() -> dict[str, Any]:
    """The part of the vectors every implementation must reproduce exactly."""
    derivations = []
    for receipt in RECEIPTS:
        for opslimit, memlimit in COSTS:
            if (opslimit, memlimit) == COSTS[0] and receipt != RECEIPTS[1]:
                continue  # one vector at full cost is enough
            seed = keys.derive_seed(receipt, SALT, opslimit, memlimit)
            derived = keys.reporter_keys_from_seed(seed)
            derivations.append({
                "receipt": receipt, "salt": b64encode(SALT), "opslimit": opslimit,
                "memlimit": memlimit, "seed": b64encode(seed), "lookup": b64encode(derived.lookup),
                "lookup_hash": b64encode(derived.lookup_hash),
                "reporter_public_key": b64encode(derived.public_key),
                "reporter_secret_key": b64encode(derived.secret_key),
            })
    document = {"answers": {"what": "Bribe at gate 3 — 200 €", "when": "2026-11-02"},
                "attachments": []}
    plain = documents.encode_json(document)
    inspector = keys.KeyPair.from_secret_key(INSPECTOR_SEED)
    return {
        "protocol": 1,
        "base64url": [
            {"bytes_hex": data.hex(), "b64": b64encode(data)}
            for data in (b"", b"\x00", b"\xfb\xff", b"\xff\xfe\xfd", bytes(range(32)))
        ],
        "base64url_invalid": ["AA==", "A", "AB+/", "AB/", "A B", "AAB", "Zm9v\n", "Zh", "AAA\n"],
        "receipts": {
            "valid": [{"input": "1234 5678 9012 3456 7890", "normalised": "12345678901234567890"},
                      {"input": "1234-5678-9012-3456-7890", "normalised": "12345678901234567890"},
                      {"input": "00000000000000000000", "normalised": "00000000000000000000"},
                      # Arabic-Indic, Persian (extended Arabic-Indic), fullwidth digits.
                      {"input": "١٢٣٤ ٥٦٧٨ ٩٠١٢ ٣٤٥٦ ٧٨٩٠", "normalised": "12345678901234567890"},
                      {"input": "۱۲۳۴-۵۶۷۸-۹۰۱۲-۳۴۵۶-۷۸۹۰", "normalised": "12345678901234567890"},
                      {"input": "１２３４５６７８９０１２３４５６７８９０",
                       "normalised": "12345678901234567890"},
                      {"input": "𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗𝟎", "normalised": "12345678901234567890"}],
            "invalid": ["1234 5678 9012 3456 789", "123456789012345678901", "", "abcd",
                        "½234 5678 9012 3456 7890", "²234 5678 9012 3456 7890"],
            "formatted": {"12345678901234567890": "1234 5678 9012 3456 7890"},
        },
        "derivations": derivations,
        "padding": [
            {"plain_hex": data.hex(), "block": block,
             "padded_hex": documents.pad(data, block).hex()}
            for data, block in ((b"", 16), (b"abc", 16), (bytes(16), 16), (b"x" * 1023, 1024))
        ],
        "document": {
            "key": b64encode(DOCUMENT_KEY), "nonce": b64encode(DOCUMENT_NONCE),
            "pad_block": PAD_BLOCK, "json": plain.decode("utf-8"),
            "payload": b64encode(documents.seal_payload(plain, DOCUMENT_KEY, PAD_BLOCK,
                                                        DOCUMENT_NONCE)),
            "inspector_secret_key": b64encode(inspector.secret_key),
            "inspector_public_key": b64encode(inspector.public_key),
        },
        "payload_lengths": {
            "pad_block": PAD_BLOCK,
            "valid": [40 + PAD_BLOCK, 40 + 3 * PAD_BLOCK],
            "invalid": [0, 40, 41, 40 + PAD_BLOCK - 1, 40 + PAD_BLOCK + 1, 2 * PAD_BLOCK],
        },
        "stream_lengths": {
            "valid": [41, 24 + 65553, 24 + 65553 + 17, 24 + 65553 + 100, 24 + 2 * 65553],
            "invalid": [0, 24, 40, 24 + 65553 + 1, 24 + 65553 + 16, 24 + 2 * 65553 + 5],
        },
        "pow": [
            {"challenge": b64encode(bytes(16)), "bits": bits,
             "nonce": pow.solve_work(bytes(16), bits),
             "hash": b64encode(pow.work_hash(bytes(16), pow.solve_work(bytes(16), bits)))}
            for bits in (0, 8, 12)
        ],
    }


def randomised() -> dict[str, Any]:
    """Key slots and a stream, sealed once; implementations must open them."""
    inspector = keys.KeyPair.from_secret_key(INSPECTOR_SEED)
    reporter = keys.derive_reporter_keys(RECEIPTS[1], SALT, *COSTS[1])
    stream_plain = plain_bytes(stream.CHUNK_PLAIN + 1000)
    sealed = io.BytesIO()
    stream_key = stream.seal_file(io.BytesIO(stream_plain), sealed, bytes(range(64, 96)))
    return {
        "key_slots": {
            "inspector": b64encode(documents.seal_key(DOCUMENT_KEY, inspector.public_key)),
            "reporter": b64encode(documents.seal_key(DOCUMENT_KEY, reporter.public_key)),
        },
        "stream": {"key": b64encode(stream_key), "plain_length": len(stream_plain),
                   "plain_rule": "byte i = (i * 31 + 7) mod 251",
                   "sealed": b64encode(sealed.getvalue())},
    }


def main() -> None:
    json.dump({**deterministic(), **randomised()}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
