"""A reporter's client written from the protocol page alone, on crypto/ (for the tests)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import crypto
from crypto import pow as work


@dataclass
class Upload:
    name: str
    type: str
    data: bytes


@dataclass
class Filed:
    receipt: str
    keys: crypto.ReporterKeys
    body: dict[str, Any]
    response: Any
    attachment_ids: list[str] = field(default_factory=list)


class ReporterClient:
    """Speaks protocol v1 to a Flask test client (or anything with .get/.post like it)."""

    def __init__(self, http: Any) -> None:
        self.http = http
        self._config: dict[str, Any] | None = None

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            response = self.http.get("/api/v1/config")
            assert response.status_code == 200, response.get_data(as_text=True)
            self._config = response.get_json()
        return self._config

    def channel(self, slug: str) -> dict[str, Any]:
        return next(c for c in self.config["channels"] if c["slug"] == slug)

    def derive(self, receipt: str) -> crypto.ReporterKeys:
        cfg = self.config
        return crypto.derive_reporter_keys(receipt, crypto.b64decode(cfg["salt"]),
                                           cfg["argon2id"]["opslimit"],
                                           cfg["argon2id"]["memlimit"])

    def pow(self) -> dict[str, Any] | None:
        if not self.config["pow_bits"]:
            return None
        response = self.http.get("/api/v1/pow")
        assert response.status_code == 200, response.get_data(as_text=True)
        challenge = response.get_json()
        nonce = work.solve_pow(crypto.b64decode(challenge["challenge"]), challenge["bits"])
        return {"challenge": challenge["challenge"], "nonce": nonce}

    def upload(self, upload: Upload) -> tuple[str, dict[str, Any]]:
        """Seal and send a file; returns its id and its entry for the document."""
        sealed = io.BytesIO()
        key = crypto.seal_file(io.BytesIO(upload.data), sealed)
        response = self.http.post("/api/v1/attachments", data=sealed.getvalue(),
                                  content_type="application/octet-stream")
        assert response.status_code == 201, response.get_data(as_text=True)
        attachment_id = response.get_json()["id"]
        return attachment_id, {"id": attachment_id, "name": upload.name, "type": upload.type,
                               "size": len(upload.data), "key": crypto.b64encode(key)}

    def readers(self, recipients: list[dict[str, Any]], reporter_pk: bytes) -> dict[str, bytes]:
        readers = {r["id"]: crypto.b64decode(r["public_key"]) for r in recipients}
        readers["reporter"] = reporter_pk
        if self.config["recovery_key"]:
            readers["recovery"] = crypto.b64decode(self.config["recovery_key"])
        return readers

    def report_body(self, channel: str, answers: dict[str, Any], *, receipt: str | None = None,
                    uploads: list[Upload] = (), category: str | None = None,
                    org_unit: str | None = None, excluded: list[str] = (),
                    language: str | None = None,
                    attachments: tuple[list[str], list[dict[str, Any]]] = ([], [])) -> Filed:
        """Everything a filing needs, without sending the report itself; ``language``, the
        optional language the answers were given in, goes into the sealed document;
        ``attachments``, ids and entries of files uploaded already, come before ``uploads``."""
        receipt = receipt or crypto.generate_receipt()
        keys = self.derive(receipt)
        ids, entries = list(attachments[0]), list(attachments[1])
        for upload in uploads:
            attachment_id, entry = self.upload(upload)
            ids.append(attachment_id)
            entries.append(entry)
        recipients = [r for r in self.channel(channel)["recipients"] if r["id"] not in excluded]
        document: dict[str, Any] = {"answers": answers, "attachments": entries}
        if language is not None:
            document["language"] = language
        sealed = crypto.seal_document(document, self.readers(recipients, keys.public_key),
                                      self.config["pad_block"])
        body = {
            "protocol": 1, "channel": channel, "category": category, "org_unit": org_unit,
            "lookup": crypto.b64encode(keys.lookup),
            "reporter_public_key": crypto.b64encode(keys.public_key),
            "payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
            "excluded": list(excluded), "attachments": ids,
        }
        return Filed(receipt, keys, body, None, ids)

    def send(self, filed: Filed, *, with_pow: bool = True) -> Filed:
        body = dict(filed.body)
        if with_pow and "pow" not in body:
            solved = self.pow()
            if solved:
                body["pow"] = solved
        filed.body = body
        filed.response = self.http.post("/api/v1/reports", json=body)
        return filed

    def file(self, channel: str, answers: dict[str, Any], **kwargs: Any) -> Filed:
        filed = self.send(self.report_body(channel, answers, **kwargs))
        assert filed.response.status_code == 201, filed.response.get_data(as_text=True)
        return filed

    def mailbox(self, receipt: str) -> dict[str, Any]:
        """The mailbox with the report and every message opened."""
        keys = self.derive(receipt)
        response = self.http.post("/api/v1/mailbox", json={"lookup": crypto.b64encode(keys.lookup)})
        assert response.status_code == 200, response.get_data(as_text=True)
        box = response.get_json()
        pad_block = self.config["pad_block"]
        box["report"]["document"] = crypto.open_document(
            crypto.b64decode(box["report"]["payload"]),
            crypto.b64decode(box["report"]["key_slot"]), keys.secret_key, pad_block)
        for message in box["messages"]:
            if message.get("deleted"):
                message["document"] = None  # a tombstone stands in its place
                continue
            message["document"] = crypto.open_document(
                crypto.b64decode(message["payload"]), crypto.b64decode(message["key_slot"]),
                keys.secret_key, pad_block)
        return box

    def reply(self, receipt: str, text: str, uploads: list[Upload] = ()) -> Any:
        keys = self.derive(receipt)
        box = self.mailbox(receipt)
        ids, entries = [], []
        for upload in uploads:
            attachment_id, entry = self.upload(upload)
            ids.append(attachment_id)
            entries.append(entry)
        sealed = crypto.seal_document({"text": text, "attachments": entries},
                                      self.readers(box["recipients"], keys.public_key),
                                      self.config["pad_block"])
        return self.http.post("/api/v1/mailbox/messages", json={
            "lookup": crypto.b64encode(keys.lookup), "payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
            "attachments": ids,
        })

    def download(self, receipt: str, attachment_id: str) -> bytes:
        keys = self.derive(receipt)
        response = self.http.post("/api/v1/mailbox/attachment",
                                  json={"lookup": crypto.b64encode(keys.lookup),
                                        "id": attachment_id})
        try:
            assert response.status_code == 200, response.get_data(as_text=True)
            return response.get_data()
        finally:
            response.close()
