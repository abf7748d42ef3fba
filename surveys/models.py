"""Surveys, their waves, anonymous access codes and the answers.

What a response carries is deliberately thin: the wave and the unit its code was issued for.
No time, no code, no order: response and answer keys are random, and on SQLite those tables
are stored WITHOUT ROWID (clustered by the random key), so no rowid counts submissions.
"""

from __future__ import annotations

import enum
import json
import secrets
from collections.abc import Sequence
from datetime import date
from typing import Optional

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from integrity.db import Base
from integrity.models import OrgUnit, enum_column_type, today
from integrity.translated import other_languages, translated
from surveys.definitions import load_definition


def random_id() -> str:
    """A random key (128 bits, hex): keys of responses and comments say nothing of order."""
    return secrets.token_hex(16)


class WaveState(enum.StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


class Survey(Base):
    """A questionnaire (its definition is JSON, see surveys/definitions.py) and its rhythm."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("recurrence_months IS NULL OR recurrence_months > 0",
                        name="recurrence_months"),
        CheckConstraint("open_days IS NULL OR open_days > 0", name="open_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    introduction: Mapped[str] = mapped_column(Text, default="")
    # The whole definition as JSON text, normalised by surveys.definitions.
    definition: Mapped[str] = mapped_column(Text)
    # Anyone with the address may answer (no codes): weaker, and said so on the pages.
    open_link: Mapped[bool] = mapped_column(Boolean, default=False)
    # A new wave every so many months, open for so many days (for the scheduler); optional.
    recurrence_months: Mapped[Optional[int]] = mapped_column(Integer)
    open_days: Mapped[Optional[int]] = mapped_column(Integer)
    created_on: Mapped[date] = mapped_column(Date, default=today)

    waves: Mapped[list[Wave]] = relationship(
        back_populates="survey", order_by="Wave.number", cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def text(self, field: str = "title", language: str | None = None) -> str:
        """The survey's title or introduction in ``language`` (the page's by default).

        The columns hold the default language's text; other languages live in the stored
        definition's "translations".
        """
        translations = json.loads(self.definition).get("translations") or {}
        return str(translated(getattr(self, field), translations, field, language))

    def missing_languages(self, languages: Sequence[str] | None = None) -> list[str]:
        """The configured other languages in which some text of the definition is missing."""
        codes = other_languages() if languages is None else languages
        return load_definition(self.definition).missing_languages(list(codes))


class Wave(Base):
    """One round of a survey, open between two days."""

    __tablename__ = "survey_waves"
    __table_args__ = (
        CheckConstraint("state IN ('scheduled', 'open', 'closed')", name="state"),
        CheckConstraint("closes_on >= opens_on", name="window"),
        CheckConstraint("number > 0", name="number"),
        UniqueConstraint("survey_id", "number", name="uq_survey_waves_survey_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"),
                                           index=True)
    number: Mapped[int] = mapped_column(Integer)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    state: Mapped[WaveState] = mapped_column(enum_column_type(WaveState, 10),
                                             default=WaveState.SCHEDULED, index=True)
    # Which reminders went to the wave's distribution (surveys/reminders.py): set before
    # sending, so that a second run or a restart sends none twice.
    halfway_reminded: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())
    closing_reminded: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())

    survey: Mapped[Survey] = relationship(back_populates="waves")

    @property
    def is_open(self) -> bool:
        return self.state == WaveState.OPEN


class AccessCode(Base):
    """A one-time code: only its keyed hash and whether it was used. No time of use."""

    __tablename__ = "survey_access_codes"
    # SQLite only (others ignore it): a B-tree ordered by the random key, no rowid.
    __table_args__ = {"sqlite_with_rowid": False}

    # HMAC-SHA256 of the code under the installation's secret key (surveys/codes.py).
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id", ondelete="CASCADE"),
                                         index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)

    wave: Mapped[Wave] = relationship()
    org_unit: Mapped[OrgUnit] = relationship()


class Recipient(Base):
    """An address a wave's invitation was e-mailed to, for the unit it was sent for, and the
    language it was written in: kept only until the wave closes, for its reminders.

    Never which code went to it: a code is stored without any link to an address, and rows of
    this table are keyed at random, so their order says nothing of the order of sending.
    """

    __tablename__ = "survey_recipients"
    # SQLite only (others ignore it): a B-tree ordered by the random key, no rowid.
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id", ondelete="CASCADE"),
                                         index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(16))
    # The last reminder could not be sent here: it is tried once more at the next run.
    retry: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SurveyResponse(Base):
    """One completed questionnaire: the wave and the unit, nothing that says who or when."""

    __tablename__ = "survey_responses"
    # SQLite only (others ignore it): a B-tree ordered by the random key, no rowid.
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id", ondelete="CASCADE"),
                                         index=True)
    # The unit the code was issued for; on an open-link survey the one the respondent chose.
    org_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_units.id"), index=True)

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan",
                                                 passive_deletes=True)


class Answer(Base):
    """One answer, shaped for GROUP BY: a choice code, or a number.

    ``choice`` holds the point of a 5-point scale (1-5), a single or multiple choice option's
    number (1-based; one row per ticked option of a multiple choice, with ``item`` = that
    number), yes/no codes, the crosswise and forced-response codes (surveys.definitions).
    ``number`` holds a number question's answer. Free text is not here: see Comment.
    """

    __tablename__ = "survey_answers"
    __table_args__ = (
        CheckConstraint("(choice IS NULL) <> (number IS NULL)", name="one_value"),
        {"sqlite_with_rowid": False},
    )

    response_id: Mapped[str] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True
    )
    question: Mapped[str] = mapped_column(String(64), primary_key=True)
    # 0 for a question with one answer; the option's number for a multiple choice.
    item: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=0)
    choice: Mapped[Optional[int]] = mapped_column(SmallInteger)
    number: Mapped[Optional[float]] = mapped_column(Float)


class Comment(Base):
    """A free-text answer, kept apart from the response it came with.

    Free text is where a respondent may identify themselves or others despite the warning;
    held apart, such a text cannot take the rest of that person's answers with it.
    """

    __tablename__ = "survey_comments"
    # SQLite only (others ignore it): a B-tree ordered by the random key, no rowid.
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id", ondelete="CASCADE"),
                                         index=True)
    question: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)


__all__ = ["AccessCode", "Answer", "Comment", "Recipient", "Survey", "SurveyResponse", "Wave",
           "WaveState"]
