"""lookup hashes keyed with the installation secret

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 01:00:00

Each stored hash(lookup) becomes hash(hash(lookup), key=lookup_key), the key coming from the
installation secret held outside the database, so that a copy of the database cannot test a
guessed receipt (docs/protocol.md#keyed-lookup-hashes). Existing rows need the secret:
`integrity init` runs the migrations with it. It cannot be undone.
"""
from alembic import context, op
import sqlalchemy as sa

import crypto


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text('SELECT id, lookup_hash FROM reports')).all()
    if not rows:
        return
    secret = context.config.attributes.get('installation_secret')
    if secret is None:
        raise RuntimeError("Keying the stored lookup hashes needs the installation secret: "
                           "run 'integrity init', which migrates with it.")
    key = crypto.lookup_key(secret)
    for report_id, unkeyed in rows:
        bind.execute(sa.text('UPDATE reports SET lookup_hash = :keyed WHERE id = :id'),
                     {'keyed': crypto.keys.keyed_stored_hash(bytes(unkeyed), key),
                      'id': report_id})


def downgrade() -> None:
    if op.get_bind().execute(sa.text('SELECT count(*) FROM reports')).scalar():
        raise RuntimeError('Keyed lookup hashes cannot be turned back into unkeyed ones.')
