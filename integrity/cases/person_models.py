"""Persons concerned by a case: the person a report is about, or a witness.

Their names, the reasons and statements are sealed in the inspector's browser to the case's
readers; only what the deadlines need is clear: the state, the days of each step and the day
a deferred information is to be reviewed (GDPR Art. 14(5), 23; docs/inspectors.md).
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Optional

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from integrity.db import ROW_ID, Base, place_last, random_row_id
from integrity.models import enum_column_type, today
from integrity.reporting.models import Report


class PersonState(enum.StrEnum):
    """Where a person's entry stands: the last step taken, or its deletion."""

    ADDED = "added"
    INFORMED = "informed"
    DEFERRED = "deferred"  # their information is deferred until a review day (GDPR Art. 23)
    HEARD = "heard"
    OUTCOME_NOTIFIED = "outcome_notified"
    CLEARED = "cleared"
    DELETED = "deleted"  # only the tombstone is left


class StepKind(enum.StrEnum):
    INFORMED = "informed"
    DEFERRED = "deferred"
    HEARD = "heard"
    OUTCOME_NOTIFIED = "outcome_notified"
    CLEARED = "cleared"


def _one_of(column: str, values: type[enum.StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{value.value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


class Person(Base):
    """One person concerned by a case. ``payload`` (who they are) is NULL once deleted."""

    __tablename__ = "case_persons"
    __table_args__ = (
        _one_of("state", PersonState),
        # The daily reminder finds the deferrals due without reading every case.
        Index("ix_case_persons_state_review_on", "state", "review_on"),
        Index("uq_case_persons_position", "report_id", "position", unique=True),
    )

    # Random, like every id of a case's rows (integrity/db.py: random_row_id).
    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=False,
                                    default=random_row_id)
    report_id: Mapped[int] = mapped_column(ROW_ID, ForeignKey("reports.id", ondelete="CASCADE"),
                                           index=True)
    # The person's place among the case's persons (1, 2, 3...): the number the case page and
    # the case history call them by.
    position: Mapped[int] = mapped_column(Integer)
    state: Mapped[PersonState] = mapped_column(enum_column_type(PersonState, 16),
                                               default=PersonState.ADDED)
    added_on: Mapped[date] = mapped_column(Date, default=today)
    # While the information is deferred: the day the deferral is to be reviewed.
    review_on: Mapped[Optional[date]] = mapped_column(Date)
    cleared_on: Mapped[Optional[date]] = mapped_column(Date)
    deleted_on: Mapped[Optional[date]] = mapped_column(Date)
    payload: Mapped[Optional[bytes]] = mapped_column(LargeBinary)

    steps: Mapped[list[PersonStep]] = relationship(
        back_populates="person", order_by="PersonStep.position", cascade="all, delete-orphan",
        passive_deletes=True)


class PersonStep(Base):
    """A step of a person's history: its kind and day in clear, what was said sealed."""

    __tablename__ = "case_person_steps"
    __table_args__ = (
        _one_of("kind", StepKind),
        Index("uq_case_person_steps_position", "person_id", "position", unique=True),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=False,
                                    default=random_row_id)
    person_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("case_persons.id", ondelete="CASCADE"), index=True)
    # The step's place in the person's history (1, 2, 3...), in the order steps were recorded,
    # which is the order the person's state went through; ``done_on`` is the day the inspector
    # gives, which may be earlier than a step recorded before.
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[StepKind] = mapped_column(enum_column_type(StepKind, 16))
    done_on: Mapped[date] = mapped_column(Date)
    # A deferral's review day.
    review_on: Mapped[Optional[date]] = mapped_column(Date)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    payload: Mapped[bytes] = mapped_column(LargeBinary)

    person: Mapped[Person] = relationship(back_populates="steps")


class PersonKeySlot(Base):
    """The key of a person's entry (``step_id`` NULL) or of one of its steps, sealed to one
    reader: an inspector's id or "recovery"."""

    __tablename__ = "case_person_key_slots"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=False,
                                    default=random_row_id)
    person_id: Mapped[int] = mapped_column(
        ROW_ID, ForeignKey("case_persons.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[Optional[int]] = mapped_column(
        ROW_ID, ForeignKey("case_person_steps.id", ondelete="CASCADE"), index=True)
    reader: Mapped[str] = mapped_column(String(32))
    slot: Mapped[bytes] = mapped_column(LargeBinary(80))


# The sealed files of a person's statements (attachments of the case, never of its thread):
# deleted with the person's data, and never handed to the reporter.
person_attachments = Table(
    "case_person_attachments",
    Base.metadata,
    Column("attachment_id", ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ROW_ID, ForeignKey("case_persons.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("step_id", ROW_ID, ForeignKey("case_person_steps.id", ondelete="CASCADE"),
           index=True),
)

place_last(Person, "report_id", Report)
place_last(PersonStep, "person_id", Person)
