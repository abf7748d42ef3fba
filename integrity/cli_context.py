"""What every ``integrity`` command needs: settings, the application, a session, the audit log.

``integrity/cli.py`` and ``surveys/cli.py`` both build on it, so neither imports the other's
helpers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from sqlalchemy.orm import Session

from integrity.config import ConfigError, Settings
from integrity.db import new_session


def command_settings() -> Settings:
    """The settings from the environment; a bad one is the command's one-line error."""
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def command_app(settings: Settings | None = None) -> Flask:
    """The application the command works on."""
    from integrity.app import create_app

    try:
        return create_app(settings or command_settings())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def command_session(app: Flask) -> Iterator[Session]:
    """A database session inside the application's context, closed afterwards."""
    with app.app_context():
        session = new_session(app)
        try:
            yield session
        finally:
            session.close()


def record_command(session: Session, action: str, subject: str,
                   details: dict[str, object]) -> None:
    """Record a command-line action in the audit log (the caller commits)."""
    from integrity.audit import record

    record(session, actor=None, actor_label="cli", action=action, subject=subject,
           details=details)
