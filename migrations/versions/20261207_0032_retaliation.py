"""retaliation: reports of retaliation linked to the case they follow, risk assessments and
protective measures (sealed notes marked in clear), check-ins after a case closes

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 12:00:00

Existing reports are of kind "report"; existing channels get check-ins at 3, 6 and 12 months
for cases closed from now on (none are scheduled for cases closed before).
"""
import sqlalchemy as sa
from alembic import op


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False,
                                   server_default='report'))
        batch.add_column(sa.Column('retaliation_of_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_reports_retaliation_of_id_reports'), 'reports',
                                 ['retaliation_of_id'], ['id'], ondelete='SET NULL')
        batch.create_index(op.f('ix_reports_retaliation_of_id'), ['retaliation_of_id'])
        batch.create_check_constraint('kind', "kind IN ('report', 'retaliation')")
    # Not a batch on channels: copying the table on SQLite would drop its routing triggers.
    op.add_column('channels', sa.Column('check_in_months', sa.String(length=32),
                                        nullable=False, server_default='3,6,12'))
    op.create_table(
        'protection_records',
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.CheckConstraint("kind IN ('risk_assessment', 'measure')",
                           name=op.f('ck_protection_records_kind')),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE',
                                name=op.f('fk_protection_records_message_id_messages')),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE',
                                name=op.f('fk_protection_records_report_id_reports')),
        sa.PrimaryKeyConstraint('message_id', name=op.f('pk_protection_records')),
    )
    op.create_index(op.f('ix_protection_records_report_id'), 'protection_records',
                    ['report_id'])
    op.create_table(
        'check_ins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('months', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('done_on', sa.Date(), nullable=True),
        sa.CheckConstraint("state IN ('scheduled', 'posted', 'skipped', 'stopped')",
                           name=op.f('ck_check_ins_state')),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE',
                                name=op.f('fk_check_ins_report_id_reports')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_check_ins')),
    )
    op.create_index(op.f('ix_check_ins_report_id'), 'check_ins', ['report_id'])
    op.create_index('ix_check_ins_state_due_on', 'check_ins', ['state', 'due_on'])


def downgrade() -> None:
    op.drop_index('ix_check_ins_state_due_on', table_name='check_ins')
    op.drop_index(op.f('ix_check_ins_report_id'), table_name='check_ins')
    op.drop_table('check_ins')
    op.drop_index(op.f('ix_protection_records_report_id'), table_name='protection_records')
    op.drop_table('protection_records')
    op.drop_column('channels', 'check_in_months')
    with op.batch_alter_table('reports') as batch:
        batch.drop_constraint('kind', type_='check')
        batch.drop_index(op.f('ix_reports_retaliation_of_id'))
        batch.drop_constraint(op.f('fk_reports_retaliation_of_id_reports'), type_='foreignkey')
        batch.drop_column('retaliation_of_id')
        batch.drop_column('kind')
