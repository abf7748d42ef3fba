"""The daily register: each day, an audit entry counts the reports filed the day before and
hashes their sealed payloads, so that a report deleted behind the application's back (by
someone with access to the database, before anyone read it) leaves a trace.

The register of a day D is the audit entry ``register`` with the details
``{"day": D, "reports": n, "sha256": hex}``, where, for the n reports whose filing day is D,

    sha256 = SHA-256( h_1 || h_2 || ... || h_n ),  h_i = SHA-256(sealed payload of report i),

the h_i sorted in ascending byte order (n = 0 gives SHA-256 of nothing). Sorting by the
hashes, which look random, gives a canonical order that says nothing of the order of filing.
Only the day is used, as reports store it: no time is read or recorded.

The check recomputes every register entry: the reports still filed on its day, plus those the
retention purge deleted after the entry was written (each purge entry names the filing day
and the SHA-256 of the deleted payload, integrity/cases/retention.py). A day whose count or
hash differs is a gap: a report was deleted, added or altered outside the application.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry, record
from integrity.reporting.models import Report

ACTION = "register"
PURGE_ACTION = "case_purged"
# A scheduler stopped for longer than this catches up the last this many days only.
MAX_CATCH_UP_DAYS = 366


def payload_digest(payload: bytes) -> bytes:
    """SHA-256 of one report's sealed payload, as the register and purge entries use it."""
    return hashlib.sha256(payload).digest()


def day_digest(digests: Iterable[bytes]) -> bytes:
    """SHA-256 over a day's payload hashes in ascending byte order."""
    return hashlib.sha256(b"".join(sorted(digests))).digest()


def filed_digests(session: Session, day: date) -> list[bytes]:
    """The payload hashes of the reports still stored whose filing day is ``day``."""
    rows = session.execute(select(Report.payload).where(Report.created_on == day)
                           .execution_options(yield_per=100)).scalars()
    return [payload_digest(payload) for payload in rows]


def _register_entries(session: Session) -> list[tuple[AuditEntry, date]]:
    found = []
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.action == ACTION)
                                 .order_by(AuditEntry.seq)):
        day = _day((entry.facts or {}).get("day"))
        if day is not None:
            found.append((entry, day))
    return found


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def last_registered_day(session: Session) -> date | None:
    """The latest day the register has an entry for."""
    days = [day for _entry, day in _register_entries(session)]
    return max(days) if days else None


def write_register(session: Session, today: date) -> list[date]:
    """Write the register entry of every day before ``today`` not yet registered (from the day
    after the last one, or yesterday on the first run); the caller commits."""
    yesterday = today - timedelta(days=1)
    last = last_registered_day(session)
    first = yesterday if last is None else last + timedelta(days=1)
    first = max(first, yesterday - timedelta(days=MAX_CATCH_UP_DAYS - 1))
    written = []
    day = first
    while day <= yesterday:
        digests = filed_digests(session, day)
        record(session, actor=None, actor_label="system", action="register",
               subject=f"register:{day.isoformat()}",
               details={"day": day.isoformat(), "reports": len(digests),
                        "sha256": day_digest(digests).hex()})
        written.append(day)
        day += timedelta(days=1)
    return written


@dataclass(frozen=True)
class RegisterGap:
    """A registered day whose reports no longer match its entry."""

    day: date
    seq: int
    registered: int
    found: int


@dataclass(frozen=True)
class RegisterCheck:
    checked: int
    gaps: list[RegisterGap] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.gaps


def _purged_after(session: Session) -> dict[date, list[tuple[int, bytes]]]:
    """Per filing day, the (entry number, payload hash) of each report the purge deleted."""
    purged: dict[date, list[tuple[int, bytes]]] = defaultdict(list)
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.action == PURGE_ACTION)):
        facts = entry.facts or {}
        day, digest = _day(facts.get("filed_on")), facts.get("sealed_sha256")
        if day is None or not isinstance(digest, str):
            continue  # purged before the register existed: no registered day to explain
        try:
            purged[day].append((entry.seq, bytes.fromhex(digest)))
        except ValueError:
            continue
    return purged


def check_register(session: Session) -> RegisterCheck:
    """Recompute every register entry; each day whose reports no longer match is a gap."""
    purged = _purged_after(session)
    gaps = []
    entries = _register_entries(session)
    for entry, day in entries:
        facts = entry.facts or {}
        # Purged before the entry was written: already left out of its count.
        digests = filed_digests(session, day) + [
            digest for seq, digest in purged.get(day, []) if seq > entry.seq]
        if (len(digests) != facts.get("reports")
                or day_digest(digests).hex() != facts.get("sha256")):
            registered = facts.get("reports")
            gaps.append(RegisterGap(day, entry.seq,
                                    registered if isinstance(registered, int) else -1,
                                    len(digests)))
    return RegisterCheck(len(entries), gaps)
