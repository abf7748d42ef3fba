"""Where a report goes: its channel, recipients, category and unit, read in one round trip,
and the readers its key slots must name.

Filing is the hot path of the API, so the routing is read in one Core statement. On
PostgreSQL the read is usually skipped: routes are kept (``RouteCache``) and the write itself
checks that they still hold (see ``filing``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, cast

import psycopg
from flask_babel import lazy_gettext as _l
from psycopg.rows import namedtuple_row
from sqlalchemy import Table, and_, bindparam, null, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crypto.certificates import verify_inspector_key, verify_recovery_key
from integrity.config import Settings
from integrity.db import database_int
from integrity.installation import get_installation
from integrity.models import (
    Category,
    Channel,
    ChannelState,
    Installation,
    OrgUnit,
    Role,
    User,
    utcnow,
)
from integrity.models import channel_recipients as recipients_table
from integrity.reporting.errors import ProtocolError
from integrity.reporting.models import PowChallenge

# Reader names of the key slots besides the inspectors' ids.
REPORTER = "reporter"
RECOVERY = "recovery"
CHALLENGES = cast(Table, PowChallenge.__table__)


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
    challenge_bits: int | None = None  # bits of the offered proof-of-work challenge, while unspent
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
        routes[key] = replace(route, challenge_bits=None, kept=True)
        self._routes = routes


def _org_unit_id(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        with contextlib.suppress(ValueError):  # past the database's range: no such unit
            return database_int(value)
    raise ProtocolError(_l("The organisational unit is unknown."))


def route_key(slug: object, category: object = None, org_unit: object = None) -> RouteKey:
    """The (channel, category, unit) a report names, checked for type; 400 if one is wrong."""
    if not isinstance(slug, str):
        raise ProtocolError(_l("The field “channel” must name a channel."))
    if category is not None and not isinstance(category, str):
        raise ProtocolError(_l("The category is not one of this channel's categories."))
    return slug, category, _org_unit_id(org_unit)


def route_for(session: Session, settings: Settings, slug: object, category: object = None,
              org_unit: object = None) -> Route:
    """The routing of a report to channel ``slug``; unknown names are refused with 400."""
    return find_route(session, settings, route_key(slug, category, org_unit))


def find_route(session: Session, settings: Settings, key: RouteKey,
               challenge: bytes | None = None, route_cache: RouteCache | None = None,
               fresh: bool = False) -> Route:
    """The routing ``key`` names; a channel, category or unit that does not exist is 400.

    With a proof-of-work ``challenge``, the same query reads its bits (if it is unspent).
    With ``route_cache``, a kept route is returned when there is one and ``fresh`` is not asked
    for (``kept``, without the bits), and a route read is kept there."""
    slug, category, org_unit_id = key
    if route_cache is not None and not fresh and (kept := route_cache.get(key)) is not None:
        return kept
    query = _route_query(category is not None, org_unit_id is not None, challenge is not None)
    params = {"slug": slug, "category": category, "org_unit_id": org_unit_id,
              "challenge": challenge, "now": utcnow()}
    # Core statements go to a connection directly: the ORM has nothing to add.
    rows: Sequence[Any]
    if route_cache is not None:
        rows = route_cache.run(query, params)
    else:
        rows = session.connection().execute(query, params).all()
    if not rows and session.get(Installation, 1) is None:
        get_installation(session, settings)  # first use of a new installation
        rows = session.connection().execute(query, params).all()
    if not rows or rows[0].state == ChannelState.CLOSED:
        raise ProtocolError(_l("There is no open channel “%(slug)s”.", slug=slug))
    first = rows[0]
    if category is not None and first.category_id is None:
        raise ProtocolError(_l("The category is not one of this channel's categories."))
    if org_unit_id is not None and first.org_unit_id is None:
        raise ProtocolError(_l("The organisational unit is unknown."))
    recipients = {str(row.user_id): row.public_key for row in rows if row.user_id is not None}
    route = Route(first.channel_id, first.allow_exclusion, first.pad_block,
                  first.recovery_public_key, recipients, first.category_id, org_unit_id,
                  first.challenge_bits, first.routing_version)
    if route_cache is not None:
        route_cache.keep(key, route)
    return route


@lru_cache(maxsize=8)
def _route_query(with_category: bool, with_org_unit: bool, with_work: bool) -> Any:
    """The routing query, built once per shape; values come in as bound parameters."""
    channels, users = cast(Table, Channel.__table__), cast(Table, User.__table__)
    categories, org_units = cast(Table, Category.__table__), cast(Table, OrgUnit.__table__)
    installations = cast(Table, Installation.__table__)
    active_inspector = and_(
        users.c.id == recipients_table.c.user_id, users.c.active.is_(True),
        users.c.role == Role.INSPECTOR, users.c.public_key.isnot(None),
    )
    challenge_bits = (
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
               (org_units.c.id if with_org_unit else null()).label("org_unit_id"),
               challenge_bits.label("challenge_bits"))
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
    if with_org_unit:
        query = query.outerjoin(org_units, org_units.c.id == bindparam("org_unit_id"))
    return query


def certified_route(session: Session, route: Route, org_public_key: bytes | None) -> Route:
    """``route`` as a protocol 2 report takes it: only the recipients, and the recovery key,
    whose certificate from the pinned organisation key verifies (protocol 2 clients seal to
    no other key)."""
    if org_public_key is None:
        raise ProtocolError(_l("This installation has no organisation key yet, so it cannot "
                               "take protocol 2 reports."))
    ids = [int(rid) for rid in route.recipients]
    certificates = {user_id: certificate for user_id, certificate in session.execute(
        select(User.id, User.key_certificate).where(User.id.in_(ids)))}
    recipients = {rid: key for rid, key in route.recipients.items()
                  if verify_inspector_key(org_public_key, rid, key, certificates.get(int(rid)))}
    recovery_key = route.recovery_key
    if recovery_key is not None:
        row = session.get(Installation, 1)
        certificate = row.recovery_certificate if row is not None else None
        if not verify_recovery_key(org_public_key, recovery_key, certificate):
            recovery_key = None
    return replace(route, recipients=recipients, recovery_key=recovery_key)


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
