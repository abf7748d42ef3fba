"""feedback to the reporter is its own kind of message; a case closes after a final notice

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 10:00:00

- `messages.kind`: "message", "feedback" or "final_notice", in clear; every existing message
  becomes "message", since its sealed content cannot be read to tell.
- `reports.final_notice_on`: the day of the final notice that stands (closing needs one).
- Until now an inspector's first message of any kind set `reports.feedback_on`, so those days
  do not say that feedback was given. For every case still open, `feedback_on` is cleared (and
  `next_due_on` computed again): the case shows feedback due, or overdue, until an inspector
  gives feedback. A closed case keeps its day as recorded. docs/release-notes.md says what
  this changes in past figures.

The downgrade drops both columns and sets `feedback_on` back by the old rule (the day of the
case's first message from an inspector) where it is empty.
"""
from datetime import date

from alembic import op
import sqlalchemy as sa

from integrity.cases.deadlines import next_due


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch: rebuilding `messages` on SQLite would cascade into its key
    # slots and attachments. The CHECK goes with the column, which SQLite allows.
    op.add_column('messages', sa.Column(
        'kind', sa.String(length=16),
        sa.CheckConstraint("kind IN ('message', 'feedback', 'final_notice')",
                           name='ck_messages_kind'),
        nullable=False, server_default='message'))
    op.add_column('reports', sa.Column('final_notice_on', sa.Date(), nullable=True))
    bind = op.get_bind()
    _set_feedback(bind, {report_id: None for (report_id,) in bind.execute(sa.text(
        "SELECT id FROM reports WHERE status <> 'closed' AND feedback_on IS NOT NULL")).all()})


def downgrade() -> None:
    bind = op.get_bind()
    _set_feedback(bind, {report_id: _day(first) for report_id, first in bind.execute(sa.text(
        "SELECT m.report_id, min(m.sent_on) FROM messages m JOIN reports r "
        "ON r.id = m.report_id WHERE m.sender = 'inspector' AND r.feedback_on IS NULL "
        "GROUP BY m.report_id")).all()})
    op.drop_column('reports', 'final_notice_on')
    op.drop_column('messages', 'kind')


def _set_feedback(bind, days: dict[int, date | None]) -> None:
    """Give each report its ``feedback_on`` from ``days``, and its next due day with it."""
    for report_id, feedback in days.items():
        created, acknowledged = (_day(value) for value in bind.execute(sa.text(
            'SELECT created_on, acknowledged_on FROM reports WHERE id = :id'),
            {'id': report_id}).one())
        bind.execute(sa.text('UPDATE reports SET feedback_on = :feedback, next_due_on = :due '
                             'WHERE id = :id'),
                     {'feedback': feedback, 'due': next_due(created, acknowledged, feedback),
                      'id': report_id})


def _day(value):
    """A date from what the driver returns (SQLite gives text)."""
    if value is None or hasattr(value, 'year'):
        return value
    return date.fromisoformat(str(value)[:10])
