"""The organisation key: its public half pinned in the installation's configuration, its
private half kept offline, and the certificates it signs for inspector keys and the recovery
key (docs/administration.md#the-organisation-key, docs/protocol.md#protocol-2-the-constructs).

A key is certified in three steps, so that the private half never meets a connected machine:
the server lists the keys waiting for a signature (``signing_requests``), the offline machine
signs them (``sign_requests``), and the server checks and stores the certificates
(``import_certificates``), each one in the audit log.
"""

from __future__ import annotations

import html
import os
from datetime import UTC, datetime
from typing import Any

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from crypto.certificates import (
    OrgKey,
    dump_org_key_file,
    sign_inspector_key,
    sign_recovery_key,
    verify_inspector_key,
    verify_recovery_key,
)
from integrity.audit import record
from integrity.config import ORG_PUBLIC_KEY_FILE, Settings
from integrity.installation import get_installation
from integrity.models import Installation, Role, User, today

REQUESTS_FORMAT = "integrity-key-signing-requests"
CERTIFICATES_FORMAT = "integrity-key-certificates"


class OrgKeyError(ValueError):
    """The organisation key or its certificates cannot be used as asked."""


def pinned_org_key(settings: Settings) -> bytes:
    """The pinned public key; ``OrgKeyError`` when none is pinned yet."""
    org_public_key = settings.load_org_public_key()
    if org_public_key is None:
        raise OrgKeyError("No organisation key is pinned: run 'integrity org-key init' on the "
                          "offline machine, then 'integrity org-key pin' here.")
    return org_public_key


def pin_org_key(settings: Settings, public_key: bytes, replace: bool = False) -> bool:
    """Write the organisation public key into the data folder; False if already pinned.

    Replacing a pinned key voids every certificate it signed, so it needs ``replace``.
    """
    if settings.org_public_key:
        raise OrgKeyError("INTEGRITY_ORG_PUBLIC_KEY is set: change it there instead.")
    current = settings.load_org_public_key()
    if current == public_key:
        return False
    if current is not None and not replace:
        raise OrgKeyError(f"Another organisation key is pinned (fingerprint "
                          f"{crypto.fingerprint(current)}); every certificate it signed would "
                          f"stop counting. Pass --replace to pin this one anyway.")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / ORG_PUBLIC_KEY_FILE
    staged = path.with_suffix(".new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(crypto.b64encode(public_key) + "\n")
    staged.replace(path)
    return True


def certified(user: User, org_public_key: bytes | None) -> bool:
    """Whether the inspector's current key carries a certificate of the pinned key."""
    return (org_public_key is not None and user.public_key is not None
            and verify_inspector_key(org_public_key, str(user.id), user.public_key,
                                     user.key_certificate))


def recovery_certified(row: Installation, org_public_key: bytes | None) -> bool:
    """Whether the recovery key carries a certificate of the pinned key."""
    return (org_public_key is not None and row.recovery_public_key is not None
            and verify_recovery_key(org_public_key, row.recovery_public_key,
                                    row.recovery_certificate))


def _uncertified_inspectors(session: Session, org_public_key: bytes) -> list[User]:
    inspectors = session.scalars(
        select(User).where(User.role == Role.INSPECTOR, User.active.is_(True),
                           User.public_key.isnot(None)).order_by(User.id))
    return [user for user in inspectors if not certified(user, org_public_key)]


def signing_requests(session: Session, settings: Settings) -> dict[str, Any]:
    """The keys waiting for the organisation's signature, as a file for the offline machine."""
    org_public_key = pinned_org_key(settings)
    row = get_installation(session, settings)
    recovery = None
    if row.recovery_public_key is not None and not recovery_certified(row, org_public_key):
        recovery = {"public_key": crypto.b64encode(row.recovery_public_key),
                    "fingerprint": crypto.fingerprint(row.recovery_public_key)}
    return {
        "format": REQUESTS_FORMAT, "version": 1,
        "org_public_key": crypto.b64encode(org_public_key),
        "installation": settings.public_url, "made_on": today().isoformat(),
        "inspectors": [{"id": str(user.id), "name": user.name, "email": user.email,
                        "public_key": crypto.b64encode(user.public_key or b""),
                        "fingerprint": crypto.fingerprint(user.public_key or b"")}
                       for user in _uncertified_inspectors(session, org_public_key)],
        "recovery": recovery,
    }


def _key(entry: object, what: str) -> bytes:
    if not isinstance(entry, dict):
        raise OrgKeyError(f"The file's {what} is malformed.")
    try:
        return crypto.b64decode(entry.get("public_key"), 32, what=f"{what}'s public key")
    except crypto.EncodingError as exc:
        raise OrgKeyError(str(exc)) from exc


def _check_header(data: object, kind: str, org_public_key: bytes) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("format") != kind or data.get("version") != 1:
        raise OrgKeyError("This is not a file of the expected kind.")
    if data.get("org_public_key") != crypto.b64encode(org_public_key):
        raise OrgKeyError("This file was made for another organisation key.")
    if not isinstance(data.get("inspectors"), list):
        raise OrgKeyError("The file lists no inspectors.")
    return data


def sign_requests(requests: object, org: OrgKey) -> dict[str, Any]:
    """Certificates for every key in ``requests`` (on the offline machine; no database)."""
    data = _check_header(requests, REQUESTS_FORMAT, org.public_key)
    inspectors = []
    for entry in data["inspectors"]:
        public_key = _key(entry, "inspector")
        try:
            certificate = sign_inspector_key(org, entry.get("id"), public_key)
        except crypto.ShapeError as exc:
            raise OrgKeyError(str(exc)) from exc
        inspectors.append({"id": entry["id"], "public_key": crypto.b64encode(public_key),
                           "certificate": crypto.b64encode(certificate)})
    recovery = None
    if data.get("recovery") is not None:
        public_key = _key(data["recovery"], "recovery key")
        recovery = {"public_key": crypto.b64encode(public_key),
                    "certificate": crypto.b64encode(sign_recovery_key(org, public_key))}
    return {"format": CERTIFICATES_FORMAT, "version": 1,
            "org_public_key": crypto.b64encode(org.public_key),
            "inspectors": inspectors, "recovery": recovery}


def _certificate(entry: dict[str, Any], what: str) -> bytes:
    try:
        return crypto.b64decode(entry.get("certificate"), 64, what=f"{what}'s certificate")
    except crypto.EncodingError as exc:
        raise OrgKeyError(str(exc)) from exc


def import_certificates(session: Session, settings: Settings, data: object,
                        actor: User | None = None) -> int:
    """Check every certificate in ``data`` and store them all, or none; how many were stored.

    A certificate counts only for the key the account or the installation holds now: one for
    a key replaced since the requests were made is refused."""
    org_public_key = pinned_org_key(settings)
    checked = _check_header(data, CERTIFICATES_FORMAT, org_public_key)
    stored: list[tuple[Any, str, bytes, bytes]] = []
    for entry in checked["inspectors"]:
        public_key = _key(entry, "inspector")
        user = session.get(User, int(entry["id"])) if str(entry.get("id")).isdigit() else None
        if user is None or user.public_key != public_key:
            raise OrgKeyError(f"Inspector {entry.get('id')} no longer has the key this "
                              f"certificate is for: make new requests.")
        certificate = _certificate(entry, "inspector")
        if not verify_inspector_key(org_public_key, str(user.id), public_key, certificate):
            raise OrgKeyError(f"The certificate of inspector {user.id} does not verify.")
        stored.append((user, f"user:{user.id}", public_key, certificate))
    row = get_installation(session, settings)
    if checked.get("recovery") is not None:
        public_key = _key(checked["recovery"], "recovery key")
        certificate = _certificate(checked["recovery"], "recovery key")
        if row.recovery_public_key != public_key:
            raise OrgKeyError("The recovery key has changed since the requests were made.")
        if not verify_recovery_key(org_public_key, public_key, certificate):
            raise OrgKeyError("The recovery key's certificate does not verify.")
        stored.append((row, "installation", public_key, certificate))
    for holder, subject, public_key, certificate in stored:
        if isinstance(holder, User):
            holder.key_certificate = certificate
        else:
            holder.recovery_certificate = certificate
        record(session, actor=actor, actor_label=None if actor else "cli",
               action="key_certified", subject=subject,
               details={"fingerprint": crypto.fingerprint(public_key),
                        "org_key": crypto.fingerprint(org_public_key)})
    return len(stored)


def org_key_sheet(org: OrgKey, witnesses: list[str], public_url: str) -> str:
    """A printable page holding the organisation key's private half, for a safe."""
    key_file = dump_org_key_file(org)
    qr = segno.make(key_file, error="m").svg_inline(scale=3, title="")
    made = datetime.now(UTC).strftime("%Y-%m-%d")
    present = ", ".join(html.escape(name) for name in witnesses)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Organisation key</title>
<style>body{{font-family:sans-serif;max-width:17cm;margin:1cm auto}}
pre{{white-space:pre-wrap;word-break:break-all;font-size:10pt;border:1px solid #000;padding:4mm}}
</style></head><body>
<h1>Organisation key: keep this sheet in a safe</h1>
<p>Installation: {html.escape(public_url)}. Made on {made}, in the presence of {present}.</p>
<p>Fingerprint of the public key: <strong>{crypto.fingerprint(org.public_key)}</strong>.
The same fingerprint is printed on the reporting posters: compare them.</p>
<p>This key vouches for every inspector key and for the recovery key: whoever holds this sheet
can make the reporting pages trust a key of their choosing. Store it sealed, in a safe, with
two people needed to open it. Use it only on the offline machine, with
<code>integrity org-key sign</code>.</p>
<h2>Key file</h2>
<pre>{html.escape(key_file)}</pre>
<h2>The same, as a QR code</h2>
{qr}
<p>Public key (to pin on the server with <code>integrity org-key pin</code>):
<code>{crypto.b64encode(org.public_key)}</code></p>
</body></html>
"""
