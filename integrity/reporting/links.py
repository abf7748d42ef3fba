"""Where a protocol 2 message goes in its chain (docs/protocol.md#authenticated-threads).

The server cannot check a message's authenticator (it has no thread secret), but it keeps each
chain in one line: a new message must take the next place (``seq``) and name the link hash of
the message before it (``prev``), or the root for the first. A writer who read the thread
before someone else wrote gets a 409 and reads again. Readers check the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from crypto import threads
from integrity.reporting.errors import ProtocolError
from integrity.reporting.models import Message, Report, Sender

THREAD, NOTES = "thread", "notes"
MOVED_ON = _l("The conversation has changed since you opened it: open it again, then send.")


@dataclass(frozen=True)
class NewLink:
    """The place and authenticator a writer offers for a new message."""

    chain: str
    seq: int
    prev: bytes
    auth: bytes


def message_link(message: Message) -> threads.Link | None:
    """A stored message's link, as readers check it; None for a protocol 1 message."""
    if message.chain is None or message.seq is None or message.prev is None \
            or message.auth is None:
        return None
    reporter = message.sender == Sender.REPORTER
    return threads.Link(message.seq, "reporter" if reporter else "inspector",
                        "" if reporter else str(message.author_id or ""), message.prev,
                        message.payload, message.auth, message.payload_hash,
                        message.replaced_by, message.replacement_auth)


def link_json(message: Message) -> dict[str, Any] | None:
    """``"link"`` of a message in the mailbox and case answers (null for protocol 1)."""
    link = message_link(message)
    if link is None:
        return None
    found: dict[str, Any] = {
        "chain": message.chain, "seq": link.seq, "role": link.role, "sender": link.sender,
        "prev": crypto.b64encode(link.prev), "auth": crypto.b64encode(link.auth)}
    if message.payload_hash is not None:
        # Replaced by a reader (docs/protocol.md#redactions-and-deletions).
        found["replaced"] = {
            "payload_hash": crypto.b64encode(message.payload_hash),
            "by": message.replaced_by or "",
            "auth": crypto.b64encode(message.replacement_auth or b"")}
    return found


def checked_link(body: dict[str, Any], report: Report, chain: str) -> NewLink | None:
    """The ``link`` of a message body: required for a protocol 2 report, refused otherwise."""
    field = body.get("link")
    if report.protocol != 2:
        if field is not None:
            raise ProtocolError(_l("This report was filed with protocol 1: its messages carry "
                                   "no link."))
        return None
    if not isinstance(field, dict):
        raise ProtocolError(_l("A message of a protocol 2 report needs its link."))
    seq = field.get("seq")
    if type(seq) is not int or not 1 <= seq <= threads.MAX_SEQ:
        raise ProtocolError(_l("The link's place must be a whole number from 1."))
    try:
        prev = crypto.b64decode(field.get("prev"), 32, what="link's previous hash")
        auth = crypto.b64decode(field.get("auth"), 32, what="link's authenticator")
    except crypto.EncodingError as exc:
        raise ProtocolError(exc) from exc
    return NewLink(chain, seq, prev, auth)


def expected_place(session: Session, report: Report, chain: str) -> tuple[int, bytes]:
    """The ``seq`` and ``prev`` the next message of ``chain`` must carry."""
    last = session.scalar(select(Message).where(Message.report_id == report.id,
                                                Message.chain == chain)
                          .order_by(Message.seq.desc()).limit(1))
    link = message_link(last) if last is not None else None
    if link is None:
        return 1, threads.thread_root(chain, report.payload)
    return link.seq + 1, threads.link_hash(chain, link)


def check_place(session: Session, report: Report, link: NewLink) -> None:
    """409 unless ``link`` takes the next place of its chain."""
    seq, prev = expected_place(session, report, link.chain)
    if link.seq != seq or link.prev != prev:
        raise ProtocolError(MOVED_ON, 409)
