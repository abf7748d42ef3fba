"""Filing a report (``POST /api/v1/reports``): check the whole body, spend the proof of work,
store the report with its readers, key slots and attachments.

It reads top to bottom in ``file_report``: the body is decoded once (``FilingRequest``),
then routed and checked (``check_filing``), then stored. ``store_filing`` stores through the
ORM in the session; on PostgreSQL the API uses ``store_at_once`` instead, one statement that
does the same, because filing is the hot path of the API. There the routing read is usually
skipped too: routes are kept (``RouteCache``) and the statement checks that they still hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from functools import lru_cache
from typing import Any, cast

import psycopg
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
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
from integrity.cases.deadlines import acknowledge_by
from integrity.cases.meetings import checked_flag, request_meeting
from integrity.cases.references import new_reference
from integrity.config import Settings
from integrity.db import random_row_id
from integrity.models import Installation, today, utcnow
from integrity.notifications.models import Notification
from integrity.notifications.outbox import Kind, activity_due, notify_activity
from integrity.reporting.attachments import claim_attachments
from integrity.reporting.checks import (
    check_payload_length,
    check_slot_readers,
    checked_b64,
    checked_claimable_attachments,
    checked_string_list,
    decoded_key_slots,
)
from integrity.reporting.errors import POW_GONE, ProtocolError
from integrity.reporting.models import KeySlot, Report, Status, report_exclusions, report_readers
from integrity.reporting.pow import PowSolution, checked_pow, spend_challenge, verify_solution
from integrity.reporting.routing import (
    CHALLENGES,
    Route,
    RouteCache,
    RouteKey,
    certified_route,
    expected_readers,
    find_route,
    resolve_readers,
    route_key,
)
from integrity.reporting.storage import AttachmentStore

# Core tables for the filing hot path (cheaper than ORM statements).
REPORTS = cast(Table, Report.__table__)
KEY_SLOTS = cast(Table, KeySlot.__table__)
NOTIFICATIONS = cast(Table, Notification.__table__)
LOOKUP_CONSTRAINT = "uq_reports_lookup_hash"


class Step(IntEnum):
    """Where a refusal found while decoding a body falls among the checks that need its route
    (``docs/protocol.md``, "Order of checks")."""

    FIELDS = 1  # lookup, reporter_public_key, payload; then the payload's padded length
    EXCLUDED = 2  # then the readers left
    KEY_SLOTS = 3  # then the names of the key slots
    ATTACHMENTS = 4  # then whether they can be claimed


@dataclass(frozen=True)
class FilingRequest:
    """A ``POST /api/v1/reports`` body, decoded once: every field in its type.

    The protocol refuses a body at its first problem, in an order where the checks that need
    the route come between those that do not. So a problem found while decoding is not
    raised here: it is kept in ``refused`` with its ``Step``, and ``against`` raises it in
    its place. The proof of work's refusal (``pow_refused``) comes after all of them."""

    route_key: RouteKey
    pow_solution: PowSolution | None
    pow_refused: ProtocolError | None
    refused: tuple[Step, ProtocolError] | None
    protocol: int = 1
    lookup_hash: bytes = b""
    reporter_public_key: bytes | None = None  # protocol 1 only
    payload: bytes = b""
    excluded: list[str] = field(default_factory=list)
    key_slots: dict[str, bytes] = field(default_factory=dict)
    attachment_ids: list[str] = field(default_factory=list)
    meeting: bool = False

    @classmethod
    def parse(cls, body: object, settings: Settings, lookup_key: bytes) -> FilingRequest:
        """Decode ``body``; refuses at once what comes before the routing (400). The lookup
        is kept only as its hash keyed with ``lookup_key``."""
        if not isinstance(body, dict):
            raise ProtocolError(_l("The request body must be a JSON object."))
        protocol = body.get("protocol")
        if type(protocol) is not int or protocol not in (1, 2):
            raise ProtocolError(_l("Only protocol versions 1 and 2 are understood."))
        key = route_key(body.get("channel"), body.get("category"), body.get("org_unit"))
        try:
            solution, pow_refused = checked_pow(settings, body.get("pow")), None
        except ProtocolError as exc:
            solution, pow_refused = None, exc
        fields: dict[str, Any] = {"protocol": protocol}
        step = Step.FIELDS
        try:
            fields["lookup_hash"] = crypto.keyed_lookup_hash(checked_b64(body, "lookup", 32),
                                                             lookup_key)
            if protocol == 1:
                fields["reporter_public_key"] = checked_b64(body, "reporter_public_key", 32)
            elif "reporter_public_key" in body:
                # Stored, it would be a second way to test guessed receipts.
                raise ProtocolError(_l("A protocol 2 report does not send the reporter's "
                                       "public key: it goes inside the sealed report."))
            fields["payload"] = checked_b64(body, "payload")
            step = Step.EXCLUDED
            fields["excluded"] = checked_string_list(body, "excluded")
            step = Step.KEY_SLOTS
            fields["key_slots"] = decoded_key_slots(body)
            step = Step.ATTACHMENTS
            fields["attachment_ids"] = checked_string_list(body, "attachments")
            fields["meeting"] = checked_flag(body)
        except ProtocolError as exc:
            return cls(key, solution, pow_refused, (step, exc), **fields)
        return cls(key, solution, pow_refused, None, **fields)

    def against(self, route: Route, settings: Settings) -> Filing:
        """The report as filed on ``route``: the checks that need it, each in its place among
        the problems found while decoding."""
        self._refuse_at(Step.FIELDS)
        check_payload_length(self.payload, settings, route.pad_block)
        self._refuse_at(Step.EXCLUDED)
        readers = resolve_readers(route, self.excluded)
        self._refuse_at(Step.KEY_SLOTS)
        check_slot_readers(self.key_slots, expected_readers(readers, route.recovery_key))
        self._refuse_at(Step.ATTACHMENTS)
        return Filing(route, self.lookup_hash, self.reporter_public_key, self.payload,
                      self.key_slots, [int(rid) for rid in readers], self.attachment_ids,
                      [int(rid) for rid in route.recipients if rid not in readers],
                      self.protocol, meeting=self.meeting)

    def _refuse_at(self, step: Step) -> None:
        if self.refused is not None and self.refused[0] == step:
            raise self.refused[1]


@dataclass(frozen=True)
class Filing:
    """A checked report, ready to store."""

    route: Route
    lookup_hash: bytes
    reporter_public_key: bytes | None
    payload: bytes
    slots: dict[str, bytes]
    reader_ids: list[int]
    attachment_ids: list[str]
    excluded_ids: list[int]
    protocol: int = 1
    oral: bool = False  # recorded by an inspector (integrity/cases/oral.py)
    meeting: bool = False  # the reporter asks for a meeting or a call


def file_report(session: Session, settings: Settings, store: AttachmentStore, body: object,
                lookup_key: bytes, route_cache: RouteCache | None = None,
                org_public_key: bytes | None = None) -> int:
    """Check the body, spend its proof of work and store the report; the caller commits.

    Without ``route_cache`` everything happens in the session's transaction (``store_filing``).
    With ``route_cache`` (PostgreSQL), one statement spends the challenge and stores the report
    (``store_at_once``); a report without attachments is then stored in autocommit, outside
    the session, and the caller's commit finds nothing to do. A route kept in ``route_cache``
    is not read again: the statement confirms it and the solution, and when it cannot (the
    routing changed, or the solution does not hold) the report is checked again on a fresh
    read, which also explains any refusal.

    A protocol 2 report goes only to keys ``org_public_key`` certified (``certified_route``),
    and always takes the plain path, its route read fresh with the certificates.
    """
    request = FilingRequest.parse(body, settings, lookup_key)
    if request.protocol == 2 or request.meeting:
        route_cache = None  # the plain path: a meeting request is stored beside the report
    filing = check_filing(session, settings, request, route_cache, org_public_key=org_public_key)
    if request.pow_refused is not None:
        raise request.pow_refused
    if route_cache is None:
        return store_filing(session, settings, store, filing, request.pow_solution)
    if filing.route.kept:
        report_id = store_at_once(session, settings, store, filing, request.pow_solution,
                                  route_cache)
        if report_id is not None:
            return report_id
        filing = check_filing(session, settings, request, route_cache, fresh=True)
    if request.pow_solution is not None:
        verify_solution(request.pow_solution, filing.route.challenge_bits)
    report_id = store_at_once(session, settings, store, filing, request.pow_solution,
                              route_cache)
    assert report_id is not None, "a route just read is not confirmed"
    return report_id


def check_filing(session: Session, settings: Settings, request: FilingRequest,
                 route_cache: RouteCache | None = None, fresh: bool = False,
                 org_public_key: bytes | None = None) -> Filing:
    """Every shape rule of ``POST /api/v1/reports``; raises ``ProtocolError`` on the first.

    With ``route_cache``, the route may be one kept there (see ``find_route``), or else read with
    the offered challenge's bits in ``filing.route.challenge_bits``."""
    solution = request.pow_solution
    challenge = solution.challenge if solution is not None and route_cache else None
    route = find_route(session, settings, request.route_key, challenge, route_cache, fresh)
    if request.protocol == 2:
        route = certified_route(session, route, org_public_key)
    try:
        filing = request.against(route, settings)
        checked_claimable_attachments(session, settings, request.attachment_ids)
    except ProtocolError:
        if not route.kept:
            raise
        # The refusal may come from a kept route that is out of date: a fresh read decides.
        return check_filing(session, settings, request, route_cache, fresh=True)
    return filing


def store_filing(session: Session, settings: Settings, store: AttachmentStore, filing: Filing,
                 solution: PowSolution | None = None) -> int:
    """Spend the proof of work, add the report, its readers, key slots and exclusions, claim
    its attachments and tell its readers (at the next batch), all in the session; 409 if the
    lookup is taken.

    The reference for ``store_at_once``, which does the same in one PostgreSQL statement."""
    spend_challenge(session, solution)
    report = Report(**_report_values(filing))
    session.add(report)
    with _lookup_refused():
        session.flush()
    session.execute(insert(report_readers),
                    [{"report_id": report.id, "user_id": uid} for uid in filing.reader_ids])
    session.add_all(KeySlot(report_id=report.id, message_id=None, reader=reader, slot=slot)
                    for reader, slot in filing.slots.items())
    if filing.excluded_ids:
        session.execute(insert(report_exclusions),
                        [{"report_id": report.id, "user_id": uid} for uid in filing.excluded_ids])
    claim_attachments(session, store, filing.attachment_ids, report.id, None)
    notify_activity(session, settings, Kind.CASE_NEW, filing.reader_ids)
    if filing.meeting:
        request_meeting(session, report)
    return report.id


def store_at_once(session: Session, settings: Settings, store: AttachmentStore, filing: Filing,
                  solution: PowSolution | None, route_cache: RouteCache) -> int | None:
    """PostgreSQL: what ``store_filing`` does, in one statement that also deletes the
    challenge ``solution`` solves (already verified on a route just read), storing nothing if it is
    gone (429).

    On a ``kept`` route the statement also confirms the route and the solution: it stores
    and spends nothing, and None comes back, unless the routing version is still the route's
    and the challenge asks for no more bits than the solution achieved. Without attachments to claim
    the statement runs on its own, in autocommit outside the session."""
    challenge = solution.challenge if solution is not None else None
    achieved_bits = (crypto.achieved_bits(*solution)
                     if solution is not None and filing.route.kept else -1)
    with _lookup_refused():
        if filing.attachment_ids:
            connection = session.connection()
            report_id = _insert_at_once(
                lambda statement, params: connection.execute(statement, params).all(),
                filing, challenge, achieved_bits, activity_due(settings, utcnow()))
        else:
            report_id = _insert_at_once(route_cache.run, filing, challenge, achieved_bits,
                                        activity_due(settings, utcnow()))
    if report_id is None:
        if filing.route.kept:
            return None
        raise ProtocolError(POW_GONE, 429)  # spent or expired since it was read
    claim_attachments(session, store, filing.attachment_ids, report_id, None)
    return report_id


@contextmanager
def _lookup_refused() -> Iterator[None]:
    """409 when the report's lookup hash is taken: the unique hash is what refuses a receipt
    already in use."""
    try:
        yield
    except (IntegrityError, psycopg.IntegrityError) as exc:  # through SQLAlchemy, or not
        if not _lookup_taken(exc):
            raise
        raise ProtocolError(_l("This receipt is already in use: make a new one."), 409) from exc


def _report_values(filing: Filing) -> dict[str, Any]:
    route = filing.route
    day = today()
    return {"id": random_row_id(), "channel_id": route.channel_id, "category_id": route.category_id,
            "org_unit_id": route.org_unit_id, "created_on": day, "reference": new_reference(),
            "last_activity_on": day, "next_due_on": acknowledge_by(day),
            "lookup_hash": filing.lookup_hash, "reporter_public_key": filing.reporter_public_key,
            "payload": filing.payload, "status": Status.NEW, "protocol": filing.protocol,
            "held": False, "oral": filing.oral}


def _lookup_taken(error: IntegrityError | psycopg.IntegrityError) -> bool:
    driver_error = getattr(error, "orig", error)
    diag = getattr(driver_error, "diag", None)  # PostgreSQL names the constraint
    if diag is not None:
        return bool(diag.constraint_name == LOOKUP_CONSTRAINT)
    return "lookup_hash" in str(driver_error)


def _insert_at_once(run: Callable[[Any, dict[str, Any]], Sequence[Any]], filing: Filing,
                    challenge: bytes | None, achieved_bits: int,
                    notices_due: datetime) -> int | None:
    # One round trip instead of three to six; the statement stores all of it or nothing.
    # Lists go as one text or bytea value each, split by the statement: psycopg spends ten
    # times longer adapting four small arrays than these four strings.
    params = _report_values(filing)
    params.update(reader_ids=",".join(map(str, filing.reader_ids)),
                  readers=",".join(filing.slots), slots=b"".join(filing.slots.values()),
                  slot_ids=",".join(str(random_row_id()) for _ in filing.slots),
                  excluded_ids=",".join(map(str, filing.excluded_ids)),
                  challenge=challenge, now=utcnow(), routing_version=filing.route.version,
                  achieved_bits=achieved_bits, notices_due=notices_due)
    statement = _insert_statement(bool(filing.excluded_ids), challenge is not None,
                                  filing.route.kept)
    rows = run(statement, params)
    return int(rows[0][0]) if rows else None


@lru_cache(maxsize=8)
def _insert_statement(with_exclusions: bool, spending: bool, confirming: bool) -> Any:
    """PostgreSQL: the report, its readers, key slots (and exclusions) in one statement; with
    ``spending``, the proof-of-work challenge is deleted first and the rest depends on it.
    With ``confirming``, all of it also depends on the routing version being unchanged and
    the challenge asking for no more bits than were achieved."""
    columns = ("id", "channel_id", "category_id", "org_unit_id", "created_on", "reference",
               "last_activity_on", "next_due_on", "lookup_hash", "reporter_public_key", "payload",
               "status", "protocol", "held", "oral")
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

    def split(name: str, type_: Any = None) -> Any:
        # "3,4,5" -> {3,4,5}; reader names never hold a comma. Typed as an array to be indexed.
        return func.string_to_array(bindparam(name, type_=String), literal_column("','"),
                                    type_=type_)

    def users(table: Table, name: str) -> Any:
        ids = func.unnest(split(name).cast(ARRAY(Integer)))
        return insert(table).from_select(["report_id", "user_id"], select(report.c.id, ids))

    # The n-th reader's slot is the n-th run of SLOT_BYTES in "slots", its id the n-th number
    # in "slot_ids" (random, drawn in Python like every id of a key slot).
    readers = (func.unnest(split("readers"))
               .table_valued("reader", with_ordinality="n").render_derived("slot_rows"))
    size = literal_column(str(crypto.SLOT_BYTES), Integer)
    slot = func.substring(bindparam("slots", type_=LargeBinary),
                          (readers.c.n * size - size + literal_column("1")).cast(Integer), size)
    slot_id = split("slot_ids", ARRAY(String))[readers.c.n].cast(BigInteger)
    parts = [
        users(report_readers, "reader_ids").cte("readers"),
        insert(KEY_SLOTS).from_select(
            ["id", "report_id", "message_id", "reader", "slot"],
            select(slot_id, report.c.id, null(), readers.c.reader, slot)
            .select_from(report.join(readers, true())),
        ).cte("slots"),
    ]
    if with_exclusions:
        parts.append(users(report_exclusions, "excluded_ids").cte("exclusions"))
    # The readers' notices of a new case, due at the next batch time.
    told = func.unnest(split("reader_ids").cast(ARRAY(Integer)))
    parts.append(insert(NOTIFICATIONS).from_select(
        ["kind", "user_id", "params", "due_at", "attempts"],
        select(literal_column(f"'{Kind.CASE_NEW}'"), told, literal_column("'{}'::json"),
               bindparam("notices_due", type_=NOTIFICATIONS.c.due_at.type),
               literal_column("0")).select_from(report),
    ).cte("notices"))
    return select(report.c.id).add_cte(*parts)
