"""Reports of retaliation (EU Directive 2019/1937 Art. 19-21; ISO 37002 8.4.2): made from the
mailbox of a case, each is a case of its own, linked to that case, in the same channel, sealed
to the same readers, with its own deadlines; and reached with the same receipt.

A report of retaliation has no receipt of its own: the reporter should not need a second one.
The mailbox finds the first case by the receipt's lookup, and a linked case by its reference
under it (``"case"`` in the mailbox requests, docs/protocol.md#reports-of-retaliation). Its
``lookup_hash`` is 32 random bytes, which no receipt's lookup hashes to.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import crypto
from crypto.thread_documents import report_document
from crypto.threads import new_thread_secret
from integrity.cases.check_ins import check_ins_json, stopped
from integrity.config import Settings
from integrity.installation import get_installation
from integrity.models import today
from integrity.notifications.outbox import Kind, notify_activity
from integrity.reporting.attachments import claim_attachments
from integrity.reporting.checks import (
    checked_claimable_attachments,
    checked_key_slots,
    checked_payload,
    checked_string_list,
)
from integrity.reporting.errors import ProtocolError
from integrity.reporting.mailbox import current_recipients, mailbox_view
from integrity.reporting.models import KeySlot, Report, Status, report_readers
from integrity.reporting.plain import OpenedMailbox
from integrity.reporting.routing import RECOVERY, REPORTER, expected_readers
from integrity.reporting.storage import AttachmentStore

RETALIATION = "retaliation"
# A receipt's mailbox takes this many reports of retaliation at most (a bound on what one
# receipt can file without a proof of work; each is a case someone must handle).
MAX_LINKED = 20
NOTHING = _l("Nothing matches this receipt.")
MAX_TEXT = 20000  # as a message


@dataclass(frozen=True)
class FixedQuestion:
    """A question of the report of retaliation's own form, the same in every channel."""

    key: str
    kind: str
    label: Any  # a lazy string: in the language of the page that shows it
    options: list[str] = field(default_factory=list)
    translations: dict[str, Any] = field(default_factory=dict)

    def text(self, name: str, language: str | None = None) -> Any:
        return str(self.label) if name == "label" else [] if name == "options" else ""


WHAT_HAPPENED = FixedQuestion(
    "what_happened", "long_text",
    _l("What has happened to you since your report? Who did it, and when?"))
QUESTIONS = (WHAT_HAPPENED,)


def question_json(*, reader: bool = False) -> list[dict[str, Any]]:
    """The form of a report of retaliation, as the mailbox (or, ``reader``, the case page)
    gives a questionnaire."""
    shown = [{"key": q.key, "kind": q.kind, "label": str(q.label), "options": []}
             for q in QUESTIONS]
    return [{**q, "options_by_language": {}} for q in shown] if reader else shown


def root_case(report: Report) -> Report:
    """The case whose receipt opens the mailbox ``report`` is in."""
    return report.retaliation_of if report.retaliation_of is not None else report


def linked_cases(session: Session, report: Report) -> list[Report]:
    """The reports of retaliation made from ``report``'s mailbox, oldest first."""
    return list(session.scalars(
        select(Report).where(Report.retaliation_of_id == report.id)
        .order_by(Report.created_on, Report.reference)))


def mailbox_case(session: Session, report: Report, body: object) -> Report:
    """The case a mailbox request is about: the receipt's own, or the linked case whose
    reference is in ``"case"``; 404 for any other."""
    wanted = body.get("case") if isinstance(body, dict) else None
    if wanted is None:
        return report
    found = session.scalar(select(Report).where(
        Report.retaliation_of_id == report.id, Report.reference == wanted)) \
        if isinstance(wanted, str) else None
    if found is None:
        raise ProtocolError(NOTHING, 404)
    return found


def case_json(report: Report) -> dict[str, Any]:
    """A linked case as the mailbox lists it: clear metadata only."""
    return {"case": report.reference, "kind": report.kind, "status": report.status,
            "outcome": report.outcome, "created_on": report.created_on.isoformat()}


def mailbox_extras(session: Session, root: Report, shown: Report) -> dict[str, Any]:
    """What ``POST /api/v1/mailbox`` adds: which case this is, the linked cases of the
    receipt, and for a report of retaliation its form."""
    linked = linked_cases(session, root)
    extras: dict[str, Any] = {
        "case": None if shown is root else shown.reference, "kind": shown.kind,
        "linked": [case_json(r) for r in linked],
        "can_report_retaliation": root.kind != RETALIATION and len(linked) < MAX_LINKED,
    }
    if shown.kind == RETALIATION:
        extras["questions"] = question_json()
    return extras


def store_retaliation(session: Session, settings: Settings, store: AttachmentStore,
                      root: Report, payload: bytes, slots: dict[str, bytes],
                      attachment_ids: list[str], protocol: int) -> Report:
    """Add the linked case: the first case's channel and readers, its reporter key (protocol
    1), random lookup bytes (it is reached through the first case), no category or unit."""
    if root.kind == RETALIATION or len(linked_cases(session, root)) >= MAX_LINKED:
        raise ProtocolError(_l("This mailbox takes no more reports of retaliation."))
    day = today()
    report = Report(
        kind=RETALIATION, retaliation_of_id=root.id, channel_id=root.channel_id,
        created_on=day, last_activity_on=day, lookup_hash=secrets.token_bytes(32),
        reporter_public_key=root.reporter_public_key if protocol == 1 else None,
        payload=payload, status=Status.NEW, protocol=protocol, held=False)
    session.add(report)
    session.flush()
    readers = [user.id for user in current_recipients(root)]
    session.execute(insert(report_readers),
                    [{"report_id": report.id, "user_id": uid} for uid in readers])
    session.add_all(KeySlot(report_id=report.id, message_id=None, reader=reader, slot=slot)
                    for reader, slot in slots.items())
    claim_attachments(session, store, attachment_ids, report.id, None)
    notify_activity(session, settings, Kind.CASE_NEW, readers)
    session.flush()
    session.refresh(report)
    return report


def file_retaliation(session: Session, settings: Settings, store: AttachmentStore,
                     root: Report, body: dict[str, Any]) -> Report:
    """``POST /api/v1/mailbox/retaliation``: a report of retaliation sealed in the browser to
    the first case's current readers, the reporter and the recovery key."""
    installation = get_installation(session, settings)
    payload = checked_payload(body, settings, installation.pad_block)
    readers = {str(user.id): user.public_key or b"" for user in current_recipients(root)}
    slots = checked_key_slots(body, expected_readers(readers, installation.recovery_public_key))
    attachments = checked_claimable_attachments(
        session, settings, checked_string_list(body, "attachments"))
    return store_retaliation(session, settings, store, root, payload, slots,
                             [a.id for a in attachments], root.protocol)


def mailbox_answer(session: Session, root: Report, shown: Report) -> dict[str, Any]:
    """``POST /api/v1/mailbox``: the case ``shown`` (the receipt's own, or a linked one), the
    receipt's linked cases, and the check-ins posted in ``shown``'s mailbox."""
    answer = mailbox_view(session, shown)
    answer.update(mailbox_extras(session, root, shown))
    answer["check_ins"] = check_ins_json(session, shown)
    answer["check_ins_stopped"] = stopped(session, root)
    return answer


def plain_retaliation(session: Session, settings: Settings, store: AttachmentStore,
                      mailbox: OpenedMailbox, text: str, language: str) -> Report:
    """A report of retaliation sent without JavaScript from the opened mailbox of its first
    case: sealed here, in memory, as the browser seals it (a protocol 2 report with a thread
    of its own when the first case is one)."""
    text = text.strip()
    if not text:
        raise ProtocolError(_l("Say what happened to you."))
    if len(text) > MAX_TEXT:
        raise ProtocolError(lazy_ngettext("Keep it under %(count)d character.",
                                          "Keep it under %(count)d characters.",
                                          MAX_TEXT, count=MAX_TEXT))
    root = mailbox.report
    installation = get_installation(session, settings)
    readers = {str(u.id): u.public_key or b"" for u in current_recipients(root)}
    reporter_key = crypto.KeyPair.from_secret_key(mailbox.secret_key).public_key
    answers = {WHAT_HAPPENED.key: text}
    document: dict[str, Any] = {"answers": answers, "attachments": [], "language": language}
    if root.protocol == 2:
        document = report_document(answers, [], language, new_thread_secret(), reporter_key,
                                   (root.channel.slug, None, None), readers, [],
                                   installation.recovery_public_key)
    keys = {**readers, REPORTER: reporter_key}
    if installation.recovery_public_key is not None:
        keys[RECOVERY] = installation.recovery_public_key
    sealed = crypto.seal_document(document, keys, installation.pad_block)
    return store_retaliation(session, settings, store, root, sealed.payload,
                             dict(sealed.key_slots), [], root.protocol)
