"""notifications, case references, what is new in the inbox

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 07:00:00

- `reports.reference`: a short random name per case ("K7QX-2M4P"), drawn here for existing
  cases; `reports.last_activity_on`, the day of the last message (the filing day where none);
  `reports.next_due_on`, the day the pending deadline falls due, for sorting the inbox.
- `report_readers.unseen`: activity a reader has not seen; existing new cases start unseen.
- `users.notify`, `users.digest_hour`: how an inspector is told of new cases and messages.
- `notifications`: the outbox; `health_checks`: the checks administrators are told about.
"""
from alembic import op
import sqlalchemy as sa

from integrity.cases.deadlines import next_due
from integrity.cases.references import new_reference


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.add_column(sa.Column('reference', sa.String(length=9), nullable=True))
        batch.add_column(sa.Column('last_activity_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('next_due_on', sa.Date(), nullable=True))
    bind = op.get_bind()
    last_messages = dict(bind.execute(sa.text(
        'SELECT report_id, max(sent_on) FROM messages GROUP BY report_id')).all())
    taken: set[str] = set()
    for report_id, created, acknowledged, feedback in bind.execute(sa.text(
            'SELECT id, created_on, acknowledged_on, feedback_on FROM reports')).all():
        created, acknowledged, feedback = (_day(value) for value in (created, acknowledged,
                                                                       feedback))
        reference = new_reference()
        while reference in taken:
            reference = new_reference()
        taken.add(reference)
        last = _day(last_messages.get(report_id)) or created
        bind.execute(sa.text('UPDATE reports SET reference = :reference, '
                             'last_activity_on = :last, next_due_on = :due WHERE id = :id'),
                     {'reference': reference, 'last': max(last, created),
                      'due': next_due(created, acknowledged, feedback), 'id': report_id})
    with op.batch_alter_table('reports') as batch:
        batch.alter_column('reference', existing_type=sa.String(length=9), nullable=False)
        batch.create_unique_constraint('uq_reports_reference', ['reference'])
        batch.create_index('ix_reports_next_due_on', ['next_due_on'])
    with op.batch_alter_table('report_readers') as batch:
        batch.add_column(sa.Column('unseen', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    bind.execute(sa.text("UPDATE report_readers SET unseen = :yes WHERE report_id IN "
                         "(SELECT id FROM reports WHERE status = 'new')"), {'yes': True})
    with op.batch_alter_table('report_readers') as batch:
        batch.alter_column('unseen', existing_type=sa.Boolean(), server_default=sa.true())
    # Not in a batch: on SQLite that copies the table and drops its routing triggers.
    op.add_column('users', sa.Column('notify', sa.String(length=8), nullable=False,
                                     server_default='batch'))
    op.add_column('users', sa.Column('digest_hour', sa.Integer(), nullable=False,
                                     server_default='7'))
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'),
                  nullable=True),
        sa.Column('address', sa.String(length=254), nullable=True),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('dedup_key', sa.String(length=120), nullable=True),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('retry_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.UniqueConstraint('dedup_key', name='uq_notifications_dedup_key'),
    )
    op.create_index('ix_notifications_user_id', 'notifications', ['user_id'])
    op.create_index('ix_notifications_due_at', 'notifications', ['due_at'])
    op.create_index('ix_notifications_sent_at', 'notifications', ['sent_at'])
    op.create_table(
        'health_checks',
        sa.Column('name', sa.String(length=32), primary_key=True),
        sa.Column('checked_on', sa.Date(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=False),
        sa.Column('alerted_at', sa.DateTime(), nullable=True),
    )


def _day(value):
    """A date from what the driver returns (SQLite gives text)."""
    if value is None or hasattr(value, 'year'):
        return value
    from datetime import date
    return date.fromisoformat(str(value)[:10])


def downgrade() -> None:
    op.drop_table('health_checks')
    op.drop_table('notifications')
    op.drop_column('users', 'digest_hour')
    op.drop_column('users', 'notify')
    with op.batch_alter_table('report_readers') as batch:
        batch.drop_column('unseen')
    with op.batch_alter_table('reports') as batch:
        batch.drop_index('ix_reports_next_due_on')
        batch.drop_constraint('uq_reports_reference', type_='unique')
        batch.drop_column('next_due_on')
        batch.drop_column('last_activity_on')
        batch.drop_column('reference')
