"""resumable uploads: how much of a sealed upload has arrived, while it is still arriving

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 04:00:00

An upload started with `POST /api/v1/uploads` declares its length and arrives in one or more
`PATCH` requests (docs/protocol.md#resumable-uploads); `received` counts its bytes until the
last one, then becomes NULL, as for every upload sent in one request. Only a complete upload
can be claimed by a report or message.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('attachments', sa.Column('received', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attachments') as batch:
        batch.drop_column('received')
