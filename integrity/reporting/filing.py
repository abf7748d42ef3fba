"""Filing a report (``POST /api/v1/reports``): check the whole body, spend the proof of work,
store the report with its readers, key slots and attachments.

Filing is the hot path of the API, so it reads everything it needs in one statement and
writes with one on PostgreSQL (three to five elsewhere), in Core rather than through the ORM.
On PostgreSQL the read is usually skipped: routes are kept (``RouteCache``) and the write
itself checks that they still hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import psycopg
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import crypto
from integrity.config import Settings
from integrity.models import Installation, today, utcnow
from integrity.reporting.attachments import claim_attachments
from integrity.reporting.checks import (
    checked_b64,
    checked_claimable_attachments,
    checked_key_slots,
    checked_payload,
    checked_string_list,
)
from integrity.reporting.errors import WORK_GONE, ProtocolError
from integrity.reporting.models import KeySlot, Report, Status, report_exclusions, report_readers
from integrity.reporting.routing import (
    CHALLENGES,
    Route,
    RouteCache,
    expected_readers,
    resolve_readers,
    route_for,
)
from integrity.reporting.storage import AttachmentStore
from integrity.reporting.work import (
    checked_work,
    offered_challenge,
    redeem_challenge,
    verify_work,
)

# Core tables for the filing hot path (cheaper than ORM statements).
REPORTS = cast(Table, Report.__table__)
KEY_SLOTS = cast(Table, KeySlot.__table__)
LOOKUP_CONSTRAINT = "uq_reports_lookup_hash"


@dataclass(frozen=True)
class Filing:
    """A checked report, ready to store."""

    route: Route
    lookup_hash: bytes
    reporter_public_key: bytes
    payload: bytes
    slots: dict[str, bytes]
    reader_ids: list[int]
    attachment_ids: list[str]
    excluded_ids: list[int]


def check_filing(session: Session, settings: Settings, body: object,
                 challenge: bytes | None = None, routes: RouteCache | None = None,
                 fresh: bool = False) -> Filing:
    """Every shape rule of ``POST /api/v1/reports``; raises ``ProtocolError`` on the first.

    With a proof-of-work ``challenge``, its bits come back in ``filing.route.work_bits``
    (unless the route was ``kept`` in ``routes``: see ``route_for``)."""
    if not isinstance(body, dict):
        raise ProtocolError(_l("The request body must be a JSON object."))
    if type(body.get("protocol")) is not int or body["protocol"] != 1:
        raise ProtocolError(_l("Only protocol version 1 is understood."))
    route = route_for(session, settings, body.get("channel"), body.get("category"),
                      body.get("org_unit"), challenge, routes, fresh)
    lookup = checked_b64(body, "lookup", 32)
    reporter_public_key = checked_b64(body, "reporter_public_key", 32)
    payload = checked_payload(body, settings, route.pad_block)
    readers = resolve_readers(route, checked_string_list(body, "excluded"))
    slots = checked_key_slots(body, expected_readers(readers, route.recovery_key))
    attachments = checked_claimable_attachments(
        session, settings, checked_string_list(body, "attachments"))
    return Filing(route, crypto.lookup_hash(lookup), reporter_public_key, payload, slots,
                  [int(rid) for rid in readers], [a.id for a in attachments],
                  [int(rid) for rid in route.recipients if rid not in readers])


def store_filing(session: Session, store: AttachmentStore, filing: Filing,
                 spend: bytes | None = None, achieved_bits: int = -1,
                 routes: RouteCache | None = None) -> int | None:
    """Add the report, its readers, key slots and attachments; 409 if the lookup is taken.

    On PostgreSQL, the proof-of-work challenge ``spend`` (already verified) is deleted by the
    same statement, which stores nothing if it is gone (429). On a ``kept`` route (PostgreSQL
    only) the statement also confirms the route, and the work if it was not verified: it
    stores and spends nothing, and None comes back, unless the routing version is still the
    route's and the challenge asks for no more than ``achieved_bits``. With ``routes`` and no
    attachment to claim, the statement runs on its own in autocommit, outside the session."""
    try:
        if routes is not None and not filing.attachment_ids:
            report_id = _insert_at_once(routes.run, filing, spend, achieved_bits)
        elif session.get_bind().dialect.name == "postgresql":
            connection = session.connection()
            report_id = _insert_at_once(
                lambda statement, params: connection.execute(statement, params).all(),
                filing, spend, achieved_bits)
        else:
            assert not filing.route.kept, "routes are kept on PostgreSQL only"
            assert spend is None, "redeem_challenge spends the work elsewhere"
            report_id = _insert_one_by_one(session, filing)
    except (IntegrityError, psycopg.IntegrityError) as exc:  # through SQLAlchemy, or not
        if not _lookup_taken(exc):
            raise
        # The unique lookup hash is what refuses a receipt already in use.
        raise ProtocolError(_l("This receipt is already in use: make a new one."), 409) from exc
    if report_id is None:
        if filing.route.kept:
            return None
        raise ProtocolError(WORK_GONE, 429)  # spent or expired since it was read
    claim_attachments(session, store, filing.attachment_ids, report_id, None)
    return report_id


def _report_values(filing: Filing) -> dict[str, Any]:
    route = filing.route
    return {"channel_id": route.channel_id, "category_id": route.category_id,
            "org_unit_id": route.org_unit_id, "created_on": today(),
            "lookup_hash": filing.lookup_hash, "reporter_public_key": filing.reporter_public_key,
            "payload": filing.payload, "status": Status.NEW.value}


def _lookup_taken(error: IntegrityError | psycopg.IntegrityError) -> bool:
    driver_error = getattr(error, "orig", error)
    diag = getattr(driver_error, "diag", None)  # PostgreSQL names the constraint
    if diag is not None:
        return bool(diag.constraint_name == LOOKUP_CONSTRAINT)
    return "lookup_hash" in str(driver_error)


def _insert_one_by_one(session: Session, filing: Filing) -> int:
    report_id = int(session.execute(
        insert(REPORTS).values(_report_values(filing)).returning(REPORTS.c.id)
    ).scalar_one())
    session.execute(insert(report_readers),
                    [{"report_id": report_id, "user_id": uid} for uid in filing.reader_ids])
    session.execute(insert(KEY_SLOTS), [
        {"report_id": report_id, "message_id": None, "reader": reader, "slot": slot}
        for reader, slot in filing.slots.items()
    ])
    if filing.excluded_ids:
        session.execute(insert(report_exclusions),
                        [{"report_id": report_id, "user_id": uid} for uid in filing.excluded_ids])
    return report_id


def _insert_at_once(run: Callable[[Any, dict[str, Any]], Sequence[Any]], filing: Filing,
                    spend: bytes | None, achieved_bits: int) -> int | None:
    # One round trip instead of three to six; the statement stores all of it or nothing.
    # Lists go as one text or bytea value each, split by the statement: psycopg spends ten
    # times longer adapting four small arrays than these four strings.
    params = _report_values(filing)
    params.update(reader_ids=",".join(map(str, filing.reader_ids)),
                  readers=",".join(filing.slots), slots=b"".join(filing.slots.values()),
                  excluded_ids=",".join(map(str, filing.excluded_ids)),
                  challenge=spend, now=utcnow(), routing_version=filing.route.version,
                  achieved_bits=achieved_bits)
    statement = _insert_statement(bool(filing.excluded_ids), spend is not None,
                                  filing.route.kept)
    rows = run(statement, params)
    return int(rows[0][0]) if rows else None


@lru_cache(maxsize=8)
def _insert_statement(with_exclusions: bool, spending: bool, confirming: bool) -> Any:
    """PostgreSQL: the report, its readers, key slots (and exclusions) in one statement; with
    ``spending``, the proof-of-work challenge is deleted first and the rest depends on it.
    With ``confirming``, all of it also depends on the routing version being unchanged and
    the challenge asking for no more bits than were achieved."""
    columns = ("channel_id", "category_id", "org_unit_id", "created_on", "lookup_hash",
               "reporter_public_key", "payload", "status")
    values = [bindparam(name, type_=REPORTS.c[name].type) for name in columns]
    conditions = []
    if confirming:
        installations = cast(Table, Installation.__table__)
        current = (select(installations.c.routing_version).where(installations.c.id == 1)
                   .scalar_subquery())
        conditions.append(current == bindparam("routing_version"))
    if spending:
        spent = (delete(CHALLENGES)
                 .where(CHALLENGES.c.challenge == bindparam("challenge"),
                        CHALLENGES.c.expires_at >= bindparam("now"), *conditions,
                        *([CHALLENGES.c.bits <= bindparam("achieved_bits")] if confirming
                          else []))
                 .returning(CHALLENGES.c.challenge).cte("spent"))
        stored = insert(REPORTS).from_select(columns, select(*values).select_from(spent))
    elif confirming:
        stored = insert(REPORTS).from_select(columns, select(*values).where(*conditions))
    else:
        stored = insert(REPORTS).values(dict(zip(columns, values, strict=True)))
    report = stored.returning(REPORTS.c.id).cte("report")

    def split(name: str) -> Any:  # "3,4,5" -> {3,4,5}; reader names never hold a comma
        return func.string_to_array(bindparam(name, type_=String), literal_column("','"))

    def users(table: Table, name: str) -> Any:
        ids = func.unnest(split(name).cast(ARRAY(Integer)))
        return insert(table).from_select(["report_id", "user_id"], select(report.c.id, ids))

    # The n-th reader's slot is the n-th run of SLOT_BYTES in "slots".
    readers = (func.unnest(split("readers"))
               .table_valued("reader", with_ordinality="n").render_derived("slot_rows"))
    size = literal_column(str(crypto.SLOT_BYTES), Integer)
    slot = func.substring(bindparam("slots", type_=LargeBinary),
                          (readers.c.n * size - size + literal_column("1")).cast(Integer), size)
    parts = [
        users(report_readers, "reader_ids").cte("readers"),
        insert(KEY_SLOTS).from_select(
            ["report_id", "message_id", "reader", "slot"],
            select(report.c.id, null(), readers.c.reader, slot)
            .select_from(report.join(readers, true())),
        ).cte("slots"),
    ]
    if with_exclusions:
        parts.append(users(report_exclusions, "excluded_ids").cte("exclusions"))
    return select(report.c.id).add_cte(*parts)


def file_report(session: Session, settings: Settings, store: AttachmentStore, body: object,
                routes: RouteCache | None = None) -> int:
    """Check, spend the proof of work, and store a report; the caller commits.

    On PostgreSQL the routing query also reads the challenge's bits, and the statement that
    stores the report spends the challenge: one read and one write. The write is atomic on its
    own, so a report without attachments needs no transaction around the two: with ``routes``
    both run in autocommit outside the session, which the caller's commit then finds empty.
    Claiming attachments is a second write, so those reports are stored in the session's
    transaction.

    With ``routes``, the read is skipped when the route is kept there: the write confirms
    the route and the work itself, and when it cannot (the routing changed, or the work does
    not hold) the report is checked again on a fresh read, which also explains any refusal.
    """
    pow_field = body.get("pow") if isinstance(body, dict) else None
    if session.get_bind().dialect.name != "postgresql":
        filing = check_filing(session, settings, body)
        redeem_challenge(session, settings, pow_field)
        report_id = store_filing(session, store, filing)
        assert report_id is not None
        return report_id
    challenge = offered_challenge(settings, pow_field)
    try:
        filing = check_filing(session, settings, body, challenge, routes)
    except ProtocolError:
        if routes is None:
            raise
        # The refusal may come from a kept route that is out of date: a fresh read decides.
        filing = check_filing(session, settings, body, challenge, routes, fresh=True)
    work = checked_work(settings, pow_field)
    spend = work[0] if work else None
    if filing.route.kept:
        report_id = store_filing(session, store, filing, spend,
                                 crypto.achieved_bits(*work) if work else -1, routes)
        if report_id is not None:
            return report_id
        filing = check_filing(session, settings, body, challenge, routes, fresh=True)
    if work is not None:
        verify_work(*work, filing.route.work_bits)
    report_id = store_filing(session, store, filing, spend, routes=routes)
    assert report_id is not None
    return report_id
