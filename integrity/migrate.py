"""Alembic, driven from code: ``integrity init`` and the migration tests use these."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.pool import NullPool

from integrity.db import make_engine
from integrity.paths import ROOT


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head",
            installation_secret: bytes | None = None) -> None:
    """Bring the schema up to ``revision``; running it again at head changes nothing.

    Migrations that convert stored data with a secret held outside the database (0018 keys
    the lookup hashes) read it from ``installation_secret``."""
    config = alembic_config(database_url)
    config.attributes["installation_secret"] = installation_secret
    command.upgrade(config, revision)
    wipe_sqlite_log(database_url)


def wipe_sqlite_log(database_url: str) -> None:
    """On SQLite, move the write-ahead log into the database file and empty it: with
    ``secure_delete``, the values a migration removed or sealed (0035's second-factor secrets,
    0038's reasons) are overwritten now rather than at some later checkpoint."""
    if not database_url.startswith("sqlite"):
        return
    engine = make_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()


def downgrade(database_url: str, revision: str = "base",
              installation_secret: bytes | None = None) -> None:
    config = alembic_config(database_url)
    config.attributes["installation_secret"] = installation_secret
    command.downgrade(config, revision)
