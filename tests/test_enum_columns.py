"""Enumeration columns: loaded as enum members, stored as their lower-case values, and a
string outside the enumeration refused both by the column type and by the CHECK constraint."""

import os

import pytest
from sqlalchemy import CheckConstraint, Enum, Table, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from integrity.models import Channel, ChannelState, Role, User
from integrity.reporting.models import Outcome, Report, Status
from integrity.schema import metadata
from tests.conftest import ChannelSetup

USERS = """INSERT INTO users (email, name, role, password_hash, must_change_password,
                              can_sign_in, active, created_on)
           VALUES (:email, 'Raw', :role, 'x', false, true, true, '2027-01-01')"""


def _enum_columns() -> list[tuple[Table, str, Enum]]:
    return [(table, column.name, column.type) for table in metadata().tables.values()
            for column in table.columns if isinstance(column.type, Enum)]


def test_every_enumeration_column_is_a_varchar_of_values_guarded_by_a_check() -> None:
    found = {f"{table.name}.{name}": kind.enum_class for table, name, kind in _enum_columns()}
    assert set(found) == {
        "users.role", "org_units.kind", "org_units.crossing_type", "channels.state",
        "questions.kind", "campaigns.kind", "reports.status", "reports.outcome",
        "messages.sender", "messages.kind", "survey_waves.state", "closing_requests.outcome",
        "meeting_requests.state", "tombstones.kind", "case_persons.state",
        "case_person_steps.kind", "protection_records.kind", "check_ins.state"}
    for table, name, kind in _enum_columns():
        assert kind.native_enum is False and kind.validate_strings is True
        assert kind.enum_class is not None
        values = [member.value for member in kind.enum_class]
        assert kind.enums == values and kind.length >= max(map(len, values))
        # The type makes no constraint of its own: the table's CHECK lists the same values.
        checks = [str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)
                  and str(c.sqltext).startswith((f"{name} IN", f"{name} IS NULL OR {name} IN"))]
        assert len(checks) == 1, (table.name, name)
        assert checks[0].endswith("IN (" + ", ".join(f"'{v}'" for v in values) + ")")


def test_loaded_rows_hold_members_and_the_database_holds_values(
    db: Session, channel: ChannelSetup
) -> None:
    users = User.__table__
    db.execute(insert(users).values(email="core@example.org", name="Core", role="manager",
                                    password_hash="x"))
    row = db.scalars(select(Channel).where(Channel.slug == channel.slug)).one()
    report = Report(channel=row, lookup_hash=os.urandom(32), reporter_public_key=bytes(32),
                    payload=b"x")
    db.add(report)
    db.commit()
    report.status, report.outcome = Status.CLOSED, Outcome.NOT_IN_SCOPE
    db.commit()
    db.expunge_all()

    manager = db.scalars(select(User).where(User.email == "core@example.org")).one()
    assert isinstance(manager.role, Role) and manager.role is Role.MANAGER
    inspectors = db.scalars(select(User).where(User.role == Role.INSPECTOR)).all()
    assert inspectors and all(user.role is Role.INSPECTOR for user in inspectors)
    loaded = db.get(Report, report.id)
    assert loaded is not None
    assert isinstance(loaded.status, Status) and loaded.status is Status.CLOSED
    assert loaded.outcome is Outcome.NOT_IN_SCOPE
    assert db.get(Channel, row.id).state is ChannelState.OPEN  # type: ignore[union-attr]

    raw = db.execute(text("SELECT role FROM users WHERE email = 'core@example.org'")).scalar()
    assert raw == "manager" and type(raw) is str
    assert db.execute(text("SELECT status, outcome FROM reports WHERE id = :id"),
                      {"id": report.id}).one() == ("closed", "not_in_scope")
    assert db.execute(text("SELECT state FROM channels WHERE id = :id"),
                      {"id": row.id}).scalar() == "open"


@pytest.mark.parametrize("value", ["superuser", "MANAGER", "Manager"])
def test_a_string_outside_the_enumeration_is_refused_on_flush(db: Session, value: str) -> None:
    db.add(User(email="bad@example.org", name="Bad", role=value, password_hash="x"))
    with pytest.raises(StatementError, match="is not among the defined enum values"):
        db.flush()
    db.rollback()
    user = User(email="good@example.org", name="Good", role="manager", password_hash="x")
    db.add(user)
    db.commit()
    user.role = value  # type: ignore[assignment]
    with pytest.raises(StatementError, match="is not among the defined enum values"):
        db.commit()
    db.rollback()


def test_the_check_constraint_refuses_a_raw_insert_of_a_bad_value(db: Session) -> None:
    db.execute(text(USERS), {"email": "raw@example.org", "role": "inspector"})
    db.commit()
    assert db.scalars(select(User.role).where(User.email == "raw@example.org")).one() \
        is Role.INSPECTOR
    for value in ("superuser", "INSPECTOR"):
        with pytest.raises(IntegrityError):
            db.execute(text(USERS), {"email": f"{value}@example.org", "role": value})
        db.rollback()
