"""the dashboard's PDF reports being built, and built, in the database, so that every server
answers their progress and hands out the file

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 17:00:00

`report_builds` replaces the files under `<data>/reports` (integrity/dashboard/report_builds.py).
Reports being built while upgrading are lost: they are started again from the form.
"""
from alembic import op
import sqlalchemy as sa


revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'report_builds',
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('steps', sa.Integer(), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'],
                                name=op.f('fk_report_builds_owner_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token', name=op.f('pk_report_builds')))


def downgrade() -> None:
    op.drop_table('report_builds')
