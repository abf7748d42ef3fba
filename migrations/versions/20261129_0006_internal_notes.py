"""internal notes in the thread

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 06:20:00
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_messages_sender'), type_='check')
        batch_op.create_check_constraint('sender', "sender IN ('reporter', 'inspector', 'note')")


def downgrade() -> None:
    op.execute("DELETE FROM messages WHERE sender = 'note'")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_messages_sender'), type_='check')
        batch_op.create_check_constraint('sender', "sender IN ('reporter', 'inspector')")
