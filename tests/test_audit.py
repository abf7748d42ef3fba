"""The audit log: appended in order, hash-chained, and every kind of tampering is named."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest
from flask import Flask, url_for
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from integrity.app import create_app
from integrity.audit import GENESIS, AuditEntry, AuditHead, entries, entry_hash, record, verify
from integrity.db import dispose, make_engine
from integrity.models import Role, User
from tests.conftest import (
    POSTGRES_URL,
    cli_environment,
    make_settings,
)

INTEGRITY = str(Path(sys.executable).with_name("integrity"))
STEPS = [("new", "acknowledged"), ("acknowledged", "in_progress"), ("in_progress", "closed"),
         ("closed", "in_progress"), ("in_progress", "closed")]


def _record_steps(db: Session, actor: User | None = None) -> list[AuditEntry]:
    made = [record(db, actor=actor, actor_label=None if actor else "cli", action="status_changed",
                   subject="report:7", details={"from": old, "to": new})
            for old, new in STEPS]
    db.commit()
    return made


def _sql(db: Session, statement: str, **params: object) -> None:
    db.execute(text(statement), params)
    db.commit()


def _url(app: Flask, endpoint: str, **values: object) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def test_an_empty_log_is_intact(db) -> None:
    result = verify(db)
    assert (result.ok, result.checked, result.first_broken) == (True, 0, None)


def test_entries_are_numbered_chained_and_verified(db, make_account) -> None:
    user = db.get(User, make_account(Role.INSPECTOR).id)
    made = _record_steps(db, user)
    assert [entry.seq for entry in made] == [1, 2, 3, 4, 5]
    assert made[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(made))
    stored = db.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    first = stored[0]
    assert (first.actor_id, first.actor, first.subject) == (user.id, user.email, "report:7")
    assert first.details == '{"from":"new","to":"acknowledged"}'
    assert first.at.tzinfo is None and first.at.microsecond == 0
    # The hash covers the actor through a digest keyed with the entry's own salt.
    who = json.dumps([user.id, user.email], separators=(",", ":")).encode()
    assert first.actor_salt is not None and len(first.actor_salt) == 16
    assert first.actor_digest == hashlib.blake2b(who, key=first.actor_salt,
                                                 digest_size=32).digest()
    fields = [1, first.at.isoformat(), first.actor_digest.hex(), "status_changed",
              "report:7", {"from": "new", "to": "acknowledged"}]
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first.hash == hashlib.blake2b(GENESIS + canonical.encode(), digest_size=32).digest()
    assert first.hash == entry_hash(GENESIS, 1, first.at, first.actor_digest, *fields[3:])
    head = db.get(AuditHead, 1)
    assert (head.seq, head.hash) == (5, stored[-1].hash)
    result = verify(db)
    assert (result.ok, result.checked, result.first_broken) == (True, 5, None)


@pytest.mark.parametrize(("column", "value"), [
    ("actor", "someone.else@example.org"),
    ("action", "login"),
    ("subject", "report:8"),
    ("details", '{"from":"new","to":"closed"}'),
    ("details", '{"from": "acknowledged", "to": "in_progress"}'),
    ("at", datetime(2020, 1, 1, 12, 0, 0)),
    ("actor_id", 99),
    ("actor_salt", bytes(16)),
    ("actor_digest", bytes(32)),
    ("prev_hash", bytes(32)),
    ("hash", bytes(32)),
])
def test_editing_any_field_of_an_entry_is_named(db, column: str, value: object) -> None:
    _record_steps(db)
    _sql(db, f"UPDATE audit_entries SET {column} = :value WHERE seq = 3", value=value)  # noqa: S608
    result = verify(db, batch_size=2)
    assert (result.ok, result.checked, result.first_broken) == (False, 2, 3), result.reason


def test_deleting_an_entry_is_named_at_the_next_one(db) -> None:
    _record_steps(db)
    _sql(db, "DELETE FROM audit_entries WHERE seq = 3")
    result = verify(db, batch_size=2)
    assert (result.ok, result.first_broken) == (False, 4)
    assert "Entry 3" in result.reason and "missing" in result.reason


def test_reordering_entries_is_named(db) -> None:
    _record_steps(db)
    # Three steps: PostgreSQL checks the primary key after every row.
    _sql(db, "UPDATE audit_entries SET seq = -1 WHERE seq = 2")
    _sql(db, "UPDATE audit_entries SET seq = 2 WHERE seq = 4")
    _sql(db, "UPDATE audit_entries SET seq = 4 WHERE seq = -1")
    result = verify(db)
    assert (result.ok, result.first_broken) == (False, 2)


def test_deleting_the_newest_entry_shows_at_the_head(db) -> None:
    _record_steps(db)
    _sql(db, "DELETE FROM audit_entries WHERE seq = 5")
    result = verify(db)
    assert (result.ok, result.checked, result.first_broken) == (False, 4, 5)
    assert "end of the log" in result.reason


def test_rolling_the_head_back_over_a_newer_entry_is_named(db) -> None:
    made = _record_steps(db)
    _sql(db, "UPDATE audit_head SET seq = 4, hash = :hash WHERE id = 1", hash=made[3].hash)
    result = verify(db)
    assert (result.ok, result.first_broken) == (False, 5)
    assert "beyond the head" in result.reason


def test_a_changed_head_hash_is_named(db) -> None:
    _record_steps(db)
    _sql(db, "UPDATE audit_head SET hash = :hash WHERE id = 1", hash=bytes(32))
    assert (verify(db).ok, verify(db).first_broken) == (False, 5)


@pytest.mark.parametrize("details", [
    {"text": "He took 200 euros"},
    {"payload": "c2VhbGVk"},
    {"answers": {"what": "x"}},
    {"receipt": "1234"},
    {"new_password": "x"},
    {"reportText": "x"},
    {"meta": {"passphrase": "x"}},
    {"readers": [{"id": 1, "private_key": "x"}]},
    {"note": "x" * 3000},
])
def test_details_that_could_hold_content_or_secrets_are_refused(db, details) -> None:
    with pytest.raises(ValueError):
        record(db, actor=None, action="shared", subject="report:1", details=details)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert db.get(AuditHead, 1).seq == 0


def test_deleting_an_account_leaves_its_entries_untouched(db, make_account) -> None:
    account = make_account(Role.MANAGER)
    user = db.get(User, account.id)
    record(db, actor=user, action="login")
    db.commit()
    db.execute(delete(User).where(User.id == account.id))
    db.commit()
    entry = db.scalar(select(AuditEntry))
    assert (entry.actor_id, entry.actor) == (account.id, account.email)
    assert verify(db).ok


def test_entries_page_newest_first_and_filter_by_action_and_actor(db) -> None:
    _record_steps(db)
    record(db, actor=None, actor_label="anonymous", action="login_failed")
    record(db, actor=None, actor_label="100%_sure@example.org", action="login")
    db.commit()
    first = entries(db, page=1, per_page=3)
    assert ([e.seq for e in first.items], first.pages, first.total) == ([7, 6, 5], 3, 7)
    assert [e.seq for e in entries(db, page=99, per_page=3).items] == [1]
    assert entries(db, page=1, action="login_failed").total == 1
    assert entries(db, page=1, actor="CLI").total == 5
    assert [e.seq for e in entries(db, page=1, actor="100%_").items] == [7]
    assert entries(db, page=1, actor="0%s").total == 0


def _append(app: Flask, thread: int, errors: list[BaseException]) -> None:
    try:
        for n in range(25):
            with app.extensions["integrity.sessionmaker"]() as session:
                record(session, actor=None, actor_label=f"worker {thread}", action="export",
                       subject=f"report:{n}")
                session.commit()
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(exc)


def test_concurrent_appenders_keep_one_unbroken_chain(app, db) -> None:
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_append, args=(app, n, errors)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(db.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq))) == list(
        range(1, 101))
    result = verify(db)
    assert (result.ok, result.checked) == (True, 100)


def test_admin_page_lists_entries_and_shows_the_chain_state(
    app, db, client, make_account, login
) -> None:
    login(make_account(Role.ADMIN))
    _record_steps(db)
    record(db, actor=None, actor_label="anonymous", action="login_failed")
    db.commit()
    page = client.get(_url(app, "admin.audit", check=1))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Chain intact: {verify(db).checked} entries" in html
    # Case 7 does not exist: the page names it as a deleted case, never by its number.
    assert "deleted case" in html and "report:7" not in html
    assert "anonymous" in html and "in_progress" in html
    assert 'scope="col"' in html and "<caption" in html
    # The entries' table, after the filter form (whose choices name actions, not entries).
    filtered = client.get(_url(app, "admin.audit", action="login_failed")).get_data(
        as_text=True).split("<tbody", 1)[1]
    assert "anonymous" in filtered and "deleted case" not in filtered
    by_actor = client.get(_url(app, "admin.audit", actor="cli")).get_data(
        as_text=True).split("<tbody", 1)[1]
    assert "deleted case" in by_actor and "anonymous" not in by_actor
    _sql(db, "UPDATE audit_entries SET subject = 'report:9' WHERE seq = 2")
    broken = client.get(_url(app, "admin.audit", check=1)).get_data(as_text=True)
    assert "Chain broken at entry 2" in broken and 'role="alert"' in broken
    index = client.get(_url(app, "admin.index")).get_data(as_text=True)
    assert _url(app, "admin.audit") in index


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.MANAGER])
def test_admin_page_is_refused_to_other_roles(app, client, make_account, login, role) -> None:
    login(make_account(role))
    assert client.get(_url(app, "admin.audit")).status_code == 403


def test_admin_page_sends_anonymous_visitors_to_sign_in(app, client) -> None:
    response = client.get(_url(app, "admin.audit"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(_url(app, "auth.login"))


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def cli_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    with cli_environment(tmp_path / "data", request.param) as environment:
        yield environment


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([INTEGRITY, *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_audit_verify_command_exits_0_then_1_after_tampering(cli_env, tmp_path: Path) -> None:
    assert _run(cli_env, "init").returncode == 0
    app = create_app(make_settings(tmp_path, cli_env.get("INTEGRITY_DATABASE_URL", "")))
    try:
        with app.extensions["integrity.sessionmaker"]() as session:
            made = _record_steps(session)
            target = made[2].seq
            count = session.scalar(select(func.count()).select_from(AuditEntry))
    finally:
        dispose(app)
    intact = _run(cli_env, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    first, head = intact.stdout.strip().splitlines()
    assert first == f"Audit log intact: {count} entries."
    assert head.startswith(f"Head: entry {count}, hash ") and len(head.split()[-1]) == 64

    engine = make_engine(app.extensions["integrity.settings"].database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE audit_entries SET action = 'export' WHERE seq = :s"),
                               {"s": target})
    finally:
        engine.dispose()
    broken = _run(cli_env, "audit", "verify")
    assert broken.returncode == 1
    assert broken.stderr.startswith(f"Audit log broken at entry {target}: ")
    assert "Traceback" not in broken.stderr
