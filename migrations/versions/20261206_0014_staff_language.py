"""each staff member's language, chosen on "My account"

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 18:40:00

Staff pages and the e-mails sent to a staff member use it; anonymous pages never do (they
take the language from their address, and keep no trace of it on the device).
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('language', sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Not in a batch: rebuilding the table on SQLite would drop its routing triggers (0013).
    op.drop_column('users', 'language')
