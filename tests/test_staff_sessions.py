"""Staff sessions: the idle timeout, the end of other sessions on a passphrase change, and the
scheduled removal of sessions nobody signed out of."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity.auth.services import purge_idle_sessions
from integrity.clock import Clock
from integrity.models import Role, StaffSession
from integrity.scheduler import Scheduler, jobs_table
from tests.conftest import csrf_token, sign_in_form, totp_now

NEW_PASSPHRASE = "a new and longer passphrase"


class StoppedClock(Clock):
    """A clock that stands still at ``moment``, moved by hand between starts."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def _wait_for(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _idle(db: Session, user_id: int, minutes: float) -> None:
    """Make every session of the user look idle for ``minutes``: the clock moved, not slept."""
    for record in db.scalars(select(StaffSession).where(StaffSession.user_id == user_id)):
        record.last_seen_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=minutes)
    db.commit()


def _sessions(db: Session, user_id: int) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(StaffSession)
                     .where(StaffSession.user_id == user_id)) or 0


def _sign_in(client: FlaskClient, account) -> None:
    response = client.post("/staff/login", data=sign_in_form(client, account.email,
                                                             account.password))
    assert response.status_code == 302, response.get_data(as_text=True)
    if account.totp_secret:
        response = client.post("/staff/login/code", data={
            "csrf_token": csrf_token(client, "/staff/login/code"),
            "code": totp_now(account.totp_secret)})
        assert response.status_code == 302


def test_a_session_idle_for_less_than_the_timeout_stays_and_is_kept_alive(
        client, login, make_account, db: Session) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    _idle(db, manager.id, 29)
    assert client.get("/dashboard/").status_code == 200
    # Reading a page touched the session: it is counted idle from now again.
    db.expire_all()
    seen = db.scalar(select(StaffSession.last_seen_at).where(StaffSession.user_id == manager.id))
    assert seen is not None
    assert datetime.now(UTC).replace(tzinfo=None) - seen < timedelta(minutes=5)


def test_a_session_idle_past_the_timeout_ends_and_its_row_goes(
        client, login, make_account, db: Session) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    _idle(db, manager.id, 31)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]
    assert _sessions(db, manager.id) == 0
    # Signing in again works at once.
    login(manager)
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"idle_timeout_minutes": 5}])
def test_the_idle_timeout_is_the_configured_one(client, login, make_account, db: Session) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    _idle(db, manager.id, 4)
    assert client.get("/dashboard/").status_code == 200
    _idle(db, manager.id, 6)
    assert client.get("/dashboard/").status_code == 302


def test_a_passphrase_change_ends_the_other_sessions_and_keeps_this_one(
        app: Flask, client, login, make_account, db: Session) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    elsewhere = app.test_client()
    _sign_in(elsewhere, manager)
    assert elsewhere.get("/dashboard/").status_code == 200
    assert _sessions(db, manager.id) == 2
    response = client.post("/staff/password", data={
        "csrf_token": csrf_token(client, "/staff/password"), "current": manager.password,
        "new": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE})
    assert response.status_code == 302
    assert "Other sessions were signed out" in client.get("/dashboard/").get_data(as_text=True)
    # The other device is sent to the sign-in page; this one carries on.
    response = elsewhere.get("/dashboard/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert client.get("/dashboard/").status_code == 200
    assert _sessions(db, manager.id) == 1


def test_a_refused_passphrase_change_ends_no_session(
        app: Flask, client, login, make_account, db: Session) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    elsewhere = app.test_client()
    _sign_in(elsewhere, manager)
    response = client.post("/staff/password", data={
        "csrf_token": csrf_token(client, "/staff/password"), "current": "not the passphrase",
        "new": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE})
    assert response.status_code == 200
    assert elsewhere.get("/dashboard/").status_code == 200
    assert _sessions(db, manager.id) == 2


def test_purging_removes_idle_sessions_only(client, login, make_account, db: Session) -> None:
    idle, active = make_account(Role.MANAGER), make_account(Role.MANAGER)
    login(idle)
    _sign_in(client.application.test_client(), active)
    _idle(db, idle.id, 45)
    assert purge_idle_sessions(db, timedelta(minutes=30)) == 1
    db.commit()
    assert _sessions(db, idle.id) == 0
    assert _sessions(db, active.id) == 1


def test_the_scheduler_removes_sessions_nobody_signed_out_of(
        app: Flask, client, login, make_account, db: Session) -> None:
    manager = make_account(Role.MANAGER)
    login(manager)
    started = Clock().now()
    first = Scheduler(app, clock=StoppedClock(started), lease_seconds=3)
    first.start()
    try:
        assert first.wait_until_running()
    finally:
        first.shutdown()
    db.expire_all()
    stored = db.scalar(select(jobs_table.c.next_run_time).where(jobs_table.c.id
                                                                == "purge-sessions"))
    assert stored is not None
    assert _sessions(db, manager.id) == 1
    # An hour later by the scheduler's clock the session has been idle past the timeout: the
    # purge that fell due meanwhile runs at the next start and removes it.
    second = Scheduler(app, clock=StoppedClock(started + timedelta(hours=1)), lease_seconds=3)
    second.start()
    try:
        assert second.wait_until_running()
        assert "purge-sessions" in second.caught_up
        assert _wait_for(lambda: _sessions(db, manager.id) == 0)
    finally:
        second.shutdown()
