"""The server-side (no JavaScript) path: the server draws the receipt, derives and seals in
memory, and stores exactly the rows the browser path stores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session

import crypto
from crypto.stream import open_chunks
from integrity.channels import check_answers
from integrity.config import Settings
from integrity.installation import get_installation
from integrity.models import Channel
from integrity.reporting.errors import ProtocolError
from integrity.reporting.filing import Filing, store_filing
from integrity.reporting.mailbox import add_message, find_report, mailbox_readers, mailbox_view
from integrity.reporting.models import Attachment, Report, Sender
from integrity.reporting.routing import RECOVERY, REPORTER, resolve_readers, route_for
from integrity.reporting.storage import AttachmentStore
from integrity.reporting.uploads import SealingSink


@dataclass(frozen=True)
class PlainFiling:
    category: str | None
    org_unit: str | None
    excluded: list[str]
    answers: dict[str, Any]
    uploads: list[tuple[SealingSink, str, str]]  # sink, file name, media type
    language: str  # the language the form was shown in: its options are the answers'


def _entries(uploads: list[tuple[SealingSink, str, str]]) -> list[dict[str, Any]]:
    return [{"id": sink.attachment_id, "name": name, "type": kind, "size": sink.size,
             "key": crypto.b64encode(sink.key)} for sink, name, kind in uploads]


def _attachment_rows(session: Session, settings: Settings,
                     uploads: list[tuple[SealingSink, str, str]]) -> list[str]:
    """Finish the sealed files and record them; returns their ids."""
    if len(uploads) > settings.max_attachments:
        raise ProtocolError(lazy_ngettext(
            "A report or message takes at most %(count)d attachment.",
            "A report or message takes at most %(count)d attachments.",
            settings.max_attachments, count=settings.max_attachments), 413)
    if sum(sink.sealed_size for sink, _, _ in uploads) > settings.max_report_attachment_bytes:
        raise ProtocolError(_l("The attachments together are larger than this server accepts."),
                            413)
    rows = []
    for sink, _, _ in uploads:
        sink.finish()
        rows.append(Attachment(id=sink.attachment_id, size=sink.sealed_size))
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def _with_reporter(readers: dict[str, bytes], reporter_key: bytes,
                   recovery_key: bytes | None) -> dict[str, bytes]:
    keys = {**readers, REPORTER: reporter_key}
    if recovery_key is not None:
        keys[RECOVERY] = recovery_key
    return keys


def file_plain_report(
    session: Session, settings: Settings, store: AttachmentStore, channel: Channel,
    form: PlainFiling,
) -> str:
    """Seal and store a report sent without JavaScript; returns its new receipt."""
    route = route_for(session, settings, channel.slug, form.category, form.org_unit)
    readers = resolve_readers(route, form.excluded)
    answers = check_answers(channel, form.answers, form.language)
    installation = get_installation(session, settings)
    receipt = crypto.generate_receipt()
    keys = crypto.derive_reporter_keys(receipt, installation.kdf_salt, installation.kdf_opslimit,
                                       installation.kdf_memlimit)
    attachment_ids = _attachment_rows(session, settings, form.uploads)
    document = {"answers": answers, "attachments": _entries(form.uploads),
                "language": form.language}
    sealed = crypto.seal_document(document,
                                  _with_reporter(readers, keys.public_key, route.recovery_key),
                                  installation.pad_block)
    store_filing(session, store, Filing(
        route, keys.lookup_hash, keys.public_key, sealed.payload, dict(sealed.key_slots),
        [int(rid) for rid in readers], attachment_ids,
        [int(rid) for rid in route.recipients if rid not in readers],
    ))
    for sink, _, _ in form.uploads:
        sink.kept = True  # type: ignore[attr-defined]
    return receipt


@dataclass
class OpenedMailbox:
    receipt: str
    report: Report
    document: dict[str, Any]
    messages: list[tuple[Any, dict[str, Any]]]


def open_plain_mailbox(session: Session, settings: Settings, receipt_text: str) -> OpenedMailbox:
    """Derive from the receipt in memory, find the report and open the whole thread."""
    try:
        receipt = crypto.normalise_receipt(receipt_text)
    except crypto.ReceiptError as exc:
        raise ProtocolError(_l("A receipt has exactly 20 digits."), 400) from exc
    installation = get_installation(session, settings)
    keys = crypto.derive_reporter_keys(receipt, installation.kdf_salt, installation.kdf_opslimit,
                                       installation.kdf_memlimit)
    report = find_report(session, {"lookup": crypto.b64encode(keys.lookup)})
    view = mailbox_view(session, report)

    def opened(item: dict[str, Any]) -> dict[str, Any]:
        return crypto.open_document(crypto.b64decode(item["payload"]),
                                    crypto.b64decode(item["key_slot"]), keys.secret_key,
                                    installation.pad_block)

    messages = [(m, opened(m)) for m in view["messages"]]
    return OpenedMailbox(receipt, report, opened(view["report"]), messages)


def reply_plain(
    session: Session, settings: Settings, store: AttachmentStore, receipt_text: str,
    text: str, uploads: list[tuple[SealingSink, str, str]],
) -> None:
    """A reporter's message sent without JavaScript, sealed to the case's readers."""
    if not text.strip() and not uploads:
        raise ProtocolError(_l("Write a message or attach a file."))
    mailbox = open_plain_mailbox(session, settings, receipt_text)
    report = mailbox.report
    installation = get_installation(session, settings)
    attachment_ids = _attachment_rows(session, settings, uploads)
    readers = {str(user.id): user.public_key or b"" for user in mailbox_readers(report)}
    sealed = crypto.seal_document(
        {"text": text.strip(), "attachments": _entries(uploads)},
        _with_reporter(readers, report.reporter_public_key,
                       installation.recovery_public_key),
        installation.pad_block,
    )
    add_message(session, store, report, Sender.REPORTER, None, sealed.payload,
                sealed.key_slots, attachment_ids)
    for sink, _, _ in uploads:
        sink.kept = True  # type: ignore[attr-defined]


def _decrypted(store: AttachmentStore, attachment_id: str, key: bytes) -> Iterator[bytes]:
    with store.open(attachment_id) as sealed:
        yield from open_chunks(sealed, key)


def plain_attachment(
    session: Session, settings: Settings, store: AttachmentStore, receipt_text: str,
    attachment_id: str,
) -> tuple[dict[str, Any], Iterator[bytes]]:
    """An attachment of the thread, decrypted chunk by chunk as it is sent."""
    mailbox = open_plain_mailbox(session, settings, receipt_text)
    documents = [mailbox.document] + [doc for _, doc in mailbox.messages]
    for document in documents:
        for entry in document.get("attachments", []):
            if entry.get("id") == attachment_id:
                return entry, _decrypted(store, attachment_id, crypto.b64decode(entry["key"], 32))
    raise ProtocolError(_l("Nothing matches this receipt."), 404)
