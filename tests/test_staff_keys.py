"""crypto.staff_keys against tests/vectors/staff-keys-v1.json, and what sign-in relies on."""

import hashlib
import json
import unicodedata
from collections import defaultdict
from pathlib import Path

import pytest
from argon2.low_level import Type, hash_secret_raw

import crypto
from crypto import staff_keys
from tests.helpers import vectors

VECTORS = json.loads((Path(__file__).parent / "vectors" / "staff-keys-v1.json").read_text("utf-8"))
CHEAP = {"opslimit": 2, "memlimit": 8388608}
SALT = bytes(range(16, 32))


def b64(text: str) -> bytes:
    return crypto.b64decode(text)


def derivation(name: str, opslimit: int = 2) -> dict:
    return next(d for d in VECTORS["derivations"]
                if d["name"] == name and d["opslimit"] == opslimit and b64(d["salt"]) == SALT)


def test_the_vectors_file_is_what_the_generator_writes() -> None:
    assert vectors.staff_vectors() == VECTORS


def test_the_vectors_cover_the_cheap_cost_the_real_cost_and_two_salts() -> None:
    costs = {(d["opslimit"], d["memlimit"]) for d in VECTORS["derivations"]}
    assert costs == {(2, 8388608), (3, 67108864)}
    assert len({d["salt"] for d in VECTORS["derivations"]}) == 2
    assert VECTORS["contexts"] == {"login": "integrity/v1/staff-login",
                                   "wrap": "integrity/v1/staff-wrap"}


@pytest.mark.parametrize(
    "case", VECTORS["derivations"],
    ids=lambda c: f"{c['name']}-{c['opslimit']}-{c['salt'][:4]}",
)
def test_staff_keys_follow_from_the_passphrase(case) -> None:
    # The file's text must not have been normalised by an editor on the way.
    assert case["passphrase"].encode("utf-8").hex() == case["passphrase_utf8_hex"]
    normalised = unicodedata.normalize("NFKC", case["passphrase"]).encode("utf-8")
    assert normalised.hex() == case["nfkc_utf8_hex"]
    assert staff_keys.normalise_passphrase(case["passphrase"]) == normalised
    salt = b64(case["salt"])
    master = staff_keys.derive_staff_master(case["passphrase"], salt, case["opslimit"],
                                            case["memlimit"])
    assert crypto.b64encode(master) == case["master"]
    keys = crypto.derive_staff_keys(case["passphrase"], salt, case["opslimit"], case["memlimit"])
    assert crypto.b64encode(keys.auth_value) == case["auth_value"]
    assert crypto.b64encode(keys.wrapping_key) == case["wrapping_key"]
    assert crypto.login_value(keys) == case["login_value"] == case["auth_value"]


@pytest.mark.parametrize("case", VECTORS["derivations"], ids=lambda c: c["name"])
def test_vectors_agree_with_an_independent_argon2id_and_blake2b(case) -> None:
    # argon2-cffi and hashlib share no code with libsodium: this checks the formulas themselves.
    master = hash_secret_raw(bytes.fromhex(case["nfkc_utf8_hex"]), b64(case["salt"]),
                             time_cost=case["opslimit"], memory_cost=case["memlimit"] // 1024,
                             parallelism=1, hash_len=32, type=Type.ID, version=19)
    assert crypto.b64encode(master) == case["master"]
    for field, context in (("auth_value", b"integrity/v1/staff-login"),
                           ("wrapping_key", b"integrity/v1/staff-wrap")):
        digest = hashlib.blake2b(context, digest_size=32, key=master).digest()
        assert crypto.b64encode(digest) == case[field]


def test_passphrases_equal_after_nfkc_give_the_same_keys_and_others_do_not() -> None:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for case in VECTORS["derivations"]:
        groups[(case["nfkc_utf8_hex"], case["salt"], case["opslimit"])].append(case)
    typed_differently = 0
    for members in groups.values():
        assert len({(m["auth_value"], m["wrapping_key"], m["master"]) for m in members}) == 1
        typed_differently += len({m["passphrase"] for m in members}) > 1
    assert typed_differently >= 3  # fullwidth, decomposed accents, Arabic presentation forms
    outcomes = [members[0]["master"] for members in groups.values()]
    assert len(set(outcomes)) == len(outcomes)
    assert derivation("pass-phrase/ascii")["master"] != derivation("lower-case/ascii")["master"]
    assert (derivation("arabic-digits/arabic-indic")["master"]
            != derivation("arabic-digits/ascii")["master"])


def test_fullwidth_and_arabic_presentation_forms_are_the_same_passphrase() -> None:
    plain = crypto.derive_staff_keys("Pass phrase", SALT, **CHEAP)
    assert crypto.derive_staff_keys("Ｐａｓｓ phrase", SALT, **CHEAP) == plain
    arabic = crypto.derive_staff_keys("كلمة سر لا تنسى", SALT, **CHEAP)
    assert crypto.derive_staff_keys("\ufedb\ufee0\ufee4\ufe94 \ufeb3\ufeae \ufefb "
                                    "\ufe97\ufee8\ufeb4\ufef0", SALT, **CHEAP) == arabic
    assert arabic != plain


@pytest.mark.parametrize("case", VECTORS["derivations"], ids=lambda c: c["name"])
def test_the_two_values_are_distinct_32_byte_values_and_not_the_master(case) -> None:
    auth, wrap, master = b64(case["auth_value"]), b64(case["wrapping_key"]), b64(case["master"])
    assert len(auth) == len(wrap) == len(master) == 32
    assert len({auth, wrap, master}) == 3
    # Neither is a hash of the other under either context: each needs the master.
    for value in (auth, wrap):
        other = wrap if value == auth else auth
        for context in (staff_keys.LOGIN_CONTEXT, staff_keys.WRAP_CONTEXT):
            assert hashlib.blake2b(context, digest_size=32, key=value).digest() != other
            assert hashlib.blake2b(value, digest_size=32).digest() != other


def test_a_different_salt_gives_different_values() -> None:
    other = next(d for d in VECTORS["derivations"] if b64(d["salt"]) != SALT)
    same = derivation(other["name"])
    assert other["passphrase"] == same["passphrase"]
    assert other["auth_value"] != same["auth_value"]
    assert other["wrapping_key"] != same["wrapping_key"]


@pytest.mark.parametrize("case", VECTORS["wraps"], ids=lambda c: c["derivation"])
def test_wrap_vectors_are_reproduced_and_unwrap(case) -> None:
    secret_key, wrapping_key = b64(case["secret_key"]), b64(case["wrapping_key"])
    assert wrapping_key == b64(derivation(case["derivation"])["wrapping_key"])
    assert crypto.KeyPair.from_secret_key(secret_key).public_key == b64(case["public_key"])
    wrapped = crypto.wrap_private_key(secret_key, wrapping_key, b64(case["nonce"]))
    assert crypto.b64encode(wrapped) == case["wrapped"]
    assert len(wrapped) == staff_keys.WRAPPED_BYTES == 72
    assert wrapped[:24] == b64(case["nonce"])
    assert crypto.unwrap_private_key(wrapped, wrapping_key) == secret_key
    assert crypto.unwrap_private_key(wrapped, wrapping_key, b64(case["public_key"])) == secret_key


def test_a_wrong_passphrase_does_not_unwrap() -> None:
    case = VECTORS["wraps"][0]
    wrong = crypto.derive_staff_keys("pass phrase", SALT, **CHEAP).wrapping_key
    with pytest.raises(crypto.DecryptionError, match="passphrase does not unlock"):
        crypto.unwrap_private_key(b64(case["wrapped"]), wrong)
    other = VECTORS["wraps"][1]
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_private_key(b64(case["wrapped"]), b64(other["wrapping_key"]))


def test_tampered_wrapped_keys_do_not_unwrap() -> None:
    case = VECTORS["wraps"][0]
    wrapped = b64(case["wrapped"])
    for position in (0, 23, 24, 40, 71):
        tampered = bytearray(wrapped)
        tampered[position] ^= 1
        with pytest.raises(crypto.DecryptionError):
            crypto.unwrap_private_key(bytes(tampered), b64(case["wrapping_key"]))


@pytest.mark.parametrize("length", VECTORS["wrapped_invalid_lengths"])
def test_a_wrapped_key_of_the_wrong_length_is_a_shape_error(length: int) -> None:
    case = VECTORS["wraps"][0]
    wrapped = (b64(case["wrapped"]) * 2)[:length]
    with pytest.raises(crypto.ShapeError, match="72 bytes"):
        crypto.unwrap_private_key(wrapped, b64(case["wrapping_key"]))


def test_keys_and_nonces_of_the_wrong_length_are_shape_errors() -> None:
    key = bytes(32)
    for call in (
        lambda: crypto.wrap_private_key(bytes(31), key),
        lambda: crypto.wrap_private_key(key, bytes(33)),
        lambda: crypto.wrap_private_key(key, key, bytes(23)),
        lambda: crypto.unwrap_private_key(bytes(72), bytes(16)),
        lambda: crypto.unwrap_private_key(crypto.wrap_private_key(key, key), key, bytes(31)),
        lambda: crypto.derive_staff_keys("Pass phrase", bytes(15), **CHEAP),
    ):
        with pytest.raises(crypto.ShapeError):
            call()


def test_a_key_that_is_not_the_expected_one_is_refused() -> None:
    case = VECTORS["wraps"][0]
    stranger = crypto.KeyPair.generate().public_key
    with pytest.raises(crypto.DecryptionError, match="public key"):
        crypto.unwrap_private_key(b64(case["wrapped"]), b64(case["wrapping_key"]), stranger)


def test_round_trip_with_a_fresh_key_pair_salt_and_nonce() -> None:
    pair = crypto.KeyPair.generate()
    salt = crypto.new_staff_salt()
    keys = crypto.derive_staff_keys("correct horse — battery staple", salt, **CHEAP)
    one = crypto.wrap_private_key(pair.secret_key, keys.wrapping_key)
    two = crypto.wrap_private_key(pair.secret_key, keys.wrapping_key)
    assert one != two  # a fresh nonce each time
    for wrapped in (one, two):
        assert crypto.unwrap_private_key(wrapped, keys.wrapping_key,
                                         pair.public_key) == pair.secret_key


def test_new_salts_are_16_fresh_bytes() -> None:
    salts = {crypto.new_staff_salt() for _ in range(50)}
    assert len(salts) == 50
    assert {len(salt) for salt in salts} == {16}


def test_a_passphrase_change_rewraps_the_same_key() -> None:
    pair = crypto.KeyPair.generate()
    old = crypto.derive_staff_keys("old passphrase", crypto.new_staff_salt(), **CHEAP)
    new = crypto.derive_staff_keys("new passphrase", crypto.new_staff_salt(), **CHEAP)
    wrapped = crypto.wrap_private_key(pair.secret_key, old.wrapping_key)
    rewrapped = crypto.rewrap_private_key(wrapped, old.wrapping_key, new.wrapping_key,
                                          pair.public_key)
    assert crypto.unwrap_private_key(rewrapped, new.wrapping_key, pair.public_key) \
        == pair.secret_key
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_private_key(rewrapped, old.wrapping_key)
    with pytest.raises(crypto.DecryptionError):
        crypto.rewrap_private_key(wrapped, new.wrapping_key, new.wrapping_key)
    assert new.auth_value != old.auth_value


def test_staff_keys_keep_their_values_out_of_repr() -> None:
    keys = crypto.derive_staff_keys("Pass phrase", SALT, **CHEAP)
    text = repr(keys)
    assert keys.auth_value.hex() not in text and repr(keys.auth_value) not in text
    assert repr(keys.wrapping_key) not in text


def test_a_passphrase_must_be_text() -> None:
    with pytest.raises(TypeError):
        crypto.derive_staff_keys(b"Pass phrase", SALT, **CHEAP)  # type: ignore[arg-type]


def test_the_real_cost_vector_is_64_mib_and_differs_from_the_cheap_one() -> None:
    real = derivation("pass-phrase/ascii", opslimit=3)
    assert real["memlimit"] == 64 * 1024 * 1024
    assert real["master"] != derivation("pass-phrase/ascii")["master"]
