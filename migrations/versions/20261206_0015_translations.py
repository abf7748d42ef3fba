"""texts administrators write, in every configured language

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 20:50:00

Channels, their categories and questions, organisational units and campaigns keep their
texts in the default language in their own columns, and the other languages in a JSON
column ``translations`` ({"fr": {"name": "…"}, …}); see integrity/translated.py.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TABLES = ('channels', 'categories', 'questions', 'org_units', 'campaigns')


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column('translations', sa.JSON(), nullable=False,
                                       server_default='{}'))


def downgrade() -> None:
    # Not in a batch: rebuilding a table on SQLite would drop the routing triggers (0013).
    for table in TABLES:
        op.drop_column(table, 'translations')
