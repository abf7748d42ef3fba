"""reports, messages and key slots numbered at random; a thread's order in messages.position

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 16:00:00

Ids counted 1, 2, 3... gave anyone with a copy of the database the order of filing. Reports,
messages and key slots now take random ids in [2**52, 2**53) (integrity/db.py): BIGINT on
PostgreSQL, with every column that refers to them, and no sequence; SQLite's INTEGER already
holds them.

- `messages.position`: a message's place in its report's thread (1, 2, 3...), notes
  included, which the thread's order used to be read from the ids; filled in the order of the
  ids it had.
- Existing rows are given random ids as well, and every column that refers to them follows, in
  this migration's transaction. Except the rows the audit log names: its entries are
  hash-chained and never rewritten, so a report that is the subject of an entry
  (`report:<id>`: every case someone opened or acted on) and a message named in an entry's
  details (`"message": <id>`: deleted or redacted, a record agreed, a transcript, a message
  whose file was deleted) keep their number, and the case history and the audit page still find
  them. Key slots, which the log never names, are all renumbered. Deadline reminders already
  written (`notifications.dedup_key` names the case) follow their case.
- The downgrade refuses while a report or a message has a random id: the previous version can
  neither hold nor open it, and numbering them again in order would give the order back. Key
  slots are numbered again from the largest id that fits in 32 bits.
"""
import json
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None

SMALLEST_ID, LARGEST_ID = 2**52, 2**53 - 1
LARGEST_INT = 2**31 - 1
TABLES = ('reports', 'messages', 'key_slots')
# The notices whose de-duplication key names a case: "<kind>:<report id>:<user id>:<stem>".
CASE_KEYED_NOTICES = ('acknowledge_soon', 'feedback_soon', 'acknowledge_overdue',
                      'feedback_overdue', 'case_expiring')
POSITION_DEFAULT = 'position INTEGER NOT NULL DEFAULT 0'


def _postgresql() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def _referring() -> dict[str, list[tuple[str, str]]]:
    """For reports and messages: every (table, column) whose foreign key refers to the id."""
    inspector = sa.inspect(op.get_bind())
    found: dict[str, list[tuple[str, str]]] = {'reports': [], 'messages': []}
    for table in inspector.get_table_names():
        for key in inspector.get_foreign_keys(table):
            if key['referred_table'] in found and key['referred_columns'] == ['id']:
                found[key['referred_table']].append((table, key['constrained_columns'][0]))
    return found


def _foreign_keys() -> list[tuple[str, str, str]]:
    """PostgreSQL: (table, name, definition) of every foreign key to reports or messages."""
    return [tuple(row) for row in op.get_bind().execute(sa.text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE contype = 'f' "
        "AND confrelid IN ('reports'::regclass, 'messages'::regclass) ORDER BY conname"))]


def _column_types(referring: dict[str, list[tuple[str, str]]], type_: str) -> None:
    """PostgreSQL: the ids and every column referring to them as ``type_``."""
    columns: dict[str, list[str]] = {table: ['id'] for table in TABLES}
    for table, column in referring['reports'] + referring['messages']:
        columns.setdefault(table, []).append(column)
    for table, names in columns.items():
        op.execute(f'ALTER TABLE {table} '
                   + ', '.join(f'ALTER COLUMN {name} TYPE {type_}' for name in names))


def _named_by_the_audit_log() -> tuple[set[int], set[int]]:
    """The report ids that are an entry's subject and the message ids an entry's details
    name: the log is never rewritten, so these keep their number."""
    bind = op.get_bind()
    reports, messages = set(), set()
    for (subject,) in bind.execute(sa.text(
            "SELECT DISTINCT subject FROM audit_entries WHERE subject LIKE 'report:%'")):
        number = subject.partition(':')[2]
        if number.isascii() and number.isdigit():
            reports.add(int(number))
    for (details,) in bind.execute(sa.text(
            "SELECT details FROM audit_entries WHERE details LIKE '%\"message\":%'")):
        try:
            value = json.loads(details).get('message')
        except (ValueError, AttributeError):
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            messages.add(value)
    return reports, messages


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
    bind = op.get_bind()
    for notice_id, key in bind.execute(sa.text(
            'SELECT id, dedup_key FROM notifications WHERE dedup_key IS NOT NULL')).all():
        parts = key.split(':')
        if len(parts) > 1 and parts[0] in CASE_KEYED_NOTICES and parts[1].isdigit() \
                and int(parts[1]) in mapping:
            parts[1] = str(mapping[int(parts[1])])
            bind.execute(sa.text('UPDATE notifications SET dedup_key = :key WHERE id = :id'),
                         {'key': ':'.join(parts), 'id': notice_id})


def _ids(table: str) -> list[int]:
    return list(op.get_bind().execute(sa.text(f'SELECT id FROM {table} ORDER BY id')).scalars())


def _sqlite_schema_text(old: str, new: str) -> None:
    """Edit the CREATE TABLE text of messages (removing a default: SQLite's documented way,
    instead of a rebuild that would cascade into the key slots and attachments)."""
    bind = op.get_bind()
    version = bind.exec_driver_sql('PRAGMA schema_version').scalar()
    bind.exec_driver_sql('PRAGMA writable_schema = ON')
    try:
        bind.execute(sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                             "WHERE type = 'table' AND name = 'messages'"),
                     {'old': old, 'new': new})
        bind.exec_driver_sql(f'PRAGMA schema_version = {int(version) + 1}')
    finally:
        bind.exec_driver_sql('PRAGMA writable_schema = OFF')


def _add_positions() -> None:
    if _postgresql():
        op.add_column('messages', sa.Column('position', sa.Integer(), nullable=True))
    else:
        # NOT NULL needs a default for the rows already there; removed once they are filled.
        op.execute(f'ALTER TABLE messages ADD COLUMN {POSITION_DEFAULT}')
    # The thread's order was the ids' order.
    op.execute('UPDATE messages SET position = (SELECT count(*) FROM messages AS earlier '
               'WHERE earlier.report_id = messages.report_id AND earlier.id <= messages.id)')
    if _postgresql():
        op.alter_column('messages', 'position', nullable=False)
    else:
        _sqlite_schema_text(POSITION_DEFAULT, 'position INTEGER NOT NULL')
    op.create_index('uq_messages_position', 'messages', ['report_id', 'position'], unique=True)


def _drop_foreign_keys() -> list[tuple[str, str, str]]:
    """PostgreSQL: drop the foreign keys to reports and messages while their ids change
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
    named_reports, named_messages = _named_by_the_audit_log()
    reports = _random_ids([i for i in _ids('reports') if i not in named_reports],
                          set(_ids('reports')))
    _renumber('reports', reports, referring['reports'])
    _follow_reminders(reports)
    _renumber('messages', _random_ids([i for i in _ids('messages') if i not in named_messages],
                                      set(_ids('messages'))), referring['messages'])
    _renumber('key_slots', _random_ids(_ids('key_slots'), set(_ids('key_slots'))), [])
    _add_foreign_keys(keys)


def downgrade() -> None:
    bind = op.get_bind()
    for table in ('reports', 'messages'):
        if bind.execute(sa.text(f'SELECT 1 FROM {table} WHERE id > {LARGEST_INT}')).first():
            raise RuntimeError(
                'Reports or messages with random ids exist: the previous version can neither '
                'hold nor open them, and numbering them again in order would give the order of '
                'filing back.')
    slots = _ids('key_slots')
    start = max([i for i in slots if i <= LARGEST_INT], default=0)
    _renumber('key_slots', {old: start + n for n, old in enumerate(
        (i for i in slots if i > LARGEST_INT), start=1)}, [])
    op.drop_index('uq_messages_position', table_name='messages')
    op.drop_column('messages', 'position')
    if not _postgresql():
        return
    referring = _referring()
    keys = _drop_foreign_keys()
    _column_types(referring, 'INTEGER')
    for table in TABLES:  # counted again, as SERIAL columns are
        op.execute(f'CREATE SEQUENCE {table}_id_seq AS integer OWNED BY {table}.id')
        op.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq')")
        op.execute(f"SELECT setval('{table}_id_seq', max(id)) FROM {table} HAVING count(*) > 0")
    _add_foreign_keys(keys)
