"""inbox indexes: the two orders of the inbox with their tie-breaker, and unseen activity

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 09:00:00

The inbox pages by keyset (integrity/cases/inbox.py): each page continues from the sort key
and id of the last row shown, so it walks an index in order instead of skipping rows.
- `ix_reports_created_on_id`, `ix_reports_next_due_on_id` replace the indexes on
  `created_on` and `next_due_on` alone (their first column serves the same lookups).
- `ix_report_readers_user_id_unseen` replaces the index on `report_readers.user_id`: a
  reader's cases, and those with activity they have not seen, are counted from it alone.
"""
from alembic import op


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain index statements, no batch: on SQLite a batch would copy the tables.
    op.create_index('ix_reports_created_on_id', 'reports', ['created_on', 'id'])
    op.drop_index('ix_reports_created_on', table_name='reports')
    op.create_index('ix_reports_next_due_on_id', 'reports', ['next_due_on', 'id'])
    op.drop_index('ix_reports_next_due_on', table_name='reports')
    op.create_index('ix_report_readers_user_id_unseen', 'report_readers',
                    ['user_id', 'unseen', 'report_id'])
    op.drop_index('ix_report_readers_user_id', table_name='report_readers')


def downgrade() -> None:
    op.create_index('ix_report_readers_user_id', 'report_readers', ['user_id'])
    op.drop_index('ix_report_readers_user_id_unseen', table_name='report_readers')
    op.create_index('ix_reports_next_due_on', 'reports', ['next_due_on'])
    op.drop_index('ix_reports_next_due_on_id', table_name='reports')
    op.create_index('ix_reports_created_on', 'reports', ['created_on'])
    op.drop_index('ix_reports_created_on_id', table_name='reports')
