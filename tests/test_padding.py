"""Padmé padding of attachments (docs/protocol.md#padding-attachments), against the shared
vectors that tests/js/padding.test.mjs checks in the browser's code, and the formula."""

import io
import json
import math
from pathlib import Path

import nacl.utils
import pytest

import crypto
from crypto.offline import open_export
from crypto.stream import (
    largest_plain_length,
    padded_length,
    padme_length,
    seal_file,
    sealed_length,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "padding.json").read_text())


def _padme_by_the_paper(length: int) -> int:
    """Nikitin et al., PETS 2019, Algorithm 1, with logarithms."""
    exponent = math.floor(math.log2(length))
    size_bits = math.floor(math.log2(exponent)) + 1 if exponent else 1
    last_bits = exponent - size_bits
    mask = (1 << max(last_bits, 0)) - 1
    return (length + mask) & ~mask


def test_padme_vectors() -> None:
    for length, padded in VECTORS["padme"]:
        assert padme_length(length) == padded, length


def test_padme_follows_the_paper_and_adds_at_most_12_percent() -> None:
    for length in list(range(2, 5000)) + [65_536 * n + r for n in (1, 7, 100)
                                           for r in (-1, 0, 1, 999)]:
        padded = padme_length(length)
        assert padded == _padme_by_the_paper(length), length
        assert length <= padded <= length * 1.12
    # Few sizes remain: the 2^20 lengths from 1 MiB to 2 MiB become 33 (steps of 32 KiB, the
    # last of them rounding up to 2 MiB).
    assert len({padme_length(n) for n in range(1 << 20, 1 << 21)}) == 33


def test_capped_vectors() -> None:
    for case in VECTORS["capped"]:
        assert largest_plain_length(case["max_sealed"]) == case["largest_plain"], case
        assert padded_length(case["length"], case["max_sealed"]) == case["padded"], case


def test_the_cap_is_the_longest_plaintext_that_seals_within_the_limit() -> None:
    for limit in range(41, 65_553 * 3 + 200, 97):
        longest = largest_plain_length(limit)
        assert sealed_length(longest) <= limit < sealed_length(longest + 1), limit


@pytest.mark.parametrize("size", [0, 1, 9, 65_536, 153_600, 204_820])
def test_a_padded_file_opens_byte_identical_when_cut_to_its_size(size: int) -> None:
    original = nacl.utils.random(size)
    padded = original + bytes(padme_length(size) - size)
    sealed = io.BytesIO()
    key = seal_file(io.BytesIO(padded), sealed)
    assert len(sealed.getvalue()) == sealed_length(padme_length(size))
    out = io.BytesIO()
    assert crypto.open_file(io.BytesIO(sealed.getvalue()), out, key, size) == size
    assert out.getvalue() == original
    # Without the size a reader gets the padding too; a tampered padding still fails.
    whole = io.BytesIO()
    crypto.open_file(io.BytesIO(sealed.getvalue()), whole, key)
    assert whole.getvalue() == padded
    if len(padded) > size:
        broken = bytearray(sealed.getvalue())
        broken[-20] ^= 1
        with pytest.raises(crypto.DecryptionError):
            crypto.open_file(io.BytesIO(bytes(broken)), io.BytesIO(), key, size)


def test_integrity_decrypt_cuts_files_to_their_size(tmp_path: Path) -> None:
    inspector = crypto.KeyPair.generate()
    original = b"scan of the seizure record " * 400
    padded = original + bytes(padme_length(len(original)) - len(original))
    assert len(padded) > len(original)
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    with (blobs / "upload1").open("wb") as target:
        key = seal_file(io.BytesIO(padded), target)
    document = {"answers": {"what": "x"}, "attachments": [
        {"id": "upload1", "name": "record.pdf", "type": "application/pdf",
         "size": len(original), "key": crypto.b64encode(key)}]}
    sealed = crypto.seal_document(document, {"1": inspector.public_key}, 1024)
    export = {"format": "integrity-export", "version": 1, "pad_block": 1024, "reports": [{
        "id": 1, "reference": "AB12-CD34", "channel": "integrity", "category": None,
        "org_unit": None, "created_on": "2026-12-01", "status": "new",
        "payload": crypto.b64encode(sealed.payload),
        "key_slots": {"1": crypto.b64encode(sealed.key_slots["1"])}, "messages": []}]}
    opened = open_export(export, inspector.secret_key, blobs=blobs, files_out=tmp_path / "out")
    [written] = opened["reports"][0]["files"]
    assert Path(written).read_bytes() == original
