"""Scheme 2 of crypto.staff_keys against tests/vectors/staff-keys-v2.json, and the passphrase
strength rules against tests/vectors/passphrase-strength.json."""

import hashlib
import json
import struct
from pathlib import Path

import pytest

import crypto
from crypto import staff_keys
from integrity.auth import strength
from tests.helpers import vectors

HERE = Path(__file__).parent / "vectors"
VECTORS = json.loads((HERE / "staff-keys-v2.json").read_text("utf-8"))
STRENGTH = json.loads((HERE / "passphrase-strength.json").read_text("utf-8"))


def b64(text: str) -> bytes:
    return crypto.b64decode(text)


def frame(*parts: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(part)) + part for part in parts)


def keyed(data: bytes, key: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32, key=key).digest()


def test_the_vectors_file_is_what_the_generator_writes() -> None:
    assert vectors.staff_v2_vectors() == VECTORS


def test_the_contexts_are_the_documented_ones() -> None:
    assert VECTORS["contexts"] == {
        "share": "integrity/v2/wrap-share", "wrap": "integrity/v2/staff-wrap",
        "pepper_key": "integrity/v2/login-pepper-key", "pepper": "integrity/v2/login-pepper"}


def test_shares_and_the_pepper_key_match_the_vectors_and_the_formulas() -> None:
    secret = b64(VECTORS["installation_secret"])
    for entry in VECTORS["shares"]:
        share = staff_keys.wrap_share(secret, entry["user_id"])
        assert share == b64(entry["share"])
        assert share == keyed(frame(b"integrity/v2/wrap-share",
                                    str(entry["user_id"]).encode("ascii")), secret)
    assert len({entry["share"] for entry in VECTORS["shares"]}) == len(VECTORS["shares"])
    pepper_key = staff_keys.login_pepper_key(secret)
    assert pepper_key == b64(VECTORS["pepper_key"])
    assert pepper_key == keyed(frame(b"integrity/v2/login-pepper-key"), secret)


@pytest.mark.parametrize("account", VECTORS["accounts"], ids=lambda a: str(a["user_id"]))
def test_each_account_derives_peppers_wraps_and_migrates_as_the_vectors_say(account) -> None:
    derived = crypto.derive_staff_keys(account["passphrase"], b64(account["salt"]),
                                       account["opslimit"], account["memlimit"])
    assert crypto.login_value(derived) == account["login_value"]
    assert derived.wrapping_key == b64(account["wrapping_key_v1"])
    pepper_key = b64(VECTORS["pepper_key"])
    peppered = crypto.peppered_auth_value(derived.auth_value, pepper_key)
    assert peppered == b64(account["peppered_auth_value"])
    assert peppered == keyed(frame(b"integrity/v2/login-pepper", derived.auth_value), pepper_key)
    share = b64(account["share"])
    assert share == crypto.wrap_share(b64(VECTORS["installation_secret"]), account["user_id"])
    wrapping_key = crypto.shared_wrapping_key(derived.wrapping_key, share)
    assert wrapping_key == b64(account["wrapping_key_v2"])
    assert wrapping_key == keyed(frame(b"integrity/v2/staff-wrap", share), derived.wrapping_key)
    wrapped = crypto.wrap_private_key(b64(account["secret_key"]), wrapping_key,
                                      b64(account["nonce"]))
    assert wrapped == b64(account["wrapped_v2"])
    public_key = b64(account["public_key"])
    secret_key = b64(account["secret_key"])
    assert crypto.unwrap_private_key(wrapped, wrapping_key, public_key) == secret_key
    # Without the share the passphrase's own value does not open the scheme-2 key.
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_private_key(wrapped, derived.wrapping_key)
    # Migration: the scheme-1 key opens with the old value and re-wraps under the new one.
    rewrapped = crypto.rewrap_private_key(b64(account["wrapped_v1"]), derived.wrapping_key,
                                          wrapping_key, public_key)
    assert crypto.unwrap_private_key(rewrapped, wrapping_key, public_key) == b64(
        account["secret_key"])


def test_shapes_are_checked() -> None:
    with pytest.raises(crypto.ShapeError):
        crypto.shared_wrapping_key(bytes(31), bytes(32))
    with pytest.raises(crypto.ShapeError):
        crypto.shared_wrapping_key(bytes(32), bytes(33))
    with pytest.raises(crypto.ShapeError):
        crypto.wrap_share(bytes(32), -1)
    with pytest.raises(crypto.ShapeError):
        crypto.peppered_auth_value(bytes(16), bytes(32))


def test_the_strength_rules_match_the_shared_examples() -> None:
    assert list(strength.COMMON) == STRENGTH["common"]
    assert STRENGTH["min_length"] == strength.MIN_PASSPHRASE_LENGTH
    for passphrase in STRENGTH["weak"]:
        assert strength.is_weak_passphrase(passphrase), passphrase
    for passphrase in STRENGTH["strong"]:
        assert not strength.is_weak_passphrase(passphrase), passphrase


def test_offline_key_files_of_both_versions_open_as_the_vectors_say() -> None:
    from crypto import keys

    files = VECTORS["key_files"]
    expected = (b64(files["public_key"]), b64(files["secret_key"]))
    plain = keys.load_key_file(files["plain"])
    assert (plain.public_key, plain.secret_key) == expected
    assert not keys.key_file_needs_passphrase(files["plain"])
    assert keys.key_file_needs_passphrase(files["protected"])
    opened = keys.load_key_file(files["protected"], files["passphrase"])
    assert (opened.public_key, opened.secret_key) == expected
    with pytest.raises(crypto.KeyFileError):
        keys.load_key_file(files["protected"])
    with pytest.raises(crypto.KeyFileError):
        keys.load_key_file(files["protected"], files["passphrase"] + "!")
    # The vector has the fields, in the order, that `integrity keygen --passphrase` writes.
    written = json.loads(keys.dump_key_file(plain, "offline", files["passphrase"], opslimit=2,
                                            memlimit=8388608))
    assert list(written) == list(json.loads(files["protected"]))
