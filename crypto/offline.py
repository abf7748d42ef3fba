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


def _open_any(item: dict[str, Any], secret_key: bytes, pad_block: int) -> dict[str, Any] | None:
    """Open a report or message through whichever of its key slots this key opens."""
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
                            | {"kind": message.get("kind", "message"), "document": content})
        # The reference names the case to people; exports made before references lack it.
        entry = ({"id": report["id"], "reference": report.get("reference")}
                 | {k: report[k] for k in ("channel", "category", "org_unit", "created_on",
                                           "status")}
                 | {"outcome": report.get("outcome")}
                 | {"document": document, "messages": messages})
        if blobs is not None and files_out is not None:
            entry["files"] = _write_files(entry, [document] + [
                m["document"] for m in messages if m["document"]], blobs, files_out)
        opened.append(entry)
    return {"reports": opened, "unreadable": unreadable}


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
