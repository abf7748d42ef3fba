"""retention in finer detail: a legal hold on a case, a shorter period for cases closed as
unsubstantiated or not in scope, a maximum age for cases never closed

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 10:00:00

Existing channels keep one period for every outcome and no maximum age; no case is on hold.
"""
import sqlalchemy as sa
from alembic import op


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('channels', sa.Column('short_retention_days', sa.Integer(), nullable=True))
    op.add_column('channels', sa.Column('max_open_days', sa.Integer(), nullable=True))
    op.add_column('reports', sa.Column('held', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('held')
    # Not a batch on channels: copying the table on SQLite would drop its routing triggers.
    op.drop_column('channels', 'max_open_days')
    op.drop_column('channels', 'short_retention_days')
