"""the page "Other ways to report, and your rights": the installation's and channels'

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 10:00:00

- `rights_pages`: the sections an administrator writes (other ways to report, the protection
  the law gives, the privacy notice), with their translations; one row for the installation
  (scope "installation") and one for each channel whose page differs ("channel:<id>"). No row
  yet: the page shows the texts the catalogs ship.
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

SECTIONS = ('other_ways', 'protection', 'controller', 'data_protection_officer',
            'legal_basis', 'reporter_rights')


def upgrade() -> None:
    op.create_table(
        'rights_pages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=32), nullable=False),
        sa.Column('channel_id', sa.Integer(), nullable=True),
        *(sa.Column(name, sa.Text(), nullable=False) for name in SECTIONS),
        sa.Column('translations', sa.JSON(), nullable=False, server_default='{}'),
        sa.ForeignKeyConstraint(['channel_id'], ['channels.id'],
                                name=op.f('fk_rights_pages_channel_id_channels'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rights_pages')),
        sa.UniqueConstraint('channel_id', name=op.f('uq_rights_pages_channel_id')),
        sa.UniqueConstraint('scope', name=op.f('uq_rights_pages_scope')),
    )


def downgrade() -> None:
    op.drop_table('rights_pages')
