"""Staff names in the audit log are kept for the installation's period, then pseudonymised by
the nightly audit job: the chain, an exported head and the register still check out, and an
actor removed any other way is named. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from admin import settings as stored_settings
from integrity.audit import PSEUDONYMISED, AuditEntry, AuditHead, record, verify
from integrity.audit_anchor import Head, check_head, current_head
from integrity.audit_register import check_register
from integrity.audit_retention import pseudonymise_staff, years_before
from integrity.clock import Clock
from integrity.db import make_engine
from integrity.migrate import upgrade
from integrity.models import Role, User
from integrity.scheduler import Scheduler
from tests.conftest import POSTGRES_URL, _pg_url, create_pg_database, drop_pg_database
from tests.helpers.pages import post, signed_in
from tests.test_scheduler import StoppedClock, _wait_for

ACTION = "audit_staff_pseudonymised"


def _entries(db: Session, make_account) -> User:
    inspector = db.get(User, make_account(Role.INSPECTOR).id)
    assert inspector is not None
    record(db, actor=inspector, action="status_changed", subject="report:7",
           details={"from": "new", "to": "acknowledged"})
    record(db, actor=None, action="wave_opened", subject="wave:1")
    record(db, actor=inspector, action="logout")
    db.commit()
    return inspector


def _staff_entries(db: Session) -> list[AuditEntry]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action != ACTION)
                           .order_by(AuditEntry.seq)))


def test_staff_names_are_removed_after_the_period_and_the_chain_still_holds(
        app, db: Session, make_account) -> None:
    inspector = _entries(db, make_account)
    exported = current_head(db)
    named = [e.seq for e in _staff_entries(db) if e.actor_id is not None]
    assert len(named) == 2
    now = datetime.now(UTC)
    # A day before the fifth year is over, nothing changes.
    assert pseudonymise_staff(db, now + timedelta(days=5 * 365), 5) == 0
    assert pseudonymise_staff(db, now + timedelta(days=5 * 365 + 2), 5) == len(named)
    db.commit()
    after = _staff_entries(db)
    for entry in after:
        if entry.seq in named:
            assert (entry.actor_id, entry.actor, entry.actor_salt) == (None, PSEUDONYMISED, None)
            assert entry.actor_digest is not None
        else:
            assert entry.actor_salt is not None and entry.actor != PSEUDONYMISED
    assert not any(inspector.email in (e.actor + e.details) for e in after)
    run = db.scalar(select(AuditEntry).where(AuditEntry.action == ACTION))
    assert run is not None and run.actor_id is None
    assert run.facts is not None and run.facts["entries"] == len(named)
    assert run.facts["through"] == max(named) and run.facts["years"] == 5
    assert verify(db).ok
    assert check_head(db, exported).ok
    assert check_register(db).ok
    # Run again: nothing left to remove, nothing recorded.
    assert pseudonymise_staff(db, now + timedelta(days=5 * 365 + 3), 5) == 0


def test_the_audit_page_and_case_history_say_the_name_was_removed(
        app, db: Session, make_account, admin) -> None:
    _entries(db, make_account)
    pseudonymise_staff(db, datetime.now(UTC) + timedelta(days=2 * 366), 1)
    db.commit()
    page = signed_in(app, admin).get("/admin/audit").get_data(as_text=True)
    assert "a staff member (name removed after the retention period)" in page


@pytest.mark.parametrize("change", [
    # Removed by hand: no pseudonymisation is recorded.
    lambda db, seq: db.execute(text(
        "UPDATE audit_entries SET actor_id = NULL, actor = 'pseudonymised', actor_salt = NULL "
        "WHERE seq = :seq"), {"seq": seq}),
    # The salt kept, but the actor changed.
    lambda db, seq: db.execute(text(
        "UPDATE audit_entries SET actor = 'someone.else@example.org' WHERE seq = :seq"),
        {"seq": seq}),
])
def test_an_actor_removed_or_changed_outside_the_application_is_named(
        app, db: Session, make_account, change: Callable[[Session, int], object]) -> None:
    _entries(db, make_account)
    seq = max(e.seq for e in _staff_entries(db) if e.actor_id is not None)
    change(db, seq)
    db.commit()
    result = verify(db)
    assert (result.ok, result.first_broken) == (False, seq)
    assert "actor" in result.reason


def test_a_recent_entry_removed_beside_a_recorded_run_is_named(
        app, db: Session, make_account) -> None:
    _entries(db, make_account)
    pseudonymise_staff(db, datetime.now(UTC) + timedelta(days=2 * 366), 1)
    db.commit()
    inspector = db.get(User, make_account(Role.INSPECTOR).id)
    newer = record(db, actor=inspector, action="logout").seq
    db.commit()
    db.execute(text("UPDATE audit_entries SET actor_id = NULL, actor = 'pseudonymised', "
                    "actor_salt = NULL WHERE seq = :seq"), {"seq": newer})
    db.commit()
    result = verify(db)
    assert (result.ok, result.first_broken) == (False, newer)


def test_the_period_is_a_setting_on_the_settings_page_and_audited(
        app, db: Session, admin) -> None:
    assert app.extensions["integrity.settings"].audit_staff_years == 5
    client = signed_in(app, admin)
    current = app.extensions["integrity.settings"]
    form = {name: str(getattr(current, name)) for name in stored_settings.EDITABLE}
    refused = post(client, "/admin/settings", {**form, "audit_staff_years": "0"})
    assert "Enter a whole number from 1 to 100." in refused.get_data(as_text=True)
    response = post(client, "/admin/settings", {**form, "audit_staff_years": "2"})
    assert response.status_code == 302
    assert app.extensions["integrity.settings"].audit_staff_years == 2
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "settings_changed"))
    assert entry is not None and entry.facts == {"changed": {"audit_staff_years": [5, 2]}}
    assert "Keep staff names in the audit log" in client.get("/admin/settings").get_data(
        as_text=True)


def test_the_nightly_audit_job_pseudonymises_what_its_period_ends(
        app, db: Session, make_account) -> None:
    _entries(db, make_account)
    started = Clock().now()
    first = Scheduler(app, clock=StoppedClock(started), lease_seconds=3)
    first.start()
    try:
        assert first.wait_until_running()
    finally:
        first.shutdown()
    # The scheduler stays off for five years and a day: the night's job runs at the next start.
    later = Scheduler(app, clock=StoppedClock(started + timedelta(days=5 * 365 + 2)),
                      lease_seconds=3)
    later.start()
    try:
        assert later.wait_until_running()
        assert "verify-audit" in later.caught_up

        def done() -> bool:
            db.expire_all()
            found = db.scalar(select(AuditEntry.seq).where(AuditEntry.action == ACTION))
            db.rollback()
            return found is not None

        assert _wait_for(done, seconds=60)
    finally:
        later.shutdown()
    assert all(e.actor_id is None for e in _staff_entries(db))
    assert verify(db).ok


def test_years_before_keeps_the_day_or_the_last_of_february() -> None:
    assert years_before(datetime(2032, 2, 29, 3, 0, tzinfo=UTC), 5) == datetime(2027, 2, 28, 3)
    assert years_before(datetime(2032, 6, 1, 3, 0, 0, 5), 5) == datetime(2027, 6, 1, 3)


# --- entries written before the upgrade ---------------------------------------------------


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def old_database(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = create_pg_database()
    yield _pg_url(name).replace("postgresql://", "postgresql+psycopg://", 1)
    drop_pg_database(name)


def _former_hash(prev: bytes, fields: list[object], details: str) -> bytes:
    listed = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(prev + listed[:-1].encode() + b"," + details.encode() + b"]",
                           digest_size=32).digest()


def test_entries_from_before_the_upgrade_are_hashed_again_and_an_old_head_still_checks(
        old_database: str) -> None:
    upgrade(old_database, "0029")
    engine = make_engine(old_database)
    prev, heads = bytes(32), []
    at = datetime(2026, 1, 5, 9, 30)
    with engine.begin() as connection:
        for seq, (actor_id, actor) in enumerate(
                [(3, "ines@example.org"), (None, "system"), (3, "ines@example.org")], 1):
            details = f'{{"n":{seq}}}'
            digest = _former_hash(prev, [seq, at.isoformat(), actor_id, actor, "login", ""],
                                  details)
            connection.execute(text(
                "INSERT INTO audit_entries (seq, at, actor_id, actor, action, subject, details, "
                "prev_hash, hash) VALUES (:seq, :at, :actor_id, :actor, 'login', '', :details, "
                ":prev, :hash)"), {"seq": seq, "at": at, "actor_id": actor_id, "actor": actor,
                                   "details": details, "prev": prev, "hash": digest})
            prev = digest
            heads.append(Head(seq, digest, None))
        connection.execute(text("UPDATE audit_head SET seq = 3, hash = :hash WHERE id = 1"),
                           {"hash": prev})
    engine.dispose()
    upgrade(old_database)
    engine = make_engine(old_database)
    try:
        with Session(engine) as db:
            assert verify(db).ok
            assert db.get(AuditHead, 1).seq == 4
            upgraded = db.get(AuditEntry, 4)
            assert upgraded is not None and upgraded.action == "audit_chain_upgraded"
            assert upgraded.facts == {"legacy_through": 3, "legacy_head": prev.hex(),
                                      "legacy_chain": "intact"}
            assert all(db.get(AuditEntry, seq).actor_salt for seq in (1, 2, 3))
            # Heads exported before the upgrade still check, and so does a made-up one not.
            for exported in heads:
                assert check_head(db, exported).ok, exported.seq
            assert not check_head(db, Head(2, bytes(32), None)).ok
            # Once an entry after the exported head loses its actor, that head cannot be
            # checked any more; the chain and the heads exported since still hold.
            pseudonymise_staff(db, at + timedelta(days=2 * 366), 1)
            db.commit()
            assert verify(db).ok
            assert not check_head(db, heads[0]).ok
            assert check_head(db, heads[2]).ok
    finally:
        engine.dispose()
