"""Test vectors for the constructs protocol 2 adds, from fixed inputs:
``python -m tests.helpers.vectors_v2 > tests/vectors/protocol-v2.json``.

Every value is deterministic (Ed25519 signatures are), so the tests recompute the whole file
and both implementations must reproduce it byte for byte.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from crypto import certificates, floors, keys, thread_documents, threads
from crypto.documents import encode_json, seal_payload
from crypto.encoding import b64encode
from crypto.framing import frame

ORG_SEED = bytes(range(1, 33))
OTHER_ORG_SEED = bytes(range(101, 133))
INSPECTOR_IDS = ("7", "12")
INSPECTOR_SEEDS = (bytes([7]) * 32, bytes([12]) * 32)
RECOVERY_SEED = bytes([99]) * 32
REPORTER_SEED = bytes([42]) * 32
THREAD_SECRET = bytes(range(64, 96))
INSTALLATION_SECRET = bytes(range(200, 232))
LOOKUP = bytes(range(32))
DOCUMENT_KEY = bytes(range(32, 64))
DOCUMENT_NONCE = bytes(range(100, 124))
PAD_BLOCK = 1024
# A chain: (role, sender, payload) of each message in order.
MESSAGES = (("reporter", "", b"first message payload"),
            ("inspector", "7", b"second message payload"),
            ("reporter", "", b"third message payload"),
            ("inspector", "12", b"fourth message payload"))
# How a server might list the chain (indices into MESSAGES, "x" a forged copy of message 1,
# "o" message 1 of another case) and what a reader concludes about each listed message.
LISTINGS = (
    ("intact", [0, 1, 2, 3]),
    ("deleted", [0, 2, 3]),
    ("replayed", [0, 1, 2, 3, 1]),
    ("reordered", [0, 2, 1, 3]),
    ("forged", [0, "x", 2, 3]),
    ("moved from another case", [0, 1, "o", 2, 3]),
    ("tail deleted", [0, 1]),
)


def _pair(seed: bytes) -> keys.KeyPair:
    return keys.KeyPair.from_secret_key(seed)


def _links(chain: str, report_payload: bytes, secret: bytes) -> list[threads.Link]:
    links: list[threads.Link] = []
    for role, sender, payload in MESSAGES:
        links.append(threads.next_link(secret, chain, report_payload,
                                       links[-1] if links else None, role, sender, payload))
    return links


def _check_json(check: threads.LinkCheck) -> dict[str, Any]:
    return {"seq": check.seq, "authentic": check.authentic, "replayed": check.replayed,
            "conflicting": check.conflicting, "missing_before": check.missing_before,
            "out_of_order": check.out_of_order}


def _link_json(link: threads.Link) -> dict[str, Any]:
    return {"seq": link.seq, "role": link.role, "sender": link.sender,
            "prev": b64encode(link.prev), "payload": b64encode(link.payload),
            "auth": b64encode(link.auth)}


def frames() -> list[dict[str, Any]]:
    cases = [(), (b"",), (b"integrity/v2/x",), (b"a", b"bc"), (b"ab", b"c"), (bytes(300),)]
    return [{"parts_hex": [p.hex() for p in parts], "frame_hex": frame(*parts).hex()}
            for parts in cases]


def certificate_vectors() -> dict[str, Any]:
    org, other = certificates.OrgKey.from_seed(ORG_SEED), certificates.OrgKey.from_seed(
        OTHER_ORG_SEED)
    inspectors = []
    for rid, seed in zip(INSPECTOR_IDS, INSPECTOR_SEEDS, strict=True):
        public_key = _pair(seed).public_key
        inspectors.append({
            "id": rid, "public_key": b64encode(public_key),
            "key_hash": b64encode(certificates.key_hash(public_key)),
            "fingerprint": keys.fingerprint(public_key),
            "message_hex": certificates.inspector_key_message(rid, public_key).hex(),
            "signature": b64encode(certificates.sign_inspector_key(org, rid, public_key)),
        })
    recovery = _pair(RECOVERY_SEED).public_key
    first = inspectors[0]
    key7 = _pair(INSPECTOR_SEEDS[0]).public_key
    return {
        "org_seed": b64encode(ORG_SEED), "org_public_key": b64encode(org.public_key),
        "org_fingerprint": keys.fingerprint(org.public_key),
        "inspectors": inspectors,
        "recovery": {"public_key": b64encode(recovery),
                     "message_hex": certificates.recovery_key_message(recovery).hex(),
                     "signature": b64encode(certificates.sign_recovery_key(org, recovery))},
        # Certificates that must not verify under org_public_key.
        "refused": [
            {"why": "another inspector's id", "id": "8", "public_key": first["public_key"],
             "signature": first["signature"]},
            {"why": "another key", "id": "7", "public_key": inspectors[1]["public_key"],
             "signature": first["signature"]},
            {"why": "signed by another organisation key", "id": "7",
             "public_key": first["public_key"],
             "signature": b64encode(certificates.sign_inspector_key(other, "7", key7))},
            {"why": "the recovery certificate", "id": "7", "public_key": first["public_key"],
             "signature": b64encode(certificates.sign_recovery_key(org, key7))},
        ],
    }


def thread_vectors() -> dict[str, Any]:
    report_payload = seal_payload(encode_json(report_document()), DOCUMENT_KEY, PAD_BLOCK,
                                  DOCUMENT_NONCE)
    other_payload = seal_payload(b'{"other":1}', DOCUMENT_KEY, PAD_BLOCK, DOCUMENT_NONCE)
    chains = {}
    for chain in threads.CHAINS:
        links = _links(chain, report_payload, THREAD_SECRET)
        forged = threads.Link(links[1].seq, links[1].role, links[1].sender, links[1].prev,
                              b"forged payload", links[1].auth)
        foreign = _links(chain, other_payload, bytes(32))[1]
        listed: dict[Any, threads.Link] = {**dict(enumerate(links)), "x": forged,
                                           "o": foreign}
        chains[chain] = {
            "auth_key": b64encode(threads.auth_key(THREAD_SECRET, chain)),
            "root": b64encode(threads.thread_root(chain, report_payload)),
            "links": [{**_link_json(link),
                       "input_hex": threads.link_input(chain, link.seq, link.role, link.sender,
                                                       link.prev, link.payload).hex(),
                       "link_hash": b64encode(threads.link_hash(chain, link))}
                      for link in links],
            "listings": [{"name": name, "listed": [_link_json(listed[i]) for i in order],
                          "checks": [_check_json(c) for c in threads.check_links(
                              THREAD_SECRET, chain, report_payload,
                              [listed[i] for i in order])]}
                         for name, order in LISTINGS],
        }
    return {"thread_secret": b64encode(THREAD_SECRET), "report_payload": b64encode(
        report_payload), "chains": chains}


def report_document() -> dict[str, Any]:
    readers = {rid: _pair(seed).public_key
               for rid, seed in zip(INSPECTOR_IDS, INSPECTOR_SEEDS, strict=True)}
    return thread_documents.report_document(
        {"what": "Bribe at gate 3 — 200 €"}, [], "en", THREAD_SECRET,
        _pair(REPORTER_SEED).public_key, ("airport", None, "4"), readers, ["9"],
        _pair(RECOVERY_SEED).public_key)


def reader_vectors() -> list[dict[str, Any]]:
    thread = thread_documents.report_thread(report_document())
    key7, key12 = (_pair(seed).public_key for seed in INSPECTOR_SEEDS)
    key9, key30 = _pair(bytes([9]) * 32).public_key, _pair(bytes([30]) * 32).public_key
    recovery, new_recovery = _pair(RECOVERY_SEED).public_key, _pair(bytes([98]) * 32).public_key
    scenarios = (
        ("as reported", {"7": key7, "12": key12}, {}, recovery),
        ("one deactivated", {"7": key7}, {}, recovery),
        ("shared", {"7": key7, "12": key12, "30": key30},
         {"30": certificates.key_hash(key30)}, recovery),
        ("added without a share", {"7": key7, "12": key12, "30": key30}, {}, recovery),
        ("key substituted", {"7": key30, "12": key12}, {}, recovery),
        ("shared key substituted", {"7": key7, "12": key12, "30": key12},
         {"30": certificates.key_hash(key30)}, recovery),
        ("exclusion removed", {"7": key7, "12": key12, "9": key9}, {}, recovery),
        ("new recovery key", {"7": key7, "12": key12}, {}, new_recovery),
        ("recovery key removed", {"7": key7, "12": key12}, {}, None),
        ("re-shared with a new key", {"7": key30, "12": key12},
         {"7": certificates.key_hash(key30)}, recovery),
        ("several at once", {"7": key30, "9": key9, "30": key30, "31": key12},
         {"30": certificates.key_hash(key30), "9": certificates.key_hash(key9)}, new_recovery),
    )
    # Readers whose certificate does not verify (the key of "7" replaced by a database write).
    uncertified = {"key substituted without a certificate": ["7"]}
    scenarios += (("key substituted without a certificate", {"12": key12}, {}, recovery),)
    return [{"name": name,
             "current": {rid: b64encode(key) for rid, key in current.items()},
             "shares": {rid: b64encode(digest) for rid, digest in shares.items()},
             "recovery_key": b64encode(rec) if rec else None,
             "uncertified": uncertified.get(name, []),
             "changes": [{"kind": c.kind, "reader": c.reader, "alarm": c.alarm}
                         for c in thread_documents.reader_changes(
                             thread, current, shares, rec, uncertified.get(name, []))]}
            for name, current, shares, rec in scenarios]


def vectors() -> dict[str, Any]:
    lookup_key = keys.lookup_key(INSTALLATION_SECRET)
    return {
        "protocol": 2,
        "frames": frames(),
        "certificates": certificate_vectors(),
        "report_document": {"json": encode_json(report_document()).decode("utf-8"),
                            "key": b64encode(DOCUMENT_KEY), "nonce": b64encode(DOCUMENT_NONCE),
                            "pad_block": PAD_BLOCK},
        "threads": thread_vectors(),
        "share_document": encode_json(thread_documents.share_document(
            "30", _pair(bytes([30]) * 32).public_key)).decode("utf-8"),
        "reader_changes": reader_vectors(),
        "lookup": {"installation_secret": b64encode(INSTALLATION_SECRET),
                   "lookup_key": b64encode(lookup_key), "lookup": b64encode(LOOKUP),
                   "unkeyed": b64encode(keys.lookup_hash(LOOKUP)),
                   "keyed": b64encode(keys.keyed_lookup_hash(LOOKUP, lookup_key))},
        "floors": {"opslimit": floors.MIN_OPSLIMIT, "memlimit": floors.MIN_MEMLIMIT,
                   "pad_block": floors.MIN_PAD_BLOCK,
                   "accepted": [[3, 67108864, 1024], [4, 268435456, 4096]],
                   "refused": [[2, 67108864, 1024], [3, 67108863, 1024], [3, 67108864, 1023],
                               [3, 8388608, 1024], [0, 0, 0]]},
    }


def main() -> None:
    json.dump(vectors(), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
