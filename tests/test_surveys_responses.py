"""Responding: what is stored for each kind of question, conditions, one response per code,
and nothing in the response that points to a code, a person, a time or an order."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import Date, DateTime, Time, func, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from integrity.db import new_session
from surveys.codes import code_hash, normalise_code
from surveys.definitions import DIFFERENT, NO, YES, parse_definition
from surveys.models import AccessCode, Answer, Comment, Survey, SurveyResponse, Wave, WaveState
from surveys.services import (
    AnswerError,
    admit_code,
    create_survey,
    submit_open_link,
    submit_with_code,
)
from surveys.waves import (
    SurveyError,
    add_months,
    close_due_waves,
    close_wave,
    compact_storage,
    create_wave,
    open_due_waves,
    open_wave,
    plan_next_wave,
)
from tests.helpers.surveys import SECRET, TODAY, every_type, open_survey

FULL_ANSWERS = {
    "lead": ["4"], "skipped": ["2"], "aware": ["yes"], "which": ["2"], "tell": ["1", "3"],
    "years": ["12,5"], "offered": ["different"], "accepted": ["yes"],
    "comment": ["  The night shift is the problem.  "],
}


def _answers(db: Session) -> dict[tuple[str, int], tuple[int | None, float | None]]:
    db.expire_all()
    return {(a.question, a.item): (a.choice, a.number) for a in db.scalars(select(Answer))}


def test_every_question_type_is_stored_in_a_shape_sql_can_group(db) -> None:
    setup = open_survey(db)
    response = submit_with_code(db, SECRET, setup.code_for(1), FULL_ANSWERS, TODAY)
    db.commit()
    assert _answers(db) == {
        ("lead", 0): (4, None), ("skipped", 0): (2, None), ("aware", 0): (YES, None),
        ("which", 0): (2, None), ("tell", 1): (1, None), ("tell", 3): (3, None),
        ("years", 0): (None, 12.5), ("offered", 0): (DIFFERENT, None),
        ("accepted", 0): (YES, None),
    }
    stored = db.get(SurveyResponse, response.id)
    assert stored.wave_id == setup.wave_id and stored.org_unit_id == setup.org_unit_ids[1]
    # Free text is kept apart, with the wave only.
    (comment,) = db.scalars(select(Comment)).all()
    assert (comment.wave_id, comment.question, comment.text) == (
        setup.wave_id, "comment", "The night shift is the problem.")
    # The results service counts with GROUP BY.
    counts = dict(db.execute(select(Answer.choice, func.count()).where(Answer.question == "tell")
                             .group_by(Answer.choice)).all())
    assert counts == {1: 1, 3: 1}


def test_answers_to_questions_a_condition_hid_are_dropped(db) -> None:
    setup = open_survey(db)
    submit_with_code(db, SECRET, setup.code_for(0), {"aware": ["no"], "which": ["2"]}, TODAY)
    db.commit()
    assert _answers(db) == {("aware", 0): (NO, None)}


def test_a_required_question_must_be_answered_and_nothing_is_stored(db) -> None:
    setup = open_survey(db)
    with pytest.raises(AnswerError) as refusal:
        submit_with_code(db, SECRET, setup.code_for(0), {"lead": ["3"]}, TODAY)
    db.rollback()
    assert refusal.value.problems == {"aware": "Please answer this question."}
    assert db.scalar(select(func.count()).select_from(SurveyResponse)) == 0
    assert db.scalar(select(func.count()).select_from(AccessCode).where(AccessCode.used)) == 0


def test_answers_that_are_not_offered_are_each_refused(db) -> None:
    setup = open_survey(db)
    with pytest.raises(AnswerError) as refusal:
        submit_with_code(db, SECRET, setup.code_for(0), {
            "lead": ["7"], "aware": ["yes"], "which": ["1", "2"], "years": ["46"],
            "offered": ["both"], "accepted": ["maybe"], "comment": ["x" * 2001],
        }, TODAY)
    problems = refusal.value.problems
    assert set(problems) == {"lead", "which", "years", "offered", "accepted", "comment"}
    assert problems["years"] == "Please give a number from 0 to 45."
    assert problems["lead"] == "Please choose one of the answers offered."
    with pytest.raises(AnswerError) as refusal:
        submit_with_code(db, SECRET, setup.code_for(0), {"aware": ["yes"], "years": ["many"]},
                         TODAY)
    assert set(refusal.value.problems) == {"years"}


def test_a_code_is_good_for_one_response(db) -> None:
    setup = open_survey(db)
    code = setup.code_for(0, 1)
    submit_with_code(db, SECRET, code.lower().replace("-", " "), {"aware": ["yes"]}, TODAY)
    db.commit()
    with pytest.raises(SurveyError, match="already been used") as refusal:
        submit_with_code(db, SECRET, code, {"aware": ["no"]}, TODAY)
    assert refusal.value.status == 409
    db.rollback()
    assert db.scalar(select(func.count()).select_from(SurveyResponse)) == 1


def test_unknown_mistyped_and_closed_codes_are_refused(db) -> None:
    setup = open_survey(db)
    with pytest.raises(SurveyError, match="not valid") as unknown:
        admit_code(db, SECRET, "ZZZZ-ZZZZ-ZZZZ", TODAY)
    assert unknown.value.status == 404
    with pytest.raises(SurveyError, match="12 letters and digits"):
        admit_code(db, SECRET, "1234", TODAY)
    # O and I typed for 0 and 1 are read as the digits.
    code = setup.code_for(0)
    lookalike = code.replace("0", "O").replace("1", "I")
    assert admit_code(db, SECRET, lookalike, TODAY).code == normalise_code(code)
    # Another installation's secret makes another hash: the code is not known there.
    with pytest.raises(SurveyError, match="not valid"):
        admit_code(db, b"another-secret", code, TODAY)
    close_wave(db, db.get(Wave, setup.wave_id), TODAY)
    db.commit()
    with pytest.raises(SurveyError, match="not open") as closed:
        submit_with_code(db, SECRET, code, {"aware": ["yes"]}, TODAY)
    assert closed.value.status == 403


def test_two_submissions_racing_with_one_code_store_one_response(app, db) -> None:
    """The second waits for the first's transaction, then its UPDATE matches no row."""
    setup = open_survey(db)
    code = setup.code_for(0)
    first_updated = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        session = new_session(app)
        try:
            submit_with_code(session, SECRET, code, {"aware": ["yes"]}, TODAY)
            first_updated.set()
            threading.Event().wait(0.8)  # the other submission is now waiting on the row
            session.commit()
            outcome["first"] = "stored"
        finally:
            session.close()

    def second() -> None:
        first_updated.wait(10)
        session = new_session(app)
        try:
            submit_with_code(session, SECRET, code, {"aware": ["no"]}, TODAY)
            session.commit()
            outcome["second"] = "stored"
        except SurveyError as exc:
            session.rollback()
            outcome["second"] = str(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome["first"] == "stored"
    assert "already been used" in str(outcome["second"])
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(SurveyResponse)) == 1
    assert _answers(db) == {("aware", 0): (YES, None)}


SURVEY_DATA_TABLES = ("survey_responses", "survey_answers", "survey_comments")


def test_responses_hold_no_time_no_code_and_no_order(app, db) -> None:
    setup = open_survey(db, per_unit=6)
    for n in range(6):
        submit_with_code(db, SECRET, setup.code_for(n % 2, n // 2), FULL_ANSWERS, TODAY)
        db.commit()
    inspector = inspect(db.get_bind())
    for table in SURVEY_DATA_TABLES:
        columns = inspector.get_columns(table)
        assert not [c["name"] for c in columns
                    if isinstance(c["type"], Date | DateTime | Time)], table
        assert not [c["name"] for c in columns
                    if any(w in c["name"] for w in ("code", "hash", "time", "date", "seq"))], table
        # No serial key: nothing counts submissions.
        for column in columns:
            assert column.get("autoincrement") is not True, (table, column["name"])
    assert {c["name"] for c in inspector.get_columns("survey_responses")} == {
        "id", "wave_id", "org_unit_id"}
    # Neither the codes, in any spelling, nor their hashes are in any of these tables.
    needles = {}
    for code in setup.codes:
        digest = code_hash(SECRET, code)
        needles.update({code: code.encode(), f"{code} compact": normalise_code(code).encode(),
                        f"{code} hash": digest, f"{code} hash hex": digest.hex().encode()})
    with db.get_bind().connect() as connection:
        for table in SURVEY_DATA_TABLES:
            for row in connection.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                for value in row:
                    data = value if isinstance(value, bytes) else str(value).encode()
                    for name, needle in needles.items():
                        assert needle not in data, f"{name} in {table}"
    # Keys are random: the order they sort in is not the order they came in.
    ids = [r.id for r in db.scalars(select(SurveyResponse))]
    assert len(set(ids)) == 6 and all(len(i) == 32 for i in ids)


def test_on_sqlite_the_answer_tables_have_no_rowid(db) -> None:
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("rowid is SQLite's")
    setup = open_survey(db)
    submit_with_code(db, SECRET, setup.code_for(0), FULL_ANSWERS, TODAY)
    db.commit()
    for table in (*SURVEY_DATA_TABLES, "survey_access_codes"):
        with pytest.raises(OperationalError, match="rowid"):
            db.execute(text(f"SELECT rowid FROM {table}"))  # noqa: S608
        db.rollback()


def test_closing_a_wave_leaves_no_transaction_linking_a_response_to_its_code(db) -> None:
    """On PostgreSQL a row records the transaction that wrote it (xmin): closing rewrites the
    wave's rows in one transaction, so a response and its code no longer share one."""
    setup = open_survey(db)
    for n in range(3):
        submit_with_code(db, SECRET, setup.code_for(0, n), {"aware": ["yes"]}, TODAY)
        db.commit()
    if db.get_bind().dialect.name == "postgresql":
        def stamps(table: str, where: str = "") -> set[str]:
            return set(db.scalars(text(f"SELECT xmin::text FROM {table} {where}")))  # noqa: S608

        used = stamps("survey_access_codes", "WHERE used")
        assert used == stamps("survey_responses") and len(used) == 3  # the link, while open
    close_wave(db, db.get(Wave, setup.wave_id), TODAY)
    db.commit()
    if db.get_bind().dialect.name == "postgresql":
        everything = (stamps("survey_access_codes") | stamps("survey_responses")
                      | stamps("survey_answers"))
        assert len(everything) == 1
    db.rollback()  # compaction needs the tables to itself
    compact_storage(db.get_bind())
    assert db.scalar(select(func.count()).select_from(SurveyResponse)) == 3
    assert db.scalar(select(func.count()).select_from(AccessCode).where(AccessCode.used)) == 3


def test_open_link_responses_take_the_unit_the_respondent_chose(db) -> None:
    data = every_type()
    data["open_link"] = True
    setup = open_survey(db, definition=data)
    submit_open_link(db, setup.survey_id, setup.org_unit_ids[0], {"aware": ["yes"]}, TODAY)
    submit_open_link(db, setup.survey_id, None, {"aware": ["no"]}, TODAY)
    db.commit()
    assert (sorted(db.scalars(select(SurveyResponse.org_unit_id)), key=str)
            == [setup.org_unit_ids[0], None])
    with pytest.raises(AnswerError):
        submit_open_link(db, setup.survey_id, 99999, {"aware": ["no"]}, TODAY)
    db.rollback()
    closed = open_survey(db)  # a survey with codes has no open link
    with pytest.raises(SurveyError) as refusal:
        submit_open_link(db, closed.survey_id, None, {"aware": ["no"]}, TODAY)
    assert refusal.value.status == 404


# ---------------------------------------------------------------- waves


def _survey(db: Session, **columns) -> Survey:
    survey = create_survey(db, parse_definition(every_type()))
    for name, value in columns.items():
        setattr(survey, name, value)
    db.flush()
    return survey


def test_waves_are_numbered_and_may_not_overlap(db) -> None:
    survey = _survey(db)
    first = create_wave(db, survey, date(2027, 1, 1), date(2027, 1, 21))
    second = create_wave(db, survey, date(2027, 4, 1), date(2027, 4, 21))
    assert (first.number, second.number) == (1, 2)
    with pytest.raises(SurveyError, match="overlap wave 1"):
        create_wave(db, survey, date(2027, 1, 20), date(2027, 2, 1))
    with pytest.raises(SurveyError, match="cannot close before it opens"):
        create_wave(db, survey, date(2027, 6, 2), date(2027, 6, 1))


def test_due_waves_open_and_close_on_their_days(db) -> None:
    survey = _survey(db)
    wave = create_wave(db, survey, date(2027, 1, 1), date(2027, 1, 21))
    assert open_due_waves(db, date(2026, 12, 31)) == []
    assert open_due_waves(db, date(2027, 1, 1)) == [wave] and wave.state == WaveState.OPEN
    assert close_due_waves(db, date(2027, 1, 21)) == []
    assert close_due_waves(db, date(2027, 1, 22)) == [wave] and wave.state == WaveState.CLOSED
    with pytest.raises(SurveyError, match="Only a scheduled wave"):
        open_wave(db, wave, date(2027, 1, 22))
    with pytest.raises(SurveyError, match="already closed"):
        close_wave(db, wave, date(2027, 1, 22))


def test_closing_early_moves_the_closing_day_and_one_wave_is_open_at_a_time(db) -> None:
    survey = _survey(db)
    first = create_wave(db, survey, date(2027, 1, 1), date(2027, 1, 21))
    second = create_wave(db, survey, date(2027, 2, 1), date(2027, 2, 21))
    open_wave(db, first, date(2027, 1, 5))
    with pytest.raises(SurveyError, match="Wave 1 of this survey is still open"):
        open_wave(db, second, date(2027, 1, 6))
    close_wave(db, first, date(2027, 1, 10))
    assert first.closes_on == date(2027, 1, 10)
    open_wave(db, second, date(2027, 1, 11))  # early: the opening day moves too
    assert second.opens_on == date(2027, 1, 11)


def test_a_recurring_survey_gets_its_next_wave_planned_once(db) -> None:
    survey = _survey(db, recurrence_months=3, open_days=21)
    first = plan_next_wave(db, survey, date(2027, 1, 31))
    assert (first.opens_on, first.closes_on) == (date(2027, 1, 31), date(2027, 2, 20))
    assert plan_next_wave(db, survey, date(2027, 2, 1)) is None  # one is pending
    open_wave(db, first, date(2027, 1, 31))
    close_wave(db, first, date(2027, 2, 21))
    second = plan_next_wave(db, survey, date(2027, 2, 21))
    assert (second.number, second.opens_on) == (2, date(2027, 4, 30))
    assert plan_next_wave(db, _survey(db), date(2027, 1, 1)) is None  # not recurring
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)
