"""the reasons of tombstones sealed to the case's readers, no longer stored in clear

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 15:00:00

A tombstone's reason (why a reader deleted a file or a message, or removed a passage) can name
what was removed, so it is now a document sealed in the reader's browser, as a note is
(docs/protocol.md#redactions-and-deletions):

- `tombstones.reason_payload`: the sealed reason;
- `tombstone_key_slots`: its document key sealed to each reader (an inspector's id, or
  "recovery"), one row per tombstone and reader;
- `tombstones.reason`, the reason in clear, is dropped.

The upgrade seals each reason already stored, with `{"reason": <the reason>}` as its document,
to the keys the database holds for the case's current readers (active, with a key) and the
recovery key when one is configured, padded to the installation's block, as a reason written
now is sealed; then it drops the clear column. A reason in a case that nobody could open then
(no such reader, no recovery key) is dropped without a sealed copy: its tombstone keeps who and
which day. Sealing needs public keys only. On SQLite (`secure_delete`), `integrity.migrate`
checkpoints the write-ahead log after upgrading, so the clear values are overwritten at once;
PostgreSQL keeps a dropped column's values in the rows until the table is rewritten
(`VACUUM FULL tombstones`, docs/release-notes.md).

The downgrade cannot open the sealed reasons (the server holds no secret key): the clear column
comes back empty for every tombstone.
"""
from alembic import op
import sqlalchemy as sa

import crypto


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def _readers(bind: sa.Connection, report_id: int,
             recovery: bytes | None) -> dict[str, bytes]:
    rows = bind.execute(sa.text(
        'SELECT users.id, users.public_key FROM report_readers '
        'JOIN users ON users.id = report_readers.user_id '
        'WHERE report_readers.report_id = :report AND users.active '
        'AND users.public_key IS NOT NULL'), {'report': report_id}).all()
    readers = {str(user_id): bytes(key) for user_id, key in rows}
    if readers and recovery is not None:
        readers['recovery'] = recovery
    return readers


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text('SELECT id, report_id, reason FROM tombstones')).all()
    op.add_column('tombstones', sa.Column('reason_payload', sa.LargeBinary(), nullable=True))
    op.create_table(
        'tombstone_key_slots',
        sa.Column('tombstone_id', sa.Integer(), nullable=False),
        sa.Column('reader', sa.String(length=32), nullable=False),
        sa.Column('slot', sa.LargeBinary(length=80), nullable=False),
        sa.ForeignKeyConstraint(['tombstone_id'], ['tombstones.id'], ondelete='CASCADE',
                                name=op.f('fk_tombstone_key_slots_tombstone_id_tombstones')),
        sa.PrimaryKeyConstraint('tombstone_id', 'reader', name=op.f('pk_tombstone_key_slots')),
    )
    if rows:
        installation = bind.execute(sa.text(
            'SELECT pad_block, recovery_public_key FROM installation')).first()
        pad_block = installation[0] if installation else 1024
        recovery = bytes(installation[1]) if installation and installation[1] else None
        for tombstone_id, report_id, reason in rows:
            readers = _readers(bind, report_id, recovery)
            if not readers:
                continue  # nobody could open it: the reason goes without a sealed copy
            sealed = crypto.seal_document({'reason': reason}, readers, pad_block)
            bind.execute(sa.text('UPDATE tombstones SET reason_payload = :payload WHERE id = :id'),
                         {'payload': sealed.payload, 'id': tombstone_id})
            bind.execute(sa.text(
                'INSERT INTO tombstone_key_slots (tombstone_id, reader, slot) '
                'VALUES (:id, :reader, :slot)'),
                [{'id': tombstone_id, 'reader': reader, 'slot': slot}
                 for reader, slot in sealed.key_slots.items()])
    # Plain DROP COLUMN, no batch: nothing refers to the column.
    op.drop_column('tombstones', 'reason')


def downgrade() -> None:
    op.drop_table('tombstone_key_slots')
    op.add_column('tombstones', sa.Column('reason', sa.String(length=500), nullable=True))
    op.execute("UPDATE tombstones SET reason = ''")
    with op.batch_alter_table('tombstones') as batch:
        batch.alter_column('reason', existing_type=sa.String(length=500), nullable=False)
        batch.drop_column('reason_payload')
