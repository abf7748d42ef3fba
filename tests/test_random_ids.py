"""Reports, messages and key slots are numbered at random: their ids give no order of filing
(integrity/db.py), the thread keeps its order in ``messages.position``, and migration 0037
renumbers what was stored before, except what the audit log names."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
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
from integrity.cases.check_ins import planned, post_due_check_ins, posted_check_ins
from integrity.cases.history import case_history
from integrity.cases.meetings import answer_meeting, meeting_json, request_meeting
from integrity.cases.person_models import Person, PersonKeySlot, PersonStep
from integrity.cases.persons import persons_of
from integrity.cases.protection_models import CheckIn
from integrity.cases.workflow import change_status
from integrity.dashboard.pages import data_fingerprint
from integrity.db import LARGEST_ID, SMALLEST_ID, make_engine
from integrity.migrate import downgrade, upgrade
from integrity.models import Channel, Role, User, today
from integrity.reporting.filing import file_report
from integrity.reporting.mailbox import post_reporter_message
from integrity.reporting.models import (
    KeySlot,
    MeetingRequest,
    MeetingState,
    Message,
    Outcome,
    Report,
    Status,
    Tombstone,
)
from tests.conftest import (
    POSTGRES_URL,
    _pg_url,
    create_pg_database,
    csrf_token,
    drop_pg_database,
)
from tests.helpers.pages import signed_in
from tests.helpers.persons import Page
from tests.helpers.reports import filed_report_id, open_reason, seal_reason
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


# Rows counted within their parent (``integrity.db.place_last``): how to make one.
PLACED = {
    "messages": lambda parent, payload: Message(report_id=parent, sender="reporter",
                                                payload=payload),
    "persons": lambda parent, payload: Person(report_id=parent, payload=payload),
    "tombstones": lambda parent, payload: Tombstone(report_id=parent, kind="attachment",
                                                    reason_payload=payload),
}


@pytest.mark.parametrize("kind", list(PLACED))
def test_two_rows_written_to_one_list_at_once_take_the_next_two_places(
    app: Flask, db: Session, channel, kind: str
) -> None:
    """PostgreSQL: the second writer waits for the first's lock on the case, then counts its
    row (SQLite has one writer at a time anyway)."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    report_id = filed_report_id(app, ReporterClient(app.test_client()).file(channel.slug,
                                                                            ANSWERS))
    make = PLACED[kind]
    engine = current.engine(app)
    with Session(engine) as first, Session(engine) as second:
        first.add(make(report_id, b"first"))
        first.flush()
        waiting = second.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        failures: list[BaseException] = []

        def write_second() -> None:
            try:
                second.add(make(report_id, b"second"))
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
    model = type(make(report_id, b""))
    payload = model.payload if model is not Tombstone else Tombstone.reason_payload
    assert db.execute(select(model.position, payload).where(model.report_id == report_id)
                      .order_by(model.position)).all() == [(1, b"first"), (2, b"second")]


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
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.recipients.append(db.get(User, account.id))  # ``ch`` held: the session keeps it weakly
    db.commit()
    filed = ReporterClient(app.test_client()).file(channel.slug, ANSWERS)
    report_id = filed_report_id(app, filed)
    assert report_id > 2**31
    inspector = signed_in(app, account)
    assert f'href="/cases/{report_id}"' in inspector.get("/cases/").get_data(as_text=True)
    for path in ("", "/sealed", "/history"):
        assert inspector.get(f"/cases/{report_id}{path}").status_code == 200
    assert inspector.get(f"/cases/{2**53}").status_code == 404  # past any id: no such case


# ------------------------------------------------------ the rows made beside a case (0040)

ROWS = 10  # enough that counted ids, or ids in the order stored, would show


def assert_drawn(ids: Sequence[int]) -> None:
    """``ids``, in the order their rows were stored, are drawn: in the range, distinct, and
    neither increasing nor decreasing, as counted ids would be (for ten random ids, either
    happens once in 1.8 million)."""
    assert len(ids) >= ROWS
    assert all(SMALLEST_ID <= i <= LARGEST_ID for i in ids)
    assert len(set(ids)) == len(ids)
    assert list(ids) != sorted(ids) and list(ids) != sorted(ids, reverse=True)


@pytest.fixture
def keyed_reader(db: Session, channel, make_account) -> tuple[Any, crypto.KeyPair]:
    """An inspector with a key pair, a recipient of the channel besides its two."""
    account = make_account(Role.INSPECTOR)
    pair = crypto.KeyPair.generate()
    user = db.get(User, account.id)
    user.public_key = pair.public_key
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.recipients.append(user)
    db.commit()
    return account, pair


def test_persons_and_their_steps_and_key_slots_have_ids_in_no_order_and_keep_their_order(
    app: Flask, db: Session, channel, keyed_reader
) -> None:
    account, pair = keyed_reader
    filed = ReporterClient(app.test_client()).file(channel.slug, ANSWERS)
    page = Page(signed_in(app, account), filed_report_id(app, filed), pair)
    added = [page.add(f"Witness {n}", "witness") for n in range(ROWS)]
    assert_drawn([int(person) for person in added])
    # The case page lists them in the order added, numbered 1, 2, 3... within the case.
    listed = page.persons()
    assert [p["id"] for p in listed] == added
    assert [p["number"] for p in listed] == list(range(1, ROWS + 1))
    assert [page.open(p)["name"] for p in listed] == [f"Witness {n}" for n in range(ROWS)]
    # A person's steps in the order recorded, which the state went through, though the day
    # given for a statement may be earlier than the one before it.
    report = db.get(Report, page.report_id)
    assert report is not None
    report.created_on = today() - timedelta(days=7)  # filed a week ago
    db.commit()
    person = added[1]
    assert page.step(person, "informed").status_code == 201
    days = [today() - timedelta(days=(3 * n) % 7) for n in range(ROWS)]
    for n, day in enumerate(days):
        assert page.step(person, "heard", f"Statement {n}", on=day).status_code == 201
    steps = page.persons()[1]["steps"]
    assert [(s["kind"], s["done_on"]) for s in steps] == [("informed", today().isoformat())] + [
        ("heard", day.isoformat()) for day in days]
    assert [page.open(s)["text"] for s in steps[1:]] == [f"Statement {n}" for n in range(ROWS)]
    assert_drawn([int(s["id"]) for s in steps])
    assert [s.position for s in db.get(Person, int(person)).steps] == list(range(1, ROWS + 2))
    # Their key slots, in the order each entry and step stored them.
    slots = {(row.person_id, row.step_id, row.reader): row.id
             for row in db.scalars(select(PersonKeySlot))}
    readers = sorted({reader for _p, _s, reader in slots})
    assert_drawn([slots[int(p), None, r] for p in added for r in readers]
                 + [slots[int(person), int(s["id"]), r] for s in steps for r in readers])
    # The history calls each person by the same number as the page.
    history = page.client.get(f"/cases/{page.report_id}/history").get_data(as_text=True)
    assert all(f"Added person {n} concerned by the case" in history
               for n in range(1, ROWS + 1))
    assert "Heard person 2" in history and "Heard person 1" not in history
    assert not any(f"person {p}" in history for p in added)
    # A number that is no person of this case, or past any id: 404.
    assert page.step(str(LARGEST_ID), "informed").status_code == 404
    assert page.step(str(LARGEST_ID + 1), "informed").status_code == 404


def test_tombstones_have_ids_in_no_order_and_are_listed_in_the_order_made(
    app: Flask, db: Session, channel, keyed_reader
) -> None:
    account, pair = keyed_reader
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    for n in range(ROWS):
        assert reporter.reply(filed.receipt, f"Message {n}").status_code == 201
    client, report_id = signed_in(app, account), filed_report_id(app, filed)
    headers = {"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}
    sealed = client.get(f"/cases/{report_id}/sealed").get_json()
    thread = [m["id"] for m in sealed["messages"]]
    deleted = thread[1::2] + thread[::2]  # not in the thread's order
    for message_id in deleted:
        assert client.post(f"/cases/{report_id}/messages/{message_id}/delete", headers=headers,
                           json={"reason": seal_reason(sealed, f"Reason {message_id}")}
                           ).status_code == 200
    tombstones = client.get(f"/cases/{report_id}/sealed").get_json()["tombstones"]
    assert [t["message"] for t in tombstones] == deleted
    assert_drawn([int(t["id"]) for t in tombstones])
    # Each reason opens with its own key slot, which followed its tombstone's id.
    assert [open_reason(sealed, t, pair) for t in tombstones] == [
        f"Reason {message_id}" for message_id in deleted]
    # The reporter's mailbox lists them in the same order, by each message's place.
    places = {message_id: str(n) for n, message_id in enumerate(thread, start=1)}
    assert [t["message"] for t in reporter.mailbox(filed.receipt)["tombstones"]] == [
        places[message_id] for message_id in deleted]


def test_check_ins_have_ids_in_no_order_and_are_listed_by_day(
    app: Flask, db: Session, channel
) -> None:
    db.scalar(select(Channel).where(Channel.slug == channel.slug)).check_in_months = \
        ",".join(str(months) for months in range(1, ROWS + 1))
    db.commit()
    report = db.get(Report, filed_report_id(app, ReporterClient(app.test_client()).file(
        channel.slug, ANSWERS)))
    assert report is not None
    closed_on = date(2027, 1, 31)
    report.final_notice_on = closed_on
    change_status(db, report, report.readers[0], Status.CLOSED, Outcome.UNSUBSTANTIATED,
                  on=closed_on)
    db.commit()
    scheduled = planned(db, report)
    assert [c.months for c in scheduled] == list(range(1, ROWS + 1))
    assert [c.position for c in scheduled] == list(range(1, ROWS + 1))
    assert_drawn([c.id for c in scheduled])
    # Reopened, then closed again a month later: the new check-ins come after, by their day,
    # and those of the same day in the order scheduled.
    change_status(db, report, report.readers[0], Status.IN_PROGRESS, on=date(2027, 2, 1))
    report.final_notice_on = date(2027, 2, 28)
    change_status(db, report, report.readers[0], Status.CLOSED, Outcome.UNSUBSTANTIATED,
                  on=date(2027, 2, 28))
    db.commit()
    listed = [(c.due_on, c.position) for c in planned(db, report)]
    assert listed == sorted(listed) and len(listed) == 2 * ROWS
    assert post_due_check_ins(db, date(2027, 6, 30)) == 4
    db.commit()
    assert [(c.done_on, c.months) for c in posted_check_ins(db, report)] == [
        (date(2027, 6, 30), months) for months in range(1, 5)]


def test_meeting_requests_have_ids_in_no_order_and_a_cases_requests_keep_their_order(
    app: Flask, db: Session, channel
) -> None:
    reporter = ReporterClient(app.test_client())
    report_ids = []
    for _ in range(ROWS):  # each filing asks for a meeting
        filed = reporter.report_body(channel.slug, ANSWERS)
        filed.body["meeting"] = True
        reporter.send(filed)
        assert filed.response is not None and filed.response.status_code == 201
        report_ids.append(filed_report_id(app, filed))
    requests = dict(db.execute(select(MeetingRequest.report_id, MeetingRequest.id)).all())
    assert_drawn([requests[report_id] for report_id in report_ids])
    # One case's requests, asked and answered in turn: in the order asked.
    report = db.get(Report, report_ids[0])
    assert report is not None
    for _ in range(ROWS):
        answer_meeting(db, report, report.readers[0], MeetingState.HELD)
        request_meeting(db, report)
        db.commit()
    db.expire_all()
    listed = report.meeting_requests
    assert [r.state for r in listed] == [MeetingState.HELD] * ROWS + [MeetingState.REQUESTED]
    assert [r.position for r in listed] == list(range(1, ROWS + 2))
    assert_drawn([r.id for r in listed])
    assert meeting_json(report)["meeting"]["state"] == "requested"


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


# --------------------------------------------------------------- migration 0040 with data

LISTS = {"meeting_requests": "report_id", "tombstones": "report_id", "check_ins": "report_id",
         "case_persons": "report_id", "case_person_steps": "person_id"}
BESIDE = (*LISTS, "case_person_key_slots")
REFERRED = ("tombstones", "case_persons", "case_person_steps")


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def database_0039(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database at 0039, the revision before 0040."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        name = create_pg_database()
        url = _pg_url(name).replace("postgresql://", "postgresql+psycopg://", 1)
    upgrade(url, "0039")
    yield url
    if request.param != "sqlite":
        drop_pg_database(name)


def _beside_rows() -> dict[str, list[dict[str, Any]]]:
    """What 0039 stores beside cases 1 and 2, counted as it would: ids interleave across the
    cases and the persons. Each row says which it was (its payload, or its case and state)."""
    rows = _rows()
    return {
        **{name: rows[name] for name in ("users", "channels", "reports", "report_readers")},
        "attachments": [{"id": "c" * 32, "size": 10, "report_id": 1, "message_id": None}],
        "case_persons": [{"id": p, "report_id": r, "state": "heard", "added_on": FILED,
                          "payload": f"person {p}".encode()}
                         for p, r in ((1, 1), (2, 2), (3, 1), (4, 1))],
        "case_person_steps": [{"id": s, "person_id": p, "kind": "heard", "done_on": FILED,
                               "author_id": 1, "payload": f"step {s}".encode()}
                              for s, p in ((1, 3), (2, 1), (3, 3), (4, 4))],
        "case_person_key_slots": [{"id": n, "person_id": p, "step_id": s, "reader": "1",
                                   "slot": f"slot {n}".encode()} for n, (p, s) in enumerate(
                                       ((1, None), (3, None), (3, 1), (1, 2), (3, 3), (4, 4),
                                        (2, None)), start=1)],
        "case_person_attachments": [{"attachment_id": "c" * 32, "person_id": 3, "step_id": 3}],
        "tombstones": [{"id": t, "report_id": r, "message_id": None,
                        "attachment_id": str(t) * 32, "kind": "attachment", "made_on": FILED,
                        "reason_payload": f"reason {t}".encode()} for t, r in ((1, 1), (2, 2),
                                                                               (3, 1))],
        "tombstone_key_slots": [{"tombstone_id": t, "reader": reader,
                                 "slot": f"slot {t} {reader}".encode()}
                                for t, reader in ((1, "1"), (2, "1"), (3, "1"), (3, "2"))],
        "meeting_requests": [{"id": m, "report_id": r, "requested_on": FILED, "due_on": FILED,
                              "state": state}
                             for m, r, state in ((1, 1, "held"), (2, 2, "requested"),
                                                 (3, 1, "requested"))],
        "check_ins": [{"id": c, "report_id": r, "months": months, "due_on": FILED,
                       "state": "scheduled"}
                      for c, r, months in ((1, 1, 3), (2, 2, 3), (3, 1, 6), (4, 1, 12))],
        "notifications": [{"id": n, "kind": "person_review_due", "params": {}, "attempts": 0,
                           "due_at": datetime(2027, 1, 5),
                           "dedup_key": f"person_review_due:{p}:1:2027-02-01:0"}
                          for n, p in ((1, 1), (2, 3))],
    }


def _store_beside(url: str, named: Sequence[int]) -> None:
    """The rows of ``_beside_rows``, and audit entries about the persons ``named``."""
    engine = make_engine(url)
    try:
        tables = MetaData()
        with engine.begin() as connection:
            for name, values in _beside_rows().items():
                connection.execute(insert(Table(name, tables, autoload_with=connection)), values)
        with Session(engine) as session:
            for person in named:
                report_id = next(row["report_id"] for row in _beside_rows()["case_persons"]
                                 if row["id"] == person)
                record(session, actor=None, actor_label="i1@example.org", action="person_added",
                       subject=f"report:{report_id}", details={"person": person})
            record(session, actor=None, actor_label="i1@example.org", action="person_heard",
                   subject="report:1", details={"person": 3, "on": FILED.isoformat()})
            session.commit()
    finally:
        engine.dispose()


def _beside_foreign_keys(engine: Engine) -> set[tuple[str, str, str]]:
    """PostgreSQL: every foreign key constraint referring to the tables 0040 renumbers."""
    referred = ", ".join(f"'{table}'::regclass" for table in REFERRED)
    with engine.connect() as connection:
        return set(map(tuple, connection.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "  # noqa: S608
            f"FROM pg_constraint WHERE contype = 'f' AND confrelid IN ({referred})")).all()))


def _which(table: str, row: Any) -> Any:
    """What a row of ``_beside_rows`` was, whatever its id."""
    if table in ("case_persons", "case_person_steps"):
        return row.payload
    if table == "tombstones":
        return row.reason_payload
    if table == "case_person_key_slots":
        return row.slot
    return row.report_id, row.state if table == "meeting_requests" else row.months


def _beside(connection: Connection) -> dict[str, dict[Any, Any]]:
    """Each row beside a case by what it was."""
    return {table: {_which(table, row): row for row in _table(connection, table)}
            for table in BESIDE}


def test_the_upgrade_renumbers_the_rows_beside_a_case_but_the_persons_the_audit_log_names(
    database_0039: str,
) -> None:
    """0040 on stored data: every row gets a random id but a person the audit log names, every
    reference follows, each list keeps its order in its positions, the case history still
    finds the person, and new rows come last in their lists."""
    _store_beside(database_0039, named=[3])
    engine = make_engine(database_0039)
    postgresql = engine.dialect.name == "postgresql"
    keys_before = _beside_foreign_keys(engine) if postgresql else set()
    try:
        upgrade(database_0039)
        with engine.connect() as connection:
            new = _beside(connection)
            attachments = _table(connection, "case_person_attachments")
            tombstone_slots = _table(connection, "tombstone_key_slots")
            reminders = {row.dedup_key for row in _table(connection, "notifications")}
        person = {n: new["case_persons"][f"person {n}".encode()] for n in (1, 2, 3, 4)}
        step = {n: new["case_person_steps"][f"step {n}".encode()] for n in (1, 2, 3, 4)}
        # Person 3 keeps its number; everything else is drawn.
        assert all(_renumbered(n, row.id, n == 3) for n, row in person.items())
        assert all(SMALLEST_ID <= row.id <= LARGEST_ID for table in BESIDE
                   if table != "case_persons" for row in new[table].values())
        # Each row still in its case or person, in its list's former order.
        assert {n: (row.report_id, row.position) for n, row in person.items()} == {
            1: (1, 1), 2: (2, 1), 3: (1, 2), 4: (1, 3)}
        assert {n: (row.person_id, row.position) for n, row in step.items()} == {
            1: (person[3].id, 1), 2: (person[1].id, 1), 3: (person[3].id, 2),
            4: (person[4].id, 1)}
        for old in _beside_rows()["case_person_key_slots"]:
            slot = new["case_person_key_slots"][old["slot"]]
            assert (slot.person_id, slot.step_id) == (
                person[old["person_id"]].id, step[old["step_id"]].id if old["step_id"] else None)
        assert [(row.attachment_id, row.person_id, row.step_id) for row in attachments] == [
            ("c" * 32, person[3].id, step[3].id)]
        tombstone = {n: new["tombstones"][f"reason {n}".encode()] for n in (1, 2, 3)}
        assert {n: (row.report_id, row.position) for n, row in tombstone.items()} == {
            1: (1, 1), 2: (2, 1), 3: (1, 2)}
        assert sorted((r.tombstone_id, r.reader, r.slot) for r in tombstone_slots) == sorted(
            (tombstone[t].id, reader, f"slot {t} {reader}".encode())
            for t, reader in ((1, "1"), (2, "1"), (3, "1"), (3, "2")))
        assert {key: row.position for key, row in new["meeting_requests"].items()} == {
            (1, "held"): 1, (2, "requested"): 1, (1, "requested"): 2}
        assert {key: row.position for key, row in new["check_ins"].items()} == {
            (1, 3): 1, (2, 3): 1, (1, 6): 2, (1, 12): 3}
        # A reminder already written follows its person, so it is not written again.
        assert reminders == {f"person_review_due:{person[1].id}:1:2027-02-01:0",
                             "person_review_due:3:1:2027-02-01:0"}
        columns = {table: {c["name"]: c for c in inspect(engine).get_columns(table)}
                   for table in BESIDE}
        assert all(not columns[table]["position"]["nullable"]
                   and columns[table]["position"]["default"] is None for table in LISTS)
        if postgresql:
            assert _beside_foreign_keys(engine) == keys_before
            assert all(str(columns[table]["id"]["type"]) == "BIGINT"
                       and columns[table]["id"]["default"] is None for table in BESIDE)
            assert str(columns["case_person_key_slots"]["step_id"]["type"]) == "BIGINT"
        with Session(engine) as session:
            assert verify(session).ok
            assert [line.what for line in _history(session, 1)] == [
                "Added person 2 concerned by the case", "Heard person 2"]
            # New rows come last in their lists, with random ids.
            later = [Person(report_id=1, added_on=FILED, payload=b"later"),
                     PersonStep(person_id=3, kind="heard", done_on=FILED, payload=b"later"),
                     Tombstone(report_id=1, kind="attachment", made_on=FILED),
                     MeetingRequest(report_id=1, requested_on=FILED, due_on=FILED),
                     CheckIn(report_id=1, months=24, due_on=FILED)]
            session.add_all(later)
            session.commit()
            assert [row.position for row in later] == [4, 3, 3, 3, 4]
            assert all(row.id >= SMALLEST_ID for row in later)
            report = session.get(Report, 1)
            assert [p.payload for p in persons_of(session, report)] == [
                b"person 1", b"person 3", b"person 4", b"later"]
            assert [s.payload for s in session.get(Person, 3).steps] == [
                b"step 1", b"step 3", b"later"]
            assert [m.state for m in report.meeting_requests] == [
                MeetingState.HELD, MeetingState.REQUESTED, MeetingState.REQUESTED]
            # Once the audit log names a person by a random id, the way down is closed.
            record(session, actor=None, actor_label="i1@example.org", action="person_added",
                   subject="report:1", details={"person": later[0].id})
            session.commit()
        with pytest.raises(RuntimeError, match="random ids"):
            downgrade(database_0039, "0039")
    finally:
        engine.dispose()


def test_the_downgrade_numbers_the_rows_beside_a_case_again_in_their_lists_order(
    database_0039: str,
) -> None:
    """Back to 0039: every random id is numbered again below 2**31, each list in its order
    (the previous version reads it from the ids), every reference follows, the positions go,
    and new rows are counted again; then up once more."""
    _store_beside(database_0039, named=[1, 2, 3, 4])
    engine = make_engine(database_0039)
    try:
        upgrade(database_0039)
        with Session(engine) as session:
            session.add_all([Person(report_id=1, added_on=FILED, payload=b"person 5"),
                             PersonStep(person_id=1, kind="heard", done_on=FILED,
                                        payload=b"step 5"),
                             Tombstone(report_id=2, kind="attachment", made_on=FILED,
                                       reason_payload=b"reason 4"),
                             MeetingRequest(report_id=2, requested_on=FILED, due_on=FILED,
                                            state=MeetingState.HELD),
                             CheckIn(report_id=2, months=6, due_on=FILED)])
            session.commit()
            fifth = session.scalar(select(Person).where(Person.payload == b"person 5"))
            assert fifth is not None
            session.add(PersonKeySlot(person_id=fifth.id, reader="1", slot=b"slot 8"))
            session.commit()
        with engine.connect() as connection:
            before = _beside(connection)
        downgrade(database_0039, "0039")
        with engine.connect() as connection:
            after = _beside(connection)
            attachments = _table(connection, "case_person_attachments")
            tombstone_slots = _table(connection, "tombstone_key_slots")
        assert all(0 < row.id <= 2**31 - 1 for table in BESIDE for row in after[table].values())
        assert {table: set(rows) for table, rows in after.items()} == {
            table: set(rows) for table, rows in before.items()}
        # The persons the audit log names kept their number; the new one comes after them.
        assert {p: after["case_persons"][f"person {p}".encode()].id for p in range(1, 6)} == {
            1: 1, 2: 2, 3: 3, 4: 4, 5: 5}
        # Each list's order is its ids' order now, as it was its positions'.
        for table, parent in LISTS.items():
            new_ids = {key: row.id for key, row in after[table].items()}
            for key, row in before[table].items():
                for other_key, other in before[table].items():
                    if getattr(other, parent) == getattr(row, parent):
                        assert (row.position < other.position) == (
                            new_ids[key] < new_ids[other_key]), (table, key, other_key)
        # Every reference followed.
        ids = {table: {row.id: key for key, row in before[table].items()} for table in BESIDE}
        new = {table: {key: row.id for key, row in after[table].items()} for table in BESIDE}

        def follows(table: str, old_id: Any) -> Any:
            return None if old_id is None else new[table][ids[table][old_id]]

        for key, row in before["case_person_steps"].items():
            assert after["case_person_steps"][key].person_id == follows("case_persons",
                                                                        row.person_id)
        for key, row in before["case_person_key_slots"].items():
            assert (after["case_person_key_slots"][key].person_id,
                    after["case_person_key_slots"][key].step_id) == (
                follows("case_persons", row.person_id), follows("case_person_steps", row.step_id))
        assert [(row.person_id, row.step_id) for row in attachments] == [
            (new["case_persons"][b"person 3"], new["case_person_steps"][b"step 3"])]
        assert sorted((row.tombstone_id, row.reader) for row in tombstone_slots) == sorted(
            (new["tombstones"][f"reason {t}".encode()], reader)
            for t, reader in ((1, "1"), (2, "1"), (3, "1"), (3, "2")))
        with engine.begin() as connection:
            assert all("position" not in {c["name"] for c in inspect(connection).get_columns(
                table)} for table in LISTS)
            # Counted again from the largest id.
            connection.execute(text(
                "INSERT INTO check_ins (report_id, months, due_on, state) "
                "VALUES (1, 24, '2027-01-04', 'scheduled')"))
            assert max(row.id for row in _table(connection, "check_ins")) == len(
                after["check_ins"]) + 1
        upgrade(database_0039)
        with engine.connect() as connection:
            assert all(SMALLEST_ID <= row.id <= LARGEST_ID
                       for row in _table(connection, "check_ins"))
    finally:
        engine.dispose()
