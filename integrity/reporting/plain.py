"""The server-side (no JavaScript) path: the server draws the receipt, derives and seals in
memory, and stores exactly the rows the browser path stores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from crypto.stream import cut_to, open_chunks, plain_length
from crypto.thread_documents import message_document, report_thread
from crypto.threads import link_auth
from integrity.cases.activity import record_activity
from integrity.cases.records import record_at
from integrity.channels import check_answers
from integrity.config import Settings
from integrity.installation import get_installation
from integrity.models import Channel
from integrity.notifications.outbox import Kind
from integrity.reporting.clean_files import FAILED
from integrity.reporting.errors import ProtocolError
from integrity.reporting.filing import Filing, store_filing
from integrity.reporting.links import THREAD, NewLink, expected_place
from integrity.reporting.mailbox import (
    add_message,
    current_recipients,
    find_report,
    mailbox_view,
    reporter_extras,
)
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
    keep_details: bool = False  # "send my files as they are": not cleaned of hidden details
    meeting: bool = False  # the reporter asks for a meeting or a call


def _entries(uploads: list[tuple[SealingSink, str, str]]) -> list[dict[str, Any]]:
    return [{"id": sink.attachment_id, "name": name, "type": kind, "size": sink.size,
             "key": crypto.b64encode(sink.key)} for sink, name, kind in uploads]


def _clean_uploads(settings: Settings, uploads: list[tuple[SealingSink, str, str]],
                   keep_details: bool) -> None:
    """Remove the files' hidden details (GPS position, phone model, author...) before they are
    sealed, unless the reporter chose to send them as they are; a file that may carry details
    that cannot be removed is refused unless so chosen."""
    if len(uploads) > settings.max_attachments:
        raise ProtocolError(lazy_ngettext(
            "A report or message takes at most %(count)d attachment.",
            "A report or message takes at most %(count)d attachments.",
            settings.max_attachments, count=settings.max_attachments), 413)
    for sink, name, _ in uploads:
        result = sink.clean(keep_details)
        if result is not None and result.status == FAILED and not keep_details:
            raise ProtocolError(_l(
                "The file “%(name)s” may carry hidden details, such as where and when it was "
                "made or by whom, that cannot be removed here. To send it anyway, tick “Send my "
                "files as they are”; or leave it out.", name=name))


def _attachment_rows(session: Session, settings: Settings,
                     uploads: list[tuple[SealingSink, str, str]]) -> list[str]:
    """Finish the sealed files and record them; returns their ids."""
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
    session: Session, settings: Settings, store: AttachmentStore, lookup_key: bytes,
    channel: Channel, form: PlainFiling,
) -> str:
    """Seal and store a report sent without JavaScript; returns its new receipt."""
    route = route_for(session, settings, channel.slug, form.category, form.org_unit)
    readers = resolve_readers(route, form.excluded)
    answers = check_answers(channel, form.answers, form.language)
    _clean_uploads(settings, form.uploads, form.keep_details)
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
    store_filing(session, settings, store, Filing(
        route, crypto.keyed_lookup_hash(keys.lookup, lookup_key), keys.public_key,
        sealed.payload, dict(sealed.key_slots),
        [int(rid) for rid in readers], attachment_ids,
        [int(rid) for rid in route.recipients if rid not in readers], meeting=form.meeting,
    ))
    for sink, _, _ in form.uploads:
        sink.kept = True  # type: ignore[attr-defined]
    return receipt


@dataclass
class OpenedMailbox:
    report: Report
    secret_key: bytes  # the reporter's, derived from the receipt: in memory only
    document: dict[str, Any]
    messages: list[tuple[Any, dict[str, Any]]]
    # Where a reader deleted a file or a message, or redacted a passage (never why).
    tombstones: list[dict[str, Any]] = field(default_factory=list)

    @property
    def deleted_files(self) -> dict[str, dict[str, Any]]:
        """The tombstone of each deleted file, by the file's id."""
        return {t["attachment"]: t for t in self.tombstones if t["kind"] == "attachment"}

    def message_tombstones(self, place: str) -> list[dict[str, Any]]:
        """The tombstones of the message at ``place`` (deleted, or a passage redacted)."""
        return [t for t in self.tombstones if t["message"] == place and t["kind"] != "attachment"]


def _opened(session: Session, settings: Settings, report: Report,
            secret_key: bytes) -> OpenedMailbox:
    """The report and every message of its thread, opened with the reporter's secret key."""
    pad_block = get_installation(session, settings).pad_block
    view = mailbox_view(session, report)

    def opened(item: dict[str, Any]) -> dict[str, Any]:
        return crypto.open_document(crypto.b64decode(item["payload"]),
                                    crypto.b64decode(item["key_slot"]), secret_key, pad_block)

    # A deleted message has neither payload nor key slot: its tombstone stands in its place.
    messages = [(m, opened(m) if m["key_slot"] else {}) for m in view["messages"]]
    return OpenedMailbox(report, secret_key, opened(view["report"]), messages,
                         view["tombstones"])


def open_plain_mailbox(session: Session, settings: Settings, lookup_key: bytes,
                       receipt_text: str) -> OpenedMailbox:
    """Derive from the receipt in memory, find the report and open the whole thread."""
    try:
        receipt = crypto.normalise_receipt(receipt_text)
    except crypto.ReceiptError as exc:
        raise ProtocolError(_l("A receipt has exactly 20 digits."), 400) from exc
    installation = get_installation(session, settings)
    keys = crypto.derive_reporter_keys(receipt, installation.kdf_salt, installation.kdf_opslimit,
                                       installation.kdf_memlimit)
    report = find_report(session, {"lookup": crypto.b64encode(keys.lookup)}, lookup_key)
    return _opened(session, settings, report, keys.secret_key)


def reopen_plain_mailbox(session: Session, settings: Settings, report_id: int,
                         secret_key: bytes, case: str | None = None) -> OpenedMailbox | None:
    """The thread again, from what a mailbox token keeps (no derivation); with ``case``, that
    of the report of retaliation linked to it under that reference. None if the report is
    gone meanwhile (or no linked case has that reference)."""
    report = session.get(Report, report_id)
    if report is not None and case:
        report = session.scalar(select(Report).where(Report.retaliation_of_id == report.id,
                                                     Report.reference == case))
    if report is None:
        return None
    return _opened(session, settings, report, secret_key)


def reply_plain(
    session: Session, settings: Settings, store: AttachmentStore, mailbox: OpenedMailbox,
    text: str, uploads: list[tuple[SealingSink, str, str]], keep_details: bool = False,
    meeting: bool = False, corrects: str | None = None,
) -> None:
    """A reporter's message sent without JavaScript, sealed to the case's readers; for a
    protocol 2 report, with its link made here, in memory, from the opened report's thread.
    It may ask for a meeting or a call, and correct a record (its id in the mailbox)."""
    if not text.strip() and not uploads:
        raise ProtocolError(_l("Write a message or attach a file."))
    corrected = record_at(mailbox.report, corrects) if corrects else None
    _clean_uploads(settings, uploads, keep_details)
    report = mailbox.report
    installation = get_installation(session, settings)
    attachment_ids = _attachment_rows(session, settings, uploads)
    readers = {str(user.id): user.public_key or b"" for user in current_recipients(report)}
    document: dict[str, Any] = {"text": text.strip(), "attachments": _entries(uploads)}
    if report.protocol == 2:
        document = message_document(document["text"], document["attachments"])
    sealed = crypto.seal_document(
        document,
        _with_reporter(readers, crypto.KeyPair.from_secret_key(mailbox.secret_key).public_key,
                       installation.recovery_public_key),
        installation.pad_block,
    )
    link = None
    if report.protocol == 2:
        secret = report_thread(mailbox.document).secret
        seq, prev = expected_place(session, report, THREAD)
        link = NewLink(THREAD, seq, prev, link_auth(secret, THREAD, seq, "reporter", "", prev,
                                                    sealed.payload))
    add_message(session, store, report, Sender.REPORTER, None, sealed.payload,
                sealed.key_slots, attachment_ids, link)
    reporter_extras(session, report, meeting, corrected)
    record_activity(session, settings, report, None, Kind.REPORTER_MESSAGE)
    for sink, _, _ in uploads:
        sink.kept = True  # type: ignore[attr-defined]


def _decrypted(store: AttachmentStore, attachment_id: str, key: bytes,
               size: int) -> Iterator[bytes]:
    with store.open(attachment_id) as sealed:
        yield from cut_to(open_chunks(sealed, key), size)


def plain_attachment(
    store: AttachmentStore, mailbox: OpenedMailbox, attachment_id: str,
) -> tuple[dict[str, Any], int, Iterator[bytes]]:
    """An attachment of the thread: its entry, its length and its content, decrypted chunk by
    chunk as it is sent. The length is the entry's size where it is within the sealed file's
    plaintext (what follows is padding), else the whole plaintext."""
    documents = [mailbox.document] + [doc for _, doc in mailbox.messages]
    for document in documents:
        for entry in document.get("attachments", []):
            if entry.get("id") == attachment_id:
                stored = store.size(attachment_id)
                if stored is None:
                    break  # gone (deleted by a reader) while the mailbox was open
                length = plain_length(stored)
                size = entry.get("size")
                if isinstance(size, int) and not isinstance(size, bool) and 0 <= size < length:
                    length = size
                return entry, length, _decrypted(store, attachment_id,
                                                 crypto.b64decode(entry["key"], 32), length)
    raise ProtocolError(_l("Nothing matches this receipt."), 404)
