"""crypto/ against the shared vectors, and the properties the server relies on."""

import io
import json
from pathlib import Path

import pytest

import crypto
from crypto import documents, keys, pow, stream
from tests.helpers import vectors

VECTORS = json.loads((Path(__file__).parent / "vectors" / "protocol-v1.json").read_text())


def test_deterministic_vectors_are_reproduced_exactly() -> None:
    fresh = vectors.deterministic()
    for name, value in fresh.items():
        assert VECTORS[name] == value, name


@pytest.mark.parametrize("case", VECTORS["base64url"])
def test_base64url_round_trip(case) -> None:
    data = bytes.fromhex(case["bytes_hex"])
    assert crypto.b64encode(data) == case["b64"]
    assert crypto.b64decode(case["b64"]) == data


@pytest.mark.parametrize("text", VECTORS["base64url_invalid"] + [None, 5, b"AA"])
def test_base64url_refuses_padding_other_alphabets_and_non_canonical_text(text) -> None:
    with pytest.raises(crypto.EncodingError):
        crypto.b64decode(text)


def test_base64url_checks_length_when_asked() -> None:
    assert crypto.b64decode(crypto.b64encode(bytes(32)), 32) == bytes(32)
    with pytest.raises(crypto.EncodingError, match="32 bytes"):
        crypto.b64decode(crypto.b64encode(bytes(31)), 32, what="key")


def test_receipts_normalise_and_format() -> None:
    for case in VECTORS["receipts"]["valid"]:
        assert crypto.normalise_receipt(case["input"]) == case["normalised"]
    for text in VECTORS["receipts"]["invalid"]:
        with pytest.raises(crypto.ReceiptError):
            crypto.normalise_receipt(text)
    for raw, shown in VECTORS["receipts"]["formatted"].items():
        assert crypto.format_receipt(raw) == shown


def test_generated_receipts_are_20_digits_and_spread() -> None:
    drawn = [crypto.generate_receipt() for _ in range(200)]
    assert all(len(r) == 20 and r.isdigit() for r in drawn)
    assert len(set(drawn)) == 200
    assert {r[0] for r in drawn} == set("0123456789")


@pytest.mark.parametrize(
    "case", VECTORS["derivations"], ids=lambda c: f"{c['receipt']}-{c['opslimit']}"
)
def test_reporter_keys_follow_from_the_receipt(case) -> None:
    derived = crypto.derive_reporter_keys(
        case["receipt"], crypto.b64decode(case["salt"]), case["opslimit"], case["memlimit"]
    )
    assert crypto.b64encode(derived.lookup) == case["lookup"]
    assert crypto.b64encode(derived.lookup_hash) == case["lookup_hash"]
    assert crypto.b64encode(derived.public_key) == case["reporter_public_key"]
    assert crypto.b64encode(derived.secret_key) == case["reporter_secret_key"]


def test_document_vector_opens_through_each_slot() -> None:
    doc = VECTORS["document"]
    payload = crypto.b64decode(VECTORS["document"]["payload"])
    inspector_sk = crypto.b64decode(doc["inspector_secret_key"])
    opened = crypto.open_document(payload, crypto.b64decode(VECTORS["key_slots"]["inspector"]),
                                  inspector_sk, doc["pad_block"])
    assert opened == json.loads(doc["json"])
    reporter = next(d for d in VECTORS["derivations"] if d["receipt"] == "12345678901234567890"
                    and d["opslimit"] == 2)
    assert crypto.open_document(payload, crypto.b64decode(VECTORS["key_slots"]["reporter"]),
                                crypto.b64decode(reporter["reporter_secret_key"]),
                                doc["pad_block"]) == opened


def test_sealed_document_opens_for_every_reader_and_nobody_else() -> None:
    readers = {name: crypto.KeyPair.generate() for name in ("7", "reporter", "recovery")}
    sealed = crypto.seal_document({"answers": {"q": "é" * 3000}, "attachments": []},
                                  {k: v.public_key for k, v in readers.items()}, 1024)
    crypto.check_payload_length(len(sealed.payload), 1024, 10**6)
    assert all(len(slot) == crypto.SLOT_BYTES for slot in sealed.key_slots.values())
    for name, pair in readers.items():
        opened = crypto.open_document(sealed.payload, sealed.key_slots[name], pair.secret_key, 1024)
        assert opened["answers"]["q"] == "é" * 3000
    with pytest.raises(crypto.DecryptionError):
        crypto.open_document(sealed.payload, sealed.key_slots["7"],
                             crypto.KeyPair.generate().secret_key, 1024)
    tampered = bytearray(sealed.payload)
    tampered[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.open_document(bytes(tampered), sealed.key_slots["7"], readers["7"].secret_key, 1024)


def test_padding_vectors() -> None:
    for case in VECTORS["padding"]:
        plain, padded = bytes.fromhex(case["plain_hex"]), bytes.fromhex(case["padded_hex"])
        assert crypto.pad(plain, case["block"]) == padded
        assert crypto.unpad(padded, case["block"]) == plain


def test_payload_length_check() -> None:
    lengths = VECTORS["payload_lengths"]
    for length in lengths["valid"]:
        crypto.check_payload_length(length, lengths["pad_block"], 10**6)
    for length in lengths["invalid"]:
        with pytest.raises(crypto.ShapeError):
            crypto.check_payload_length(length, lengths["pad_block"], 10**6)
    with pytest.raises(crypto.TooLargeError):
        crypto.check_payload_length(40 + 4 * 1024, 1024, 40 + 3 * 1024)


def test_stream_vector_opens_to_the_fixed_plaintext() -> None:
    case = VECTORS["stream"]
    out = io.BytesIO()
    length = crypto.open_file(io.BytesIO(crypto.b64decode(case["sealed"])), out,
                              crypto.b64decode(case["key"]))
    assert length == case["plain_length"]
    assert out.getvalue() == vectors.plain_bytes(case["plain_length"])


def test_stream_length_vectors() -> None:
    for length in VECTORS["stream_lengths"]["valid"]:
        assert crypto.valid_stream_length(length), length
    for length in VECTORS["stream_lengths"]["invalid"]:
        assert not crypto.valid_stream_length(length), length


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * 65536, 200_000])
def test_streams_of_every_size_round_trip_with_the_predicted_length(size: int) -> None:
    plain = vectors.plain_bytes(size)
    sealed = io.BytesIO()
    key = crypto.seal_file(io.BytesIO(plain), sealed)
    assert len(sealed.getvalue()) == stream.sealed_length(size)
    assert crypto.valid_stream_length(len(sealed.getvalue()))
    out = io.BytesIO()
    assert crypto.open_file(io.BytesIO(sealed.getvalue()), out, key) == size
    assert out.getvalue() == plain


def test_truncated_or_extended_streams_do_not_open() -> None:
    sealed = io.BytesIO()
    key = crypto.seal_file(io.BytesIO(vectors.plain_bytes(70_000)), sealed)
    whole = sealed.getvalue()
    for broken in (whole[: 24 + stream.CHUNK_SEALED], whole + b"x", whole[:-1]):
        with pytest.raises(crypto.DecryptionError):
            crypto.open_file(io.BytesIO(broken), io.BytesIO(), key)
    with pytest.raises(crypto.DecryptionError):
        crypto.open_file(io.BytesIO(whole), io.BytesIO(), bytes(32))


def test_proof_of_work_vectors_and_refusals() -> None:
    for case in VECTORS["pow"]:
        challenge = crypto.b64decode(case["challenge"])
        assert crypto.verify_pow(challenge, case["nonce"], case["bits"])
        assert crypto.b64encode(pow.pow_hash(challenge, case["nonce"])) == case["hash"]
        assert pow.solve_pow(challenge, case["bits"]) == case["nonce"]
    challenge = bytes(16)
    assert not crypto.verify_pow(challenge, -1, 0)
    assert not crypto.verify_pow(challenge, 2**64, 0)
    assert not crypto.verify_pow(challenge, True, 0)
    hard = next(c for c in VECTORS["pow"] if c["bits"] == 12)
    # The nonce before the smallest solution does not solve it.
    assert not crypto.verify_pow(challenge, hard["nonce"] - 1, 12)


def test_leading_zero_bits_counts_from_the_most_significant_bit() -> None:
    assert pow.leading_zero_bits(b"\x80") == 0
    assert pow.leading_zero_bits(b"\x01") == 7
    assert pow.leading_zero_bits(b"\x00\x40") == 9
    assert pow.leading_zero_bits(bytes(4)) == 32


def test_key_files_round_trip_and_refuse_mismatches() -> None:
    pair = crypto.KeyPair.generate()
    text = crypto.dump_key_file(pair, "test")
    assert crypto.load_key_file(text) == pair
    data = json.loads(text)
    data["public_key"] = crypto.b64encode(crypto.KeyPair.generate().public_key)
    with pytest.raises(crypto.KeyFileError):
        crypto.load_key_file(json.dumps(data))
    with pytest.raises(crypto.KeyFileError):
        crypto.load_key_file("not json")
    assert len(keys.fingerprint(pair.public_key).split()) == 5


def test_document_keys_are_fresh_each_time() -> None:
    pair = crypto.KeyPair.generate()
    one = crypto.seal_document({"a": 1}, {"x": pair.public_key}, 1024)
    two = crypto.seal_document({"a": 1}, {"x": pair.public_key}, 1024)
    assert one.key != two.key and one.payload != two.payload
    assert documents.PAYLOAD_OVERHEAD == 40
