"""Waves: creating them, opening and closing them (by hand, or from the scheduler).

Each service takes the session and ``today``; the caller commits.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from surveys.models import (
    AccessCode,
    Answer,
    Comment,
    Recipient,
    Survey,
    SurveyResponse,
    Wave,
    WaveState,
)


class SurveyError(ValueError):
    """A survey action that cannot be carried out; the message is one sentence saying why."""

    def __init__(self, message: object, status: int = 400) -> None:
        super().__init__(str(message))
        self.status = status


def create_wave(session: Session, survey: Survey, opens_on: date, closes_on: date) -> Wave:
    """A scheduled wave, numbered after the survey's last; refused if it overlaps another."""
    if closes_on < opens_on:
        raise SurveyError(_l("A wave cannot close before it opens."))
    overlapping = session.scalar(
        select(Wave.number).where(Wave.survey_id == survey.id,
                                  Wave.state != WaveState.CLOSED,
                                  Wave.opens_on <= closes_on, Wave.closes_on >= opens_on)
    )
    if overlapping is not None:
        raise SurveyError(_l("This wave would overlap wave %(number)d of the same survey.",
                             number=overlapping))
    last = session.scalar(select(func.max(Wave.number)).where(Wave.survey_id == survey.id))
    wave = Wave(survey_id=survey.id, number=(last or 0) + 1, opens_on=opens_on,
                closes_on=closes_on, state=WaveState.SCHEDULED)
    session.add(wave)
    session.flush()
    return wave


# Waves are numbered in the order they were added, which need not be the order of their
# dates (a wave can be added for a date before an earlier-numbered one): every list, axis and
# comparison goes by date, the number only breaks ties.
TIME_ORDER = (Wave.opens_on, Wave.closes_on, Wave.number)


def waves_in_time(session: Session, survey: Survey, *, opened: bool = False) -> list[Wave]:
    """The waves of ``survey`` in the order of their dates; only those opened if asked."""
    query = select(Wave).where(Wave.survey_id == survey.id)
    if opened:
        query = query.where(Wave.state != WaveState.SCHEDULED)
    return list(session.scalars(query.order_by(*TIME_ORDER)))


def previous_closed_wave(session: Session, wave: Wave) -> Wave | None:
    """The closed wave of the same survey that comes last before ``wave`` in time: what a
    wave's figures are compared with (an earlier wave still open is not final)."""
    def key(w: Wave) -> tuple[date, date, int]:
        return (w.opens_on, w.closes_on, w.number)

    closed = session.scalars(select(Wave).where(
        Wave.survey_id == wave.survey_id, Wave.state == WaveState.CLOSED,
        Wave.id != wave.id, Wave.opens_on <= wave.opens_on))
    earlier = [w for w in closed if key(w) < key(wave)]
    return max(earlier, key=key) if earlier else None


def open_wave(session: Session, wave: Wave, today: date) -> None:
    """Open a scheduled wave now (early if need be); one open wave per survey at a time."""
    if wave.state != WaveState.SCHEDULED:
        raise SurveyError(_l("Only a scheduled wave can be opened."))
    if wave.closes_on < today:
        raise SurveyError(_l("This wave's closing day has passed."))
    other = session.scalar(select(Wave.number).where(
        Wave.survey_id == wave.survey_id, Wave.state == WaveState.OPEN, Wave.id != wave.id))
    if other is not None:
        raise SurveyError(_l("Wave %(number)d of this survey is still open.", number=other))
    wave.state = WaveState.OPEN
    wave.opens_on = min(wave.opens_on, today)
    session.flush()


def close_wave(session: Session, wave: Wave, today: date) -> None:
    """Close a wave (early if need be): no code or link of it is accepted afterwards, and
    the addresses its invitations were e-mailed to (kept for the reminders) are deleted.

    Every row of the wave is rewritten in this transaction. On PostgreSQL each row records the
    transaction that last wrote it (``xmin``); a response and the code used for it were
    written by the same one. Rewriting them all at once leaves one transaction on every row,
    so that link does not outlive the wave (see docs/surveys.md, and ``compact_storage``).
    """
    if wave.state == WaveState.CLOSED:
        raise SurveyError(_l("This wave is already closed."))
    if wave.state == WaveState.OPEN and today < wave.closes_on:
        wave.closes_on = max(today, wave.opens_on)
    wave.state = WaveState.CLOSED
    session.execute(delete(Recipient).where(Recipient.wave_id == wave.id)
                    .execution_options(synchronize_session=False))
    _rewrite_rows(session, wave.id)
    session.flush()


def _rewrite_rows(session: Session, wave_id: int) -> None:
    responses = select(SurveyResponse.id).where(SurveyResponse.wave_id == wave_id)
    quiet = {"synchronize_session": False}
    session.execute(update(SurveyResponse).where(SurveyResponse.wave_id == wave_id)
                    .values(wave_id=SurveyResponse.wave_id).execution_options(**quiet))
    session.execute(update(Answer).where(Answer.response_id.in_(responses))
                    .values(item=Answer.item).execution_options(**quiet))
    session.execute(update(Comment).where(Comment.wave_id == wave_id)
                    .values(wave_id=Comment.wave_id).execution_options(**quiet))
    session.execute(update(AccessCode).where(AccessCode.wave_id == wave_id)
                    .values(used=AccessCode.used).execution_options(**quiet))


def open_due_waves(session: Session, today: date) -> list[Wave]:
    """Open the scheduled waves whose window has come (the scheduler calls this daily)."""
    due = session.scalars(select(Wave).where(
        Wave.state == WaveState.SCHEDULED, Wave.opens_on <= today,
        Wave.closes_on >= today).order_by(Wave.opens_on, Wave.id))
    opened = []
    for wave in due:
        try:
            open_wave(session, wave, today)
        except SurveyError:
            continue  # another wave of the survey is still open: it closes first
        opened.append(wave)
    return opened


def close_due_waves(session: Session, today: date) -> list[Wave]:
    """Close the open waves whose closing day has passed (the scheduler calls this daily)."""
    due = list(session.scalars(select(Wave).where(
        Wave.state == WaveState.OPEN, Wave.closes_on < today)))
    for wave in due:
        close_wave(session, wave, today)
    return due


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, kept within the target month (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


def plan_next_wave(session: Session, survey: Survey, today: date) -> Wave | None:
    """Schedule a recurring survey's next wave, unless one is already scheduled or open."""
    if survey.recurrence_months is None or survey.open_days is None:
        return None
    pending = session.scalar(select(Wave.id).where(
        Wave.survey_id == survey.id, Wave.state != WaveState.CLOSED))
    if pending is not None:
        return None
    last = session.scalar(select(func.max(Wave.opens_on)).where(Wave.survey_id == survey.id))
    opens_on = add_months(last, survey.recurrence_months) if last else today
    opens_on = max(opens_on, today)
    return create_wave(session, survey, opens_on, opens_on + timedelta(days=survey.open_days - 1))


SURVEY_TABLES = ("survey_responses", "survey_answers", "survey_comments", "survey_access_codes",
                 "survey_recipients")


def compact_storage(engine: Engine) -> None:
    """Rewrite the survey tables so their storage keeps no trace of the order rows came in.

    SQLite: checkpoint the write-ahead log and VACUUM (the tables are already ordered by
    their random keys). PostgreSQL: CLUSTER each table on its random primary key, which
    rewrites it in key order and leaves the old row versions behind for good. Run it after a
    wave closes; it takes a short exclusive lock on those tables, and gives up (raising
    OperationalError, nothing changed) rather than wait more than a few seconds for it.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            connection.execute(text("VACUUM"))
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            return
        # Waiting for the lock would queue every request behind it: give up instead.
        connection.execute(text("SET lock_timeout = '5s'"))
        for table in SURVEY_TABLES:
            # Fixed table and index names from this module, never user input.
            connection.execute(text(f"CLUSTER {table} USING pk_{table}"))
        connection.execute(text("ANALYZE " + ", ".join(SURVEY_TABLES)))
