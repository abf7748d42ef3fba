"""protocol 2 storage: each report's protocol, the reporter's key only where protocol 1 needs
it, and each message's link in its chain

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:40:00

A protocol 2 report carries the reporter's public key inside its sealed document, so the
column becomes nullable. On SQLite a column's NOT NULL cannot be dropped without rebuilding
the table (which, with foreign keys on, would cascade into every message and key slot), so
the column is replaced by a nullable copy instead. Links: docs/protocol.md#authenticated-threads.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('reports', sa.Column('protocol', sa.Integer(), nullable=False,
                                       server_default='1'))
    op.add_column('reports', sa.Column('reporter_key', sa.LargeBinary(length=32),
                                       nullable=True))
    op.execute('UPDATE reports SET reporter_key = reporter_public_key')
    op.drop_column('reports', 'reporter_public_key')
    op.alter_column('reports', 'reporter_key', new_column_name='reporter_public_key',
                    existing_type=sa.LargeBinary(length=32), existing_nullable=True)
    op.add_column('messages', sa.Column('chain', sa.String(length=8), nullable=True))
    op.add_column('messages', sa.Column('seq', sa.Integer(), nullable=True))
    op.add_column('messages', sa.Column('prev', sa.LargeBinary(length=32), nullable=True))
    op.add_column('messages', sa.Column('auth', sa.LargeBinary(length=32), nullable=True))
    op.create_index('uq_messages_link', 'messages', ['report_id', 'chain', 'seq'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_messages_link', table_name='messages')
    for column in ('auth', 'prev', 'seq', 'chain'):
        op.drop_column('messages', column)
    # Protocol 2 reports have no stored reporter key: they cannot go back to protocol 1. The
    # column stays nullable (making it NOT NULL again would rebuild the table on SQLite).
    op.execute('DELETE FROM reports WHERE reporter_public_key IS NULL')
    op.drop_column('reports', 'protocol')
