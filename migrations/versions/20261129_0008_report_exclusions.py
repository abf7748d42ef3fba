"""inspectors a reporter excluded from a report

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 08:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'report_exclusions',
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_report_exclusions_report_id_reports'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_report_exclusions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('report_id', 'user_id', name=op.f('pk_report_exclusions')),
    )


def downgrade() -> None:
    op.drop_table('report_exclusions')
