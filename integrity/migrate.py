"""Alembic, driven from code: ``integrity init`` and the migration tests use these."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

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


def downgrade(database_url: str, revision: str = "base",
              installation_secret: bytes | None = None) -> None:
    config = alembic_config(database_url)
    config.attributes["installation_secret"] = installation_secret
    command.downgrade(config, revision)
