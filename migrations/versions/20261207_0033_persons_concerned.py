"""persons concerned: each case's persons (sealed), their steps and key slots, the sealed files
of their statements, and how long a channel keeps a cleared person's data

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 10:00:00

Existing channels delete a cleared person's data 30 days after clearing.
"""
import sqlalchemy as sa
from alembic import op


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

STATES = "'added', 'informed', 'deferred', 'heard', 'outcome_notified', 'cleared', 'deleted'"
KINDS = "'informed', 'deferred', 'heard', 'outcome_notified', 'cleared'"


def upgrade() -> None:
    op.create_table(
        'case_persons',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('report_id', sa.Integer(),
                  sa.ForeignKey('reports.id', ondelete='CASCADE'), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('added_on', sa.Date(), nullable=False),
        sa.Column('review_on', sa.Date(), nullable=True),
        sa.Column('cleared_on', sa.Date(), nullable=True),
        sa.Column('deleted_on', sa.Date(), nullable=True),
        sa.Column('payload', sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(f"state IN ({STATES})", name='state'),
    )
    op.create_index('ix_case_persons_report_id', 'case_persons', ['report_id'])
    op.create_index('ix_case_persons_state_review_on', 'case_persons', ['state', 'review_on'])
    op.create_table(
        'case_person_steps',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('person_id', sa.Integer(),
                  sa.ForeignKey('case_persons.id', ondelete='CASCADE'), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('done_on', sa.Date(), nullable=False),
        sa.Column('review_on', sa.Date(), nullable=True),
        sa.Column('author_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(f"kind IN ({KINDS})", name='kind'),
    )
    op.create_index('ix_case_person_steps_person_id', 'case_person_steps', ['person_id'])
    op.create_table(
        'case_person_key_slots',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('person_id', sa.Integer(),
                  sa.ForeignKey('case_persons.id', ondelete='CASCADE'), nullable=False),
        sa.Column('step_id', sa.Integer(),
                  sa.ForeignKey('case_person_steps.id', ondelete='CASCADE'), nullable=True),
        sa.Column('reader', sa.String(32), nullable=False),
        sa.Column('slot', sa.LargeBinary(80), nullable=False),
    )
    op.create_index('ix_case_person_key_slots_person_id', 'case_person_key_slots',
                    ['person_id'])
    op.create_index('ix_case_person_key_slots_step_id', 'case_person_key_slots', ['step_id'])
    op.create_table(
        'case_person_attachments',
        sa.Column('attachment_id', sa.String(32),
                  sa.ForeignKey('attachments.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('person_id', sa.Integer(),
                  sa.ForeignKey('case_persons.id', ondelete='CASCADE'), nullable=False),
        sa.Column('step_id', sa.Integer(),
                  sa.ForeignKey('case_person_steps.id', ondelete='CASCADE'), nullable=True),
    )
    op.create_index('ix_case_person_attachments_person_id', 'case_person_attachments',
                    ['person_id'])
    op.create_index('ix_case_person_attachments_step_id', 'case_person_attachments',
                    ['step_id'])
    # Not a batch on channels: copying the table on SQLite would drop its routing triggers.
    op.add_column('channels', sa.Column('person_deletion_days', sa.Integer(), nullable=False,
                                        server_default='30'))


def downgrade() -> None:
    op.drop_column('channels', 'person_deletion_days')
    op.drop_table('case_person_attachments')
    op.drop_table('case_person_key_slots')
    op.drop_table('case_person_steps')
    op.drop_table('case_persons')
