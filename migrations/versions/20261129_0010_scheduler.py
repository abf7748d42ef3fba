"""scheduler job store and lease

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # APScheduler's SQLAlchemy job store, as it would create it.
    op.create_table(
        'scheduler_jobs',
        sa.Column('id', sa.Unicode(length=191), nullable=False),
        sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
        sa.Column('job_state', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduler_jobs')),
    )
    op.create_index(op.f('ix_scheduler_jobs_next_run_time'), 'scheduler_jobs',
                    ['next_run_time'], unique=False)
    op.create_table(
        'scheduler_lease',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('holder', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_lease')),
    )


def downgrade() -> None:
    op.drop_table('scheduler_lease')
    op.drop_index(op.f('ix_scheduler_jobs_next_run_time'), table_name='scheduler_jobs')
    op.drop_table('scheduler_jobs')
