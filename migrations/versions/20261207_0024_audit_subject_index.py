"""an index of the audit log by subject, for a case's history

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 09:00:00

The case history page lists the entries whose subject is the case, in order: without this
index it reads the whole log.
"""
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_entries_subject_seq', 'audit_entries', ['subject', 'seq'])


def downgrade() -> None:
    op.drop_index('ix_audit_entries_subject_seq', table_name='audit_entries')
