"""Protocol 2's constructs (crypto/certificates.py, threads.py, thread_documents.py, floors.py,
keyed lookups) against tests/vectors/protocol-v2.json, and the properties readers rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import crypto
from crypto import certificates, floors, keys, thread_documents, threads
from crypto.documents import open_payload
from crypto.encoding import b64decode
from crypto.framing import frame
from tests.helpers import vectors_v2

VECTORS = json.loads((Path(__file__).parent / "vectors" / "protocol-v2.json").read_text())


def test_the_vectors_are_reproduced_exactly() -> None:
    assert vectors_v2.vectors() == VECTORS


def test_frames_put_each_part_after_its_length() -> None:
    for case in VECTORS["frames"]:
        parts = [bytes.fromhex(p) for p in case["parts_hex"]]
        assert frame(*parts).hex() == case["frame_hex"]
    assert frame(b"a", b"bc") != frame(b"ab", b"c")
    with pytest.raises(TypeError):
        frame("text")  # type: ignore[arg-type]


def test_certificates_verify_only_for_their_key_and_id() -> None:
    vector = VECTORS["certificates"]
    org = b64decode(vector["org_public_key"])
    assert certificates.OrgKey.from_seed(b64decode(vector["org_seed"])).public_key == org
    for inspector in vector["inspectors"]:
        public_key = b64decode(inspector["public_key"])
        assert certificates.verify_inspector_key(org, inspector["id"], public_key,
                                                 b64decode(inspector["signature"]))
        assert keys.fingerprint(public_key) == inspector["fingerprint"]
    recovery = vector["recovery"]
    assert certificates.verify_recovery_key(org, b64decode(recovery["public_key"]),
                                            b64decode(recovery["signature"]))
    for refused in vector["refused"]:
        assert not certificates.verify_inspector_key(
            org, refused["id"], b64decode(refused["public_key"]),
            b64decode(refused["signature"])), refused["why"]


def test_a_certificate_with_one_bit_changed_or_the_wrong_length_is_refused() -> None:
    vector = VECTORS["certificates"]["inspectors"][0]
    org = b64decode(VECTORS["certificates"]["org_public_key"])
    public_key, signature = b64decode(vector["public_key"]), b64decode(vector["signature"])
    for index in range(0, 64, 7):
        flipped = bytearray(signature)
        flipped[index] ^= 1
        assert not certificates.verify_inspector_key(org, "7", public_key, bytes(flipped))
    assert not certificates.verify_inspector_key(org, "7", public_key, signature[:63])
    assert not certificates.verify_inspector_key(org, "7", public_key, None)
    for bad_id in ("", "7a", "٧", "1" * 21, 7):
        with pytest.raises(crypto.ShapeError):
            certificates.verify_inspector_key(org, bad_id, public_key, signature)  # type: ignore[arg-type]


def test_the_organisation_seed_stays_out_of_its_repr() -> None:
    org = certificates.OrgKey.from_seed(vectors_v2.ORG_SEED)
    assert vectors_v2.ORG_SEED.hex() not in repr(org)


def test_each_listing_is_judged_as_the_vectors_say() -> None:
    vector = VECTORS["threads"]
    secret, report = b64decode(vector["thread_secret"]), b64decode(vector["report_payload"])
    for chain, data in vector["chains"].items():
        assert threads.thread_root(chain, report) == b64decode(data["root"])
        for listing in data["listings"]:
            links = [threads.Link(item["seq"], item["role"], item["sender"],
                                  b64decode(item["prev"]), b64decode(item["payload"]),
                                  b64decode(item["auth"])) for item in listing["listed"]]
            checks = threads.check_links(secret, chain, report, links)
            assert [vectors_v2._check_json(c) for c in checks] == listing["checks"]
            intact = all(c.intact for c in checks)
            assert intact == (listing["name"] in {"intact", "tail deleted"})


def test_a_link_made_for_one_chain_does_not_hold_in_the_other() -> None:
    vector = VECTORS["threads"]
    secret, report = b64decode(vector["thread_secret"]), b64decode(vector["report_payload"])
    note = vector["chains"]["notes"]["links"][0]
    link = threads.Link(note["seq"], note["role"], note["sender"], b64decode(note["prev"]),
                        b64decode(note["payload"]), b64decode(note["auth"]))
    assert threads.check_links(secret, "notes", report, [link])[0].intact
    assert not threads.check_links(secret, "thread", report, [link])[0].authentic


def test_changing_any_field_of_a_link_breaks_its_authenticator() -> None:
    secret, report = vectors_v2.THREAD_SECRET, b"report payload"
    first = threads.next_link(secret, "thread", report, None, "inspector", "7", b"text")
    variants = [
        threads.Link(2, first.role, first.sender, first.prev, first.payload, first.auth),
        threads.Link(1, "reporter", "", first.prev, first.payload, first.auth),
        threads.Link(1, first.role, "12", first.prev, first.payload, first.auth),
        threads.Link(1, first.role, first.sender, bytes(32), first.payload, first.auth),
        threads.Link(1, first.role, first.sender, first.prev, b"texT", first.auth),
    ]
    assert threads.check_links(secret, "thread", report, [first])[0].intact
    for variant in variants:
        assert not threads.check_links(secret, "thread", report, [variant])[0].authentic
    # Another report, or the right report with another secret: nothing holds.
    assert threads.check_links(secret, "thread", b"other", [first])[0].missing_before
    assert not threads.check_links(bytes(32), "thread", report, [first])[0].authentic


def test_malformed_links_are_not_authentic_and_do_not_raise() -> None:
    secret, report = vectors_v2.THREAD_SECRET, b"report payload"
    first = threads.next_link(secret, "thread", report, None, "reporter", "", b"text")
    broken = [threads.Link(0, "reporter", "", first.prev, b"", first.auth),
              threads.Link(True, "reporter", "", first.prev, b"", first.auth),  # type: ignore[arg-type]
              threads.Link(1, "manager", "", first.prev, b"", first.auth),
              threads.Link(1, "reporter", "3", first.prev, b"", first.auth),
              threads.Link(1, "reporter", "", b"short", b"", first.auth)]
    checks = threads.check_links(secret, "thread", report, [first, *broken])
    assert checks[0].intact and not any(c.authentic for c in checks[1:])


def test_the_report_document_gives_back_its_thread() -> None:
    vector = VECTORS["report_document"]
    payload = crypto.seal_payload(vector["json"].encode(), b64decode(vector["key"]),
                                  vector["pad_block"], b64decode(vector["nonce"]))
    assert payload == b64decode(VECTORS["threads"]["report_payload"])
    document = json.loads(open_payload(payload, b64decode(vector["key"]), vector["pad_block"]))
    thread = thread_documents.report_thread(document)
    assert thread.secret == vectors_v2.THREAD_SECRET
    assert (thread.channel, thread.category, thread.org_unit) == ("airport", None, "4")
    assert set(thread.readers) == {"7", "12"} and thread.excluded == ("9",)
    assert vectors_v2.THREAD_SECRET.hex() not in repr(thread)


@pytest.mark.parametrize("change", [
    {"protocol": 1}, {"thread": None}, {"readers": [{"fingerprint": "AA"}]},
    {"readers": [{"id": "7", "fingerprint": "short"}]}, {"route": {"category": None}},
    {"excluded": [9]}, {"thread": {"secret": "AA", "reporter_public_key": "AA"}},
    {"route": {"channel": "a", "category": 3}},
])
def test_a_malformed_report_thread_is_refused(change: dict) -> None:
    document = {**json.loads(VECTORS["report_document"]["json"]), **change}
    with pytest.raises(crypto.ShapeError):
        thread_documents.report_thread(document)


def test_reader_changes_are_as_the_vectors_say() -> None:
    thread = thread_documents.report_thread(json.loads(VECTORS["report_document"]["json"]))
    for scenario in VECTORS["reader_changes"]:
        current = {rid: b64decode(key) for rid, key in scenario["current"].items()}
        shares = {rid: b64decode(digest) for rid, digest in scenario["shares"].items()}
        recovery = scenario["recovery_key"] and b64decode(scenario["recovery_key"])
        changes = thread_documents.reader_changes(thread, current, shares, recovery or None,
                                                  scenario["uncertified"])
        assert [{"kind": c.kind, "reader": c.reader, "alarm": c.alarm}
                for c in changes] == scenario["changes"], scenario["name"]


def test_a_share_document_names_the_reader_and_key_hash() -> None:
    document = json.loads(VECTORS["share_document"])
    rid, digest = thread_documents.shared_reader(document)  # type: ignore[misc]
    assert rid == "30"
    assert digest == certificates.key_hash(keys.KeyPair.from_secret_key(bytes([30]) * 32)
                                           .public_key)
    assert thread_documents.shared_reader({"protocol": 2, "text": "hello"}) is None


def test_a_keyed_lookup_hash_needs_the_installation_secret() -> None:
    vector = VECTORS["lookup"]
    key = keys.lookup_key(b64decode(vector["installation_secret"]))
    lookup = b64decode(vector["lookup"])
    assert key == b64decode(vector["lookup_key"])
    assert keys.keyed_lookup_hash(lookup, key) == b64decode(vector["keyed"])
    # A stored protocol 1 hash converts in place, without the lookup itself.
    assert keys.keyed_stored_hash(b64decode(vector["unkeyed"]), key) == b64decode(
        vector["keyed"])
    assert keys.keyed_lookup_hash(lookup, keys.lookup_key(bytes(32))) != b64decode(
        vector["keyed"])


def test_floors_refuse_cheaper_parameters_with_a_sentence() -> None:
    vector = VECTORS["floors"]
    for params in vector["accepted"]:
        floors.check_floors(*params)
    for params in vector["refused"]:
        with pytest.raises(crypto.ShapeError, match="refuses"):
            floors.check_floors(*params)
    for odd in (None, "3", 3.5, True):
        with pytest.raises(crypto.ShapeError):
            floors.check_floors(odd, floors.MIN_MEMLIMIT, floors.MIN_PAD_BLOCK)
