"""The audit log's head, exported to be kept outside the system (printed, mailed to an
external auditor, filed with a notary) and checked against the log later.

The exported head is a small JSON object (docs/administration.md, "Anchoring the audit log"):

    {"format": "integrity-audit-head", "version": 1, "seq": 1234,
     "hash": "<64 hex digits>", "entry_at": "2026-12-07T09:00:00Z",
     "exported_at": "2026-12-07T09:12:30Z"}

``seq`` and ``hash`` are the number and chain hash of the last entry (``hash`` covers every
entry before it), ``entry_at`` that entry's time as the log records it (null for an empty
log), ``exported_at`` when the file was made. A later check finds entry ``seq`` in the log
with the same hash and walks the chain from there to the current head: a log rewritten at or
before that entry, or cut back past it, no longer matches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import GENESIS, PSEUDONYMISED, AuditEntry, AuditHead, chain_hash, verify

FORMAT = "integrity-audit-head"
VERSION = 1
MAX_FILE_BYTES = 4096


class HeadFileError(ValueError):
    """An exported head that cannot be read."""


@dataclass(frozen=True)
class Head:
    seq: int
    hash: bytes
    entry_at: datetime | None


def current_head(session: Session) -> Head:
    """The number, hash and time of the log's last entry."""
    row = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if row is None:
        raise RuntimeError("The audit log has no head row: run 'integrity init'.")
    at = session.scalar(select(AuditEntry.at).where(AuditEntry.seq == row.seq))
    return Head(row.seq, row.hash, at)


def _utc(moment: datetime) -> str:
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def head_document(head: Head, exported_at: datetime) -> dict[str, Any]:
    """The exported head as the JSON object described above."""
    return {"format": FORMAT, "version": VERSION, "seq": head.seq, "hash": head.hash.hex(),
            "entry_at": _utc(head.entry_at) if head.entry_at else None,
            "exported_at": _utc(exported_at)}


def head_json(head: Head, exported_at: datetime) -> str:
    """The exported head as indented JSON text, ending with a newline."""
    return json.dumps(head_document(head, exported_at), indent=2) + "\n"


def parse_head(text: str | bytes) -> Head:
    """Read an exported head; ``HeadFileError`` names what is wrong with it."""
    if len(text) > MAX_FILE_BYTES:
        raise HeadFileError("An exported head is a small JSON file; this one is too large.")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise HeadFileError("The exported head is not JSON.") from exc
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise HeadFileError(f"The file is not an exported audit head (format {FORMAT!r}).")
    if value.get("version") != VERSION:
        raise HeadFileError(f"Only version {VERSION} of the exported head is known.")
    seq, digest = value.get("seq"), value.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise HeadFileError("The exported head's seq is not a whole number of zero or more.")
    try:
        raw = bytes.fromhex(digest) if isinstance(digest, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise HeadFileError("The exported head's hash is not 64 hexadecimal digits.")
    return Head(seq, raw, None)


UPGRADE_ACTION = "audit_chain_upgraded"


def _hashed_so_before_upgrade(session: Session, exported: Head) -> bool:
    """Whether ``exported`` is a head of the log as it was hashed before the upgrade that put
    the actors beside the hash (migration 0034): hashing the entries after it up to the last
    one hashed the former way, from their stored fields, gives the former hash that the
    upgrade recorded. Once one of those entries has its actor pseudonymised, it cannot."""
    facts = next((entry.facts for entry in session.scalars(
        select(AuditEntry).where(AuditEntry.action == UPGRADE_ACTION))), None) or {}
    through, former = facts.get("legacy_through"), facts.get("legacy_head")
    if not isinstance(through, int) or not isinstance(former, str) or exported.seq > through:
        return False
    digest = exported.hash
    for row in session.scalars(select(AuditEntry).where(
            AuditEntry.seq > exported.seq, AuditEntry.seq <= through).order_by(AuditEntry.seq)):
        if row.actor == PSEUDONYMISED and row.actor_salt is None:
            return False
        digest = chain_hash(digest, [row.seq, row.at.isoformat(), row.actor_id, row.actor,
                                      row.action, row.subject], row.details.encode())
    return digest.hex() == former


@dataclass(frozen=True)
class HeadCheck:
    ok: bool
    reason: LazyString


def check_head(session: Session, exported: Head) -> HeadCheck:
    """Whether the exported head is still in the log, and the chain holds from it on."""
    head = current_head(session)
    if exported.seq > head.seq:
        return HeadCheck(False, _l(
            "The exported head (entry %(seq)d) lies beyond the log's head (entry %(head)d): "
            "entries were removed from the end of the log, or the file is from another "
            "installation.", seq=exported.seq, head=head.seq))
    if exported.seq == 0:
        found: bytes | None = GENESIS
    else:
        found = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == exported.seq))
    if found is None:
        return HeadCheck(False, _l("Entry %(seq)d of the exported head is missing from the log.",
                                   seq=exported.seq))
    if found != exported.hash and not _hashed_so_before_upgrade(session, exported):
        return HeadCheck(False, _l(
            "Entry %(seq)d no longer has the exported hash: the log was rewritten at or before "
            "it.", seq=exported.seq))
    chain = verify(session)
    if not chain.ok:
        return HeadCheck(False, _l("The exported entry is in the log, but the chain is broken: "
                                   "%(reason)s", reason=chain.reason))
    return HeadCheck(True, _l(
        "Entry %(seq)d still has the exported hash, and the chain holds from it to the head "
        "(entry %(head)d).", seq=exported.seq, head=head.seq))
