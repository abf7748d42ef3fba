"""Reports filed through the test client, and case items opened and sealed as a page would."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity import current
from integrity.reporting.models import Report
from tests.conftest import ChannelSetup, csrf_token
from tests.protocol_client import Filed, ReporterClient

# The receipt as the receipt page shows it.
RECEIPT = re.compile(r'id="receipt"[^>]*>(\d{4} \d{4} \d{4} \d{4} \d{4})<')
# The mailbox token the opened mailbox's forms carry (basic mode).
MAILBOX_TOKEN = re.compile(r'name="mailbox_token" value="([^"]+)"')
# What the reports filed with ``file_report`` say.
CASE_ANSWERS = {"what": "Lorries from one haulier pass lane 3 unchecked."}


class _Forms(HTMLParser):
    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.forms, self.inside = action, [], False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.inside = (found.get("action") or "").split("?")[0] == self.action
            if self.inside:
                self.forms.append({})
        elif tag == "input" and self.inside and found.get("type") == "hidden":
            self.forms[-1][found.get("name") or ""] = found.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def hidden_fields(html: str, action: str) -> list[dict[str, str]]:
    """The hidden fields of each form of ``html`` that posts to ``action``, as a browser
    would send them."""
    parser = _Forms(action)
    parser.feed(html)
    return parser.forms


def plain_mailbox_token(client: FlaskClient, receipt: str, url: str = "/mailbox") -> str:
    """Open the mailbox without JavaScript; the mailbox token its page carries."""
    page = client.post(url, data={"csrf_token": csrf_token(client, url), "receipt": receipt})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    match = MAILBOX_TOKEN.search(page.get_data(as_text=True))
    assert match, "no mailbox token on the page"
    return match.group(1)


def file_plain_form(client: FlaskClient, channel: ChannelSetup, **extra: Any) -> Any:
    """File a report of the demo channel through the plain form (no JavaScript)."""
    url = f"/report/{channel.slug}"
    data = {"csrf_token": csrf_token(client, url),
            "q-what": "Officer at lane 4 asks 20 EUR per car.", "q-when": "2026-11-20",
            "q-ongoing": "yes", "q-evidence": ["Photos or video", "Messages"],
            "category": "bribery", **extra}
    return client.post(url, data=data, content_type="multipart/form-data")


def plain_answers_report(app: Any, slug: str, answers: dict[str, object]) -> Any:
    """A channel's form sent without JavaScript with these answers, as a browser would."""
    reporter = app.test_client()
    data: dict[str, object] = {"csrf_token": csrf_token(reporter, f"/report/{slug}")}
    data.update({f"q-{key}": value for key, value in answers.items()})
    return reporter.post(f"/report/{slug}", data=data)


def filed_report_id(app: Flask, filed: Filed) -> int:
    """The id of the report ``filed``, found by its lookup as the mailbox finds it (ids are
    random: the newest report is not the one with the largest id)."""
    digest = crypto.keyed_lookup_hash(filed.keys.lookup, current.lookup_key(app))
    with app.extensions["integrity.engine"].connect() as connection:
        found = connection.scalar(select(Report.id).where(Report.lookup_hash == digest))
    assert found is not None, "no report has this receipt"
    return int(found)


def report_ids(db: Session) -> set[int]:
    """The ids of the reports stored now (to tell the one filed next: ``new_report_id``)."""
    db.expire_all()
    return set(db.scalars(select(Report.id)))


def new_report_id(db: Session, before: set[int]) -> int:
    """The id of the one report filed since ``before`` was read."""
    (found,) = report_ids(db) - before
    return found


def file_report(client: FlaskClient, channel: ChannelSetup, excluded: Iterable[str] = ()) -> int:
    """File a report through the API, sealed to all readers but ``excluded``; its id."""
    filed = ReporterClient(client).file(channel.slug, CASE_ANSWERS, category="waving-through",
                                        excluded=list(excluded))
    return filed_report_id(client.application, filed)


def first_case(client: FlaskClient) -> int:
    """The id of the first case in the signed-in inspector's inbox."""
    match = re.search(r'href="/cases/(\d+)"', client.get("/cases/").get_data(as_text=True))
    assert match, "no case in the inbox"
    return int(match.group(1))


def open_item(data: dict, item: dict, pair: crypto.KeyPair) -> dict:
    """A message or note of a case's thread, opened by ``pair``; ``data`` is the sealed case
    (from the case's ``sealed`` URL)."""
    return crypto.open_document(crypto.b64decode(item["payload"]),
                                crypto.b64decode(item["key_slot"]), pair.secret_key,
                                data["pad_block"])


def seal_item(data: dict, document: dict, *, note: bool) -> dict:
    """``document`` sealed as the case page seals a reply (or a note, not for the reporter)."""
    readers = {r["id"]: crypto.b64decode(r["public_key"]) for r in data["recipients"]}
    if not note:
        readers["reporter"] = crypto.b64decode(data["reporter_public_key"])
    if data["recovery_key"]:
        readers["recovery"] = crypto.b64decode(data["recovery_key"])
    sealed = crypto.seal_document(document, readers, data["pad_block"])
    return {"payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()}}


def seal_reason(data: dict, reason: str) -> dict:
    """A tombstone's reason sealed as the case page seals it: ``{"reason": ...}`` to the
    readers of a note (never the reporter), as the deletion and redaction routes take it."""
    return seal_item(data, {"reason": reason}, note=True)


def open_reason(data: dict, tombstone: dict, pair: crypto.KeyPair) -> str:
    """A tombstone's sealed reason, from the case's ``sealed`` listing, opened by ``pair``."""
    return str(open_item(data, tombstone["reason"], pair)["reason"])
