"""second-factor secrets sealed at rest under a key from the installation secret

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 14:00:00

Each `users.totp_secret` (the TOTP secret, in clear) becomes `users.totp_sealed`: the secret
sealed with XChaCha20-Poly1305 under a key derived from the installation secret held outside
the database, bound to the account's id (crypto/at_rest.py). Existing secrets need the
installation secret: `integrity init` runs the migrations with it. Downgrading opens them
again with the same secret.
"""
from alembic import context, op
import sqlalchemy as sa

import crypto


revision = '0035'
down_revision = "0034"
branch_labels = None
depends_on = None


def _key() -> bytes:
    secret = context.config.attributes.get('installation_secret')
    if secret is None:
        raise RuntimeError("Sealing the stored second-factor secrets needs the installation "
                           "secret: run 'integrity init', which migrates with it.")
    return crypto.totp_key(secret)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        'SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL')).all()
    key = _key() if rows else b''  # refused before anything changes
    op.add_column('users', sa.Column('totp_sealed', sa.LargeBinary(length=96), nullable=True))
    if rows:
        for user_id, secret in rows:
            bind.execute(sa.text('UPDATE users SET totp_sealed = :sealed WHERE id = :id'),
                         {'sealed': crypto.seal_totp_secret(secret, key, user_id),
                          'id': user_id})
    # Not in a batch: rebuilding the users table on SQLite would drop its routing triggers.
    op.drop_column('users', 'totp_secret')


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        'SELECT id, totp_sealed FROM users WHERE totp_sealed IS NOT NULL')).all()
    key = _key() if rows else b''
    op.add_column('users', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    if rows:
        for user_id, sealed in rows:
            bind.execute(sa.text('UPDATE users SET totp_secret = :secret WHERE id = :id'),
                         {'secret': crypto.open_totp_secret(bytes(sealed), key, user_id),
                          'id': user_id})
    op.drop_column('users', 'totp_sealed')
