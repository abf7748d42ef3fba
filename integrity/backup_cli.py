"""``integrity backup`` and ``integrity restore``: a sealed snapshot of the installation, and
an empty installation rebuilt from one (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from integrity.cli_context import command_app, command_session, command_settings, record_command

if TYPE_CHECKING:
    from integrity.backup import BackupSummary


@click.command()
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The backup file to write (refused if it exists).")
def backup(out: Path) -> None:
    """Write one consistent snapshot of the database, the data folder's secrets and the
    attachments, sealed to the recovery key."""
    from integrity.backup import BackupError, write_backup

    settings = command_settings()
    try:
        summary = write_backup(settings, out)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    app = command_app(settings)
    with command_session(app) as session:
        record_command(session, "backup_made", "installation",
                       {"database": summary.database, "attachments": summary.attachments,
                        "stored_attachments": summary.stored,
                        "fingerprint": summary.fingerprint})
        session.commit()
    click.echo(f"Wrote the backup of the {summary.database} database{_stored(summary)} and "
               f"{summary.attachments} attachment file(s) to {out}, sealed to the recovery key "
               f"{summary.fingerprint}.")


def _stored(summary: BackupSummary) -> str:
    """On PostgreSQL, how many attachments are rows of the database."""
    if summary.database != "postgresql":
        return ""
    return f" ({summary.stored} attachment(s) stored in it)"


@click.command()
@click.option("--key-file", "key_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The recovery key file (as `integrity recovery-key init` printed it).")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(key_file: Path, backup_file: Path) -> None:
    """Rebuild an empty installation from a backup; refused over one that is not empty."""
    from crypto import CryptoError, key_file_needs_passphrase, load_key_file
    from integrity.backup import BackupError, check_empty, restore_backup

    settings = command_settings()
    try:
        check_empty(settings)  # before asking for a passphrase
        text = key_file.read_text()
        passphrase = (click.prompt("Passphrase of the key file", hide_input=True, err=True)
                      if key_file_needs_passphrase(text) else None)
        pair = load_key_file(text, passphrase)
        with backup_file.open("rb") as source:
            summary = restore_backup(settings, source, pair)
    except (BackupError, CryptoError) as exc:
        raise click.ClickException(str(exc)) from exc
    from sqlalchemy.exc import SQLAlchemyError

    app = command_app()
    with command_session(app) as session:
        try:
            record_command(session, "backup_restored", "installation",
                           {"database": summary.database, "attachments": summary.attachments,
                            "stored_attachments": summary.stored})
            session.commit()
        except SQLAlchemyError:  # a backup of an older schema: `integrity init` comes first
            click.echo("The restore could not be recorded in the audit log of this older "
                       "schema; record it by hand after `integrity init`.", err=True)
    click.echo(f"Restored the {summary.database} database{_stored(summary)} and "
               f"{summary.attachments} attachment file(s) from {backup_file}. Run `integrity "
               f"init` to bring the database to this version's schema, then start the server.")
