"""impartiality: a second inspector's confirmation before closing, a second administrator's
before a channel's recipients change

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 10:00:00

- `channels.closing_needs_confirmation`: closing a case of the channel waits for another
  reader's confirmation.
- `closing_requests`: a closing asked for and not confirmed yet, with its outcome.
- `recipient_changes`: a change to a channel's recipients proposed by one administrator,
  applied when another confirms it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in a batch: on SQLite that copies the table and drops its routing triggers.
    op.add_column('channels', sa.Column('closing_needs_confirmation', sa.Boolean(),
                                        nullable=False, server_default=sa.false()))
    op.create_table(
        'closing_requests',
        sa.Column('report_id', sa.Integer(),
                  sa.ForeignKey('reports.id', ondelete='CASCADE'), nullable=False),
        sa.Column('requested_by_id', sa.Integer(),
                  sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('outcome', sa.String(length=24), nullable=False),
        sa.Column('requested_on', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('report_id', name='pk_closing_requests'),
        sa.CheckConstraint("outcome IN ('substantiated', 'partly_substantiated', "
                           "'unsubstantiated', 'not_in_scope')",
                           name='ck_closing_requests_outcome'),
    )
    op.create_table(
        'recipient_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.Integer(),
                  sa.ForeignKey('channels.id', ondelete='CASCADE'), nullable=False),
        sa.Column('user_id', sa.Integer(),
                  sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('adding', sa.Boolean(), nullable=False),
        sa.Column('proposed_by_id', sa.Integer(),
                  sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('proposed_on', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_recipient_changes'),
        sa.UniqueConstraint('channel_id', 'user_id', name='uq_recipient_changes_channel_user'),
    )


def downgrade() -> None:
    op.drop_table('recipient_changes')
    op.drop_table('closing_requests')
    op.drop_column('channels', 'closing_needs_confirmation')
