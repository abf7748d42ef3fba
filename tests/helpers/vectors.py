"""Test vectors for protocol v1, from fixed inputs: ``python -m tests.helpers.vectors > FILE``.

``python -m tests.helpers.vectors --staff`` writes the inspector key vectors instead
(``tests/vectors/staff-keys-v1.json``, see ``staff_vectors``), and ``--staff-v2`` those of
scheme 2 (``tests/vectors/staff-keys-v2.json``, see ``staff_v2_vectors``).

Deterministic values (derivations, hashes, padding, secretbox under a fixed nonce) are
recomputed by the tests; the randomised ones (sealed-box key slots, stream headers) were
drawn once and are checked by opening them.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

from crypto import documents, keys, pow, staff_keys, stream
from crypto.encoding import b64decode, b64encode

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
             "nonce": pow.solve_pow(bytes(16), bits),
             "hash": b64encode(pow.pow_hash(bytes(16), pow.solve_pow(bytes(16), bits)))}
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


STAFF_SALT = bytes(range(16, 32))
STAFF_OTHER_SALT = bytes(range(48, 64))
# (name, passphrase). Names sharing a prefix before "/" are one passphrase typed differently:
# NFKC makes them the same bytes. Escapes keep editors from normalising the source.
STAFF_PASSPHRASES = (
    ("pass-phrase/ascii", "Pass phrase"),
    ("pass-phrase/fullwidth", "Ｐａｓｓ phrase"),
    ("pass-phrase/fullwidth-ideographic-space", "Ｐａｓｓ\u3000ｐｈｒａｓｅ"),
    ("lower-case/ascii", "pass phrase"),  # NFKC does not fold case
    ("cafe/precomposed", "Café crème brûlée"),
    ("cafe/decomposed", "Cafe\u0301 cre\u0300me bru\u0302le\u0301e"),
    ("arabic/letters", "كلمة سر لا تنسى"),
    # The same words in presentation forms (initial, medial, final; the lam-alef ligature).
    ("arabic/presentation-forms",
     "\ufedb\ufee0\ufee4\ufe94 \ufeb3\ufeae \ufefb \ufe97\ufee8\ufeb4\ufef0"),
    # NFKC leaves Arabic-Indic digits alone: these two are different passphrases.
    ("arabic-digits/arabic-indic", "كلمة سر ١٢٣"),
    ("arabic-digits/ascii", "كلمة سر 123"),
)
STAFF_SECRET_KEY = bytes(range(200, 232))
STAFF_NONCES = (bytes(range(160, 184)), bytes(range(184, 208)))


def staff_derivation(
    name: str, passphrase: str, salt: bytes, cost: tuple[int, int]
) -> dict[str, Any]:
    """One derivation vector: every intermediate value of the passphrase under ``salt``."""
    master = staff_keys.derive_staff_master(passphrase, salt, *cost)
    derived = staff_keys.staff_keys_from_master(master)
    return {
        "name": name, "passphrase": passphrase,
        "passphrase_utf8_hex": passphrase.encode("utf-8").hex(),
        "nfkc_utf8_hex": staff_keys.normalise_passphrase(passphrase).hex(),
        "salt": b64encode(salt), "opslimit": cost[0], "memlimit": cost[1],
        "master": b64encode(master), "auth_value": b64encode(derived.auth_value),
        "login_value": staff_keys.login_value(derived),
        "wrapping_key": b64encode(derived.wrapping_key),
    }


def staff_vectors() -> dict[str, Any]:
    """Inspector sign-in and key wrapping vectors; every value is deterministic."""
    cheap, real = COSTS[1], COSTS[0]
    derivations = [staff_derivation(name, text, STAFF_SALT, cheap)
                   for name, text in STAFF_PASSPHRASES]
    derivations.append(staff_derivation("pass-phrase/ascii", "Pass phrase", STAFF_SALT, real))
    derivations.append(staff_derivation("pass-phrase/ascii", "Pass phrase", STAFF_OTHER_SALT,
                                        cheap))
    inspector = keys.KeyPair.from_secret_key(STAFF_SECRET_KEY)
    wraps = []
    for derivation, nonce in zip((derivations[0], derivations[6]), STAFF_NONCES, strict=True):
        wrapping_key = b64decode(derivation["wrapping_key"])
        wraps.append({
            "derivation": derivation["name"], "wrapping_key": b64encode(wrapping_key),
            "nonce": b64encode(nonce), "secret_key": b64encode(inspector.secret_key),
            "public_key": b64encode(inspector.public_key),
            "wrapped": b64encode(staff_keys.wrap_private_key(inspector.secret_key, wrapping_key,
                                                              nonce)),
        })
    return {
        "scheme": "integrity/v1 staff keys",
        "contexts": {"login": staff_keys.LOGIN_CONTEXT.decode("ascii"),
                     "wrap": staff_keys.WRAP_CONTEXT.decode("ascii")},
        "sizes": {"salt": staff_keys.SALT_BYTES, "master": staff_keys.KEY_BYTES,
                  "auth_value": staff_keys.KEY_BYTES, "wrapping_key": staff_keys.KEY_BYTES,
                  "wrapped": staff_keys.WRAPPED_BYTES},
        "derivations": derivations,
        "wraps": wraps,
        "wrapped_invalid_lengths": [0, 24, 40, 71, 73, 80],
    }


STAFF_INSTALLATION_SECRET = bytes(range(96, 128))
STAFF_USER_IDS = (0, 1, 7, 42, 1234567)
STAFF_V2_NONCE = bytes(range(208, 232))


def staff_v2_vectors() -> dict[str, Any]:
    """Scheme 2 (the server's share and the sign-in pepper) on top of the v1 derivations."""
    secret = STAFF_INSTALLATION_SECRET
    pepper_key = staff_keys.login_pepper_key(secret)
    inspector = keys.KeyPair.from_secret_key(STAFF_SECRET_KEY)
    v1 = staff_vectors()
    accounts = []
    for user_id, index in ((7, 0), (42, 6)):
        derivation = v1["derivations"][index]
        share = staff_keys.wrap_share(secret, user_id)
        wrapping_key = b64decode(derivation["wrapping_key"])
        wrapping_key_v2 = staff_keys.shared_wrapping_key(wrapping_key, share)
        auth_value = b64decode(derivation["auth_value"])
        accounts.append({
            "user_id": user_id, "derivation": derivation["name"],
            "passphrase": derivation["passphrase"], "salt": derivation["salt"],
            "opslimit": derivation["opslimit"], "memlimit": derivation["memlimit"],
            "auth_value": derivation["auth_value"], "login_value": derivation["login_value"],
            "peppered_auth_value": b64encode(staff_keys.peppered_auth_value(auth_value,
                                                                            pepper_key)),
            "wrapping_key_v1": derivation["wrapping_key"], "share": b64encode(share),
            "wrapping_key_v2": b64encode(wrapping_key_v2),
            "secret_key": b64encode(inspector.secret_key),
            "public_key": b64encode(inspector.public_key),
            "nonce": b64encode(STAFF_V2_NONCE),
            "wrapped_v1": b64encode(staff_keys.wrap_private_key(
                inspector.secret_key, wrapping_key, STAFF_NONCES[0])),
            "wrapped_v2": b64encode(staff_keys.wrap_private_key(
                inspector.secret_key, wrapping_key_v2, STAFF_V2_NONCE)),
        })
    return {
        "scheme": "integrity/v2 staff keys",
        "contexts": {"share": staff_keys.SHARE_CONTEXT.decode("ascii"),
                     "wrap": staff_keys.WRAP_V2_CONTEXT.decode("ascii"),
                     "pepper_key": staff_keys.PEPPER_KEY_CONTEXT.decode("ascii"),
                     "pepper": staff_keys.PEPPER_CONTEXT.decode("ascii")},
        "installation_secret": b64encode(secret),
        "pepper_key": b64encode(pepper_key),
        "shares": [{"user_id": user_id, "share": b64encode(staff_keys.wrap_share(secret, user_id))}
                   for user_id in STAFF_USER_IDS],
        "accounts": accounts,
        "key_files": key_file_vectors(inspector),
    }


KEY_FILE_SALT = bytes(range(48, 64))
KEY_FILE_PASSPHRASE = "Clé hors ligne 7"


def key_file_vectors(pair: keys.KeyPair) -> dict[str, Any]:
    """An offline key file of each version (``integrity keygen``, with and without
    ``--passphrase``), written as crypto.keys.dump_key_file writes them but with a fixed salt and
    nonce, at the cheapest Argon2id cost."""
    opslimit, memlimit = 2, 8388608
    stretched = staff_keys.derive_staff_master(KEY_FILE_PASSPHRASE, KEY_FILE_SALT, opslimit,
                                               memlimit)
    protected = {
        "kind": keys.KEY_FILE_KIND, "version": 2, "label": "offline",
        "public_key": b64encode(pair.public_key), "kdf": "argon2id13",
        "salt": b64encode(KEY_FILE_SALT), "opslimit": opslimit, "memlimit": memlimit,
        "wrapped_secret_key": b64encode(staff_keys.wrap_private_key(pair.secret_key, stretched,
                                                                    STAFF_V2_NONCE)),
    }
    return {
        "public_key": b64encode(pair.public_key), "secret_key": b64encode(pair.secret_key),
        "passphrase": KEY_FILE_PASSPHRASE,
        "plain": keys.dump_key_file(pair, "offline"),
        "protected": json.dumps(protected, indent=2) + "\n",
    }


def main() -> None:
    if "--staff-v2" in sys.argv[1:]:
        json.dump(staff_v2_vectors(), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    if "--staff" in sys.argv[1:]:
        json.dump(staff_vectors(), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    json.dump({**deterministic(), **randomised()}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
