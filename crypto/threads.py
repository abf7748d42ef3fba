"""Authenticated threads (protocol 2, docs/protocol.md#authenticated-threads).

A protocol 2 report carries a random thread secret that only its readers learn. Every later
message, in either direction, carries an authenticator: a keyed BLAKE2b hash, under a key that
follows from the secret, over the message's chain, sequence number, sender, the link hash of
the message before it and the hash of its payload. Whoever can write to the database but has
no key cannot make one, so a forged, replayed, moved, reordered or deleted message shows.
Authenticators are MACs, not signatures: every reader of a thread could have made any of its
messages, which keeps the thread deniable.

Two chains hang from each report: ``"thread"`` (between the reporter and the inspectors) and
``"notes"`` (internal notes, which the reporter never receives).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

import nacl.utils

from crypto.errors import ShapeError
from crypto.framing import frame, generichash, le64

SECRET_BYTES = 32
HASH_BYTES = 32
CHAINS = ("thread", "notes")
ROLES = ("reporter", "inspector")
AUTH_CONTEXT = b"integrity/v2/thread-auth"
ROOT_CONTEXT = b"integrity/v2/thread-root"
LINK_CONTEXT = b"integrity/v2/link"
LINK_HASH_CONTEXT = b"integrity/v2/link-hash"
REPLACEMENT_CONTEXT = b"integrity/v2/replacement"
MAX_SEQ = 2**63 - 1


@dataclass(frozen=True)
class Link:
    """One message's place in its chain, as stored beside its payload."""

    seq: int
    role: str
    sender: str  # "" for the reporter, the inspector's id otherwise
    prev: bytes
    payload: bytes
    auth: bytes
    # A message a reader deleted or redacted (docs/protocol.md#redactions-and-deletions):
    # ``payload`` is the replacement, ``payload_hash`` the hash of the payload first sent (which
    # the link covers), ``replaced_by`` the id of the inspector who replaced it and
    # ``replacement_auth`` the authenticator of the replacement.
    payload_hash: bytes | None = None
    replaced_by: str | None = None
    replacement_auth: bytes | None = None

    @property
    def digest(self) -> bytes:
        """The payload hash the link covers: the first payload's, even once replaced."""
        return self.payload_hash if self.payload_hash is not None else generichash(self.payload)


@dataclass(frozen=True)
class LinkCheck:
    """What a reader concludes about one listed message.

    ``authentic``: its authenticator holds, so a reader of this thread wrote it, at this place.
    ``replayed``: an authentic message already listed earlier at the same place, listed again.
    ``conflicting``: authentic, but another authentic message holds the same place.
    ``missing_before``: one or more messages before it are missing (or not authentic).
    ``out_of_order``: the server listed it before a message that comes earlier in the chain.
    """

    seq: int
    authentic: bool
    replayed: bool = False
    conflicting: bool = False
    missing_before: bool = False
    out_of_order: bool = False

    @property
    def intact(self) -> bool:
        return self.authentic and not (self.replayed or self.conflicting
                                       or self.missing_before or self.out_of_order)


def _check(value: object, length: int, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != length:
        raise ShapeError(f"The {what} must be {length} bytes.")
    return value


def _chain(chain: str) -> bytes:
    if chain not in CHAINS:
        raise ShapeError("A chain is \"thread\" or \"notes\".")
    return chain.encode("ascii")


def auth_key(thread_secret: bytes, chain: str) -> bytes:
    """``hash(frame("integrity/v2/thread-auth", chain), key=thread_secret)``."""
    return generichash(frame(AUTH_CONTEXT, _chain(chain)),
                       key=_check(thread_secret, SECRET_BYTES, "thread secret"))


def thread_root(chain: str, report_payload: bytes) -> bytes:
    """``hash(frame("integrity/v2/thread-root", chain, hash(report_payload)))``: the ``prev``
    of a chain's first message, which ties the chain to its report."""
    return generichash(frame(ROOT_CONTEXT, _chain(chain), generichash(report_payload)))


def link_input(chain: str, seq: int, role: str, sender: str, prev: bytes,
               payload: bytes, digest: bytes | None = None) -> bytes:
    """``frame("integrity/v2/link", chain, le64(seq), role, sender, prev, hash(payload))``;
    ``digest`` in place of ``hash(payload)`` for a payload since replaced."""
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise ShapeError("A sequence number is a whole number from 1.")
    if role not in ROLES:
        raise ShapeError("A sender's role is \"reporter\" or \"inspector\".")
    if (role == "reporter") != (sender == ""):
        raise ShapeError("The reporter's sender id is empty; an inspector's is their id.")
    return frame(LINK_CONTEXT, _chain(chain), le64(seq), role.encode("ascii"),
                 sender.encode("utf-8"), _check(prev, HASH_BYTES, "previous link hash"),
                 generichash(payload) if digest is None
                 else _check(digest, HASH_BYTES, "payload hash"))


def link_auth(thread_secret: bytes, chain: str, seq: int, role: str, sender: str,
              prev: bytes, payload: bytes) -> bytes:
    """The authenticator: ``hash(link_input, key=auth_key(thread_secret, chain))``."""
    return generichash(link_input(chain, seq, role, sender, prev, payload),
                       key=auth_key(thread_secret, chain))


def link_hash(chain: str, link: Link) -> bytes:
    """``hash(frame("integrity/v2/link-hash", link_input, auth))``: the next message's
    ``prev``."""
    data = link_input(chain, link.seq, link.role, link.sender, link.prev, link.payload,
                      link.payload_hash)
    return generichash(frame(LINK_HASH_CONTEXT, data, _check(link.auth, HASH_BYTES,
                                                                 "authenticator")))


def replacement_input(chain: str, seq: int, payload_hash: bytes, replacement: bytes,
                      replaced_by: str) -> bytes:
    """``frame("integrity/v2/replacement", chain, le64(seq), payload_hash, hash(replacement),
    replaced_by)``: a reader replaced the payload whose hash the link at ``seq`` covers."""
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise ShapeError("A sequence number is a whole number from 1.")
    if not isinstance(replaced_by, str) or not replaced_by:
        raise ShapeError("A replacement names the inspector who made it.")
    return frame(REPLACEMENT_CONTEXT, _chain(chain), le64(seq),
                 _check(payload_hash, HASH_BYTES, "payload hash"), generichash(replacement),
                 replaced_by.encode("utf-8"))


def replacement_auth(thread_secret: bytes, chain: str, seq: int, payload_hash: bytes,
                     replacement: bytes, replaced_by: str) -> bytes:
    """The authenticator of a replacement: ``hash(replacement_input, key=auth_key(chain))``."""
    return generichash(replacement_input(chain, seq, payload_hash, replacement, replaced_by),
                       key=auth_key(thread_secret, chain))


def _replacement_holds(key: bytes, chain: str, link: Link) -> bool:
    """A message whose payload was never replaced, or replaced by a reader of the thread."""
    if link.payload_hash is None:
        return True
    if link.replaced_by is None or link.replacement_auth is None:
        return False
    expected = generichash(replacement_input(chain, link.seq, link.payload_hash, link.payload,
                                             link.replaced_by), key=key)
    return hmac.compare_digest(expected, _check(link.replacement_auth, HASH_BYTES,
                                                "replacement authenticator"))


def next_link(thread_secret: bytes, chain: str, report_payload: bytes,
              last: Link | None, role: str, sender: str, payload: bytes) -> Link:
    """The link of a new message written after ``last`` (None: the chain's first)."""
    seq = 1 if last is None else last.seq + 1
    prev = thread_root(chain, report_payload) if last is None else link_hash(chain, last)
    auth = link_auth(thread_secret, chain, seq, role, sender, prev, payload)
    return Link(seq, role, sender, prev, payload, auth)


def check_links(thread_secret: bytes, chain: str, report_payload: bytes,
                links: Sequence[Link]) -> list[LinkCheck]:
    """What a reader concludes about each message of one chain, in the order listed."""
    key = auth_key(thread_secret, chain)
    authentic = []
    for link in links:
        try:
            expected = generichash(link_input(chain, link.seq, link.role, link.sender,
                                              link.prev, link.payload, link.payload_hash),
                                   key=key)
            replaced = _replacement_holds(key, chain, link)
        except ShapeError:
            authentic.append(False)
            continue
        authentic.append(hmac.compare_digest(expected, link.auth) and replaced)
    # The first authentic message at each place is kept; later ones at that place are replays
    # (the same link) or conflicts (another authentic link at the same place).
    kept: dict[int, int] = {}
    hashes = [link_hash(chain, link) if ok else b""
              for link, ok in zip(links, authentic, strict=True)]
    checks = [LinkCheck(link.seq if isinstance(link.seq, int) else 0, ok)
              for link, ok in zip(links, authentic, strict=True)]
    for index, link in enumerate(links):
        if not authentic[index]:
            continue
        first = kept.setdefault(link.seq, index)
        if first != index:
            same = hashes[first] == hashes[index]
            checks[index] = LinkCheck(link.seq, True, replayed=same, conflicting=not same)
    expected_seq, expected_prev = 1, thread_root(chain, report_payload)
    highest_listed = 0
    for seq in sorted(kept):
        index = kept[seq]
        link = links[index]
        gap = seq != expected_seq or not hmac.compare_digest(link.prev, expected_prev)
        checks[index] = LinkCheck(seq, True, missing_before=gap)
        expected_seq, expected_prev = seq + 1, hashes[index]
    for index in sorted(kept.values()):
        seq = links[index].seq
        if seq < highest_listed:
            checks[index] = _with_out_of_order(checks[index])
        highest_listed = max(highest_listed, seq)
    return checks


def _with_out_of_order(check: LinkCheck) -> LinkCheck:
    return LinkCheck(check.seq, check.authentic, check.replayed, check.conflicting,
                     check.missing_before, out_of_order=True)


def new_thread_secret() -> bytes:
    """32 random bytes, drawn by whoever seals the report."""
    secret: bytes = nacl.utils.random(SECRET_BYTES)
    return secret
