"""Reports, their thread and attachments: ciphertext plus the few cleartext routing fields."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Optional

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    event,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from integrity.cases.deadlines import next_due
from integrity.cases.references import new_reference
from integrity.db import ROW_ID, Base, place_last, random_row_id
from integrity.models import Category, Channel, OrgUnit, User, enum_column_type, today


class Status(enum.StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Outcome(enum.StrEnum):
    SUBSTANTIATED = "substantiated"
    PARTLY_SUBSTANTIATED = "partly_substantiated"
    UNSUBSTANTIATED = "unsubstantiated"
    NOT_IN_SCOPE = "not_in_scope"


class Sender(enum.StrEnum):
    REPORTER = "reporter"
    INSPECTOR = "inspector"
    # An internal note: sealed to the case's inspectors only, never shown to the reporter.
    NOTE = "note"


class MessageKind(enum.StrEnum):
    """What an inspector's message to the reporter is, in clear so the server can keep the
    legal deadlines without reading it (EU Directive 2019/1937, Art. 5(13), 9(1)(f))."""

    MESSAGE = "message"  # anything else: a question, a thank-you; also every reporter's message
    FEEDBACK = "feedback"  # the measures taken or planned, and their grounds
    FINAL_NOTICE = "final_notice"  # the outcome and its grounds; a case closes only after one
    # Minutes or a transcript (of an oral report, a meeting, a voice message) that the reporter
    # is asked to check, correct and agree (Art. 18(2)-(4)): integrity/cases/records.py.
    RECORD = "record"


class MeetingState(enum.StrEnum):
    """Where a reporter's request for a meeting or a call stands (Art. 9(2))."""

    REQUESTED = "requested"  # waiting for an answer by its due day
    ARRANGED = "arranged"  # answered: a meeting or call was agreed with the reporter
    HELD = "held"
    DECLINED = "declined"  # answered: the reason went to the reporter as a message


report_readers = Table(
    "report_readers",
    Base.metadata,
    Column("report_id", ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # Activity this reader has not seen yet: a new case, a reporter's message, a share, a
    # colleague's note. Set for every reader but the one who acted; cleared when they open it.
    Column("unseen", Boolean, nullable=False, server_default=true()),
    # A reader's cases, and those with activity they have not seen, counted and gathered from
    # the index alone (integrity/cases/inbox.py); it also serves lookups by user_id.
    Index("ix_report_readers_user_id_unseen", "user_id", "unseen", "report_id"),
)

# The inspectors the reporter left out. The server is told at filing (the request names
# them), and keeps it so that a case is never shared with, nor shown to, one of them.
report_exclusions = Table(
    "report_exclusions",
    Base.metadata,
    Column("report_id", ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Report(Base):
    """A filed report. Only the channel, optional category and unit, and the day are clear."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'acknowledged', 'in_progress', 'closed')", name="status"
        ),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('substantiated', 'partly_substantiated', "
            "'unsubstantiated', 'not_in_scope')", name="outcome"
        ),
        CheckConstraint("(status = 'closed') = (outcome IS NOT NULL)", name="closed_outcome"),
        Index("ix_reports_status_created_on", "status", "created_on"),
        # The inbox's two orders, ties broken by id, walked in order by its keyset pages.
        Index("ix_reports_created_on_id", "created_on", "id"),
        Index("ix_reports_next_due_on_id", "next_due_on", "id"),
        CheckConstraint("kind IN ('report', 'retaliation')", name="kind"),
    )

    # Random, never counted (integrity/db.py: random_row_id), like the ids of messages and key
    # slots: a copy of the database does not give the order of filing by them.
    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=False,
                                    default=random_row_id)
    # A short random name a person can say on the phone ("K7QX-2M4P"): never sequential, so it
    # gives neither the order nor the number of filings (integrity/cases/references.py).
    reference: Mapped[str] = mapped_column(String(9), unique=True, default=new_reference)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("categories.id"))
    org_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_units.id"))
    # A day, never a time: the order of filing within a day must not be recoverable.
    created_on: Mapped[date] = mapped_column(Date, default=today)
    # crypto_generichash(lookup): the mailbox finds the report by it; the lookup is not stored.
    lookup_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # Protocol 1 only: a protocol 2 report carries the reporter's key inside its sealed
    # document, so that no stored key can be used to test guessed receipts.
    reporter_public_key: Mapped[Optional[bytes]] = mapped_column(LargeBinary(32))
    protocol: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[Status] = mapped_column(enum_column_type(Status, 16), default=Status.NEW)
    # Workflow days (EU Directive 2019/1937 Art. 9): acknowledge within 7 days, feedback
    # within 3 months. Days only, like the filing day.
    acknowledged_on: Mapped[Optional[date]] = mapped_column(Date)
    # Set only by a message of kind feedback or final notice, never by any other message.
    feedback_on: Mapped[Optional[date]] = mapped_column(Date)
    # The day of the final notice that stands: closing needs one; reopening the case clears it.
    final_notice_on: Mapped[Optional[date]] = mapped_column(Date)
    closed_on: Mapped[Optional[date]] = mapped_column(Date)
    # A legal hold: proceedings run, so retention deletes nothing of the case until it is lifted.
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # An oral report (a meeting, a call, a visit) recorded by an inspector for the reporter.
    oral: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The day of the last activity (a message, a note, a share): a day, like every other.
    last_activity_on: Mapped[Optional[date]] = mapped_column(Date)
    # The day the pending deadline falls due (None when none is pending), kept by a flush hook
    # from the days above (integrity/cases/deadlines.py), so that the inbox can sort by it.
    next_due_on: Mapped[Optional[date]] = mapped_column(Date)
    outcome: Mapped[Optional[Outcome]] = mapped_column(enum_column_type(Outcome, 24))
    assignee_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # A report of retaliation (EU Directive 2019/1937 Art. 19-21), made from the mailbox of
    # the case it follows: a case of its own, with its own deadlines, linked to that case and
    # reached with the same receipt (integrity/cases/retaliation.py). The link goes if that
    # case is deleted first; the kind stays.
    kind: Mapped[str] = mapped_column(String(16), server_default="report")
    retaliation_of_id: Mapped[Optional[int]] = mapped_column(
        ROW_ID, ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )

    channel: Mapped[Channel] = relationship()
    category: Mapped[Optional[Category]] = relationship()
    org_unit: Mapped[Optional[OrgUnit]] = relationship()
    assignee: Mapped[Optional[User]] = relationship(foreign_keys=[assignee_id])
    retaliation_of: Mapped[Optional[Report]] = relationship(
        remote_side=[id], foreign_keys=[retaliation_of_id])
    readers: Mapped[list[User]] = relationship(secondary=report_readers, order_by="User.id")
    key_slots: Mapped[list[KeySlot]] = relationship(
        primaryjoin="and_(KeySlot.report_id == Report.id, KeySlot.message_id.is_(None))",
        viewonly=True,
    )
    messages: Mapped[list[Message]] = relationship(
        back_populates="report", order_by="Message.position", cascade="all, delete-orphan",
        passive_deletes=True,
    )
    meeting_requests: Mapped[list[MeetingRequest]] = relationship(
        order_by=lambda: [MeetingRequest.requested_on, MeetingRequest.position],
        cascade="all, delete-orphan", passive_deletes=True)
    # A closing waiting for a second reader's confirmation, if any.
    closing_request: Mapped[Optional[ClosingRequest]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True)


@event.listens_for(Report, "before_insert")
@event.listens_for(Report, "before_update")
def _keep_next_due(mapper: object, connection: object, report: Report) -> None:
    report.next_due_on = next_due(report.created_on or today(), report.acknowledged_on,
                                  report.feedback_on)


class Message(Base):
    """One message of the thread between the reporter and the inspectors."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("sender IN ('reporter', 'inspector', 'note')", name="sender"),
        CheckConstraint("kind IN ('message', 'feedback', 'final_notice', 'record')", name="kind"),
        # One message per place in a chain: a second writer at the same place gets a 409.
        Index("uq_messages_link", "report_id", "chain", "seq", unique=True),
        Index("uq_messages_position", "report_id", "position", unique=True),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=False,
                                    default=random_row_id)
    report_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    # The message's place in its report's thread, notes included (1, 2, 3...): the thread's
    # order, since the ids are random. Counted within the report only (``place_last``).
    position: Mapped[int] = mapped_column(Integer)
    sender: Mapped[Sender] = mapped_column(enum_column_type(Sender, 16))
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_on: Mapped[date] = mapped_column(Date, default=today)
    kind: Mapped[MessageKind] = mapped_column(enum_column_type(MessageKind, 16),
                                              default=MessageKind.MESSAGE,
                                              server_default=MessageKind.MESSAGE.value)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    # Protocol 2: the message's link in its chain ("thread" or "notes"), checked by readers
    # (docs/protocol.md#authenticated-threads); NULL for protocol 1 messages.
    chain: Mapped[Optional[str]] = mapped_column(String(8))
    seq: Mapped[Optional[int]] = mapped_column(Integer)
    prev: Mapped[Optional[bytes]] = mapped_column(LargeBinary(32))
    auth: Mapped[Optional[bytes]] = mapped_column(LargeBinary(32))
    # Set when a reader deleted the message or redacted a passage of it: BLAKE2b-256 of the
    # payload as first sent, which its link covers, so the chain still verifies; and, for
    # protocol 2, the authenticator of the payload that replaced it
    # (docs/protocol.md#redactions-and-deletions).
    payload_hash: Mapped[Optional[bytes]] = mapped_column(LargeBinary(32))
    replacement_auth: Mapped[Optional[bytes]] = mapped_column(LargeBinary(32))
    # The id of the inspector who replaced it, as the replacement's authenticator covers it.
    replaced_by: Mapped[Optional[str]] = mapped_column(String(32))
    # A record only: the day the reporter agreed it is accurate, and the day they last sent a
    # correction of it (clear, like ``kind``; integrity/cases/records.py).
    agreed_on: Mapped[Optional[date]] = mapped_column(Date)
    corrected_on: Mapped[Optional[date]] = mapped_column(Date)

    report: Mapped[Report] = relationship(back_populates="messages")
    key_slots: Mapped[list[KeySlot]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


place_last(Message, "report_id", Report)


class ClosingRequest(Base):
    """A reader asked to close the case; it closes when another reader confirms
    (``Channel.closing_needs_confirmation``). The outcome waits here until then."""

    __tablename__ = "closing_requests"
    __table_args__ = (
        CheckConstraint("outcome IN ('substantiated', 'partly_substantiated', "
                        "'unsubstantiated', 'not_in_scope')", name="outcome"),
    )

    report_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    requested_by_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[Outcome] = mapped_column(enum_column_type(Outcome, 24))
    requested_on: Mapped[date] = mapped_column(Date, default=today)

    requested_by: Mapped[Optional[User]] = relationship()


class MeetingRequest(Base):
    """A reporter asked to meet or talk (EU Directive 2019/1937 Art. 9(2)). Only that, the day
    and the due day are clear; when and how to reach them is in the sealed text."""

    __tablename__ = "meeting_requests"
    __table_args__ = (
        CheckConstraint("state IN ('requested', 'arranged', 'held', 'declined')", name="state"),
        Index("ix_meeting_requests_state_due_on", "state", "due_on"),
        Index("uq_meeting_requests_position", "report_id", "position", unique=True),
    )

    # Random, like a report's id: a request made with a report would otherwise put the
    # filings that asked for one in order.
    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=False,
                                    default=random_row_id)
    report_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    # The request's place among the case's requests (1, 2, 3...), after the day it was made.
    position: Mapped[int] = mapped_column(Integer)
    requested_on: Mapped[date] = mapped_column(Date, default=today)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[MeetingState] = mapped_column(enum_column_type(MeetingState, 16),
                                                default=MeetingState.REQUESTED)
    answered_on: Mapped[Optional[date]] = mapped_column(Date)
    answered_by_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    answered_by: Mapped[Optional[User]] = relationship()


class KeySlot(Base):
    """A document key sealed to one reader: an inspector's id, "reporter" or "recovery"."""

    __tablename__ = "key_slots"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=False,
                                    default=random_row_id)
    report_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[Optional[int]] = mapped_column(
        ROW_ID, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    reader: Mapped[str] = mapped_column(String(32))
    slot: Mapped[bytes] = mapped_column(LargeBinary(80))

    report: Mapped[Report] = relationship()


class Attachment(Base):
    """A sealed file, named by a random id; its key and name are inside a payload. Its bytes
    are a file of the data folder, or on PostgreSQL ``AttachmentChunk`` rows (storage.py)."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    report_id: Mapped[Optional[int]] = mapped_column(
        ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[Optional[int]] = mapped_column(
        ROW_ID, ForeignKey("messages.id", ondelete="CASCADE")
    )
    # Set only while no report claims the upload, so stale uploads can be removed; cleared
    # on claim, since a filed report carries no time of day.
    uploaded_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    # A resumable upload still arriving (docs/protocol.md#resumable-uploads): the bytes held so
    # far of the `size` declared. NULL once complete, and for an upload sent in one request.
    received: Mapped[Optional[int]] = mapped_column(Integer)


class AttachmentChunk(Base):
    """A piece of a sealed attachment's bytes, on PostgreSQL (chunk_store.py): the pieces of
    one attachment, in ``seq`` order, are its bytes as uploaded. No time, no size, nothing
    else; and no foreign key, since the bytes are written before the row that names them
    (as a file is)."""

    __tablename__ = "attachment_chunks"

    attachment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class TombstoneKind(enum.StrEnum):
    ATTACHMENT = "attachment"  # a file deleted: its sealed bytes are gone
    MESSAGE = "message"  # a message or note deleted: its payload and key slots are gone
    PASSAGE = "passage"  # a passage of a message or note replaced by a visible marker


class Tombstone(Base):
    """What remains where a reader deleted a file or a message, or redacted a passage
    (EU Directive 2019/1937, Art. 17): who and which day in clear, why sealed, never what was
    removed."""

    __tablename__ = "tombstones"
    __table_args__ = (
        CheckConstraint("kind IN ('attachment', 'message', 'passage')", name="kind"),
        Index("uq_tombstones_position", "report_id", "position", unique=True),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=False,
                                    default=random_row_id)
    report_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    # The tombstone's place among the case's (1, 2, 3...), after the day it was made.
    position: Mapped[int] = mapped_column(Integer)
    # The message deleted or redacted, or the one whose file was deleted (None: the report's).
    message_id: Mapped[Optional[int]] = mapped_column(
        ROW_ID, ForeignKey("messages.id", ondelete="CASCADE"))
    # The deleted file's id, as the sealed document that lists it names it.
    attachment_id: Mapped[Optional[str]] = mapped_column(String(32))
    kind: Mapped[TombstoneKind] = mapped_column(enum_column_type(TombstoneKind, 16))
    by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    made_on: Mapped[date] = mapped_column(Date, default=today)
    # Why: a document sealed in the reader's browser to the case's readers and the recovery key,
    # never to the reporter (docs/protocol.md#redactions-and-deletions). NULL only for a reason
    # written before reasons were sealed, in a case nobody could then open (migration 0038).
    reason_payload: Mapped[Optional[bytes]] = mapped_column(LargeBinary)

    by: Mapped[Optional[User]] = relationship()
    key_slots: Mapped[list[TombstoneKeySlot]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True)


class TombstoneKeySlot(Base):
    """The key of a tombstone's sealed reason, sealed to one reader: an inspector's id or
    "recovery", never "reporter"."""

    __tablename__ = "tombstone_key_slots"

    tombstone_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("tombstones.id", ondelete="CASCADE"), primary_key=True)
    reader: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[bytes] = mapped_column(LargeBinary(80))


place_last(MeetingRequest, "report_id", Report)
place_last(Tombstone, "report_id", Report)


class PowChallenge(Base):
    """An issued proof-of-work challenge, deleted when redeemed: each is good once."""

    __tablename__ = "pow_challenges"

    challenge: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    bits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


__all__ = [
    "Attachment", "ClosingRequest", "KeySlot", "MeetingRequest", "MeetingState", "Message",
    "MessageKind", "PowChallenge", "Report", "Sender", "Status", "Tombstone",
    "TombstoneKeySlot", "TombstoneKind", "report_readers",
]
