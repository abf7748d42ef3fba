"""``integrity org-key``: make the organisation key offline, pin its public half, and certify
inspector keys and the recovery key (docs/administration.md#the-organisation-key)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast

import click

from integrity import current
from integrity.cli_context import command_app, command_session, command_settings, record_command


def _write_private(path: Path, text: str) -> None:
    if path.exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite it.")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path} cannot be read as JSON: {exc}") from exc


@click.group("org-key")
def org_key() -> None:
    """The organisation key that vouches for inspector keys and the recovery key."""


@org_key.command("init")
@click.option("--sheet", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("org-key-sheet.html"), show_default=True,
              help="Where to write the printable sheet (it holds the private half).")
@click.option("--witness", "witnesses", multiple=True, required=True,
              help="An administrator present; give two.")
def org_key_init(sheet: Path, witnesses: tuple[str, ...]) -> None:
    """Make the organisation key, on the offline machine, with two administrators present.

    Nothing is stored: the private half goes onto the printed sheet only; pin the public half
    on the server with `integrity org-key pin`."""
    from crypto import b64encode, fingerprint
    from crypto.certificates import OrgKey
    from integrity.org_key import org_key_sheet

    if len({w.strip() for w in witnesses if w.strip()}) < 2:
        raise click.ClickException("Two different administrators must be present: give "
                                   "--witness twice.")
    org = OrgKey.generate()
    _write_private(sheet, org_key_sheet(org, [w.strip() for w in witnesses],
                                        command_settings().public_url))
    click.echo("Organisation key made. Print the sheet, put it in the safe, then delete the file.")
    click.echo(f"Printable sheet (holds the private half): {sheet}")
    click.echo(f"Fingerprint: {fingerprint(org.public_key)}")
    click.echo(f"Public key: {b64encode(org.public_key)}")
    click.echo(f"On the server: integrity org-key pin {b64encode(org.public_key)}")


@org_key.command("pin")
@click.argument("public_key")
@click.option("--replace", is_flag=True,
              help="Pin this key although another is pinned (its certificates stop counting).")
def org_key_pin(public_key: str, replace: bool) -> None:
    """Pin the organisation's public key in the data folder (outside the database)."""
    import crypto
    from integrity.org_key import OrgKeyError, pin_org_key

    try:
        key = crypto.b64decode(public_key.strip(), 32, what="organisation public key")
    except crypto.EncodingError as exc:
        raise click.ClickException(str(exc)) from exc
    app = command_app()
    with command_session(app) as session:
        try:
            changed = pin_org_key(current.settings(app), key, replace=replace)
        except OrgKeyError as exc:
            raise click.ClickException(str(exc)) from exc
        if changed:
            record_command(session, "org_key_pinned", "installation",
                           {"fingerprint": crypto.fingerprint(key)})
            session.commit()
    click.echo(f"Pinned organisation key {crypto.fingerprint(key)}."
               if changed else "This organisation key is already pinned.")
    click.echo("Restart the server so that the pages and the posters carry it.")


@org_key.command("status")
def org_key_status() -> None:
    """The pinned key, and which keys still wait for a certificate."""
    import crypto
    from integrity.org_key import OrgKeyError, signing_requests

    app = command_app()
    settings = current.settings(app)
    with command_session(app) as session:
        try:
            requests = signing_requests(session, settings)
        except OrgKeyError as exc:
            raise click.ClickException(str(exc)) from exc
    pinned = crypto.b64decode(requests["org_public_key"], 32)
    click.echo(f"Organisation key: {crypto.fingerprint(pinned)}")
    waiting = requests["inspectors"]
    click.echo(f"Inspector keys waiting for a certificate: {len(waiting)}")
    for entry in waiting:
        click.echo(f"  {entry['id']:>5}  {entry['fingerprint']}  {entry['name']}")
    if requests["recovery"]:
        click.echo(f"Recovery key waiting for a certificate: {requests['recovery']['fingerprint']}")


@org_key.command("requests")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the requests (take them to the offline machine).")
def org_key_requests(out: Path) -> None:
    """Write the keys waiting for the organisation's signature into a file."""
    from integrity.org_key import OrgKeyError, signing_requests

    app = command_app()
    with command_session(app) as session:
        try:
            requests = signing_requests(session, current.settings(app))
        except OrgKeyError as exc:
            raise click.ClickException(str(exc)) from exc
    out.write_text(json.dumps(requests, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    count = len(requests["inspectors"]) + (1 if requests["recovery"] else 0)
    click.echo(f"{count} key(s) to sign, written to {out}.")


@org_key.command("sign")
@click.argument("requests_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The organisation key file, typed or scanned from the sheet.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--yes", is_flag=True, help="Sign without asking (after checking the list).")
def org_key_sign(requests_file: Path, key_file: Path, out: Path, yes: bool) -> None:
    """Sign the requests, on the offline machine; needs no database.

    Each key is listed with its fingerprint: compare it with the one the inspector reads out
    from their key page before confirming."""
    from crypto import KeyFileError
    from crypto.certificates import load_org_key_file
    from integrity.org_key import OrgKeyError, sign_requests

    try:
        org = load_org_key_file(key_file.read_text(encoding="utf-8"))
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    requests = _read_json(requests_file)
    try:
        certificates = sign_requests(requests, org)
    except OrgKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    listed = cast("dict[str, Any]", requests)  # sign_requests checked its shape
    for entry in listed["inspectors"]:
        click.echo(f"  inspector {entry['id']:>5}  {entry.get('fingerprint')}  "
                   f"{entry.get('name')}")
    if listed.get("recovery"):
        click.echo(f"  recovery key     {listed['recovery'].get('fingerprint')}")
    if not yes:
        click.confirm("Sign these keys?", abort=True)
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite it.")
    out.write_text(json.dumps(certificates, indent=2) + "\n", encoding="utf-8")
    click.echo(f"Certificates written to {out}: import them on the server with "
               f"`integrity org-key import {out.name}`.")


@org_key.command("import")
@click.argument("certificates_file", type=click.Path(exists=True, dir_okay=False,
                                                     path_type=Path))
def org_key_import(certificates_file: Path) -> None:
    """Check and store the certificates made on the offline machine (all or none)."""
    from integrity.org_key import OrgKeyError, import_certificates

    data = _read_json(certificates_file)
    app = command_app()
    with command_session(app) as session:
        try:
            stored = import_certificates(session, current.settings(app), data)
        except OrgKeyError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
    click.echo(f"{stored} certificate(s) stored.")
