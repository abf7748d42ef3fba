"""The ``integrity`` command: install, serve, manage accounts, load demo data."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from sqlalchemy.orm import Session

from integrity import create_app
from integrity.config import ConfigError, Settings, ensure_secret_key
from integrity.db import new_session
from integrity.models import Role


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _app() -> Flask:
    try:
        return create_app(_settings())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def _session(app: Flask) -> Iterator[Session]:
    with app.app_context():
        session = new_session(app)
        try:
            yield session
        finally:
            session.close()


@click.group()
def main() -> None:
    """Anonymous integrity reporting, case handling and integrity surveys."""


@main.command()
def init() -> None:
    """Create the data folder and secret key, and bring the database to the latest schema."""
    from integrity.migrate import upgrade

    settings = _settings()
    created = ensure_secret_key(settings)
    if created:
        click.echo(f"Wrote a new secret key to {created}")
    upgrade(settings.database_url)
    click.echo("Database is at the latest schema.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the application with gunicorn (the production server)."""
    from integrity.server import serve as run_server

    app = _app()
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C stops)")
    run_server(app, host, port, workers, threads)


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the passphrase from standard input instead."
)
def user_add(role: str, email: str, name: str, password_stdin: bool) -> None:
    """Add a staff account; prints a one-time passphrase unless one is read from stdin."""
    from integrity.auth.services import AccountError, create_user, generate_password

    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()
    app = _app()
    with _session(app) as session:
        try:
            create_user(
                session,
                app.extensions["integrity.hasher"],
                email=email,
                name=name,
                role=Role(role),
                password=password,
                must_change_password=not password_stdin,
            )
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
    click.echo(f"Added {role} {email}.")
    if not password_stdin:
        click.echo(f"One-time passphrase (shown once, to be changed at first sign-in): {password}")
    if Role(role).requires_totp:
        click.echo("At first sign-in the account will be asked to set up two-factor sign-in.")


@main.command()
def demo() -> None:
    """Load demo data (fixed, published credentials: never on a real installation)."""
    from integrity import demo as demo_data

    app = _app()
    with _session(app) as session:
        created = demo_data.load(session, app.extensions["integrity.hasher"])
        session.commit()
    click.echo("Demo data is loaded.")
    click.echo("Demo accounts (see README.md):")
    for account in demo_data.DEMO_ACCOUNTS:
        line = f"  {account.role.value:<9} {account.email:<24} {account.password}"
        if account.totp_secret:
            line += f"  TOTP key {account.totp_secret}"
        click.echo(line + ("" if account in created else "  (already present)"))
