"""The ``integrity`` command: install, serve, manage accounts, load demo data."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from integrity import current
from integrity.attachments_cli import migrate_attachments
from integrity.audit_cli import audit
from integrity.backup_cli import backup, restore
from integrity.cli_context import (
    command_app,
    command_session,
    command_settings,
    record_command,
)
from integrity.config import ConfigError, Settings, ensure_installation_secret, ensure_secret_key
from integrity.models import Role
from integrity.org_key_cli import org_key
from surveys.cli import survey


def _served_settings(host: str, port: int) -> Settings:
    try:
        return Settings.for_server(host, port)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def main() -> None:
    """Anonymous integrity reporting, case handling and integrity surveys."""


@main.command()
def init() -> None:
    """Create the data folder and secret key, and bring the database to the latest schema."""
    from integrity.migrate import upgrade

    settings = command_settings()
    created = ensure_secret_key(settings)
    if created:
        click.echo(f"Wrote a new secret key to {created}")
    created = ensure_installation_secret(settings)
    if created:
        click.echo(f"Wrote a new installation secret to {created}: back it up apart from the "
                   f"database; without it no receipt opens its mailbox.")
    upgrade(settings.database_url, installation_secret=settings.load_installation_secret())
    from integrity.installation import get_installation

    app = command_app()
    with command_session(app) as session:
        # Fixes the salt, Argon2id cost and padding of the reporting protocol for good.
        get_installation(session, current.settings(app))
        session.commit()
    click.echo("Database is at the latest schema.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
@click.option("--scheduler/--no-scheduler", "with_scheduler", default=None,
              help="Run the scheduler in this process [default: on with SQLite only; with "
                   "PostgreSQL run `integrity scheduler` once for the installation].")
def serve(host: str, port: int, workers: int, threads: int,
          with_scheduler: bool | None) -> None:
    """Serve the application with gunicorn (the production server)."""
    from integrity.server import serve as run_server

    app = command_app(_served_settings(host, port))
    settings = current.settings(app)
    if with_scheduler is None:
        with_scheduler = settings.database_url.startswith("sqlite")
    hooks = _worker_hooks(settings, with_scheduler)
    if with_scheduler:
        click.echo("The scheduler runs in the server's worker process.")
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C stops)")
    run_server(app, host, port, workers, threads, hooks)


def _worker_hooks(settings: Settings, with_scheduler: bool) -> dict[str, object]:
    """With ``with_scheduler``, gunicorn hooks that also run the scheduler inside each worker
    once it is forked (never in the master: a thread running there while a worker is forked
    could leave a lock held in the child); with several workers the lease lets one of them
    run the jobs. The hooks of ``integrity.gunicorn_conf`` (the scheduler's watchdog) run
    too."""
    from integrity import gunicorn_conf

    if not with_scheduler:
        return {}
    from integrity.scheduler import Scheduler

    def start(worker: object) -> None:
        gunicorn_conf.post_worker_init(worker)
        scheduler = Scheduler(command_app(settings))
        scheduler.start()
        worker.integrity_scheduler = scheduler  # type: ignore[attr-defined]

    def stop(server: object, worker: object) -> None:
        scheduler = getattr(worker, "integrity_scheduler", None)
        if scheduler is not None:
            scheduler.shutdown()
        gunicorn_conf.worker_exit(server, worker)

    return {"post_worker_init": start, "worker_exit": stop}


@main.command("scheduler")
@click.option("--lease-seconds", default=60.0, show_default=True, type=float,
              help="How long the lease lasts without renewal: a standby takes over after it.")
def scheduler_command(lease_seconds: float) -> None:
    """Run the scheduler (one per installation): waves, upload and retention purges.

    A second one started beside it waits as a standby and takes over if the first stops.
    """
    import signal
    import threading

    from integrity.scheduler import Scheduler

    scheduler = Scheduler(command_app(), lease_seconds=lease_seconds)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    scheduler.start()
    click.echo(f"Scheduler {scheduler.holder} started; it runs jobs while it holds the lease.")
    announced = False
    while not stop.wait(0.5):
        if scheduler.holds_lease() and not announced:
            click.echo("This scheduler holds the lease and runs the jobs.")
            announced = True
        elif not scheduler.holds_lease() and announced:
            click.echo("This scheduler lost the lease and waits as a standby.")
            announced = False
    scheduler.shutdown()
    click.echo("Scheduler stopped; its jobs stay stored for the next start.")


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
    app = command_app()
    with command_session(app) as session:
        try:
            created = create_user(
                session,
                current.hasher(app),
                email=email,
                name=name,
                role=Role(role),
                password=password,
                must_change_password=not password_stdin,
            )
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        record_command(session, "user_added", f"user:{created.id}", {"role": role})
        session.commit()
    click.echo(f"Added {role} {email}.")
    if not password_stdin:
        click.echo(f"One-time passphrase (shown once, to be changed at first sign-in): {password}")
    if Role(role).requires_totp:
        click.echo("At first sign-in the account will be asked to set up two-factor sign-in.")


@user.command("invite")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
def user_invite(role: str, email: str, name: str) -> None:
    """Add a staff account and print its one-time set-up link (the first administrator's,
    for instance); the person chooses the passphrase on their own device."""
    from integrity.auth.invitations import invite
    from integrity.auth.services import AccountError
    from integrity.i18n import language_of

    app = command_app()
    with command_session(app) as session:
        settings = current.settings(app)
        try:
            created, token = invite(session, email=email, name=name, role=Role(role),
                                    hours=settings.invitation_hours)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        record_command(session, "user_invited", f"user:{created.id}",
               {"role": role, "hours": settings.invitation_hours})
        session.commit()
        language = language_of(created)  # the set-up pages open in it
    click.echo(f"Invited {role} {created.email}.")
    click.echo(f"Set-up link (shown once, works once, for {settings.invitation_hours} hours): "
               f"{settings.public_url.rstrip('/')}/staff/setup/{token}?lang={language}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address `integrity serve` will listen on, for the links printed.")
@click.option("--port", default=8080, show_default=True, type=int,
              help="The port `integrity serve` will listen on, for the links printed.")
def demo(host: str, port: int) -> None:
    """Load demo data (fixed, published credentials: never on a real installation)."""
    from integrity import demo as demo_data
    from integrity.demo_cases import RECEIPTS
    from surveys.demo import DEMO_CODE_UNIT, DEMO_CODES

    app = command_app(_served_settings(host, port))
    settings = current.settings(app)
    with command_session(app) as session:
        created = demo_data.load(session, current.hasher(app))
        demo_org_key = demo_data.load_demo_org_key(session, settings)
        session.commit()
    key_file = settings.data_dir / "demo-inspector.key"
    if not key_file.exists():
        from crypto import dump_key_file

        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(dump_key_file(demo_data.DEMO_INSPECTOR_KEY, "demo inspector (public)"))
    site = settings.public_url.rstrip("/")
    click.echo("Demo data is loaded.")
    click.echo(f"Reporters (no account): {site}/")
    click.echo(f"Staff sign in at {site}/staff/login with (see README.md):")
    for account in demo_data.DEMO_ACCOUNTS:
        line = f"  {account.role.value:<9} {account.email:<24} {account.password}"
        if account.totp_secret:
            line += f"  TOTP key {account.totp_secret}"
        click.echo(line + ("" if account in created else "  (already present)"))
    click.echo("The demo inspector's key opens with the demo passphrase at sign-in; the same key "
               f"for `integrity decrypt` (demo reports are not secret): {key_file}")
    if demo_org_key:
        click.echo("Pinned a demo organisation key (fixed and published: a demo key, never for a "
                   "real installation); the demo inspector's key is certified with it, so the "
                   "pages speak protocol 2.")
    click.echo(f"Survey respondents answer at {site}/survey with a demo access code, each "
               f"usable once (unit: {DEMO_CODE_UNIT}): {DEMO_CODES[0]} to {DEMO_CODES[-1]}")
    click.echo(f"The reporters of the demo cases that show the case features open their "
               f"mailbox at {site}/mailbox with these receipts (see README.md):")
    for reference, receipt in RECEIPTS.items():
        click.echo(f"  {receipt}  case {reference}")


@main.group()
def channel() -> None:
    """Reporting channels."""


@channel.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="Name shown to reporters.")
@click.option("--allow-exclusion", is_flag=True,
              help="Let reporters leave out inspectors (a report about an inspector).")
def channel_add(slug: str, name: str, allow_exclusion: bool) -> None:
    """Add a channel with the default questionnaire."""
    from integrity.channels import ChannelError, add_channel

    app = command_app()
    with command_session(app) as session:
        try:
            add_channel(session, slug, name, allow_exclusion=allow_exclusion)
        except ChannelError as exc:
            raise click.ClickException(str(exc)) from exc
        record_command(session, "channel_added", f"channel:{slug}",
                       {"allow_exclusion": allow_exclusion})
        session.commit()
    click.echo(f"Added channel {slug}. Add inspectors with 'integrity inspector add'.")


@main.command()
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--label", default="offline inspector key", help="A note stored in the file.")
@click.option("--passphrase", "protect", is_flag=True,
              help="Ask for a passphrase and store the private key only wrapped under it.")
def keygen(out: Path, label: str, protect: bool) -> None:
    """Make an X25519 key pair offline; writes the key file and prints the public key."""
    from crypto import KeyPair, b64encode, dump_key_file, fingerprint
    from integrity.auth.strength import is_weak_passphrase

    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key file.")
    passphrase = None
    if protect:
        passphrase = click.prompt("Passphrase for the key file", hide_input=True,
                                  confirmation_prompt=True, err=True)
        if is_weak_passphrase(passphrase):
            raise click.ClickException(
                "Choose a passphrase that is harder to guess: at least 12 characters, such as "
                "four unrelated words, and not a common password, a repeated character or a "
                "sequence.")
    pair = KeyPair.generate()
    text = dump_key_file(pair, label, passphrase)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    click.echo(f"Wrote the private key to {out}: keep it offline; whoever holds it reads cases.")
    click.echo(f"Public key: {b64encode(pair.public_key)}")
    click.echo(f"Fingerprint: {fingerprint(pair.public_key)}")


@main.group()
def inspector() -> None:
    """Inspectors who receive reports."""


@inspector.command("add")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--public-key", "public_key", required=True, help="base64url, from keygen.")
@click.option("--channel", "channels", required=True, multiple=True,
              help="A channel whose reports this inspector receives (repeatable).")
def inspector_add(name: str, email: str, public_key: str, channels: tuple[str, ...]) -> None:
    """Add an inspector whose private key lives offline, as a recipient of channels."""
    from crypto import EncodingError, b64decode, fingerprint
    from integrity.auth.services import AccountError
    from integrity.channels import ChannelError, add_offline_inspector, get_channel

    try:
        key = b64decode(public_key, 32, what="public key")
    except EncodingError as exc:
        raise click.ClickException(str(exc)) from exc
    app = command_app()
    with command_session(app) as session:
        try:
            for slug in channels:
                user = add_offline_inspector(session, name=name, email=email, public_key=key,
                                             channel=get_channel(session, slug))
        except (ChannelError, AccountError) as exc:
            raise click.ClickException(str(exc)) from exc
        record_command(session, "key_added", f"user:{user.id}",
               {"fingerprint": fingerprint(key), "channels": list(channels)})
        session.commit()
    click.echo(f"{name} receives reports of: {', '.join(channels)} "
               f"(key fingerprint {fingerprint(key)}).")


@main.command("purge-uploads")
def purge_uploads() -> None:
    """Delete uploaded attachments that no report claimed within the hour."""
    from integrity.reporting.attachments import purge_unclaimed_attachments

    app = command_app()
    with command_session(app) as session:
        removed = purge_unclaimed_attachments(
            session, current.settings(app), current.attachment_store(app)
        )
        session.commit()
    click.echo(f"Removed {removed} unclaimed upload(s).")


@main.command()
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export(out: Path) -> None:
    """Write every case for offline reading: what is sealed as ciphertext (reports, messages,
    persons concerned, reasons of deletions, files), and the case's clear facts."""
    from integrity.reporting.export import attachments_folder, write_export

    app = command_app()
    with command_session(app) as session:
        count = write_export(session, current.attachment_store(app),
                             current.settings(app), out)
        record_command(session, "export", "reports", {"reports": count})
        session.commit()
    click.echo(f"Exported {count} report(s) to {out} (sealed files in {attachments_folder(out)}).")


@main.command()
@click.option("--key-file", "key_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--files", "files", type=click.Path(file_okay=False, path_type=Path),
              help="Write the decrypted attachments into this folder.")
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def decrypt(key_file: Path, files: Path | None, export_file: Path) -> None:
    """Open an export with an inspector's or the recovery key file; needs no server."""
    from crypto import CryptoError, key_file_needs_passphrase, load_key_file
    from crypto.offline import open_export
    from integrity.reporting.export import attachments_folder

    try:
        text = key_file.read_text()
        passphrase = (click.prompt("Passphrase of the key file", hide_input=True, err=True)
                      if key_file_needs_passphrase(text) else None)
        pair = load_key_file(text, passphrase)
        data = json.loads(export_file.read_text())
        opened = open_export(data, pair.secret_key, attachments_folder(export_file), files)
    except (CryptoError, ValueError, KeyError) as exc:
        raise click.ClickException(f"Cannot open the export: {exc}") from exc
    if data["reports"] and not opened["reports"]:
        raise click.ClickException(
            f"This key opens none of the {len(data['reports'])} report(s) in the export."
        )
    click.echo(json.dumps(opened, indent=2, ensure_ascii=False))


@main.group("recovery-key")
def recovery_key() -> None:
    """The offline recovery key."""


@recovery_key.command("init")
@click.option("--sheet", "sheet", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("recovery-key-sheet.html"), show_default=True,
              help="Where to write the printable sheet (it holds the private key).")
def recovery_key_init(sheet: Path) -> None:
    """Make the recovery key: only the public half is stored; the private half is shown once."""
    from crypto import b64encode, dump_key_file, fingerprint
    from integrity.recovery import RecoveryKeyError, create_recovery_key, recovery_sheet

    if sheet.exists():
        raise click.ClickException(f"{sheet} exists; refusing to overwrite it.")
    app = command_app()
    settings = current.settings(app)
    with command_session(app) as session:
        try:
            pair = create_recovery_key(session, settings)
        except RecoveryKeyError as exc:
            raise click.ClickException(str(exc)) from exc
        fd = os.open(sheet, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(recovery_sheet(pair, settings.public_url))
        record_command(session, "recovery_key_created", "installation",
               {"fingerprint": fingerprint(pair.public_key)})
        session.commit()
    click.echo("Recovery key made. Every report and message from now on is also sealed to it.")
    click.echo(f"Fingerprint: {fingerprint(pair.public_key)}")
    click.echo(f"Public key: {b64encode(pair.public_key)}")
    click.echo(f"Printable sheet (holds the private key): {sheet}")
    click.echo("Private key file, shown only this once; print it, then clear this screen:")
    click.echo(dump_key_file(pair, "recovery key"))


@main.command()
def purge() -> None:
    """Delete the cases retention ends: closed ones past their retention period, never
    closed ones past their channel's maximum age; none on legal hold (files overwritten
    first)."""
    from integrity.cases.retention import purge_cases
    from integrity.models import today

    app = command_app()
    with command_session(app) as session:
        purged = purge_cases(session, current.attachment_store(app), today())
        session.commit()
    listed = f": {', '.join(case.reference for case in purged)}" if purged else ""
    click.echo(f"Deleted {len(purged)} case(s) past their retention period or maximum "
               f"age{listed}.")


main.add_command(audit)
main.add_command(backup)
main.add_command(restore)
main.add_command(survey)
main.add_command(org_key)
main.add_command(migrate_attachments)
