"""survey reminders: the addresses of a wave's invitations, kept until it closes

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 12:00:00

- `survey_recipients`: each address a wave's invitation was e-mailed to, with its unit and
  language, for the reminders; deleted when the wave closes. Never which code went where.
- `survey_waves.halfway_reminded`, `survey_waves.closing_reminded`: the reminders sent.
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

NO_ROWID = {'sqlite_with_rowid': False}


def upgrade() -> None:
    # Not in a batch: on SQLite that would copy the table for a column with a default.
    op.add_column('survey_waves', sa.Column('halfway_reminded', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.add_column('survey_waves', sa.Column('closing_reminded', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.create_table(
        'survey_recipients',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('org_unit_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('retry', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'],
                                name=op.f('fk_survey_recipients_org_unit_id_org_units'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['wave_id'], ['survey_waves.id'],
                                name=op.f('fk_survey_recipients_wave_id_survey_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_recipients')),
        **NO_ROWID,
    )
    op.create_index(op.f('ix_survey_recipients_wave_id'), 'survey_recipients', ['wave_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_survey_recipients_wave_id'), table_name='survey_recipients')
    op.drop_table('survey_recipients')
    op.drop_column('survey_waves', 'closing_reminded')
    op.drop_column('survey_waves', 'halfway_reminded')
