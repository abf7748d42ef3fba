"""sealed attachments and the summaries of closed survey waves in the database, so that several
servers share them (used on PostgreSQL; the tables stay empty on SQLite)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 16:00:00

`attachment_chunks` holds each attachment's sealed bytes in pieces, in order
(integrity/reporting/chunk_store.py); `wave_summaries` the dashboard's summary of a closed
wave under the key it was worked out for (integrity/dashboard/summary_store.py). Existing
attachment files stay where they are and are still read there until
`integrity migrate-attachments --to-database` moves them. The downgrade refuses while
attachments are stored as rows: `integrity migrate-attachments --to-files` first.
"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'attachment_chunks',
        sa.Column('attachment_id', sa.String(length=32), nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('attachment_id', 'seq', name=op.f('pk_attachment_chunks')))
    if op.get_bind().dialect.name == 'postgresql':
        # Sealed bytes do not compress: stored out of line as they are, without trying.
        op.execute('ALTER TABLE attachment_chunks ALTER COLUMN data SET STORAGE EXTERNAL')
    op.create_table(
        'wave_summaries',
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=32), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['wave_id'], ['survey_waves.id'],
                                name=op.f('fk_wave_summaries_wave_id_survey_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('wave_id', 'key', name=op.f('pk_wave_summaries')))


def downgrade() -> None:
    if op.get_bind().execute(sa.text('SELECT 1 FROM attachment_chunks LIMIT 1')).first():
        raise RuntimeError("Attachments are stored in the database: run 'integrity "
                           "migrate-attachments --to-files' before going back to a version "
                           "that keeps them as files only.")
    op.drop_table('wave_summaries')
    op.drop_table('attachment_chunks')
