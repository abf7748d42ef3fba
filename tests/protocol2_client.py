"""A reporter's client for protocol 2, written from docs/protocol.md on crypto/ (for the
tests): it trusts only keys the pinned organisation key certified, checks the floors, and
seals the report's thread into the report."""

from __future__ import annotations

from typing import Any

import crypto
from crypto import floors, thread_documents, threads
from crypto.certificates import verify_inspector_key, verify_recovery_key
from tests.protocol_client import Filed, ReporterClient, Upload


class Reporter2Client(ReporterClient):
    """Protocol 2 over the same HTTP client; ``org_public_key`` is what the client pins."""

    def __init__(self, http: Any, org_public_key: bytes, *, check_floors: bool = True) -> None:
        super().__init__(http)
        self.org_public_key = org_public_key
        # The test suite runs with cheap Argon2 costs; a real client always checks.
        self.check_floors = check_floors
        self.thread_secret: bytes | None = None

    def certified_recipients(self, channel: str) -> list[dict[str, Any]]:
        """The channel's recipients whose certificate verifies under the pinned key."""
        return [r for r in self.channel(channel)["recipients"]
                if r.get("certificate") and verify_inspector_key(
                    self.org_public_key, r["id"], crypto.b64decode(r["public_key"]),
                    crypto.b64decode(r["certificate"]))]

    def recovery_key(self) -> bytes | None:
        cfg = self.config
        if not cfg["recovery_key"] or not cfg.get("recovery_certificate"):
            return None
        key = crypto.b64decode(cfg["recovery_key"])
        certified = verify_recovery_key(self.org_public_key, key,
                                        crypto.b64decode(cfg["recovery_certificate"]))
        return key if certified else None

    def report_body(self, channel: str, answers: dict[str, Any], *, receipt: str | None = None,
                    uploads: list[Upload] = (), category: str | None = None,
                    org_unit: str | None = None, excluded: list[str] = (),
                    language: str | None = "en") -> Filed:
        cfg = self.config
        if self.check_floors:
            floors.check_floors(cfg["argon2id"]["opslimit"], cfg["argon2id"]["memlimit"],
                                cfg["pad_block"])
        receipt = receipt or crypto.generate_receipt()
        keys = self.derive(receipt)
        ids, entries = [], []
        for upload in uploads:
            attachment_id, entry = self.upload(upload)
            ids.append(attachment_id)
            entries.append(entry)
        recipients = {r["id"]: crypto.b64decode(r["public_key"])
                      for r in self.certified_recipients(channel) if r["id"] not in excluded}
        recovery = self.recovery_key()
        self.thread_secret = threads.new_thread_secret()
        document = thread_documents.report_document(
            answers, entries, language or "en", self.thread_secret, keys.public_key,
            (channel, category, org_unit), recipients, list(excluded), recovery)
        readers = {**recipients, "reporter": keys.public_key}
        if recovery is not None:
            readers["recovery"] = recovery
        sealed = crypto.seal_document(document, readers, cfg["pad_block"])
        body = {
            "protocol": 2, "channel": channel, "category": category, "org_unit": org_unit,
            "lookup": crypto.b64encode(keys.lookup),
            "payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
            "excluded": list(excluded), "attachments": ids,
        }
        return Filed(receipt, keys, body, None, ids)
