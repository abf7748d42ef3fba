"""inspector key scheme: which wrapping protects each inspector's stored private key

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 02:00:00

Keys wrapped before this revision are scheme 1 (the passphrase alone); the browser re-wraps
them under scheme 2 (the passphrase and the server's share, keyed with the installation
secret) at the inspector's next sign-in (docs/inspector-keys.md#scheme-2). Sign-in hashes need
no column: peppered ones carry a prefix, and older ones are replaced at the next sign-in.
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('key_scheme', sa.Integer(), nullable=False,
                                     server_default='1'))


def downgrade() -> None:
    # Not in a batch: rebuilding the users table on SQLite would drop its routing triggers.
    op.drop_column('users', 'key_scheme')
