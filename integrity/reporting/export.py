"""Exports for the offline viewing station: every report as ciphertext, blobs alongside."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import crypto
from integrity.config import Settings
from integrity.installation import get_installation
from integrity.models import today
from integrity.reporting.export_parts import CaseParts
from integrity.reporting.models import Attachment, KeySlot, Report
from integrity.reporting.storage import READ_SIZE, AttachmentStore

EXPORT_FORMAT = "integrity-export"


def attachments_folder(export_file: Path) -> Path:
    """Where the sealed attachment files of an export are written: beside the JSON."""
    return export_file.with_name(export_file.name + ".attachments")


def build_export(session: Session, settings: Settings) -> dict[str, Any]:
    """Every report with its thread, key slots, attachment references and the other parts of
    its case (persons concerned, tombstones, facts); ciphertext only for what is sealed."""
    slots: dict[tuple[int, int | None], dict[str, str]] = {}
    for slot in session.scalars(select(KeySlot)):
        slots.setdefault((slot.report_id, slot.message_id), {})[slot.reader] = (
            crypto.b64encode(slot.slot)
        )
    files: dict[int, list[dict[str, Any]]] = {}
    for attachment in session.scalars(select(Attachment).where(Attachment.report_id.isnot(None))):
        files.setdefault(attachment.report_id or 0, []).append(
            {"id": attachment.id, "size": attachment.size}
        )
    reports = list(session.scalars(
        select(Report).options(selectinload(Report.messages),
                               selectinload(Report.meeting_requests))
        .order_by(Report.created_on, Report.reference)
    ))
    parts = CaseParts(session, {report.id: report.reference for report in reports})
    return {
        "format": EXPORT_FORMAT, "version": 1, "exported_on": today().isoformat(),
        "pad_block": get_installation(session, settings).pad_block,
        "reports": [_report(report, slots, files.get(report.id, []), parts)
                    for report in reports],
    }


def _report(report: Report, slots: dict[tuple[int, int | None], dict[str, str]],
            files: list[dict[str, Any]], parts: CaseParts) -> dict[str, Any]:
    # The thread in its order (``position``: the ids are random), as the relationship loads it.
    return {
        "id": str(report.id), "reference": report.reference, "channel": report.channel.slug,
        "category": report.category.slug if report.category else None,
        "org_unit": report.org_unit.name if report.org_unit else None,
        "created_on": report.created_on.isoformat(), "status": report.status,
        "outcome": report.outcome,
        "payload": crypto.b64encode(report.payload), "key_slots": slots.get((report.id, None), {}),
        "messages": [
            {"id": str(m.id), "from": m.sender, "kind": m.kind, "sent_on": m.sent_on.isoformat(),
             "payload": crypto.b64encode(m.payload), "key_slots": slots.get((report.id, m.id), {})}
            | parts.message_facts(m)
            for m in report.messages
        ],
        "attachments": files,
    } | parts.report_facts(report)


def write_export(session: Session, store: AttachmentStore, settings: Settings, out: Path) -> int:
    """Write the export JSON to ``out`` and the sealed files beside it; returns the count."""
    export = build_export(session, settings)
    folder = attachments_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    for report in export["reports"]:
        for attachment in report["attachments"]:
            with store.open(attachment["id"]) as source, \
                    (folder / attachment["id"]).open("wb") as target:
                shutil.copyfileobj(source, target, READ_SIZE)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(export, handle, indent=1)
    return len(export["reports"])
