"""the auditor role

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 10:00:00

An auditor reads the audit log, the settings and the figures, and changes nothing. Only the
CHECK constraint on users.role changes. On SQLite the table is not rebuilt (a rebuild would
drop the routing triggers of 0013): the constraint's text is edited in the schema, as SQLite's
documentation describes for changes that leave the stored rows as they are (widening a CHECK
does; narrowing it is refused while an auditor exists).
"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

BEFORE = "role IN ('admin', 'inspector', 'manager')"
AFTER = "role IN ('admin', 'inspector', 'manager', 'auditor')"


def _sqlite_check(old: str, new: str) -> None:
    bind = op.get_bind()
    version = bind.exec_driver_sql('PRAGMA schema_version').scalar()
    bind.exec_driver_sql('PRAGMA writable_schema = ON')
    try:
        bind.execute(sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                             "WHERE type = 'table' AND name = 'users'"),
                     {'old': old, 'new': new})
        # A new schema version makes every connection read the edited schema.
        bind.exec_driver_sql(f'PRAGMA schema_version = {int(version) + 1}')
    finally:
        bind.exec_driver_sql('PRAGMA writable_schema = OFF')


def _replace(old: str, new: str) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_users_role'), 'users', type_='check')
        op.create_check_constraint(op.f('ck_users_role'), 'users', new)
        return
    _sqlite_check(old, new)


def upgrade() -> None:
    _replace(BEFORE, AFTER)


def downgrade() -> None:
    auditors = op.get_bind().execute(
        sa.text("SELECT count(*) FROM users WHERE role = 'auditor'")).scalar()
    if auditors:
        raise RuntimeError('Auditor accounts exist: give them another role before downgrading.')
    _replace(AFTER, BEFORE)
