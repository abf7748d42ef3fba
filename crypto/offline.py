"""Opening an export with a private key, with no server: the offline viewing station."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from crypto.documents import open_document
from crypto.encoding import b64decode
from crypto.errors import DecryptionError, ShapeError
from crypto.stream import open_file

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
# The clear facts of a case and of a message that an export carries beside its ciphertext;
# an export made before they were added lacks them, and they open as None.
_REPORT_FACTS = ("kind", "retaliation_of", "oral", "held", "closed_on", "deletion_on",
                 "meetings", "check_ins", "check_ins_stopped", "closing_requested")
_MESSAGE_FACTS = ("position", "protection", "agreement")
_PERSON_FACTS = ("id", "number", "state", "added_on", "review_on", "cleared_on", "deleted_on")
_STEP_FACTS = ("id", "kind", "done_on", "review_on")
_TOMBSTONE_FACTS = ("id", "kind", "message", "attachment", "made_on", "by")


def _open_any(item: dict[str, Any], secret_key: bytes, pad_block: int) -> dict[str, Any] | None:
    """Open a sealed item (a report, a message, a person's entry or step, a tombstone's reason)
    through whichever of its key slots this key opens; None when none does, or it has no
    ciphertext (a deleted person's entry, a reason dropped by migration 0038)."""
    if item.get("payload") is None:
        return None
    payload = b64decode(item["payload"], what="payload")
    for slot in item.get("key_slots", {}).values():
        try:
            return open_document(payload, b64decode(slot, what="key slot"), secret_key, pad_block)
        except DecryptionError:
            continue
    return None


def safe_file_name(name: object, fallback: str) -> str:
    """A file name from inside a payload, made harmless for writing to disk."""
    cleaned = _UNSAFE.sub("_", str(name or "")).strip(" .")[:120]
    return cleaned or fallback


def open_export(
    export: dict[str, Any], secret_key: bytes, blobs: Path | None = None,
    files_out: Path | None = None,
) -> dict[str, Any]:
    """Everything in ``export`` that ``secret_key`` opens; attachments written to ``files_out``."""
    if export.get("format") != "integrity-export" or export.get("version") != 1:
        raise ShapeError("This is not an export of this system.")
    pad_block = int(export["pad_block"])
    opened, unreadable = [], 0
    for report in export["reports"]:
        document = _open_any(report, secret_key, pad_block)
        if document is None:
            unreadable += 1
            continue
        messages = []
        for message in report["messages"]:
            content = _open_any(message, secret_key, pad_block)
            # Exports made before messages had a kind hold ordinary messages only.
            messages.append({k: message[k] for k in ("id", "from", "sent_on")}
                            | {"kind": message.get("kind", "message")}
                            | {k: message.get(k) for k in _MESSAGE_FACTS}
                            | {"document": content})
        # The reference names the case to people; exports made before references lack it.
        entry = ({"id": report["id"], "reference": report.get("reference")}
                 | {k: report[k] for k in ("channel", "category", "org_unit", "created_on",
                                           "status")}
                 | {"outcome": report.get("outcome")}
                 | {k: report.get(k) for k in _REPORT_FACTS}
                 | {"document": document, "messages": messages}
                 | _open_case_parts(report, secret_key, pad_block))
        if blobs is not None and files_out is not None:
            entry["files"] = _write_files(entry, _documents(entry), blobs, files_out)
        opened.append(entry)
    return {"reports": opened, "unreadable": unreadable}


def _documents(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The opened documents of a case that can list files: the report, its messages, and the
    steps of its persons concerned (a statement's files)."""
    found = [entry["document"]] + [m["document"] for m in entry["messages"]]
    found += [step["document"] for person in entry["persons"] or [] for step in person["steps"]]
    return [document for document in found if document]


def _open_case_parts(report: dict[str, Any], secret_key: bytes,
                     pad_block: int) -> dict[str, Any]:
    """The persons concerned, each entry and step opened, and the tombstones, each with its
    reason opened; None for either when the export predates them."""
    persons = report.get("persons")
    tombstones = report.get("tombstones")
    return {
        "persons": None if persons is None else [
            {k: person.get(k) for k in _PERSON_FACTS}
            | {"document": _open_any(person, secret_key, pad_block), "steps": [
                {k: step.get(k) for k in _STEP_FACTS}
                | {"attachments": step.get("attachments", []),
                   "document": _open_any(step, secret_key, pad_block)}
                for step in person.get("steps", [])]}
            for person in persons],
        "tombstones": None if tombstones is None else [
            {k: tombstone.get(k) for k in _TOMBSTONE_FACTS}
            | {"reason": _reason(_open_any(tombstone, secret_key, pad_block))}
            for tombstone in tombstones],
    }


def _reason(document: dict[str, Any] | None) -> str | None:
    """The text of an opened reason document (``{"reason": ...}``)."""
    reason = document.get("reason") if isinstance(document, dict) else None
    return reason if isinstance(reason, str) else None


def _true_size(attachment: dict[str, Any]) -> int | None:
    """The entry's plaintext size, where the file's padding ends (None if it has none)."""
    size = attachment.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def _write_files(report: dict[str, Any], documents: list[dict[str, Any]], blobs: Path,
                 files_out: Path) -> list[str]:
    written: list[str] = []
    name = "-".join(str(part) for part in (report["id"], report["reference"]) if part)
    folder = files_out / f"report-{safe_file_name(name, 'x')}"
    for document in documents:
        for attachment in document.get("attachments", []):
            source = blobs / safe_file_name(attachment.get("id"), "missing")
            if not source.exists():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{len(written) + 1}-{safe_file_name(attachment.get('name'), 'file')}"
            with source.open("rb") as sealed, target.open("wb") as plain:
                open_file(sealed, plain, b64decode(attachment["key"], 32, what="file key"),
                          _true_size(attachment))
            written.append(str(target))
    return written
