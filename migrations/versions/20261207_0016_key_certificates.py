"""key certificates: the organisation key's signature of each inspector key and of the
recovery key

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 00:10:00

Protocol 2 clients seal only to keys the organisation key (made offline, its public half
pinned in the installation's configuration) has signed; docs/administration.md#the-organisation-key.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('key_certificate', sa.LargeBinary(length=64), nullable=True))
    op.add_column('installation',
                  sa.Column('recovery_certificate', sa.LargeBinary(length=64), nullable=True))


def downgrade() -> None:
    # Not in a batch: rebuilding the users table on SQLite would drop its routing triggers.
    op.drop_column('installation', 'recovery_certificate')
    op.drop_column('users', 'key_certificate')
