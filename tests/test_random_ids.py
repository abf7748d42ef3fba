"""Reports, messages and key slots are numbered at random: their ids give no order of filing
(integrity/db.py), the thread keeps its order in ``messages.position``, and migration 0037
renumbers what was stored before, except what the audit log names."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import Babel
from sqlalchemy import MetaData, Table, delete, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

import crypto
from integrity import current
from integrity.audit import AuditEntry, record, verify
from integrity.audit_names import names_for
from integrity.cases.history import case_history
from integrity.dashboard.pages import data_fingerprint
from integrity.db import LARGEST_ID, SMALLEST_ID, make_engine
from integrity.migrate import downgrade, upgrade
from integrity.models import Channel, Role, User
from integrity.reporting.filing import file_report
from integrity.reporting.mailbox import post_reporter_message
from integrity.reporting.models import KeySlot, Message, Report
from tests.conftest import POSTGRES_URL, _pg_url, create_pg_database, drop_pg_database
from tests.helpers.pages import signed_in
from tests.helpers.reports import filed_report_id
from tests.protocol_client import ReporterClient

ANSWERS = {"what": "Containers cleared without inspection at berth 7."}
REPORTS, MESSAGES = 1000, 100


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"pow_bits": 0}  # a thousand filings, each without a proof of work to solve


def _ascents(values: Sequence[Any]) -> int:
    return sum(a < b for a, b in zip(values, values[1:], strict=False))


def assert_unordered(ids: Sequence[int]) -> None:
    """``ids``, in the order their rows were stored, follow no order: neither as numbers nor
    as 8-byte big-endian or little-endian strings does each tend to exceed the one before."""
    assert all(SMALLEST_ID <= i <= LARGEST_ID < 2**53 for i in ids)
    assert len(set(ids)) == len(ids)
    pairs = len(ids) - 1
    for values in (list(ids), [i.to_bytes(8, "big") for i in ids],
                   [i.to_bytes(8, "little") for i in ids]):
        ascents = _ascents(values)
        assert 0 < ascents < pairs, "monotonic"
        # About half, as for independent draws (counted ids would give all or none): more
        # than six standard deviations away for the sizes used here.
        assert 0.2 * pairs < ascents < 0.8 * pairs


def test_reports_filed_one_after_another_have_ids_in_no_order(app: Flask, db: Session,
                                                               channel) -> None:
    template = ReporterClient(app.test_client()).report_body(channel.slug, ANSWERS).body
    lookups = [os.urandom(32) for _ in range(REPORTS)]
    with app.app_context():
        for lookup in lookups:  # the API's own filing, on PostgreSQL its one-statement path
            file_report(db, current.settings(), current.attachment_store(),
                        {**template, "lookup": crypto.b64encode(lookup)},
                        current.lookup_key(), current.route_cache(), current.org_public_key())
            db.commit()
    key = current.lookup_key(app)
    by_lookup = dict(db.execute(select(Report.lookup_hash, Report.id)).all())
    ids = [by_lookup[crypto.keyed_lookup_hash(lookup, key)] for lookup in lookups]
    assert_unordered(ids)
    # Their key slots too, in the order each filing stored them.
    readers = list(template["key_slots"])
    slots = {(row.report_id, row.reader): row.id for row in db.scalars(select(KeySlot))}
    assert_unordered([slots[report_id, reader] for report_id in ids for reader in readers])


def test_a_threads_messages_and_key_slots_have_ids_in_no_order_and_keep_their_order(
    app: Flask, db: Session, channel
) -> None:
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    report = db.get(Report, filed_report_id(app, filed))
    assert report is not None
    recipients = reporter.mailbox(filed.receipt)["recipients"]
    readers = reporter.readers(recipients, filed.keys.public_key)
    with app.app_context():
        for n in range(MESSAGES):
            sealed = crypto.seal_document({"text": f"Message {n}", "attachments": []}, readers,
                                          current.settings().pad_block)
            post_reporter_message(db, current.settings(), current.attachment_store(), report, {
                "payload": crypto.b64encode(sealed.payload),
                "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()}})
            db.commit()
    db.expire_all()
    thread = list(report.messages)
    assert [m.position for m in thread] == list(range(1, MESSAGES + 1))
    assert_unordered([m.id for m in thread])
    slots = {(slot.message_id, slot.reader): slot.id
             for slot in db.scalars(select(KeySlot).where(KeySlot.report_id == report.id))}
    assert_unordered([slots[None, r] for r in filed.body["key_slots"]]
                     + [slots[m.id, r] for m in thread for r in readers])
    # The mailbox numbers them by their place, as before: "1", "2", ... in the order sent.
    listed = reporter.mailbox(filed.receipt)["messages"]
    assert [m["id"] for m in listed] == [str(n) for n in range(1, MESSAGES + 1)]
    opened = [crypto.open_document(crypto.b64decode(m["payload"]),
                                   crypto.b64decode(m["key_slot"]), filed.keys.secret_key,
                                   current.settings(app).pad_block)["text"]
              for m in listed[:3] + listed[-1:]]
    assert opened == ["Message 0", "Message 1", "Message 2", f"Message {MESSAGES - 1}"]


def test_two_messages_written_to_one_thread_at_once_take_the_next_two_places(
    app: Flask, db: Session, channel
) -> None:
    """PostgreSQL: the second writer waits for the first's lock on the case, then counts its
    message (SQLite has one writer at a time anyway)."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    report_id = filed_report_id(app, ReporterClient(app.test_client()).file(channel.slug,
                                                                            ANSWERS))
    engine = current.engine(app)
    with Session(engine) as first, Session(engine) as second:
        first.add(Message(report_id=report_id, sender="reporter", payload=b"first"))
        first.flush()
        waiting = second.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        failures: list[BaseException] = []

        def write_second() -> None:
            try:
                second.add(Message(report_id=report_id, sender="reporter", payload=b"second"))
                second.commit()
            except BaseException as exc:  # noqa: BLE001 (reported by the test's thread)
                failures.append(exc)

        writer = threading.Thread(target=write_second)
        writer.start()
        with engine.connect() as watcher:  # until the second writer waits for the lock
            while writer.is_alive() and watcher.execute(text(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": waiting}).scalar() != "Lock":
                watcher.rollback()  # a fresh view of the activity each time
        assert writer.is_alive(), failures
        first.commit()
        writer.join()
    assert not failures
    db.expire_all()
    assert [(m.position, m.payload) for m in db.get(Report, report_id).messages] == [
        (1, b"first"), (2, b"second")]


def test_the_dashboards_cache_sees_every_report_and_message_added_or_removed(
    app: Flask, db: Session, channel
) -> None:
    """The figures' cache key moves with each row added or deleted, though the largest id
    mostly stays where it is."""
    seen = [data_fingerprint(db, FILED)]

    def moved() -> bool:
        seen.append(data_fingerprint(db, FILED))
        return seen[-1] != seen[-2]

    report_id = filed_report_id(app, ReporterClient(app.test_client()).file(channel.slug,
                                                                            ANSWERS))
    assert moved()
    # Rows below the largest id: the largest does not move, the key must.
    report = db.get(Report, report_id)
    assert report is not None
    db.add(Report(id=SMALLEST_ID, channel_id=report.channel_id, created_on=FILED,
                  lookup_hash=os.urandom(32), payload=b"x"))
    db.commit()
    assert moved()
    for message_id in (LARGEST_ID, SMALLEST_ID):
        db.add(Message(id=message_id, report_id=report_id, sender="reporter", payload=b"x"))
        db.commit()
        assert moved()
    for gone in (delete(Message).where(Message.id == SMALLEST_ID),
                 delete(Report).where(Report.id == SMALLEST_ID), delete(Message),
                 delete(Report)):
        db.execute(gone)
        db.commit()
        assert moved()
    assert data_fingerprint(db, FILED) == seen[-1]  # and stays while nothing changes


def test_a_case_with_an_id_past_32_bits_opens_at_its_address(app: Flask, db: Session, channel,
                                                              make_account) -> None:
    account = make_account(Role.INSPECTOR)
    db.scalar(select(Channel).where(Channel.slug == channel.slug)).recipients.append(
        db.get(User, account.id))
    db.commit()
    filed = ReporterClient(app.test_client()).file(channel.slug, ANSWERS)
    report_id = filed_report_id(app, filed)
    assert report_id > 2**31
    inspector = signed_in(app, account)
    assert f'href="/cases/{report_id}"' in inspector.get("/cases/").get_data(as_text=True)
    for path in ("", "/sealed", "/history"):
        assert inspector.get(f"/cases/{report_id}{path}").status_code == 200
    assert inspector.get(f"/cases/{2**53}").status_code == 404  # past any id: no such case


# --------------------------------------------------------------- migration 0037 with data


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database at 0035, the revision before this one."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        name = create_pg_database()
        url = _pg_url(name).replace("postgresql://", "postgresql+psycopg://", 1)
    upgrade(url, "0035")
    yield url
    if request.param != "sqlite":
        drop_pg_database(name)


FILED = date(2027, 1, 4)


def _rows() -> dict[str, list[dict[str, Any]]]:
    """What 0035 stores, numbered as it would: message ids interleave across cases."""
    user = {"email": "", "name": "I", "role": "inspector", "password_hash": "x",
            "must_change_password": False, "can_sign_in": True, "active": True,
            "created_on": FILED, "key_scheme": 2}
    report = {"channel_id": 1, "created_on": FILED, "payload": b"p", "status": "new",
              "kind": "report", "retaliation_of_id": None}
    return {
        "users": [{**user, "id": 1, "email": "i1@example.org"},
                  {**user, "id": 2, "email": "i2@example.org"}],
        "channels": [{"id": 1, "slug": "c", "name": "C", "description": "",
                      "allow_exclusion": True, "retention_days": 100, "asks_category": True,
                      "asks_unit": True, "state": "open"}],
        # 1 and 4 are named by the audit log; 2 is not, nor 3, its report of retaliation.
        "reports": [{**report, "id": n, "reference": f"AAAA-AAA{n}",
                     "lookup_hash": bytes([n]) * 32} for n in (1, 2, 4)]
        + [{**report, "id": 3, "reference": "AAAA-AAA3", "lookup_hash": bytes([3]) * 32,
            "kind": "retaliation", "retaliation_of_id": 2}],
        # Message 3 is named in an audit entry's details (deleted).
        "messages": [{"id": m, "report_id": r, "sender": s, "sent_on": FILED,
                      "payload": f"message {m}".encode()}
                     for m, r, s in ((1, 1, "reporter"), (2, 2, "reporter"), (3, 1, "inspector"),
                                     (4, 2, "note"), (5, 1, "reporter"), (6, 3, "reporter"))],
        "key_slots": [{"id": n, "report_id": r, "message_id": m, "reader": reader,
                       "slot": f"slot {n}".encode()}
                      for n, (r, m, reader) in enumerate(
                          [(r, None, "1") for r in (1, 2, 3, 4)]
                          + [(r, m, reader) for m, r in ((1, 1), (2, 2), (4, 2), (5, 1), (6, 3))
                             for reader in ("1", "reporter")], start=1)],
        "attachments": [{"id": "a" * 32, "size": 10, "report_id": 1, "message_id": 5},
                        {"id": "b" * 32, "size": 10, "report_id": 2, "message_id": None}],
        "tombstones": [{"id": 1, "report_id": 1, "message_id": 3, "kind": "message",
                        "made_on": FILED, "reason": "names a colleague"}],
        "report_readers": [{"report_id": r, "user_id": u}
                           for r, u in ((1, 1), (2, 1), (2, 2), (3, 1), (4, 1))],
        "report_exclusions": [{"report_id": 1, "user_id": 2}],
        "closing_requests": [{"report_id": 4, "outcome": "unsubstantiated",
                              "requested_on": FILED}],
        "meeting_requests": [{"id": 1, "report_id": 2, "requested_on": FILED, "due_on": FILED,
                              "state": "requested"}],
        "protection_records": [{"message_id": 4, "report_id": 2, "kind": "risk_assessment"}],
        "check_ins": [{"id": 1, "report_id": 2, "months": 3, "due_on": FILED,
                       "state": "scheduled"}],
        "case_persons": [{"id": 1, "report_id": 3, "state": "added", "added_on": FILED}],
        "notifications": [{"id": n, "kind": key.split(":")[0], "params": {}, "attempts": 0,
                           "due_at": datetime(2027, 1, 5), "dedup_key": key}
                          for n, key in enumerate(("acknowledge_overdue:2:1:late-0",
                                                   "case_expiring:1:1:2027-05-01",
                                                   "person_review_due:2:1:2027-02-01",
                                                   "admin_summary:2:2027-01-05"), start=1)],
    }


def _store_old_data(url: str) -> None:
    engine = make_engine(url)
    try:
        tables = MetaData()
        with engine.begin() as connection:
            for name, values in _rows().items():
                connection.execute(insert(Table(name, tables, autoload_with=connection)), values)
        with Session(engine) as session:
            # The case opened and a message of it deleted, the other case named nowhere.
            record(session, actor=None, actor_label="i1@example.org", action="case_opened",
                   subject="report:1")
            record(session, actor=None, actor_label="i1@example.org", action="message_deleted",
                   subject="report:1", details={"message": 3, "size": 9, "sha256": "00"})
            record(session, actor=None, actor_label="i1@example.org",
                   action="closing_requested", subject="report:4",
                   details={"outcome": "unsubstantiated"})
            record(session, actor=None, actor_label="cli", action="user_invited",
                   subject="user:2", details={"role": "inspector"})
            session.commit()
    finally:
        engine.dispose()


def _foreign_keys(engine: Engine) -> set[tuple[str, str, str]]:
    """PostgreSQL: every foreign key constraint referring to reports or messages."""
    with engine.connect() as connection:
        return set(map(tuple, connection.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' "
            "AND confrelid IN ('reports'::regclass, 'messages'::regclass)")).all()))


def _table(connection: Connection, name: str) -> list[Any]:
    return list(connection.execute(select(Table(name, MetaData(), autoload_with=connection))))


def _renumbered(before: int, after: int, named: bool) -> bool:
    return after == before if named else SMALLEST_ID <= after <= LARGEST_ID


def test_the_upgrade_renumbers_stored_rows_but_those_the_audit_log_names(
    old_database: str,
) -> None:
    """0037 on stored data: unnamed reports and messages and every key slot get random ids,
    every reference follows, each thread keeps its order, and the audit log (never rewritten)
    still verifies and still finds the cases and the message it names."""
    _store_old_data(old_database)
    engine = make_engine(old_database)
    postgresql = engine.dialect.name == "postgresql"
    keys_before = _foreign_keys(engine) if postgresql else set()
    try:
        upgrade(old_database)
        with engine.connect() as connection:
            new = {name: _table(connection, name) for name in (
                "reports", "messages", "key_slots", "attachments", "tombstones", "report_readers",
                "report_exclusions", "closing_requests", "meeting_requests",
                "protection_records", "check_ins", "case_persons", "notifications")}
        # Reports 1 and 4 keep their number; 2 and 3 are drawn, and the link follows.
        report = {int(row.reference[-1]): row.id for row in new["reports"]}
        assert all(_renumbered(n, report[n], n in (1, 4)) for n in (1, 2, 3, 4))
        assert {row.id: row.retaliation_of_id for row in new["reports"]}[report[3]] == report[2]
        # Message 3 keeps its number, the others are drawn; each stays in its case.
        message = {int(row.payload.decode().split()[1]): row for row in new["messages"]}
        assert all(_renumbered(n, row.id, n == 3) for n, row in message.items())
        old_case = {1: 1, 2: 2, 3: 1, 4: 2, 5: 1, 6: 3}
        assert {n: row.report_id for n, row in message.items()} == {
            n: report[r] for n, r in old_case.items()}
        # Each thread in its former order, counted within the case.
        assert {n: row.position for n, row in message.items()} == {
            1: 1, 3: 2, 5: 3, 2: 1, 4: 2, 6: 1}
        # Every key slot drawn, each still the slot of its case and message.
        slot = {int(row.slot.decode().split()[1]): row for row in new["key_slots"]}
        for old in _rows()["key_slots"]:
            row = slot[old["id"]]
            assert SMALLEST_ID <= row.id <= LARGEST_ID
            assert row.report_id == report[old["report_id"]]
            assert row.message_id == (message[old["message_id"]].id
                                      if old["message_id"] else None)
        ids = {"a" * 32: (report[1], message[5].id), "b" * 32: (report[2], None)}
        assert {row.id: (row.report_id, row.message_id) for row in new["attachments"]} == ids
        assert [(row.report_id, row.message_id) for row in new["tombstones"]] == [
            (report[1], message[3].id)]
        assert sorted((row.report_id, row.user_id) for row in new["report_readers"]) == sorted(
            (report[r], u) for r, u in ((1, 1), (2, 1), (2, 2), (3, 1), (4, 1)))
        assert [row.report_id for row in new["report_exclusions"]] == [report[1]]
        assert [row.report_id for row in new["closing_requests"]] == [report[4]]
        assert [row.report_id for row in new["meeting_requests"]] == [report[2]]
        assert [row.report_id for row in new["check_ins"]] == [report[2]]
        assert [row.report_id for row in new["case_persons"]] == [report[3]]
        assert [(row.message_id, row.report_id) for row in new["protection_records"]] == [
            (message[4].id, report[2])]
        # A reminder already written follows its case, so it is not written again.
        assert sorted(row.dedup_key for row in new["notifications"]) == sorted([
            f"acknowledge_overdue:{report[2]}:1:late-0", "case_expiring:1:1:2027-05-01",
            "person_review_due:2:1:2027-02-01", "admin_summary:2:2027-01-05"])
        if postgresql:
            assert _foreign_keys(engine) == keys_before
            columns = {(c["name"], str(c["type"]), c.get("default"))
                       for c in inspect(engine).get_columns("reports")}
            assert ("id", "BIGINT", None) in columns
            assert ("retaliation_of_id", "BIGINT", None) in columns
        with Session(engine) as session:
            assert verify(session).ok
            history = _history(session, 1)
            assert [line.what for line in history] == ["Opened the case", "Deleted a message"]
            entries = session.scalars(select(AuditEntry).where(
                AuditEntry.subject == "report:4")).all()
            assert names_for(session, entries).case(4).label == "Case AAAA-AAA4"
            # The next message of a case whose messages kept or changed their ids comes last.
            session.add(Message(report_id=1, sender="reporter", payload=b"later"))
            session.commit()
            later = session.scalar(select(Message).where(Message.payload == b"later"))
            assert later is not None and later.position == 4 and later.id >= SMALLEST_ID
            assert [m.payload for m in session.get(Report, 1).messages] == [
                b"message 1", b"message 3", b"message 5", b"later"]
        with pytest.raises(RuntimeError, match="random ids"):
            downgrade(old_database, "0035")
    finally:
        engine.dispose()


def _history(session: Session, report_id: int) -> list[Any]:
    flask_app = Flask(__name__)
    Babel(flask_app)
    with flask_app.app_context():
        return case_history(session, report_id, 1).lines


def test_the_downgrade_numbers_key_slots_again_and_refuses_random_cases(
    old_database: str,
) -> None:
    """Back to 0035 when every report and message kept its number (the audit log names
    them): the key slots are numbered again from 1, the positions go, and new rows are
    counted again; then up once more."""
    engine = make_engine(old_database)
    try:
        with engine.begin() as connection:
            rows, tables = _rows(), MetaData()
            for name in ("users", "channels"):
                connection.execute(insert(Table(name, tables, autoload_with=connection)),
                                   rows[name])
            for name, values in (("reports", rows["reports"][:1]),
                                 ("messages", rows["messages"][:1]),
                                 ("key_slots", rows["key_slots"][:1] + rows["key_slots"][4:6])):
                connection.execute(insert(Table(name, tables, autoload_with=connection)), values)
        with Session(engine) as session:
            record(session, actor=None, actor_label="i1@example.org", action="record_agreed",
                   subject="report:1", details={"message": 1, "day": FILED.isoformat()})
            session.commit()
        upgrade(old_database)
        with engine.connect() as connection:
            assert [row.id for row in _table(connection, "reports")] == [1]
            assert [row.id for row in _table(connection, "messages")] == [1]
            assert all(row.id >= SMALLEST_ID for row in _table(connection, "key_slots"))
        downgrade(old_database, "0035")
        with engine.begin() as connection:
            slots = _table(connection, "key_slots")
            assert sorted(row.id for row in slots) == [1, 2, 3]
            assert {(row.report_id, row.message_id, row.slot) for row in slots} == {
                (1, None, b"slot 1"), (1, 1, b"slot 5"), (1, 1, b"slot 6")}
            assert "position" not in {c["name"] for c in inspect(connection).get_columns(
                "messages")}
            connection.execute(text(
                "INSERT INTO messages (report_id, sender, sent_on, payload, kind) "
                "VALUES (1, 'reporter', '2027-01-05', 'x', 'message')"))
            assert max(row.id for row in _table(connection, "messages")) == 2
        upgrade(old_database)
    finally:
        engine.dispose()
