"""Engine, sessions and the declarative base shared by every package."""

from __future__ import annotations

import secrets
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g
from sqlalchemy import BigInteger, Integer, MetaData, create_engine, event, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapper, Session, aliased, sessionmaker

# Stable constraint names so Alembic migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Every integer column is a 32-bit INTEGER, identifiers included, except the random ids below:
# a number outside this range names no row and fits in none (PostgreSQL answers it with an
# error, not a miss).
SMALLEST_INT = -(2**31)
LARGEST_INT = 2**31 - 1

# Reports, messages and key slots are numbered at random, never counted, so that their ids
# give neither the order nor the number of filings; so are the rows made beside them (meeting
# requests, tombstones, check-ins, persons concerned, their steps and key slots). Drawn from
# [2**52, 2**53): below 2**53 a JavaScript number holds them exactly, and no id counted before
# the upgrades (all below 2**31) is ever drawn again. 64-bit on PostgreSQL; SQLite's INTEGER is
# already 64-bit, and an INTEGER PRIMARY KEY is the table's rowid, so no hidden counter numbers
# the rows there.
SMALLEST_ID = 2**52
LARGEST_ID = 2**53 - 1
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


def random_row_id() -> int:
    """A fresh random id for a report, a message, a key slot or a row made beside them.
    Uniqueness is the primary key's to enforce: two draws are equal with a probability of
    2⁻⁵²."""
    return SMALLEST_ID + secrets.randbelow(LARGEST_ID - SMALLEST_ID + 1)


def place_last(model: type[Any], parent: str, parent_model: type[Any]) -> None:
    """Give each new row of ``model`` the next ``position`` among the rows with the same
    ``parent`` column (1, 2, 3...): the order they were added in, which their random ids no
    longer give.

    Counted by the row's INSERT itself, so that rows stored in one flush take places one after
    the other. On PostgreSQL one writer per parent at a time: a second waits here for the
    first's lock on the parent row to be committed, then counts its row too (SQLite has a
    single writer anyway). FOR NO KEY UPDATE, as an UPDATE of the parent takes, so that rows
    referring to the parent are not held up."""

    def place(_mapper: Mapper[Any], connection: Connection, row: Any) -> None:
        if row.position is not None:
            return
        parent_id = getattr(row, parent)
        if connection.dialect.name == "postgresql":
            connection.execute(select(parent_model.id).where(parent_model.id == parent_id)
                               .with_for_update(key_share=True))
        earlier = aliased(model)
        row.position = (select(func.coalesce(func.max(earlier.position), 0) + 1)
                        .where(getattr(earlier, parent) == parent_id).scalar_subquery())

    event.listen(model, "before_insert", place)


def database_int(value: Any) -> int:
    """``int(value)``, refused with ValueError when no integer column could hold it."""
    number = int(value)
    if not SMALLEST_INT <= number <= LARGEST_INT:
        raise ValueError(f"{number} is outside the database's integer range")
    return number


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite connections get the pragmas the project relies on.

    Its errors never print bound parameters: they hold what people typed (an e-mail address,
    a search), and error messages end up in logs.
    """
    kwargs = {"hide_parameters": True, **kwargs}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, **{"pool_pre_ping": True, **kwargs})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # secure_delete overwrites freed pages, so deleted ciphertext does not linger in the file.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_app(app: Flask, url: str) -> None:
    """Bind an engine and a session factory to ``app``; sessions close on teardown."""
    engine = make_engine(url)
    app.extensions["integrity.engine"] = engine
    app.extensions["integrity.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    if engine.dialect.name == "postgresql":
        # For statements that stand alone (filing a report): connections that stay in
        # autocommit, instead of being switched into it and back for each request. They are
        # not tested before use: reporting.routing.RouteCache.run does the work again on a
        # new connection when one turns out to be closed, and nothing needs resetting.
        app.extensions["integrity.autocommit_engine"] = make_engine(
            url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_reset_on_return=None)
    app.teardown_appcontext(_close_session)


def dispose(app: Flask) -> None:
    """Close the pooled connections of every engine of ``app``."""
    for name in ("integrity.engine", "integrity.autocommit_engine"):
        engine = app.extensions.get(name)
        if engine is not None:
            engine.dispose()


def get_session() -> Session:
    """The database session of the current request or application context."""
    session: Session | None = g.get("db_session")
    if session is None:
        session = g.db_session = current_app.extensions["integrity.sessionmaker"]()
    return session


T = TypeVar("T")


def get_or_404(model: type[T], ident: int) -> T:
    """The row of ``model`` with this id in the current session, or 404."""
    row = get_session().get(model, ident)
    if row is None:
        abort(404)
    return row


def new_session(app: Flask) -> Session:
    """A session outside any request, for the CLI and background jobs."""
    session: Session = app.extensions["integrity.sessionmaker"]()
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
