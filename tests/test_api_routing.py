"""Filing keeps up with the channel: routes kept between filings never outlive a change, the
proof of work is spent once however many requests race for it, and floods get 429."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from integrity import current
from integrity.extensions import MemoryCounters, limiter
from integrity.installation import get_installation
from integrity.models import (
    Category,
    Channel,
    ChannelState,
    Installation,
    OrgUnit,
    Role,
    User,
    today,
)
from integrity.reporting.models import KeySlot, PowChallenge, Report, Status
from tests.conftest import POSTGRES_URL, REDIS_URL
from tests.protocol_client import ReporterClient

ANSWERS = {"what": "Goods seized at the depot were sold on by the night shift."}


def _version(db: Session) -> int:
    db.expire_all()
    version: int = db.scalar(select(Installation.routing_version))
    return version


def _count(db: Session, model: type) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)))


def _fresh(reporter: ReporterClient) -> ReporterClient:
    """The same client with the configuration read again, as a page loaded now would."""
    return ReporterClient(reporter.http)


def _refused(response, status: int, words: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert words.lower() in response.get_json()["error"].lower()


def test_routing_version_moves_with_everything_a_route_depends_on(app: Flask, db: Session,
                                                                   channel) -> None:
    get_installation(db, app.extensions["integrity.settings"])
    db.commit()
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    inspector = db.get(User, int(next(iter(channel.inspectors))))
    org_unit = db.scalars(select(OrgUnit)).first()
    assert ch is not None and inspector is not None and org_unit is not None

    def retire_category() -> None:
        ch.categories[0].retired = True

    def set_recovery_key() -> None:
        installation = db.get(Installation, 1)
        assert installation is not None
        installation.recovery_public_key = crypto.KeyPair.generate().public_key

    changes: list[tuple[str, Callable[[], object]]] = [
        ("close the channel", lambda: setattr(ch, "state", ChannelState.CLOSED.value)),
        ("allow exclusion", lambda: setattr(ch, "allow_exclusion", not ch.allow_exclusion)),
        ("remove a recipient", lambda: ch.recipients.remove(inspector)),
        ("add a recipient", lambda: ch.recipients.append(inspector)),
        ("add a category", lambda: db.add(Category(channel=ch, slug="new", name="New"))),
        ("retire a category", retire_category),
        ("add a unit", lambda: db.add(OrgUnit(name="Lane 9", parent_id=org_unit.id,
                                              kind=org_unit.kind))),
        ("rename a unit", lambda: setattr(org_unit, "name", org_unit.name + " (north)")),
        ("change a key", lambda: setattr(inspector, "public_key",
                                         crypto.KeyPair.generate().public_key)),
        ("deactivate", lambda: setattr(inspector, "active", False)),
        ("change role", lambda: setattr(inspector, "role", Role.MANAGER.value)),
        ("set the recovery key", set_recovery_key),
    ]
    for what, change in changes:
        before = _version(db)
        change()
        db.commit()
        assert _version(db) > before, what
    # What a route does not depend on leaves the version alone.
    before = _version(db)
    inspector.name = "Renamed inspector"
    db.add(Report(channel_id=ch.id, created_on=today(), lookup_hash=os.urandom(32),
                  reporter_public_key=os.urandom(32), payload=b"x", status=Status.NEW.value))
    db.commit()
    assert _version(db) == before


def test_a_route_kept_from_an_earlier_filing_follows_every_change(
    app: Flask, reporter: ReporterClient, channel, db: Session
) -> None:
    reporter.file(channel.slug, ANSWERS, category="bribery")  # the route is read and kept
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    assert ch is not None
    first, second = (db.get(User, int(rid)) for rid in channel.inspectors)

    # An inspector taken off the channel: a report still sealed to them is refused ...
    ch.recipients.remove(second)
    db.commit()
    stale = reporter.send(reporter.report_body(channel.slug, ANSWERS, category="bribery"))
    _refused(stale.response, 400, "key slot")
    assert _count(db, Report) == 1
    # ... and one sealed to those left is taken, with no slot for the one removed.
    fresh = _fresh(reporter)
    filed = fresh.file(channel.slug, ANSWERS, category="bribery")
    slots = db.scalars(select(KeySlot.reader).join(Report, KeySlot.report_id == Report.id)
                       .where(Report.lookup_hash == crypto.keyed_lookup_hash(
                           filed.keys.lookup, current.lookup_key(app))))
    assert set(slots) == {str(first.id), "reporter"}

    # A new recipient: the kept route must not refuse the reports sealed to them.
    ch.recipients.append(second)
    db.commit()
    _fresh(reporter).file(channel.slug, ANSWERS, category="bribery")

    # An inspector's key replaced: reports sealed to the old key are refused.
    second.public_key = crypto.KeyPair.generate().public_key
    db.commit()
    _refused(fresh.send(fresh.report_body(channel.slug, ANSWERS)).response, 400, "key slot")

    # A category retired, then the channel closed.
    category = db.scalar(select(Category).where(Category.slug == "bribery"))
    category.retired = True
    db.commit()
    latest = _fresh(reporter)
    _refused(latest.send(latest.report_body(channel.slug, ANSWERS, category="bribery")).response,
             400, "category")
    ch.state = ChannelState.CLOSED.value
    db.commit()
    _refused(latest.send(latest.report_body(channel.slug, ANSWERS)).response, 400,
             "no open channel")
    assert _count(db, Report) == 3


def test_a_filing_on_a_kept_route_is_one_statement(
    reporter: ReporterClient, channel, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("routes are kept on PostgreSQL; SQLite reads them in its own transaction")
    reporter.file(channel.slug, ANSWERS)
    filed = reporter.report_body(channel.slug, ANSWERS)
    filed.body["pow"] = reporter.pow()
    statements: list[str] = []
    execute = psycopg.Cursor.execute

    def seen(cursor, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        statements.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    # Every statement reaches the driver here, whether SQLAlchemy sends it or not.
    monkeypatch.setattr(psycopg.Cursor, "execute", seen)
    assert reporter.send(filed).response.status_code == 201
    monkeypatch.undo()
    assert len(statements) == 1, statements
    assert "DELETE FROM pow_challenges" in statements[0]
    assert "INSERT INTO reports" in statements[0]


def test_a_proof_of_work_raced_by_many_requests_files_one_report(
    app: Flask, reporter: ReporterClient, channel, db: Session
) -> None:
    reporter.file(channel.slug, ANSWERS)  # a kept route, where there is one
    solved = reporter.pow()
    bodies = []
    for _ in range(6):
        filed = reporter.report_body(channel.slug, ANSWERS)
        filed.body["pow"] = solved
        bodies.append(filed.body)
    start = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def send(body: dict[str, object]) -> None:
        client = app.test_client()
        start.wait()
        statuses.append(client.post("/api/v1/reports", json=body).status_code)

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [429] * (len(bodies) - 1)
    assert _count(db, Report) == 2
    assert _count(db, PowChallenge) == 0


@pytest.mark.parametrize("settings_overrides", [
    {"ratelimit_reports": "3 per hour"},
    {"ratelimit_reports": "3 per hour", "redis_url": REDIS_URL},
], ids=["memory", "redis"])
def test_a_flood_of_filings_gets_429_and_stores_nothing(app: Flask, reporter: ReporterClient,
                                                        channel, db: Session,
                                                        settings_overrides: dict) -> None:
    storage = limiter.limiter.storage
    if "redis_url" in settings_overrides:
        assert type(storage).__name__ == "RedisStorage"
        storage.reset()  # counters left by an earlier run in the same hour
    else:
        assert isinstance(storage, MemoryCounters)
    for _ in range(3):
        response = reporter.file(channel.slug, ANSWERS).response
        assert int(response.headers["X-RateLimit-Limit"]) == 3
    flooded = reporter.send(reporter.report_body(channel.slug, ANSWERS)).response
    _refused(flooded, 429, "")
    error = flooded.get_json()["error"]
    assert error.endswith(".") and "\n" not in error
    assert int(flooded.headers["Retry-After"]) > 0
    assert flooded.headers["X-RateLimit-Remaining"] == "0"
    assert _count(db, Report) == 3
    if isinstance(storage, MemoryCounters):  # counted without starting a thread
        assert not storage.timer.is_alive()


def test_memory_counters_end_with_their_window_and_are_swept() -> None:
    counters = MemoryCounters("integrity-memory://")
    assert not counters.timer.is_alive()
    assert [counters.incr("a", 0.2), counters.incr("a", 0.2), counters.incr("b", 60)] == [1, 2, 1]
    time.sleep(0.25)
    assert counters.incr("a", 0.2) == 1  # a new window
    counters.incr("old", 0.05)
    time.sleep(0.1)
    counters.SWEEP_SECONDS = 0  # the next count sweeps
    counters.incr("b", 60)
    assert set(counters.storage) == {"a", "b"}  # "old" went without being read again
    assert counters.get("b") == 2


def test_filing_survives_the_database_dropping_its_connections(
    reporter: ReporterClient, channel, db: Session, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no connections to drop")
    reporter.file(channel.slug, ANSWERS)  # the pools now hold open connections
    database = database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchone()
    assert dropped is not None and dropped[0] >= 1
    db.close()  # the test's own session lost its connection too
    filed = reporter.file(channel.slug, ANSWERS)
    assert filed.response.get_json() == {"status": "received"}
    assert _count(db, Report) == 2


def test_a_hidden_channel_is_unlisted_but_takes_reports_by_its_slug(
    client, reporter: ReporterClient, channel, db: Session
) -> None:
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    assert ch is not None
    ch.state = ChannelState.HIDDEN.value
    db.commit()
    listed = client.get("/api/v1/config").get_json()["channels"]
    assert channel.slug not in [c["slug"] for c in listed]
    named = client.get(f"/api/v1/config?channel={channel.slug}").get_json()["channels"]
    assert [c["slug"] for c in named if c["slug"] == channel.slug] == [channel.slug]
    # The page shared by direct link names the channel, and so can file to it.
    linked = ReporterClient(client)
    linked._config = client.get(f"/api/v1/config?channel={channel.slug}").get_json()
    linked.file(channel.slug, ANSWERS)
    # Naming a closed channel lists nothing more.
    ch.state = ChannelState.CLOSED.value
    db.commit()
    closed = client.get(f"/api/v1/config?channel={channel.slug}").get_json()["channels"]
    assert channel.slug not in [c["slug"] for c in closed]
    assert _count(db, Report) == 1
