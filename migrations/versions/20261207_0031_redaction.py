"""files, messages and passages deleted or redacted with a tombstone

Revision ID: 0031
Revises: 0029
Create Date: 2026-12-07 12:00:00

- `tombstones`: what remains in a case's thread where a reader deleted a file or a message, or
  redacted a passage of one: who, which day, why (shown to the case's readers only) and the
  protocol 2 authenticator of the replacement.
- `messages.payload_hash`: BLAKE2b-256 of a message's payload as it was first sent, kept when
  the payload is replaced or removed, so the message's link still verifies
  (docs/protocol.md#redactions-and-deletions); NULL for a message never changed.
- `messages.replacement_auth` and `replaced_by`: the authenticator of the payload that
  replaced it (protocol 2) and the id of the inspector who replaced it.
- `messages.kind` may be "record" (a voice message's transcript is one): the CHECK is widened
  as migration 0030 (records the reporter agrees) widens it, and this is a no-op where that
  migration already did. The downgrade leaves the wider CHECK to 0030's own downgrade.
"""
import sqlalchemy as sa
from alembic import op


revision = '0031'
down_revision = '0029'
branch_labels = None
depends_on = None

BEFORE = "kind IN ('message', 'feedback', 'final_notice')"
AFTER = "kind IN ('message', 'feedback', 'final_notice', 'record')"


def _widen_kind() -> None:
    """Let `messages.kind` hold "record", without rebuilding `messages` on SQLite (a rebuild
    would cascade into its key slots and attachments): the CHECK is edited in the schema."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        for name in ('ck_messages_ck_messages_kind', 'ck_messages_kind'):
            op.execute(f'ALTER TABLE messages DROP CONSTRAINT IF EXISTS {name}')
        op.create_check_constraint(op.f('ck_messages_kind'), 'messages', AFTER)
        return
    version = bind.exec_driver_sql('PRAGMA schema_version').scalar()
    bind.exec_driver_sql('PRAGMA writable_schema = ON')
    try:
        bind.execute(sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                             "WHERE type = 'table' AND name = 'messages'"),
                     {'old': BEFORE, 'new': AFTER})
        # A new schema version makes every connection read the edited schema.
        bind.exec_driver_sql(f'PRAGMA schema_version = {int(version) + 1}')
    finally:
        bind.exec_driver_sql('PRAGMA writable_schema = OFF')


def upgrade() -> None:
    _widen_kind()
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
