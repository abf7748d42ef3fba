"""The offline recovery key: its public half seals every report and message, its private
half is printed once and kept in a safe."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import segno
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from crypto import KeyPair, b64encode, dump_key_file, fingerprint
from integrity.config import Settings
from integrity.installation import get_installation


class RecoveryKeyError(ValueError):
    """The recovery key cannot be set up as asked."""


def create_recovery_key(session: Session, settings: Settings) -> KeyPair:
    """Make the recovery key pair and store only its public half; refused if one exists."""
    installation = get_installation(session, settings)
    if installation.recovery_public_key is not None:
        raise RecoveryKeyError(_l(
            "A recovery key is already configured (fingerprint %(fp)s); cases sealed to it "
            "would be lost to a new one.", fp=fingerprint(installation.recovery_public_key)))
    pair = KeyPair.generate()
    installation.recovery_public_key = pair.public_key
    return pair


def recovery_sheet(pair: KeyPair, public_url: str) -> str:
    """A printable A4 page holding the private key, its fingerprint and what to do with it."""
    key_file = dump_key_file(pair, "recovery key")
    qr = segno.make(key_file, error="m").svg_inline(scale=3, title="")
    made = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Recovery key</title>
<style>body{{font-family:sans-serif;max-width:17cm;margin:1cm auto}}
pre{{white-space:pre-wrap;word-break:break-all;font-size:10pt;border:1px solid #000;padding:4mm}}
</style></head><body>
<h1>Recovery key: keep this sheet in a safe</h1>
<p>Installation: {html.escape(public_url)}. Made on {made}.</p>
<p>Fingerprint of the public key: <strong>{fingerprint(pair.public_key)}</strong></p>
<p>Whoever holds this sheet can read every report and message filed since {made}. Store it
sealed, in a safe, with two people needed to open it. Never type it into a connected
computer except on the offline viewing station.</p>
<p>To use it: save the key file below as <code>recovery.key</code> on the offline station and
run <code>integrity decrypt --key-file recovery.key EXPORT</code> on an export.</p>
<h2>Key file</h2>
<pre>{html.escape(key_file)}</pre>
<h2>The same, as a QR code</h2>
{qr}
<p>Public key: <code>{b64encode(pair.public_key)}</code></p>
</body></html>
"""
