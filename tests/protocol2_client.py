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

    def mailbox(self, receipt: str) -> dict[str, Any]:
        """The mailbox with every document opened and the thread judged (``"checks"``, one per
        message in the order listed; ``"thread"``, the report's thread)."""
        box = super().mailbox(receipt)
        thread = thread_documents.report_thread(box["report"]["document"])
        links = [listed_link(m) for m in box["messages"]]
        box["thread"] = thread
        box["checks"] = threads.check_links(thread.secret, "thread",
                                            crypto.b64decode(box["report"]["payload"]), links)
        box["links"] = links
        return box

    def reply(self, receipt: str, text: str, uploads: list[Upload] = ()) -> Any:
        keys = self.derive(receipt)
        box = self.mailbox(receipt)
        ids, entries = [], []
        for upload in uploads:
            attachment_id, entry = self.upload(upload)
            ids.append(attachment_id)
            entries.append(entry)
        readers = {r["id"]: crypto.b64decode(r["public_key"]) for r in box["recipients"]}
        readers["reporter"] = keys.public_key
        if self.config["recovery_key"]:
            readers["recovery"] = crypto.b64decode(self.config["recovery_key"])
        sealed = crypto.seal_document(thread_documents.message_document(text, entries), readers,
                                      self.config["pad_block"])
        kept = [link for link, check in zip(box["links"], box["checks"], strict=True)
                if check.authentic and not check.replayed]
        last = max(kept, key=lambda link: link.seq) if kept else None
        link = threads.next_link(box["thread"].secret, "thread",
                                 crypto.b64decode(box["report"]["payload"]), last, "reporter",
                                 "", sealed.payload)
        return self.http.post("/api/v1/mailbox/messages", json={
            "lookup": crypto.b64encode(keys.lookup), "payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
            "attachments": ids,
            "link": {"seq": link.seq, "prev": crypto.b64encode(link.prev),
                     "auth": crypto.b64encode(link.auth)},
        })


def case_links(sealed_case: dict[str, Any], chain: str) -> list[threads.Link]:
    """The links of one chain of a sealed case (``GET /cases/<id>/sealed``), in listed order."""
    return [listed_link(m) for m in sealed_case["messages"]
            if m["link"] and m["link"]["chain"] == chain]


def listed_link(message: dict[str, Any]) -> threads.Link:
    """A listed message's link as readers check it, with its replacement when a reader
    deleted or redacted it."""
    link, replaced = message["link"], message["link"].get("replaced")
    return threads.Link(
        link["seq"], link["role"], link["sender"], crypto.b64decode(link["prev"]),
        crypto.b64decode(message["payload"]), crypto.b64decode(link["auth"]),
        crypto.b64decode(replaced["payload_hash"]) if replaced else None,
        replaced["by"] if replaced else None,
        crypto.b64decode(replaced["auth"]) if replaced else None)


def open_case_thread(sealed_case: dict[str, Any], secret_key: bytes
                     ) -> thread_documents.ReportThread:
    """The report's thread, as an inspector holding ``secret_key`` opens it."""
    document = crypto.open_document(crypto.b64decode(sealed_case["report"]["payload"]),
                                    crypto.b64decode(sealed_case["report"]["key_slot"]),
                                    secret_key, sealed_case["pad_block"])
    return thread_documents.report_thread(document)


def inspector_message(sealed_case: dict[str, Any], secret_key: bytes, inspector_id: str,
                      text: str, *, note: bool = False) -> dict[str, Any]:
    """The body of an inspector's protocol 2 reply (or note), as the case page sends it."""
    thread = open_case_thread(sealed_case, secret_key)
    readers = {r["id"]: crypto.b64decode(r["public_key"]) for r in sealed_case["recipients"]}
    if not note:
        readers["reporter"] = thread.reporter_public_key
    if sealed_case["recovery_key"]:
        readers["recovery"] = crypto.b64decode(sealed_case["recovery_key"])
    sealed = crypto.seal_document(thread_documents.message_document(text, []), readers,
                                  sealed_case["pad_block"])
    chain = "notes" if note else "thread"
    report_payload = crypto.b64decode(sealed_case["report"]["payload"])
    links = case_links(sealed_case, chain)
    checks = threads.check_links(thread.secret, chain, report_payload, links)
    kept = [link for link, check in zip(links, checks, strict=True)
            if check.authentic and not check.replayed]
    last = max(kept, key=lambda link: link.seq) if kept else None
    link = threads.next_link(thread.secret, chain, report_payload, last, "inspector",
                             inspector_id, sealed.payload)
    return {"payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
            "link": {"seq": link.seq, "prev": crypto.b64encode(link.prev),
                     "auth": crypto.b64encode(link.auth)}}


def share_body(sealed_case: dict[str, Any], secret_key: bytes, inspector_id: str,
               target_id: str, target_key: bytes) -> dict[str, Any]:
    """The body of ``POST /cases/<id>/share`` for a protocol 2 case: every document key the
    sharer holds re-sealed to the target, and the share message at the thread's next place."""
    slots = {}
    documents = [("report", sealed_case["report"])] + [
        (m["id"], m) for m in sealed_case["messages"] if m["key_slot"]]
    for name, item in documents:
        key = crypto.open_key_slot(crypto.b64decode(item["key_slot"]), secret_key)
        slots[name] = crypto.b64encode(crypto.seal_key(key, target_key))
    thread = open_case_thread(sealed_case, secret_key)
    readers = {r["id"]: crypto.b64decode(r["public_key"]) for r in sealed_case["recipients"]}
    readers[target_id] = target_key
    readers["reporter"] = thread.reporter_public_key
    if sealed_case["recovery_key"]:
        readers["recovery"] = crypto.b64decode(sealed_case["recovery_key"])
    sealed = crypto.seal_document(thread_documents.share_document(target_id, target_key),
                                  readers, sealed_case["pad_block"])
    report_payload = crypto.b64decode(sealed_case["report"]["payload"])
    links = case_links(sealed_case, "thread")
    checks = threads.check_links(thread.secret, "thread", report_payload, links)
    kept = [link for link, check in zip(links, checks, strict=True) if check.intact]
    last = max(kept, key=lambda link: link.seq) if kept else None
    link = threads.next_link(thread.secret, "thread", report_payload, last, "inspector",
                             inspector_id, sealed.payload)
    return {"inspector": target_id, "reason": "Second opinion on the evidence.",
            "key_slots": slots, "message": {
        "payload": crypto.b64encode(sealed.payload),
        "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
        "link": {"seq": link.seq, "prev": crypto.b64encode(link.prev),
                 "auth": crypto.b64encode(link.auth)}}}


def mailbox_reader_changes(box: dict[str, Any], org_public_key: bytes,
                           recovery_key: bytes | None) -> list[thread_documents.ReaderChange]:
    """What the reporter's mailbox shows about who can read the case now (``box`` from
    ``Reporter2Client.mailbox``)."""
    current, uncertified = {}, []
    for reader in box["recipients"]:
        key = crypto.b64decode(reader["public_key"])
        certificate = crypto.b64decode(reader["certificate"]) if reader["certificate"] else None
        if verify_inspector_key(org_public_key, reader["id"], key, certificate):
            current[reader["id"]] = key
        else:
            uncertified.append(reader["id"])
    shares = {}
    for message, check in zip(box["messages"], box["checks"], strict=True):
        shared = thread_documents.shared_reader(message["document"]) if check.intact else None
        if shared is not None:
            shares[shared[0]] = shared[1]
    return thread_documents.reader_changes(box["thread"], current, shares, recovery_key,
                                           uncertified)
