"""The append-only audit log: who changed which case or account, and when, hash-chained.

Each entry's hash covers the hash of the entry before it, so editing, deleting or reordering
entries breaks the chain; ``verify`` walks it and names the first entry that does not hold.
Entries carry facts (a status from and to, an id), never report content or secrets.

Who acted (the account and its address or label) is kept beside the hashed fields: the hash
covers ``actor_digest``, a BLAKE2b of the actor keyed with a random per-entry ``actor_salt``.
While the salt is kept, ``verify`` recomputes the digest, so the actor cannot be altered
unseen. After the installation's retention period for staff names, the staff member is
pseudonymised (integrity/audit_retention.py): account, address and salt are removed, the
digest stays, the chain still holds, and nothing left links the entry to a person or to the
other entries of the same person.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Optional

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from integrity.db import Base
from integrity.models import User, utcnow

GENESIS = bytes(32)
SALT_BYTES = 16
# The actor of an entry whose staff member was pseudonymised (no account, no salt).
PSEUDONYMISED = "pseudonymised"
PSEUDONYMISE_ACTION = "audit_staff_pseudonymised"
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False)
MAX_DETAILS_BYTES = 2048
# A detail whose key holds one of these words would carry content or a secret into the log.
FORBIDDEN_WORDS = frozenset({
    "text", "plaintext", "answer", "answers", "payload", "content", "body", "receipt",
    "password", "passphrase", "secret", "private", "token", "ip", "agent",
})


class AuditEntry(Base):
    """One recorded action; ``hash`` chains it to the entry before it."""

    __tablename__ = "audit_entries"
    # A case's history reads its entries in order (integrity/cases/history.py).
    __table_args__ = (Index("ix_audit_entries_subject_seq", "subject", "seq"),)

    # Numbered by record() from audit_head, never by the database, so numbers have no gaps.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime)
    # No foreign key: deleting or editing an account must never change a row of the log.
    actor_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(254))
    # Outside the hashed fields: removed when the staff member is pseudonymised.
    actor_salt: Mapped[Optional[bytes]] = mapped_column(LargeBinary(SALT_BYTES))
    # Hashed: the actor, keyed with the salt (see actor_digest()).
    actor_digest: Mapped[Optional[bytes]] = mapped_column(LargeBinary(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    @property
    def facts(self) -> dict[str, Any] | None:
        """The details as a dict, or None if the stored text is not a JSON object."""
        try:
            value = json.loads(self.details)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


class AuditHead(Base):
    """The number and hash of the last entry (one row): appenders lock it, verify checks it."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


def canonical_json(value: object) -> bytes:
    """``value`` as canonical JSON: sorted keys, no spaces, UTF-8."""
    return _ENCODER.encode(value).encode()


def actor_digest(salt: bytes, actor_id: int | None, actor: str) -> bytes:
    """BLAKE2b-256 of ``canonical_json([actor_id, actor])`` keyed with the entry's salt."""
    return hashlib.blake2b(canonical_json([actor_id, actor]), key=salt, digest_size=32).digest()


def entry_hash(prev_hash: bytes, seq: int, at: datetime, digest: bytes, action: str,
               subject: str, details: Mapping[str, Any]) -> bytes:
    """BLAKE2b-256 of ``prev_hash || canonical_json([seq, at, digest hex, ..., details])``."""
    fields = [seq, at.isoformat(), digest.hex(), action, subject]
    return chain_hash(prev_hash, fields, canonical_json(details))


def chain_hash(prev_hash: bytes, fields: list[object], details_json: bytes) -> bytes:
    """BLAKE2b-256 of ``prev_hash`` and the canonical JSON list of ``fields`` and details."""
    # Byte for byte canonical_json([*fields, details]), with the details spliced in as stored
    # text: verify need not parse them, and any change to the text changes the hash.
    message = prev_hash + canonical_json(fields)[:-1] + b"," + details_json + b"]"
    return hashlib.blake2b(message, digest_size=32).digest()


def _refuse_content(details: Mapping[Any, Any]) -> None:
    for key, value in details.items():
        if not isinstance(key, str):
            raise ValueError(f"Audit detail keys must be strings, not {key!r}.")
        words = set(re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()))
        if words & FORBIDDEN_WORDS:
            raise ValueError(f"The audit log never holds content or secrets: refusing {key!r}.")
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, Mapping):
                _refuse_content(item)


def _check_fields(action: str, subject: str, label: str, details: Mapping[str, Any]) -> str:
    if not 0 < len(action) <= 64:
        raise ValueError("An audit action has 1 to 64 characters.")
    if len(subject) > 64:
        raise ValueError("An audit subject has at most 64 characters.")
    if not 0 < len(label) <= 254:
        raise ValueError("An audit actor label has 1 to 254 characters.")
    _refuse_content(details)
    text = canonical_json(details)
    if len(text) > MAX_DETAILS_BYTES:
        raise ValueError(f"Audit details are limited to {MAX_DETAILS_BYTES} bytes of JSON.")
    return text.decode()


def record(session: Session, *, actor: User | None, action: str, subject: str = "",
           details: Mapping[str, Any] | None = None, actor_label: str | None = None
           ) -> AuditEntry:
    """Append an entry in the caller's transaction (the caller commits)."""
    facts = dict(details or {})
    label = actor_label if actor_label is not None else (actor.email if actor else "system")
    text = _check_fields(action, subject, label, facts)
    # Bumping the head first serialises appenders until commit: a row lock on PostgreSQL,
    # the database write lock on SQLite. RETURNING gives the new number and the last hash.
    head = session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one_or_none()
    if head is None:
        raise RuntimeError("The audit log has no head row: run 'integrity init'.")
    seq, prev_hash = head
    salt = secrets.token_bytes(SALT_BYTES)
    actor_id = actor.id if actor else None
    digest = actor_digest(salt, actor_id, label)
    entry = AuditEntry(seq=seq, at=utcnow().replace(microsecond=0), actor_id=actor_id,
                       actor=label, actor_salt=salt, actor_digest=digest, action=action,
                       subject=subject, details=text, prev_hash=prev_hash)
    entry.hash = entry_hash(prev_hash, seq, entry.at, digest, action, subject, facts)
    session.add(entry)
    session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(hash=entry.hash)
    )
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken: int | None
    reason: str


class _Row(NamedTuple):
    seq: int
    at: datetime
    actor_id: int | None
    actor: str
    actor_salt: bytes | None
    actor_digest: bytes | None
    action: str
    subject: str
    details: str
    prev_hash: bytes
    hash: bytes


_COLUMNS = (AuditEntry.seq, AuditEntry.at, AuditEntry.actor_id, AuditEntry.actor,
            AuditEntry.actor_salt, AuditEntry.actor_digest, AuditEntry.action,
            AuditEntry.subject, AuditEntry.details, AuditEntry.prev_hash, AuditEntry.hash)


@dataclass(frozen=True)
class Pseudonymised:
    """How far the recorded pseudonymisations reach: entries up to ``through``, older than
    ``before``."""

    through: int = 0
    before: datetime = datetime.min


def pseudonymised_so_far(session: Session) -> Pseudonymised:
    """The reach of every pseudonymisation the log records (checked by ``verify`` as it walks
    to them)."""
    through, before = 0, datetime.min
    for details in session.scalars(select(AuditEntry.details)
                                   .where(AuditEntry.action == PSEUDONYMISE_ACTION)):
        try:
            facts = json.loads(details)
            through = max(through, int(facts["through"]))
            before = max(before, datetime.fromisoformat(facts["before"]))
        except (ValueError, KeyError, TypeError):
            continue
    return Pseudonymised(through, before)


def _actor_fault(row: _Row, reach: Pseudonymised) -> str | None:
    if row.actor_digest is None:
        return _l("The entry has no digest of its actor.")
    if row.actor_salt is None:
        if (row.actor_id is not None or row.actor != PSEUDONYMISED or row.seq > reach.through
                or row.at >= reach.before):
            return _l("The entry's actor was removed, but not by a recorded pseudonymisation.")
    elif actor_digest(row.actor_salt, row.actor_id, row.actor) != row.actor_digest:
        return _l("The entry's actor does not match its digest: it was altered.")
    return None


def _fault(row: _Row, expected: int, prev_hash: bytes,
           reach: Pseudonymised = Pseudonymised()) -> str | None:
    """Why ``row`` breaks the chain, or None if it holds."""
    if row.seq != expected:
        if row.seq - 1 == expected:
            return _l("Entry %(seq)d, which comes before it, is missing.", seq=expected)
        return _l("Entries %(first)d to %(last)d, which come before it, are missing.",
                  first=expected, last=row.seq - 1)
    actor_fault = _actor_fault(row, reach)
    if actor_fault is not None:
        return actor_fault
    assert row.actor_digest is not None
    recomputed = chain_hash(row.prev_hash, [row.seq, row.at.isoformat(),
                                              row.actor_digest.hex(), row.action, row.subject],
                             row.details.encode())
    if recomputed != row.hash:
        return _l("The entry does not match its hash: it was altered or moved.")
    if row.prev_hash != prev_hash:
        return _l("The entry does not link to the entry before it.")
    return None


def verify(session: Session, *, batch_size: int = 1000) -> VerifyResult:
    """Walk the chain in order and name the first entry that does not hold."""
    # The head is read first, so entries appended while the walk runs are left for next time.
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if head is None:
        return VerifyResult(False, 0, None, _l("The head of the audit log is missing."))
    expected, prev_hash = 1, GENESIS
    reach = pseudonymised_so_far(session)
    while expected <= head.seq:
        rows = session.execute(
            select(*_COLUMNS).where(AuditEntry.seq >= expected, AuditEntry.seq <= head.seq)
            .order_by(AuditEntry.seq).limit(batch_size)
        ).all()
        if not rows:
            break
        for raw in rows:
            row = _Row(*raw)
            fault = _fault(row, expected, prev_hash, reach)
            if fault is not None:
                return VerifyResult(False, expected - 1, row.seq, fault)
            expected, prev_hash = row.seq + 1, row.hash
    return _check_head(session, expected - 1, prev_hash, head.seq, head.hash)


def _check_head(session: Session, last: int, last_hash: bytes, head_seq: int,
                head_hash: bytes) -> VerifyResult:
    if last < head_seq:
        reason = (_l("The entry is missing from the end of the log.") if last + 1 == head_seq else
                  _l("Entries %(first)d to %(last)d are missing from the end of the log.",
                     first=last + 1, last=head_seq))
        return VerifyResult(False, last, last + 1, reason)
    if last_hash != head_hash:
        return VerifyResult(False, last, last or None,
                            _l("The head of the log does not match the last entry."))
    beyond = session.scalar(select(func.min(AuditEntry.seq)).where(AuditEntry.seq > head_seq))
    if beyond is not None:
        newest = session.scalar(select(func.max(AuditEntry.seq)))
        current = session.scalar(select(AuditHead.seq).where(AuditHead.id == 1))
        if current is None or newest is None or current < newest:
            return VerifyResult(False, last, beyond,
                                _l("The entry lies beyond the head of the log: "
                                   "it was not added by the application."))
    return VerifyResult(True, last, None,
                        lazy_ngettext("The chain holds across its %(count)d entry.",
                                      "The chain holds across all %(count)d entries.",
                                      last, count=last))


@dataclass(frozen=True)
class EntryPage:
    items: list[AuditEntry]
    page: int
    pages: int
    total: int


def entries(session: Session, *, page: int, per_page: int = 50, action: str | None = None,
            actor: str | None = None) -> EntryPage:
    """Entries newest first, by action and by part of the actor's label or name, one page at
    a time."""
    conditions = []
    if action:
        conditions.append(AuditEntry.action == action)
    if actor:
        # The label is the address when the entry was recorded; the name is the account's now.
        named = select(User.id).where(User.name.icontains(actor, autoescape=True))
        conditions.append(or_(AuditEntry.actor.icontains(actor, autoescape=True),
                              AuditEntry.actor_id.in_(named)))
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = session.scalars(
        select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc())
        .limit(per_page).offset((page - 1) * per_page)
    )
    return EntryPage(list(items), page, pages, total)
