"""The persons concerned of a case, sealed and opened as the case page's script does."""

from __future__ import annotations

from datetime import date

import crypto
from integrity.models import today
from tests.conftest import csrf_token

NAME = "Dragan Petrović-Zlatanović, shift chief, lane 2"


class Page:
    """What the case page's script does with the persons of a case."""

    def __init__(self, client, report_id: int, pair: crypto.KeyPair) -> None:
        self.client, self.report_id, self.pair = client, report_id, pair
        self.sealed = client.get(f"/cases/{report_id}/sealed").get_json()
        self.headers = {"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}

    def seal(self, document: dict) -> dict:
        readers = {r["id"]: crypto.b64decode(r["public_key"]) for r in self.sealed["recipients"]}
        if self.sealed["recovery_key"]:
            readers["recovery"] = crypto.b64decode(self.sealed["recovery_key"])
        sealed = crypto.seal_document(document, readers, self.sealed["pad_block"])
        return {"payload": crypto.b64encode(sealed.payload),
                "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()}}

    def persons(self) -> list[dict]:
        response = self.client.get(f"/cases/{self.report_id}/persons")
        assert response.status_code == 200
        return response.get_json()["persons"]

    def open(self, item: dict) -> dict:
        return crypto.open_document(crypto.b64decode(item["payload"]),
                                    crypto.b64decode(item["key_slot"]), self.pair.secret_key,
                                    self.sealed["pad_block"])

    def add(self, name: str = NAME, role: str = "subject") -> str:
        response = self.client.post(f"/cases/{self.report_id}/persons", headers=self.headers,
                                    json=self.seal({"name": name, "role": role}))
        assert response.status_code == 201, response.get_json()
        return response.get_json()["person"]

    def step(self, person: str, kind: str, text: str = "", on: date | None = None,
             review_on: date | None = None, attachments: list | None = None):
        body = {"kind": kind, "on": (on or today()).isoformat(),
                **self.seal({"text": text, "attachments": [e for _, e in attachments or []]})}
        if review_on is not None:
            body["review_on"] = review_on.isoformat()
        if attachments:
            body["attachments"] = [upload_id for upload_id, _ in attachments]
        return self.client.post(f"/cases/{self.report_id}/persons/{person}/steps",
                                headers=self.headers, json=body)

    def delete(self, person: str):
        return self.client.post(f"/cases/{self.report_id}/persons/{person}/delete",
                                headers=self.headers, json={})
