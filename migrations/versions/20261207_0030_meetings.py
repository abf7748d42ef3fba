"""records the reporter agrees, requests for a meeting or a call, oral reports

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 10:00:00

- `messages.kind` may be "record": minutes or a transcript the reporter is asked to agree;
  `messages.agreed_on` and `messages.corrected_on`, the days the reporter agreed or corrected
  it. On SQLite the CHECK on `messages.kind` is widened in the schema's text, not by
  rebuilding the table (a rebuild would cascade into its key slots and attachments).
- `meeting_requests`: a reporter's request for a meeting or a call, its day, due day and
  answer; `channels.meeting_days`, the days to answer one (14 for existing channels).
- `reports.oral`: an oral report recorded by an inspector (false for every existing report).

The downgrade refuses while a record exists (its kind would break the narrower CHECK).
"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

BEFORE = "kind IN ('message', 'feedback', 'final_notice')"
AFTER = "kind IN ('message', 'feedback', 'final_notice', 'record')"


def _sqlite_check(old: str, new: str) -> None:
    bind = op.get_bind()
    version = bind.exec_driver_sql('PRAGMA schema_version').scalar()
    bind.exec_driver_sql('PRAGMA writable_schema = ON')
    try:
        bind.execute(sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                             "WHERE type = 'table' AND name = 'messages'"),
                     {'old': old, 'new': new})
        # A new schema version makes every connection read the edited schema.
        bind.exec_driver_sql(f'PRAGMA schema_version = {int(version) + 1}')
    finally:
        bind.exec_driver_sql('PRAGMA writable_schema = OFF')


def _replace(old: str, new: str) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        # 0025 named it twice over on PostgreSQL (ck_messages_ck_messages_kind); from here on
        # it has the model's name.
        for name in ('ck_messages_ck_messages_kind', 'ck_messages_kind'):
            op.execute(f'ALTER TABLE messages DROP CONSTRAINT IF EXISTS {name}')
        op.create_check_constraint(op.f('ck_messages_kind'), 'messages', new)
        return
    _sqlite_check(old, new)


def upgrade() -> None:
    _replace(BEFORE, AFTER)
    # Plain ADD COLUMN, no batch: neither messages nor channels may be rebuilt on SQLite.
    op.add_column('messages', sa.Column('agreed_on', sa.Date(), nullable=True))
    op.add_column('messages', sa.Column('corrected_on', sa.Date(), nullable=True))
    op.add_column('channels', sa.Column('meeting_days', sa.Integer(), nullable=False,
                                        server_default='14'))
    op.add_column('reports', sa.Column('oral', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_table(
        'meeting_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('requested_on', sa.Date(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('answered_on', sa.Date(), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('requested', 'arranged', 'held', 'declined')",
                           name=op.f('ck_meeting_requests_state')),
        sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'],
                                name=op.f('fk_meeting_requests_answered_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_meeting_requests_report_id_reports'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_requests')),
    )
    op.create_index(op.f('ix_meeting_requests_report_id'), 'meeting_requests', ['report_id'])
    op.create_index('ix_meeting_requests_state_due_on', 'meeting_requests', ['state', 'due_on'])


def downgrade() -> None:
    records = op.get_bind().execute(
        sa.text("SELECT count(*) FROM messages WHERE kind = 'record'")).scalar()
    if records:
        raise RuntimeError('Records exist: they cannot be kept by the older schema.')
    op.drop_index('ix_meeting_requests_state_due_on', table_name='meeting_requests')
    op.drop_index(op.f('ix_meeting_requests_report_id'), table_name='meeting_requests')
    op.drop_table('meeting_requests')
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('oral')
    # Not a batch on channels or messages: see upgrade.
    op.drop_column('channels', 'meeting_days')
    op.drop_column('messages', 'corrected_on')
    op.drop_column('messages', 'agreed_on')
    _replace(AFTER, BEFORE)
