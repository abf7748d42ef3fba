"""integrity surveys: surveys, waves, access codes, responses, answers, comments

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Responses, answers, comments and codes are keyed by random values; on SQLite they are
# WITHOUT ROWID tables, so no hidden rowid records the order rows arrived in.
NO_ROWID = {'sqlite_with_rowid': False}


def upgrade() -> None:
    op.create_table(
        'surveys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('introduction', sa.Text(), nullable=False),
        sa.Column('definition', sa.Text(), nullable=False),
        sa.Column('open_link', sa.Boolean(), nullable=False),
        sa.Column('recurrence_months', sa.Integer(), nullable=True),
        sa.Column('open_days', sa.Integer(), nullable=True),
        sa.Column('created_on', sa.Date(), nullable=False),
        sa.CheckConstraint('open_days IS NULL OR open_days > 0',
                           name=op.f('ck_surveys_open_days')),
        sa.CheckConstraint('recurrence_months IS NULL OR recurrence_months > 0',
                           name=op.f('ck_surveys_recurrence_months')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    )
    op.create_table(
        'survey_waves',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('opens_on', sa.Date(), nullable=False),
        sa.Column('closes_on', sa.Date(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.CheckConstraint("state IN ('scheduled', 'open', 'closed')",
                           name=op.f('ck_survey_waves_state')),
        sa.CheckConstraint('closes_on >= opens_on', name=op.f('ck_survey_waves_window')),
        sa.CheckConstraint('number > 0', name=op.f('ck_survey_waves_number')),
        sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'],
                                name=op.f('fk_survey_waves_survey_id_surveys'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_waves')),
        sa.UniqueConstraint('survey_id', 'number', name='uq_survey_waves_survey_number'),
    )
    op.create_index(op.f('ix_survey_waves_state'), 'survey_waves', ['state'])
    op.create_index(op.f('ix_survey_waves_survey_id'), 'survey_waves', ['survey_id'])

    op.create_table(
        'survey_access_codes',
        sa.Column('code_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('org_unit_id', sa.Integer(), nullable=False),
        sa.Column('used', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'],
                                name=op.f('fk_survey_access_codes_org_unit_id_org_units')),
        sa.ForeignKeyConstraint(['wave_id'], ['survey_waves.id'],
                                name=op.f('fk_survey_access_codes_wave_id_survey_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_survey_access_codes')),
        **NO_ROWID,
    )
    op.create_index(op.f('ix_survey_access_codes_org_unit_id'), 'survey_access_codes',
                    ['org_unit_id'])
    op.create_index(op.f('ix_survey_access_codes_wave_id'), 'survey_access_codes', ['wave_id'])

    op.create_table(
        'survey_responses',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('org_unit_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'],
                                name=op.f('fk_survey_responses_org_unit_id_org_units')),
        sa.ForeignKeyConstraint(['wave_id'], ['survey_waves.id'],
                                name=op.f('fk_survey_responses_wave_id_survey_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
        **NO_ROWID,
    )
    op.create_index(op.f('ix_survey_responses_org_unit_id'), 'survey_responses',
                    ['org_unit_id'])
    op.create_index(op.f('ix_survey_responses_wave_id'), 'survey_responses', ['wave_id'])

    op.create_table(
        'survey_answers',
        sa.Column('response_id', sa.String(length=32), nullable=False),
        sa.Column('question', sa.String(length=64), nullable=False),
        sa.Column('item', sa.SmallInteger(), nullable=False),
        sa.Column('choice', sa.SmallInteger(), nullable=True),
        sa.Column('number', sa.Float(), nullable=True),
        sa.CheckConstraint('(choice IS NULL) <> (number IS NULL)',
                           name=op.f('ck_survey_answers_one_value')),
        sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'],
                                name=op.f('fk_survey_answers_response_id_survey_responses'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('response_id', 'question', 'item',
                                name=op.f('pk_survey_answers')),
        **NO_ROWID,
    )

    op.create_table(
        'survey_comments',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('question', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['wave_id'], ['survey_waves.id'],
                                name=op.f('fk_survey_comments_wave_id_survey_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_comments')),
        **NO_ROWID,
    )
    op.create_index(op.f('ix_survey_comments_wave_id'), 'survey_comments', ['wave_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_survey_comments_wave_id'), table_name='survey_comments')
    op.drop_table('survey_comments')
    op.drop_table('survey_answers')
    op.drop_index(op.f('ix_survey_responses_wave_id'), table_name='survey_responses')
    op.drop_index(op.f('ix_survey_responses_org_unit_id'), table_name='survey_responses')
    op.drop_table('survey_responses')
    op.drop_index(op.f('ix_survey_access_codes_wave_id'), table_name='survey_access_codes')
    op.drop_index(op.f('ix_survey_access_codes_org_unit_id'), table_name='survey_access_codes')
    op.drop_table('survey_access_codes')
    op.drop_index(op.f('ix_survey_waves_survey_id'), table_name='survey_waves')
    op.drop_index(op.f('ix_survey_waves_state'), table_name='survey_waves')
    op.drop_table('survey_waves')
    op.drop_table('surveys')
