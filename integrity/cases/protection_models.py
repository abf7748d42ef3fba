"""What protects a reporter after the report (ISO 37002 8.3.2, 8.4.2-8.4.3; EU Directive
2019/1937 Art. 19-21): the clear side of the sealed risk assessments and protective measures,
and the check-ins a closed case's mailbox gets."""

from __future__ import annotations

import enum
from datetime import date
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from integrity.db import ROW_ID, Base, place_last, random_row_id
from integrity.models import enum_column_type
from integrity.reporting.models import Report


class RecordKind(enum.StrEnum):
    RISK_ASSESSMENT = "risk_assessment"  # the risk of harm to the reporter: level and reasons
    MEASURE = "measure"  # a protective measure taken, changed or lifted, with its day


class ProtectionRecord(Base):
    """Marks an internal note of the case as a risk assessment or a protective measure.

    The note itself is sealed to the case's readers like any note (its level, reasons, the
    measure and its day are inside); the clear row says only what it is, and the note's day
    when it was recorded."""

    __tablename__ = "protection_records"
    __table_args__ = (
        CheckConstraint("kind IN ('risk_assessment', 'measure')", name="kind"),
    )

    message_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RecordKind] = mapped_column(enum_column_type(RecordKind, 16))


class CheckInState(enum.StrEnum):
    SCHEDULED = "scheduled"
    POSTED = "posted"  # shown in the reporter's mailbox from ``done_on``
    SKIPPED = "skipped"  # not posted: the case was reopened before it fell due
    STOPPED = "stopped"  # not posted: the reporter asked for no more check-ins


class CheckIn(Base):
    """A check-in due in a closed case's mailbox: "Has anything happened to you since your
    report?". Days only, like every other date of a case."""

    __tablename__ = "check_ins"
    __table_args__ = (
        CheckConstraint("state IN ('scheduled', 'posted', 'skipped', 'stopped')", name="state"),
        Index("ix_check_ins_state_due_on", "state", "due_on"),
        Index("uq_check_ins_position", "report_id", "position", unique=True),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=False,
                                    default=random_row_id)
    report_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    # The check-in's place among the case's (1, 2, 3...), in the order they were scheduled:
    # after its day, the order check-ins due or posted the same day are listed in.
    position: Mapped[int] = mapped_column(Integer)
    months: Mapped[int] = mapped_column()  # after the closing day
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[CheckInState] = mapped_column(enum_column_type(CheckInState, 16),
                                                default=CheckInState.SCHEDULED)
    done_on: Mapped[Optional[date]] = mapped_column(Date)


place_last(CheckIn, "report_id", Report)


__all__ = ["CheckIn", "CheckInState", "ProtectionRecord", "RecordKind"]
