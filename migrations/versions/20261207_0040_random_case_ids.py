"""meeting requests, tombstones, check-ins, persons concerned, their steps and key slots
numbered at random; each list's order in a position column

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 18:00:00

Migration 0037 numbered reports, messages and key slots at random. The rows made beside them
were still counted 1, 2, 3..., and a meeting request made with a report put the filings that
asked for one in order. These now take random ids in [2**52, 2**53) too (integrity/db.py):
BIGINT on PostgreSQL, with every column that refers to them, and no sequence; SQLite's INTEGER
already holds them.

- `position` on `meeting_requests`, `tombstones`, `check_ins`, `case_persons` (each within its
  case) and `case_person_steps` (within its person): a row's place in its list (1, 2, 3...),
  which the lists' order used to be read from the ids; filled in the order of the ids it had.
  A person concerned is called by it ("Person 2") on the case page and in the case history.
- Existing rows are given random ids as well, and every column that refers to them follows, in
  this migration's transaction. Except the persons the audit log names: its entries are
  hash-chained and never rewritten, and an entry about a person names it by id
  (`"person": <id>`: every person added through the case page), so those keep their number
  and the case history still finds them. Deferral reminders already written
  (`notifications.dedup_key` names the person) follow their person.
- The downgrade refuses while the audit log names a person with a random id: the log cannot
  be rewritten, and the previous version would find that person under no number. Every other
  row with a random id is numbered again from the largest id that fits in 32 bits, in its
  list's order (within each case or person; the cases in the order of their random ids), so
  that the previous version, which reads the lists' order from the ids, lists them as before
  (a person who kept their number comes before those numbered again).
"""
import json
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None

SMALLEST_ID, LARGEST_ID = 2**52, 2**53 - 1
LARGEST_INT = 2**31 - 1
# Renumbered in this order: a table's rows before the rows that refer to them.
TABLES = ('meeting_requests', 'tombstones', 'check_ins', 'case_persons', 'case_person_steps',
          'case_person_key_slots')
# The tables other tables refer to, by id.
REFERRED = ('tombstones', 'case_persons', 'case_person_steps')
# Each list's parent: what a row's position counts within.
POSITIONS = {'meeting_requests': 'report_id', 'tombstones': 'report_id',
             'check_ins': 'report_id', 'case_persons': 'report_id',
             'case_person_steps': 'person_id'}
POSITION_DEFAULT = 'position INTEGER NOT NULL DEFAULT 0'
REVIEW_DUE = 'person_review_due'  # "person_review_due:<person id>:<user id>:<day>:<week>"


def _postgresql() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def _referring() -> dict[str, list[tuple[str, str]]]:
    """For each table of REFERRED: every (table, column) whose foreign key refers to its id."""
    inspector = sa.inspect(op.get_bind())
    found: dict[str, list[tuple[str, str]]] = {table: [] for table in REFERRED}
    for table in inspector.get_table_names():
        for key in inspector.get_foreign_keys(table):
            if key['referred_table'] in found and key['referred_columns'] == ['id']:
                found[key['referred_table']].append((table, key['constrained_columns'][0]))
    return found


def _foreign_keys() -> list[tuple[str, str, str]]:
    """PostgreSQL: (table, name, definition) of every foreign key to a table of REFERRED."""
    referred = ', '.join(f"'{table}'::regclass" for table in REFERRED)
    return [tuple(row) for row in op.get_bind().execute(sa.text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
        f"FROM pg_constraint WHERE contype = 'f' AND confrelid IN ({referred}) "
        "ORDER BY conname"))]


def _column_types(referring: dict[str, list[tuple[str, str]]], type_: str) -> None:
    """PostgreSQL: the ids and every column referring to them as ``type_``."""
    columns: dict[str, list[str]] = {table: ['id'] for table in TABLES}
    for pairs in referring.values():
        for table, column in pairs:
            columns.setdefault(table, []).append(column)
    for table, names in columns.items():
        op.execute(f'ALTER TABLE {table} '
                   + ', '.join(f'ALTER COLUMN {name} TYPE {type_}' for name in names))


def _persons_named_by_the_audit_log() -> set[int]:
    """The person ids an entry's details name: the log is never rewritten, so these keep
    their number."""
    persons = set()
    for (details,) in op.get_bind().execute(sa.text(
            "SELECT details FROM audit_entries WHERE details LIKE '%\"person\":%'")):
        try:
            value = json.loads(details).get('person')
        except (ValueError, AttributeError):
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            persons.add(value)
    return persons


def _random_ids(olds: list[int], taken: set[int]) -> dict[int, int]:
    mapping: dict[int, int] = {}
    for old in olds:
        new = SMALLEST_ID + secrets.randbelow(LARGEST_ID - SMALLEST_ID + 1)
        while new in taken:
            new = SMALLEST_ID + secrets.randbelow(LARGEST_ID - SMALLEST_ID + 1)
        taken.add(new)
        mapping[old] = new
    return mapping


def _renumber(table: str, mapping: dict[int, int], referring: list[tuple[str, str]]) -> None:
    """Give the rows of ``table`` their new ids, and every column referring to them too."""
    if not mapping:
        return
    bind = op.get_bind()
    bind.execute(sa.text('CREATE TEMPORARY TABLE renumbered_ids '
                         '(old BIGINT PRIMARY KEY, new BIGINT NOT NULL)'))
    bind.execute(sa.text('INSERT INTO renumbered_ids (old, new) VALUES (:old, :new)'),
                 [{'old': old, 'new': new} for old, new in mapping.items()])
    for name, column in [(table, 'id'), *referring]:
        bind.execute(sa.text(
            f'UPDATE {name} SET {column} = (SELECT new FROM renumbered_ids '
            f'WHERE old = {name}.{column}) WHERE {column} IN (SELECT old FROM renumbered_ids)'))
    bind.execute(sa.text('DROP TABLE renumbered_ids'))


def _follow_reminders(mapping: dict[int, int]) -> None:
    """A deferral reminder already written names its person: it follows the new id, so that it
    is not written again."""
    bind = op.get_bind()
    for notice_id, key in bind.execute(sa.text(
            'SELECT id, dedup_key FROM notifications WHERE dedup_key LIKE :kind'),
            {'kind': f'{REVIEW_DUE}:%'}).all():
        parts = key.split(':')
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) in mapping:
            parts[1] = str(mapping[int(parts[1])])
            bind.execute(sa.text('UPDATE notifications SET dedup_key = :key WHERE id = :id'),
                         {'key': ':'.join(parts), 'id': notice_id})


def _ids(table: str, order: str = 'id') -> list[int]:
    return list(op.get_bind().execute(sa.text(f'SELECT id FROM {table} ORDER BY {order}'))
                .scalars())


def _sqlite_schema_text(table: str, old: str, new: str) -> None:
    """Edit the CREATE TABLE text of ``table`` (removing a default: SQLite's documented way,
    instead of a rebuild of the table, as migration 0037 did for messages)."""
    bind = op.get_bind()
    version = bind.exec_driver_sql('PRAGMA schema_version').scalar()
    bind.exec_driver_sql('PRAGMA writable_schema = ON')
    try:
        bind.execute(sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                             "WHERE type = 'table' AND name = :table"),
                     {'old': old, 'new': new, 'table': table})
        bind.exec_driver_sql(f'PRAGMA schema_version = {int(version) + 1}')
    finally:
        bind.exec_driver_sql('PRAGMA writable_schema = OFF')


def _add_positions() -> None:
    for table, parent in POSITIONS.items():
        if _postgresql():
            op.add_column(table, sa.Column('position', sa.Integer(), nullable=True))
        else:
            # NOT NULL needs a default for the rows already there; removed once they are filled.
            op.execute(f'ALTER TABLE {table} ADD COLUMN {POSITION_DEFAULT}')
        # The list's order was the ids' order.
        op.execute(f'UPDATE {table} SET position = (SELECT count(*) FROM {table} AS earlier '
                   f'WHERE earlier.{parent} = {table}.{parent} AND earlier.id <= {table}.id)')
        if _postgresql():
            op.alter_column(table, 'position', nullable=False)
        else:
            _sqlite_schema_text(table, POSITION_DEFAULT, 'position INTEGER NOT NULL')
        op.create_index(f'uq_{table}_position', table, [parent, 'position'], unique=True)


def _drop_foreign_keys() -> list[tuple[str, str, str]]:
    """PostgreSQL: drop the foreign keys to the tables of REFERRED while their ids change
    (SQLite migrates with foreign keys off, checked before the commit); what to add back."""
    if not _postgresql():
        return []
    keys = _foreign_keys()
    for table, name, _definition in keys:
        op.execute(f'ALTER TABLE {table} DROP CONSTRAINT {name}')
    return keys


def _add_foreign_keys(keys: list[tuple[str, str, str]]) -> None:
    for table, name, definition in keys:
        op.execute(f'ALTER TABLE {table} ADD CONSTRAINT {name} {definition}')


def _drop_sequences() -> None:
    for table in TABLES:
        sequence = op.get_bind().execute(
            sa.text('SELECT pg_get_serial_sequence(:table, :column)'),
            {'table': table, 'column': 'id'}).scalar()
        op.execute(f'ALTER TABLE {table} ALTER COLUMN id DROP DEFAULT')
        if sequence:
            op.execute(f'DROP SEQUENCE {sequence}')


def upgrade() -> None:
    _add_positions()
    referring = _referring()
    keys = _drop_foreign_keys()
    if _postgresql():
        _column_types(referring, 'BIGINT')
        _drop_sequences()
    named = _persons_named_by_the_audit_log()
    for table in TABLES:
        ids = _ids(table)
        mapping = _random_ids([i for i in ids if table != 'case_persons' or i not in named],
                              set(ids))
        _renumber(table, mapping, referring.get(table, []))
        if table == 'case_persons':
            _follow_reminders(mapping)
    _add_foreign_keys(keys)


def downgrade() -> None:
    bind = op.get_bind()
    named = [i for i in _persons_named_by_the_audit_log() if i > LARGEST_INT]
    if named and bind.execute(sa.text('SELECT 1 FROM case_persons WHERE id IN :ids').bindparams(
            sa.bindparam('ids', expanding=True)), {'ids': named}).first():
        raise RuntimeError(
            'The audit log names persons concerned by their random ids: it is never rewritten, '
            'and the previous version would find them under no number.')
    referring = _referring()
    keys = _drop_foreign_keys()
    for table in TABLES:
        # In each list's order, so that the previous version, which reads it from the ids,
        # lists the rows as before.
        parent = POSITIONS.get(table)
        ids = _ids(table, f'{parent}, position' if parent else 'id')
        start = max([i for i in ids if i <= LARGEST_INT], default=0)
        mapping = {old: start + n for n, old in enumerate(
            (i for i in ids if i > LARGEST_INT), start=1)}
        _renumber(table, mapping, referring.get(table, []))
        if table == 'case_persons':
            _follow_reminders(mapping)
    for table in POSITIONS:
        op.drop_index(f'uq_{table}_position', table_name=table)
        op.drop_column(table, 'position')
    if _postgresql():
        _column_types(referring, 'INTEGER')
        for table in TABLES:  # counted again, as SERIAL columns are
            op.execute(f'CREATE SEQUENCE {table}_id_seq AS integer OWNED BY {table}.id')
            op.execute(f"ALTER TABLE {table} ALTER COLUMN id "
                       f"SET DEFAULT nextval('{table}_id_seq')")
            op.execute(f"SELECT setval('{table}_id_seq', max(id)) FROM {table} "
                       "HAVING count(*) > 0")
    _add_foreign_keys(keys)
