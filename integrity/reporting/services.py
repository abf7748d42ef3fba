"""The reporting protocol's rules: what is accepted, what is stored, what the mailbox shows.

Every function checks the whole request before it adds anything to the session, and the
caller commits; a refusal raises ``ProtocolError`` and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

import psycopg
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from psycopg.rows import namedtuple_row
from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import crypto
from integrity.config import Settings
from integrity.db import database_int
from integrity.models import (
    Category,
    Channel,
    ChannelState,
    Installation,
    OrgUnit,
    Role,
    User,
    today,
    utcnow,
)
from integrity.models import channel_recipients as recipients_table
from integrity.reporting import texts
from integrity.reporting.models import (
    Attachment,
    KeySlot,
    Message,
    PowChallenge,
    Report,
    Sender,
    Status,
    report_exclusions,
    report_readers,
)
from integrity.reporting.storage import AttachmentStore, new_attachment_id

REPORTER = "reporter"
# Core tables for the filing hot path (cheaper than ORM statements).
REPORTS = cast(Table, Report.__table__)
KEY_SLOTS = cast(Table, KeySlot.__table__)
CHALLENGES = cast(Table, PowChallenge.__table__)
LOOKUP_CONSTRAINT = "uq_reports_lookup_hash"
WORK_GONE = _l("The proof of work is unknown, expired or already used.")
RECOVERY = "recovery"


class ProtocolError(Exception):
    """A refused request: ``status`` is the HTTP status, the message one clear sentence."""

    def __init__(self, message: object, status: int = 400) -> None:
        super().__init__(str(message))
        self.status = status


# --- installation -------------------------------------------------------------------------


def installation(session: Session, settings: Settings) -> Installation:
    """The installation's fixed parameters: a fresh salt and the configured cost the first
    time, and the same values ever after."""
    row = session.get(Installation, 1)
    if row is not None:
        return row
    # Concurrent first uses each offer a row; the first one written stays. No savepoint is
    # needed, so this also works on a connection without a transaction (see file_report).
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(dialect_insert(Installation).values(
        id=1, kdf_salt=secrets.token_bytes(crypto.keys.SALT_BYTES),
        kdf_opslimit=settings.kdf_opslimit, kdf_memlimit=settings.kdf_memlimit,
        pad_block=settings.pad_block,
        # A random start: an installation made again never repeats the versions of the last.
        routing_version=secrets.randbits(30),
    ).on_conflict_do_nothing())
    row = session.get(Installation, 1)
    assert row is not None
    return row


# --- channels and recipients --------------------------------------------------------------


def channel_recipients(channel: Channel) -> list[User]:
    """Inspectors a report in ``channel`` can be sealed to: active, with a public key."""
    return [
        user for user in channel.recipients
        if user.active and user.role == Role.INSPECTOR.value and user.public_key is not None
    ]


def open_channels(session: Session) -> list[Channel]:
    """Channels that take reports and are listed to reporters."""
    return list(session.scalars(
        select(Channel).where(Channel.state == ChannelState.OPEN.value).order_by(Channel.name)
    ))


def public_config(session: Session, settings: Settings,
                  unlisted: str | None = None) -> dict[str, Any]:
    """``GET /api/v1/config``: everything a client needs to derive, seal and file.

    Hidden channels are not listed, but still take reports sent to their slug; ``unlisted``
    names one to add (``?channel=slug``, from the form shared by its direct link)."""
    inst = installation(session, settings)
    units = session.scalars(select(OrgUnit).order_by(OrgUnit.parent_id, OrgUnit.name))
    channels = open_channels(session)
    if unlisted:
        channels += session.scalars(select(Channel).where(
            Channel.slug == unlisted, Channel.state == ChannelState.HIDDEN.value))
    return {
        "protocol": 1,
        "salt": crypto.b64encode(inst.kdf_salt),
        "argon2id": {"opslimit": inst.kdf_opslimit, "memlimit": inst.kdf_memlimit},
        "pad_block": inst.pad_block,
        "recovery_key": crypto.b64encode(inst.recovery_public_key)
        if inst.recovery_public_key else None,
        "pow_bits": settings.pow_bits,
        "max_attachment_bytes": settings.max_attachment_bytes,
        "max_attachments": settings.max_attachments,
        "max_report_attachment_bytes": settings.max_report_attachment_bytes,
        # Texts in the request's language (``?lang=``, else Accept-Language, else the default).
        "channels": [texts.channel_config(channel, channel_recipients(channel))
                     for channel in channels],
        "org_units": [texts.unit_config(unit) for unit in units],
    }


# --- proof of work ------------------------------------------------------------------------


def issue_challenge(session: Session, settings: Settings) -> dict[str, Any]:
    """A fresh challenge, good once for ``pow_ttl_seconds``; expired ones are swept."""
    now = utcnow()
    session.execute(delete(PowChallenge).where(PowChallenge.expires_at < now))
    challenge = secrets.token_bytes(16)
    session.add(PowChallenge(
        challenge=challenge, bits=settings.pow_bits,
        expires_at=now + timedelta(seconds=settings.pow_ttl_seconds),
    ))
    return {"challenge": crypto.b64encode(challenge), "bits": settings.pow_bits,
            "expires_in": settings.pow_ttl_seconds}


def redeem_challenge(session: Session, settings: Settings, pow_field: object) -> None:
    """Check and spend a proof of work; missing, wrong, expired or reused ones get 429."""
    work = checked_work(settings, pow_field)
    if work is None:
        return
    challenge, nonce = work
    # Deleting the row is what makes a challenge single-use across every worker; a refusal
    # below rolls the deletion back with the rest of the request.
    bits = session.execute(
        delete(PowChallenge)
        .where(PowChallenge.challenge == challenge, PowChallenge.expires_at >= utcnow())
        .returning(PowChallenge.bits)
    ).scalar()
    verify_work(challenge, nonce, bits)


def checked_work(settings: Settings, pow_field: object) -> tuple[bytes, object] | None:
    """The (challenge, nonce) offered when proof of work is on; 429 if none, 400 if malformed."""
    if settings.pow_bits == 0:
        return None
    if not isinstance(pow_field, dict):
        raise ProtocolError(_l("A proof of work is required: get one from /api/v1/pow."), 429)
    try:
        challenge = crypto.b64decode(pow_field.get("challenge"), 16, what="challenge")
    except crypto.EncodingError as exc:
        raise ProtocolError(exc, 400) from exc
    return challenge, pow_field.get("nonce")


def verify_work(challenge: bytes, nonce: object, bits: int | None) -> None:
    """429 unless ``nonce`` solves ``challenge``, an unspent challenge of ``bits`` bits."""
    if bits is None:
        raise ProtocolError(WORK_GONE, 429)
    if not crypto.verify_work(challenge, nonce, bits):  # type: ignore[arg-type]
        raise ProtocolError(_l("The proof of work does not solve its challenge."), 429)


def _offered_challenge(settings: Settings, pow_field: object) -> bytes | None:
    # Read before the shape checks, so the routing query can look the challenge up; its
    # refusals come after them, in the order redeem_challenge gives them.
    try:
        work = checked_work(settings, pow_field)
    except ProtocolError:
        return None
    return work[0] if work else None


# --- shapes -------------------------------------------------------------------------------


def _b64(body: Mapping[str, Any], field: str, length: int | None = None) -> bytes:
    if field not in body:
        raise ProtocolError(_l("The field “%(field)s” is missing.", field=field))
    try:
        return crypto.b64decode(body[field], length, what=f"field “{field}”")
    except crypto.EncodingError as exc:
        raise ProtocolError(exc) from exc


def checked_payload(body: Mapping[str, Any], settings: Settings, pad_block: int) -> bytes:
    """A payload field, checked for base64url and the padded length; 413 past the limit."""
    payload = _b64(body, "payload")
    try:
        crypto.check_payload_length(len(payload), pad_block, settings.max_payload_bytes)
    except crypto.TooLargeError as exc:
        raise ProtocolError(exc, 413) from exc
    except crypto.ShapeError as exc:
        raise ProtocolError(exc) from exc
    return payload


def checked_key_slots(body: Mapping[str, Any], expected: set[str]) -> dict[str, bytes]:
    """The key slots, 80 bytes each, naming exactly the ``expected`` readers."""
    raw = body.get("key_slots")
    if not isinstance(raw, dict) or not raw:
        raise ProtocolError(_l("The field “key_slots” must be an object of key slots."))
    slots = {}
    for reader, value in raw.items():
        try:
            slots[reader] = crypto.b64decode(value, crypto.SLOT_BYTES, what="key slot")
        except crypto.EncodingError as exc:
            raise ProtocolError(exc) from exc
    missing, extra = expected - slots.keys(), slots.keys() - expected
    if missing:
        raise ProtocolError(_l("A key slot is missing for: %(readers)s.",
                               readers=", ".join(sorted(missing))))
    if extra:
        raise ProtocolError(_l("There is a key slot for a reader who must not have one: "
                               "%(readers)s.", readers=", ".join(sorted(extra))))
    return slots


def checked_string_list(body: Mapping[str, Any], field: str) -> list[str]:
    """A list of unique strings (or an absent field, as an empty list)."""
    value = body.get(field, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(_l("The field “%(field)s” must be a list of strings.", field=field))
    if len(set(value)) != len(value):
        raise ProtocolError(_l("The field “%(field)s” lists an entry twice.", field=field))
    return value


def checked_claimable_attachments(
    session: Session, settings: Settings, ids: Sequence[str]
) -> list[Attachment]:
    """The uploads named, if none belongs to a report yet and they fit the limits."""
    if len(ids) > settings.max_attachments:
        raise ProtocolError(lazy_ngettext(
            "A report or message takes at most %(count)d attachment.",
            "A report or message takes at most %(count)d attachments.",
            settings.max_attachments, count=settings.max_attachments), 413)
    if not ids:
        return []
    found = list(session.scalars(select(Attachment).where(Attachment.id.in_(ids))))
    if len(found) != len(ids) or any(a.report_id is not None for a in found):
        raise ProtocolError(_l("An attachment is unknown or already belongs to a report."))
    if sum(a.size for a in found) > settings.max_report_attachment_bytes:
        raise ProtocolError(_l("The attachments together are larger than this server accepts."),
                            413)
    return found


def _claim(session: Session, store: AttachmentStore, ids: list[str], report_id: int,
           message_id: int | None) -> None:
    if not ids:
        return
    claimed = session.execute(
        update(Attachment)
        .where(Attachment.id.in_(ids), Attachment.report_id.is_(None))
        .values(report_id=report_id, message_id=message_id, uploaded_at=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != len(ids):
        raise ProtocolError(_l("An attachment is unknown or already belongs to a report."))
    for attachment_id in ids:
        store.blur_time(attachment_id)


# --- filing -------------------------------------------------------------------------------
#
# Filing is the hot path of the API, so it reads everything it needs in one statement and
# writes with one on PostgreSQL (three to five elsewhere), in Core rather than through the ORM.
# On PostgreSQL the read is usually skipped: routes are kept (``RouteCache``) and the write
# itself checks that they still hold.


@dataclass(frozen=True)
class Route:
    """Where a report goes: the channel's routing facts, read in one round trip."""

    channel_id: int
    allow_exclusion: bool
    pad_block: int
    recovery_key: bytes | None
    recipients: dict[str, bytes]  # recipient id -> public key, in id order
    category_id: int | None
    org_unit_id: int | None
    work_bits: int | None = None  # bits of the offered proof-of-work challenge, while unspent
    version: int = 0  # the installation's routing version when this was read
    kept: bool = False  # from a RouteCache: read earlier, to be confirmed by the write


RouteKey = tuple[str, "str | None", "int | None"]


class RouteCache:
    """Routes read earlier, by (channel, category, unit), all of one routing version, and the
    ``engine`` (PostgreSQL, in autocommit) that reads them and stores reports filed on them.

    Nothing here is trusted on its own: a report filed on a kept route is stored only if the
    installation's routing version is still the one the route was read at (database triggers
    move it on every change a route depends on), and is otherwise checked again against a
    fresh read. Safe to share between threads: entries are replaced, never changed.
    """

    def __init__(self, engine: Engine, limit: int = 4096) -> None:
        self.engine = engine
        self.limit = limit
        self._version: int | None = None
        self._routes: dict[RouteKey, Route] = {}
        self._compiled: dict[Any, tuple[str, dict[str, Any]]] = {}

    def run(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        """The rows of ``statement`` (built once, as the statements here are), on a pooled
        connection of ``engine`` in autocommit.

        The statement goes to the driver compiled once, without SQLAlchemy's per-execution
        work, which took as long as the round trip itself. Connections are not tested before
        use: when one is found broken (the database restarted, or dropped it), the pool is
        replaced and the statement sent again on a new connection; a statement that could
        not be sent has done nothing.
        """
        sql, defaults = self._compile(statement)
        for attempt in range(2):
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor(row_factory=namedtuple_row)
                try:
                    cursor.execute(sql, {**defaults, **params})
                    return list(cursor.fetchall()) if cursor.description else []
                finally:
                    cursor.close()
            except psycopg.OperationalError:
                driver = connection.dbapi_connection
                if attempt or driver is None or not (driver.broken or driver.closed):
                    raise
                connection.invalidate()
                self.engine.dispose()  # its other connections went with the same server
            finally:
                connection.close()
        raise AssertionError("unreachable")

    def _compile(self, statement: Any) -> tuple[str, dict[str, Any]]:
        compiled = self._compiled.get(statement)
        if compiled is None:
            done = statement.compile(dialect=self.engine.dialect)
            # Values the statement holds itself (a literal compared with a column) go along.
            compiled = self._compiled[statement] = (str(done), dict(done.params))
        return compiled

    def get(self, key: RouteKey) -> Route | None:
        return self._routes.get(key)

    def keep(self, key: RouteKey, route: Route) -> None:
        routes = self._routes
        if route.version != self._version or len(routes) >= self.limit:
            routes, self._version = {}, route.version
        routes[key] = replace(route, work_bits=None, kept=True)
        self._routes = routes


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


def _unit_id(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        with contextlib.suppress(ValueError):  # past the database's range: no such unit
            return database_int(value)
    raise ProtocolError(_l("The organisational unit is unknown."))


def route_for(session: Session, settings: Settings, slug: object, category: object = None,
              org_unit: object = None, challenge: bytes | None = None,
              routes: RouteCache | None = None, fresh: bool = False) -> Route:
    """The routing of a report to channel ``slug``; unknown names are refused with 400.

    With a proof-of-work ``challenge``, the same query reads its bits (if it is unspent).
    With ``routes``, a kept route is returned when there is one and ``fresh`` is not asked
    for (``kept``, without the bits), and a route read is kept there."""
    if not isinstance(slug, str):
        raise ProtocolError(_l("The field “channel” must name a channel."))
    if category is not None and not isinstance(category, str):
        raise ProtocolError(_l("The category is not one of this channel's categories."))
    unit_id = _unit_id(org_unit)
    key = (slug, category, unit_id)
    if routes is not None and not fresh and (kept := routes.get(key)) is not None:
        return kept
    query = _route_query(category is not None, unit_id is not None, challenge is not None)
    params = {"slug": slug, "category": category, "unit_id": unit_id, "challenge": challenge,
              "now": utcnow()}
    # Core statements go to a connection directly: the ORM has nothing to add.
    rows: Sequence[Any]
    if routes is not None:
        rows = routes.run(query, params)
    else:
        rows = session.connection().execute(query, params).all()
    if not rows and session.get(Installation, 1) is None:
        installation(session, settings)  # first use of a new installation
        rows = session.connection().execute(query, params).all()
    if not rows or rows[0].state == ChannelState.CLOSED.value:
        raise ProtocolError(_l("There is no open channel “%(slug)s”.", slug=slug))
    first = rows[0]
    if category is not None and first.category_id is None:
        raise ProtocolError(_l("The category is not one of this channel's categories."))
    if unit_id is not None and first.unit_id is None:
        raise ProtocolError(_l("The organisational unit is unknown."))
    recipients = {str(row.user_id): row.public_key for row in rows if row.user_id is not None}
    route = Route(first.channel_id, first.allow_exclusion, first.pad_block,
                  first.recovery_public_key, recipients, first.category_id, unit_id,
                  first.work_bits, first.routing_version)
    if routes is not None:
        routes.keep(key, route)
    return route


@lru_cache(maxsize=8)
def _route_query(with_category: bool, with_unit: bool, with_work: bool) -> Any:
    """The routing query, built once per shape; values come in as bound parameters."""
    channels, users = cast(Table, Channel.__table__), cast(Table, User.__table__)
    categories, units = cast(Table, Category.__table__), cast(Table, OrgUnit.__table__)
    installations = cast(Table, Installation.__table__)
    active_inspector = and_(
        users.c.id == recipients_table.c.user_id, users.c.active.is_(True),
        users.c.role == Role.INSPECTOR.value, users.c.public_key.isnot(None),
    )
    work_bits = (
        select(CHALLENGES.c.bits).where(CHALLENGES.c.challenge == bindparam("challenge"),
                                        CHALLENGES.c.expires_at >= bindparam("now"))
        .scalar_subquery() if with_work else null()
    )
    query = (
        select(channels.c.id.label("channel_id"), channels.c.state, channels.c.allow_exclusion,
               installations.c.pad_block, installations.c.recovery_public_key,
               installations.c.routing_version,
               users.c.id.label("user_id"),
               users.c.public_key,
               (categories.c.id if with_category else null()).label("category_id"),
               (units.c.id if with_unit else null()).label("unit_id"),
               work_bits.label("work_bits"))
        .select_from(channels)
        .join(installations, installations.c.id == 1)
        .outerjoin(recipients_table, recipients_table.c.channel_id == channels.c.id)
        .outerjoin(users, active_inspector)
        .where(channels.c.slug == bindparam("slug"))
        .order_by(users.c.id)
    )
    if with_category:
        query = query.outerjoin(categories, and_(
            categories.c.channel_id == channels.c.id, categories.c.slug == bindparam("category"),
            categories.c.retired.is_(False)))
    if with_unit:
        query = query.outerjoin(units, units.c.id == bindparam("unit_id"))
    return query


def resolve_readers(route: Route, excluded: list[str]) -> dict[str, bytes]:
    """The recipients left once the reporter's exclusions are applied (at least one)."""
    if not route.recipients:
        raise ProtocolError(_l("This channel has no inspector with a key yet and cannot take "
                               "reports."))
    if excluded and not route.allow_exclusion:
        raise ProtocolError(_l("This channel does not allow excluding inspectors."))
    if set(excluded) - route.recipients.keys():
        raise ProtocolError(_l("An excluded inspector is not a recipient of this channel."))
    readers = {rid: key for rid, key in route.recipients.items() if rid not in excluded}
    if not readers:
        raise ProtocolError(_l("At least one inspector must remain to receive the report."))
    return readers


def expected_readers(readers: Mapping[str, bytes], recovery_key: bytes | None) -> set[str]:
    """The key slots a document must carry: its inspectors, the reporter, the recovery key."""
    expected = set(readers) | {REPORTER}
    if recovery_key is not None:
        expected.add(RECOVERY)
    return expected


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
    lookup = _b64(body, "lookup", 32)
    reporter_public_key = _b64(body, "reporter_public_key", 32)
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
    _claim(session, store, filing.attachment_ids, report_id, None)
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
    challenge = _offered_challenge(settings, pow_field)
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


# --- attachments --------------------------------------------------------------------------


def receive_attachment(
    session: Session, settings: Settings, store: AttachmentStore, stream: Any,
    declared_length: int | None,
) -> Attachment:
    """Stream a sealed upload to disk, check its length decomposes into chunks, record it."""
    if declared_length is not None:
        try:
            crypto.check_stream_length(declared_length, settings.max_attachment_bytes)
        except crypto.TooLargeError as exc:
            raise ProtocolError(exc, 413) from exc
        except crypto.ShapeError as exc:
            raise ProtocolError(exc) from exc
    # Stale uploads go as new ones arrive, so none outlives its hour by much even without
    # the scheduler.
    purge_unclaimed_attachments(session, settings, store, limit=20)
    attachment_id = new_attachment_id()
    try:
        size = store.write_stream(attachment_id, stream, settings.max_attachment_bytes)
    except crypto.TooLargeError as exc:
        raise ProtocolError(exc, 413) from exc
    if not crypto.valid_stream_length(size):
        store.path(attachment_id).unlink(missing_ok=True)
        raise ProtocolError(_l("The attachment is not a secretstream of 65,536-byte chunks "
                               "with a final chunk."))
    attachment = Attachment(id=attachment_id, size=size, uploaded_at=utcnow())
    session.add(attachment)
    return attachment


def purge_unclaimed_attachments(
    session: Session, settings: Settings, store: AttachmentStore, now: datetime | None = None,
    limit: int | None = None,
) -> int:
    """Delete uploads that no report claimed within the configured time; returns how many."""
    cutoff = (now or utcnow()) - timedelta(minutes=settings.unclaimed_upload_minutes)
    stale = list(session.scalars(select(Attachment).where(
        Attachment.report_id.is_(None), Attachment.uploaded_at < cutoff
    ).limit(limit)))
    for attachment in stale:
        store.shred(attachment.id)
        session.delete(attachment)
    return len(stale)


# --- mailbox ------------------------------------------------------------------------------


def find_report(session: Session, body: object) -> Report:
    """The report whose lookup is in ``body``; 404 for anything else, whatever the reason."""
    lookup = body.get("lookup") if isinstance(body, dict) else None
    try:
        digest = crypto.lookup_hash(crypto.b64decode(lookup, 32))
    except crypto.EncodingError:
        # Look up a random hash instead: a malformed lookup costs what a wrong one does.
        digest = crypto.lookup_hash(secrets.token_bytes(32))
    report = session.scalar(select(Report).where(Report.lookup_hash == digest))
    if report is None:
        raise ProtocolError(_l("Nothing matches this receipt."), 404)
    return report


def mailbox_readers(report: Report) -> list[User]:
    """The inspectors a reporter's message is sealed to: the case's current readers."""
    return [user for user in report.readers if user.active and user.public_key is not None]


def mailbox_view(session: Session, report: Report) -> dict[str, Any]:
    """``POST /api/v1/mailbox``: the report and its thread, each with the reporter's key slot."""
    slots = session.execute(
        select(KeySlot.message_id, KeySlot.slot)
        .where(KeySlot.report_id == report.id, KeySlot.reader == REPORTER)
    ).all()
    by_message = {message_id: slot for message_id, slot in slots}
    return {
        "report": {
            "status": report.status, "created_on": report.created_on.isoformat(),
            "channel": report.channel.slug, "payload": crypto.b64encode(report.payload),
            "key_slot": crypto.b64encode(by_message[None]),
        },
        "recipients": [
            {"id": str(user.id), "name": user.name,
             "public_key": crypto.b64encode(user.public_key or b"")}
            for user in mailbox_readers(report)
        ],
        # The questionnaire, so a client can label answers even once the channel is closed.
        "questions": texts.mailbox_questions(report.channel.questions),
        "messages": [
            # The id is the message's place in the thread: database ids would tell how many
            # messages the whole installation stored in between.
            {"id": str(position), "from": message.sender,
             "sent_on": message.sent_on.isoformat(), "payload": crypto.b64encode(message.payload),
             "key_slot": crypto.b64encode(by_message[message.id])}
            for position, message in enumerate(
                (m for m in report.messages if m.sender != Sender.NOTE.value), start=1)
            if message.id in by_message
        ],
    }


def post_reporter_message(
    session: Session, settings: Settings, store: AttachmentStore, body: object
) -> Message:
    """``POST /api/v1/mailbox/messages``: a reporter's message sealed to the case's readers."""
    report = find_report(session, body)
    assert isinstance(body, dict)
    inst = installation(session, settings)
    payload = checked_payload(body, settings, inst.pad_block)
    readers = {str(user.id): user.public_key or b"" for user in mailbox_readers(report)}
    slots = checked_key_slots(body, expected_readers(readers, inst.recovery_public_key))
    attachments = checked_claimable_attachments(
        session, settings, checked_string_list(body, "attachments"))
    return add_message(session, store, report, Sender.REPORTER, None, payload, slots,
                       [a.id for a in attachments])


def add_message(
    session: Session, store: AttachmentStore, report: Report, sender: Sender,
    author: User | None, payload: bytes, slots: Mapping[str, bytes],
    attachment_ids: list[str],
) -> Message:
    """Store a message of the thread with its key slots and attachments."""
    message = Message(report=report, sender=sender.value, author_id=author.id if author else None,
                      payload=payload)
    session.add(message)
    session.flush()
    session.add_all(KeySlot(report_id=report.id, message_id=message.id, reader=reader, slot=slot)
                    for reader, slot in slots.items())
    _claim(session, store, attachment_ids, report.id, message.id)
    return message


def mailbox_attachment(session: Session, body: object) -> Attachment:
    """An attachment of the report (or its thread) the lookup opens; 404 for anything else."""
    report = find_report(session, body)
    attachment_id = body.get("id") if isinstance(body, dict) else None
    attachment = session.get(Attachment, attachment_id) if isinstance(attachment_id, str) else None
    if attachment is None or attachment.report_id != report.id or (
        attachment.message_id is not None
        and session.get(Message, attachment.message_id).sender == Sender.NOTE.value  # type: ignore[union-attr]
    ):
        raise ProtocolError(_l("Nothing matches this receipt."), 404)
    return attachment
