"""files, messages and passages deleted or redacted with a tombstone

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 12:00:00

- `tombstones`: what remains in a case's thread where a reader deleted a file or a message, or
  redacted a passage of one: who, which day, why (shown to the case's readers only) and the
  protocol 2 authenticator of the replacement.
- `messages.payload_hash`: BLAKE2b-256 of a message's payload as it was first sent, kept when
  the payload is replaced or removed, so the message's link still verifies
  (docs/protocol.md#redactions-and-deletions); NULL for a message never changed.
- `messages.replacement_auth` and `replaced_by`: the authenticator of the payload that
  replaced it (protocol 2) and the id of the inspector who replaced it.
"""
import sqlalchemy as sa
from alembic import op


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

def upgrade() -> None:
    # Plain ADD COLUMN, no batch: rebuilding `messages` on SQLite would cascade into its key
    # slots and attachments.
    op.add_column('messages', sa.Column('payload_hash', sa.LargeBinary(length=32), nullable=True))
    op.add_column('messages', sa.Column('replacement_auth', sa.LargeBinary(length=32),
                                        nullable=True))
    op.add_column('messages', sa.Column('replaced_by', sa.String(length=32), nullable=True))
    op.create_table(
        'tombstones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('attachment_id', sa.String(length=32), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=True),
        sa.Column('made_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.CheckConstraint("kind IN ('attachment', 'message', 'passage')",
                           name=op.f('ck_tombstones_kind')),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE',
                                name=op.f('fk_tombstones_report_id_reports')),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE',
                                name=op.f('fk_tombstones_message_id_messages')),
        sa.ForeignKeyConstraint(['by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_tombstones_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tombstones')),
    )
    op.create_index(op.f('ix_tombstones_report_id'), 'tombstones', ['report_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_tombstones_report_id'), table_name='tombstones')
    op.drop_table('tombstones')
    op.drop_column('messages', 'replaced_by')
    op.drop_column('messages', 'replacement_auth')
    op.drop_column('messages', 'payload_hash')
