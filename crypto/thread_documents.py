"""What protocol 2 documents say about their thread, and what readers make of it.

The report document records, as the reporter saw them, the thread secret, the reporter's
public key, the route, the readers (each id with the hash of its key), the inspectors left
out, and the recovery key's hash. A message document that shares the case records who was
added. From these a reader tells every change to who can read the case since the report
(docs/protocol.md#visible-readers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crypto.certificates import key_hash
from crypto.encoding import b64decode, b64encode
from crypto.errors import EncodingError, ShapeError

PROTOCOL = 2

# Kinds of reader change; the first three mean someone tampered with the case.
UNCERTIFIED = "uncertified"  # a reader whose key the organisation key did not certify
UNRECORDED = "unrecorded"  # a reader neither the report nor an authentic share names
KEY_CHANGED = "key_changed"  # a reader whose key is not the one recorded
EXCLUDED_READER = "excluded_reader"  # an inspector the reporter left out can read
SHARED = "shared"  # added by an authentic share message
REMOVED = "removed"  # a reader of the report who can no longer read (deactivated)
RECOVERY_ADDED = "recovery_added"
RECOVERY_CHANGED = "recovery_changed"
RECOVERY_REMOVED = "recovery_removed"
ALARMS = frozenset({UNCERTIFIED, UNRECORDED, KEY_CHANGED, EXCLUDED_READER})


@dataclass(frozen=True)
class ReportThread:
    """The ``thread``, ``route``, ``readers``, ``excluded`` and ``recovery`` of a report."""

    secret: bytes
    reporter_public_key: bytes
    channel: str
    category: str | None
    org_unit: str | None
    readers: Mapping[str, bytes]  # inspector id -> key hash
    excluded: tuple[str, ...]
    recovery: bytes | None  # key hash of the recovery key, when one was configured

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"ReportThread(channel={self.channel!r}, readers={sorted(self.readers)!r})"


@dataclass(frozen=True)
class ReaderChange:
    kind: str
    reader: str  # inspector id; "recovery" for the recovery key

    @property
    def alarm(self) -> bool:
        return self.kind in ALARMS


def _decoded(value: object, what: str, length: int | None = 32) -> bytes:
    try:
        return b64decode(value, length, what=what)
    except EncodingError as exc:
        raise ShapeError(str(exc)) from exc


def _optional_str(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ShapeError(f"The report's {what} must be text or null.")
    return value


def report_document(answers: Mapping[str, Any], attachments: Sequence[Mapping[str, Any]],
                    language: str, thread_secret: bytes, reporter_public_key: bytes,
                    route: tuple[str, str | None, str | None],
                    readers: Mapping[str, bytes], excluded: Sequence[str],
                    recovery_key: bytes | None, minutes: str | None = None) -> dict[str, Any]:
    """A protocol 2 report document; ``readers`` maps each inspector id to its public key.
    ``minutes``: an oral report's minutes or transcript, written by an inspector."""
    channel, category, org_unit = route
    document = {
        "protocol": PROTOCOL, "answers": dict(answers), "attachments": list(attachments),
        "language": language,
        "thread": {"secret": b64encode(thread_secret),
                   "reporter_public_key": b64encode(reporter_public_key)},
        "route": {"channel": channel, "category": category, "org_unit": org_unit},
        "readers": [{"id": rid, "fingerprint": b64encode(key_hash(key))}
                    for rid, key in readers.items()],
        "excluded": list(excluded),
        "recovery": b64encode(key_hash(recovery_key)) if recovery_key else None,
    }
    if minutes is not None:
        document["minutes"] = minutes
    return document


def report_thread(document: Mapping[str, Any]) -> ReportThread:
    """The thread of an opened protocol 2 report; ``ShapeError`` if it has none or it is
    malformed (protocol 1 reports have none)."""
    if document.get("protocol") != PROTOCOL:
        raise ShapeError("This report was sealed with protocol 1: its thread is not "
                         "authenticated.")
    thread, route = document.get("thread"), document.get("route")
    readers, excluded = document.get("readers"), document.get("excluded")
    if not (isinstance(thread, dict) and isinstance(route, dict) and isinstance(readers, list)
            and isinstance(excluded, list)):
        raise ShapeError("The report's thread is incomplete.")
    recorded: dict[str, bytes] = {}
    for reader in readers:
        if not isinstance(reader, dict) or not isinstance(reader.get("id"), str):
            raise ShapeError("A reader of the report has no id.")
        if reader["id"] in recorded:
            raise ShapeError("A reader is named twice in the report.")
        recorded[reader["id"]] = _decoded(reader.get("fingerprint"), "reader's fingerprint")
    if not all(isinstance(rid, str) for rid in excluded):
        raise ShapeError("The report's excluded inspectors must be ids.")
    channel = route.get("channel")
    if not isinstance(channel, str):
        raise ShapeError("The report's route has no channel.")
    recovery = document.get("recovery")
    return ReportThread(
        secret=_decoded(thread.get("secret"), "thread secret"),
        reporter_public_key=_decoded(thread.get("reporter_public_key"), "reporter key"),
        channel=channel, category=_optional_str(route.get("category"), "category"),
        org_unit=_optional_str(route.get("org_unit"), "unit"),
        readers=recorded, excluded=tuple(excluded),
        recovery=None if recovery is None else _decoded(recovery, "recovery fingerprint"),
    )


def message_document(text: str, attachments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A protocol 2 message document."""
    return {"protocol": PROTOCOL, "text": text, "attachments": list(attachments)}


def share_document(reader: str, public_key: bytes) -> dict[str, Any]:
    """The message an inspector adds to the thread when sharing the case with ``reader``."""
    return {"protocol": PROTOCOL, "text": "", "attachments": [],
            "share": {"id": reader, "fingerprint": b64encode(key_hash(public_key))}}


def shared_reader(document: Mapping[str, Any]) -> tuple[str, bytes] | None:
    """``(id, key hash)`` if ``document`` is a share message, else None."""
    share = document.get("share")
    if not isinstance(share, dict) or not isinstance(share.get("id"), str):
        return None
    return share["id"], _decoded(share.get("fingerprint"), "shared reader's fingerprint")


def reader_changes(thread: ReportThread, current: Mapping[str, bytes],
                   shares: Mapping[str, bytes], recovery_key: bytes | None,
                   uncertified: Sequence[str] = ()) -> list[ReaderChange]:
    """Every difference between who can read the case now (``current``: id -> public key
    of readers whose certificate verifies, and the recovery key) and who could when it was
    reported, given the authentic ``shares`` (id -> key hash, from share messages whose links
    hold); ``uncertified`` are the current readers whose certificate does not verify.
    Sorted by reader id, then kind."""
    changes = [ReaderChange(UNCERTIFIED, rid) for rid in uncertified]
    for rid, public_key in current.items():
        if rid in uncertified:
            continue
        digest = key_hash(public_key)
        if rid in thread.excluded:  # a share does not lift an exclusion
            changes.append(ReaderChange(EXCLUDED_READER, rid))
        elif thread.readers.get(rid) == digest:
            continue
        elif shares.get(rid) == digest:  # added, or given a new key, by a share
            changes.append(ReaderChange(SHARED, rid))
        elif rid in thread.readers or rid in shares:
            changes.append(ReaderChange(KEY_CHANGED, rid))
        else:
            changes.append(ReaderChange(UNRECORDED, rid))
    changes += [ReaderChange(REMOVED, rid) for rid in thread.readers
                if rid not in current and rid not in uncertified]
    now = key_hash(recovery_key) if recovery_key else None
    if now != thread.recovery:
        kind = (RECOVERY_ADDED if thread.recovery is None
                else RECOVERY_REMOVED if now is None else RECOVERY_CHANGED)
        changes.append(ReaderChange(kind, "recovery"))
    return sorted(changes, key=lambda change: (change.reader, change.kind))
