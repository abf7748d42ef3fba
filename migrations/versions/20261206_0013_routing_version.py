"""a routing version, moved on by triggers whenever a report's routing may have changed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 09:00:00

The reporting API keeps the routes it has read (channel, recipients and their keys, category,
unit, padding, recovery key) and stores a report only while ``installation.routing_version``
still shows the version they were read at; these triggers move the version on every change
to what a route is made of, in the same transaction as the change.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# Table, and the columns whose update matters (None: any update).
WATCHED = [
    ('channels', None),
    ('channel_recipients', None),
    ('categories', None),
    ('org_units', None),
    ('users', ('active', 'role', 'public_key')),
    ('installation', ('pad_block', 'recovery_public_key')),
]
BUMP = 'UPDATE installation SET routing_version = routing_version + 1 WHERE id = 1'


def upgrade() -> None:
    with op.batch_alter_table('installation') as batch:
        batch.add_column(sa.Column('routing_version', sa.Integer(), server_default='0',
                                   nullable=False))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE FUNCTION integrity_routing_changed() RETURNS trigger '
                   f'LANGUAGE plpgsql AS $$ BEGIN {BUMP}; RETURN NULL; END $$')
        for table, columns in WATCHED:
            update = f"UPDATE OF {', '.join(columns)}" if columns else 'UPDATE'
            truncate = '' if table == 'installation' else ' OR TRUNCATE'
            op.execute(f'CREATE TRIGGER {table}_routing_changed '
                       f'AFTER INSERT OR DELETE OR {update}{truncate} ON {table} '
                       'FOR EACH STATEMENT EXECUTE FUNCTION integrity_routing_changed()')
        return
    for table, columns in WATCHED:
        # SQLite has row triggers only, one event each.
        for event in ('INSERT', 'DELETE', f"UPDATE OF {', '.join(columns)}" if columns else 'UPDATE'):
            name = f"{table}_routing_changed_{event.split()[0].lower()}"
            op.execute(f'CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP}; END')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table, _columns in WATCHED:
            op.execute(f'DROP TRIGGER {table}_routing_changed ON {table}')
        op.execute('DROP FUNCTION integrity_routing_changed()')
    else:
        for table, _columns in WATCHED:
            for event in ('insert', 'delete', 'update'):
                op.execute(f'DROP TRIGGER {table}_routing_changed_{event}')
    with op.batch_alter_table('installation') as batch:
        batch.drop_column('routing_version')
