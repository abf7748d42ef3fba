"""awareness campaigns and their target units

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'campaigns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_on', sa.Date(), nullable=False),
        sa.CheckConstraint("kind IN ('posters', 'training', 'e_learning', 'leadership')",
                           name=op.f('ck_campaigns_kind')),
        sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_campaigns_dates')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_campaigns_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    )
    op.create_table(
        'campaign_units',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('org_unit_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_campaign_units_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'],
                                name=op.f('fk_campaign_units_org_unit_id_org_units'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', 'org_unit_id', name=op.f('pk_campaign_units')),
    )
    op.create_index(op.f('ix_campaign_units_org_unit_id'), 'campaign_units', ['org_unit_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_campaign_units_org_unit_id'), table_name='campaign_units')
    op.drop_table('campaign_units')
    op.drop_table('campaigns')
