"""The installation's fixed parameters (key-derivation salt and cost, padding, routing version),
made on first use and the same ever after."""

from __future__ import annotations

import secrets

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

import crypto
from integrity.config import Settings
from integrity.models import Installation


def get_installation(session: Session, settings: Settings) -> Installation:
    """The installation's fixed parameters: a fresh salt and the configured cost the first
    time, and the same values ever after."""
    row = session.get(Installation, 1)
    if row is not None:
        return row
    # Concurrent first uses each offer a row; the first one written stays. No savepoint is
    # needed, so this also works on a connection without a transaction (see
    # reporting.filing.file_report).
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
