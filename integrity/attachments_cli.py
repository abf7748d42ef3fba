"""``integrity migrate-attachments``: the sealed attachments from the data folder's files into
the database's rows (PostgreSQL), or back (docs/operations.md#attachments-in-the-database)."""

from __future__ import annotations

import click

from integrity import current
from integrity.cli_context import command_app, command_session, command_settings, record_command


@click.command("migrate-attachments")
@click.option("--to-database", "direction", flag_value="database",
              help="Move the files of <data>/attachments into the database (PostgreSQL).")
@click.option("--to-files", "direction", flag_value="files",
              help="Move the attachments stored in the database back into <data>/attachments.")
def migrate_attachments(direction: str | None) -> None:
    """Move the sealed attachments between the data folder and the database, each checked
    before it is shredded where it was; safe to run again."""
    from integrity.reporting.chunk_store import DatabaseStore
    from integrity.reporting.storage import FolderStore
    from integrity.reporting.store_moves import MoveError, move_attachments

    if direction is None:
        raise click.UsageError("Say where to: --to-database or --to-files.")
    settings = command_settings()
    app = command_app(settings)
    engine = current.engine(app)
    if direction == "database" and engine.dialect.name != "postgresql":
        raise click.ClickException("Attachments are stored in the database on PostgreSQL "
                                   "only; on SQLite they stay files in the data folder.")
    files = FolderStore(settings.data_dir / "attachments")
    rows = DatabaseStore(engine, None)
    source, target = (files, rows) if direction == "database" else (rows, files)
    try:
        moves = move_attachments(source, target)
    except MoveError as exc:
        raise click.ClickException(str(exc)) from exc
    with command_session(app) as session:
        record_command(session, "attachments_moved", "installation",
                       {"to": direction, "moved": moves.moved, "already": moves.already,
                        "differing": len(moves.differing)})
        session.commit()
    where = "into the database" if direction == "database" else "into the data folder"
    click.echo(f"Moved {moves.moved} attachment(s) {where} ({moves.already} found there "
               f"already).")
    if moves.differing:
        raise click.ClickException(
            f"{len(moves.differing)} attachment(s) are in both places with different bytes "
            f"and were left in both: {', '.join(moves.differing)}.")
