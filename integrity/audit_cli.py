"""``integrity audit``: verify the chain, check the daily register, export the head to keep
outside the system and check an exported head later (docs/administration.md, "The audit log")."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from integrity.cli_context import command_app, command_session


@click.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exits with status 1 at the first broken entry."""
    from integrity.audit import AuditHead, verify

    app = command_app()
    with command_session(app) as session:
        result = verify(session)
        head = session.get(AuditHead, 1)
    if result.ok:
        click.echo(f"Audit log intact: {result.checked} entries.")
        if head is not None:
            # Noted outside the database, this lets a later check catch a rewritten tail.
            click.echo(f"Head: entry {head.seq}, hash {head.hash.hex()}")
        return
    where = f" at entry {result.first_broken}" if result.first_broken is not None else ""
    click.echo(f"Audit log broken{where}: {result.reason}", err=True)
    sys.exit(1)


@audit.command("head")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the exported head to this file instead of printing it.")
def audit_head(out: Path | None) -> None:
    """Print the log's head (last entry number, chain hash, time) as JSON, to keep outside
    the system; ``integrity audit check-head`` checks it later."""
    from integrity.audit_anchor import current_head, head_json

    app = command_app()
    with command_session(app) as session:
        text = head_json(current_head(session), datetime.now(UTC))
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"Wrote the audit head to {out}.")


@audit.command("check-head")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
def audit_check_head(file: Path) -> None:
    """Check that a head exported earlier is still in the chain; exits with status 1 if not."""
    from integrity.audit_anchor import HeadFileError, check_head, parse_head

    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        exported = parse_head(text)
    except (OSError, UnicodeDecodeError, HeadFileError) as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    app = command_app()
    with command_session(app) as session:
        result = check_head(session, exported)
    click.echo(str(result.reason), err=not result.ok)
    if not result.ok:
        sys.exit(1)


@audit.command("register")
def audit_register() -> None:
    """Write the register entries of the past days not yet registered (the scheduler does
    this every night)."""
    from integrity.audit_register import write_register
    from integrity.models import today

    app = command_app()
    with command_session(app) as session:
        days = write_register(session, today())
        session.commit()
    click.echo(f"Registered {len(days)} day(s)"
               + (f": {days[0].isoformat()} to {days[-1].isoformat()}." if days else "."))


@audit.command("register-check")
def audit_register_check() -> None:
    """Recompute each day's register entry; exits with status 1 naming every day whose reports
    no longer match (a report deleted, added or altered outside the application)."""
    from integrity.audit_register import check_register

    app = command_app()
    with command_session(app) as session:
        result = check_register(session)
    if result.ok:
        click.echo(f"Register intact: {result.checked} day(s) match their entries.")
        return
    for gap in result.gaps:
        click.echo(f"Gap on {gap.day.isoformat()} (entry {gap.seq}): {gap.registered} "
                   f"report(s) registered, {gap.found} found or purged since.", err=True)
    click.echo(f"{len(result.gaps)} of {result.checked} registered day(s) do not match.",
               err=True)
    sys.exit(1)
