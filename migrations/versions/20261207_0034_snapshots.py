"""the report figures kept of purged cases; the audit log's actors kept beside the hash, so
that staff names can be pseudonymised after their retention period

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 12:00:00

Every audit entry gets a random salt and the keyed digest of its actor, and the chain is
hashed again over the digest instead of the actor (integrity/audit.py). Before that, the
entries are checked under the former hashing; a last entry ``audit_chain_upgraded`` records
how many entries were hashed again, the former hash of the last of them (so that a head
exported before the upgrade can still be checked, integrity/audit_anchor.py) and whether the
former chain held. Downgrading hashes the chain again the former way.
"""
import hashlib
import json
import secrets
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False)
entries = sa.table(
    'audit_entries', sa.column('seq', sa.Integer), sa.column('at', sa.DateTime),
    sa.column('actor_id', sa.Integer), sa.column('actor', sa.String),
    sa.column('actor_salt', sa.LargeBinary), sa.column('actor_digest', sa.LargeBinary),
    sa.column('action', sa.String), sa.column('subject', sa.String),
    sa.column('details', sa.Text), sa.column('prev_hash', sa.LargeBinary),
    sa.column('hash', sa.LargeBinary))
head = sa.table('audit_head', sa.column('id', sa.Integer), sa.column('seq', sa.Integer),
                sa.column('hash', sa.LargeBinary))


def _json(value):
    return _ENCODER.encode(value).encode()


def _chain(prev, fields, details):
    message = prev + _json(fields)[:-1] + b"," + details.encode() + b"]"
    return hashlib.blake2b(message, digest_size=32).digest()


def _former(prev, row):
    return _chain(prev, [row.seq, row.at.isoformat(), row.actor_id, row.actor, row.action,
                         row.subject], row.details)


def _rows(bind):
    return bind.execute(sa.select(entries).order_by(entries.c.seq)).all()


def upgrade() -> None:
    op.create_table(
        'kept_report_figures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('pair', sa.String(length=24), nullable=False),
        sa.Column('first_id', sa.Integer(), nullable=True),
        sa.Column('second_id', sa.Integer(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in (
            'received', 'acknowledge_due', 'acknowledged_in_time', 'feedback_due',
            'feedback_in_time', 'closed', 'came_back', 'open', 'overdue')),
        sa.Column('outcomes', sa.Text(), nullable=False),
        sa.Column('days_to_acknowledge', sa.Text(), nullable=False),
        sa.Column('days_to_close', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kept_report_figures')))
    op.create_index('ix_kept_report_figures_pair_month', 'kept_report_figures',
                    ['pair', 'month'])
    op.add_column('audit_entries', sa.Column('actor_salt', sa.LargeBinary(length=16),
                                             nullable=True))
    op.add_column('audit_entries', sa.Column('actor_digest', sa.LargeBinary(length=32),
                                             nullable=True))
    bind = op.get_bind()
    found = bind.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == 1)).first()
    if found is None or not found.seq:
        return
    former = new = bytes(32)
    broken, last = None, 0
    for row in _rows(bind):
        recomputed = _former(former, row)
        if broken is None and (row.hash != recomputed or row.prev_hash != former):
            broken = row.seq
        former = recomputed
        salt = secrets.token_bytes(16)
        digest = hashlib.blake2b(_json([row.actor_id, row.actor]), key=salt,
                                 digest_size=32).digest()
        rehashed = _chain(new, [row.seq, row.at.isoformat(), digest.hex(), row.action,
                                row.subject], row.details)
        bind.execute(sa.update(entries).where(entries.c.seq == row.seq).values(
            actor_salt=salt, actor_digest=digest, prev_hash=new, hash=rehashed))
        new = rehashed
        last = row.seq
    if broken is None and (last != found.seq or former != found.hash):
        broken = last
    details = _json({"legacy_through": last, "legacy_head": former.hex(),
                     "legacy_chain": "intact" if broken is None
                     else f"broken at entry {broken}"}).decode()
    seq = last + 1
    at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    salt = secrets.token_bytes(16)
    digest = hashlib.blake2b(_json([None, "system"]), key=salt, digest_size=32).digest()
    rehashed = _chain(new, [seq, at.isoformat(), digest.hex(), "audit_chain_upgraded",
                            "audit"], details)
    bind.execute(sa.insert(entries).values(
        seq=seq, at=at, actor_id=None, actor="system", actor_salt=salt, actor_digest=digest,
        action="audit_chain_upgraded", subject="audit", details=details, prev_hash=new,
        hash=rehashed))
    bind.execute(sa.update(head).where(head.c.id == 1).values(seq=seq, hash=rehashed))


def downgrade() -> None:
    bind = op.get_bind()
    former = bytes(32)
    for row in _rows(bind):
        recomputed = _former(former, row)
        bind.execute(sa.update(entries).where(entries.c.seq == row.seq).values(
            prev_hash=former, hash=recomputed))
        former = recomputed
    if bind.execute(sa.select(head.c.seq).where(head.c.id == 1)).scalar():
        bind.execute(sa.update(head).where(head.c.id == 1).values(hash=former))
    with op.batch_alter_table('audit_entries') as batch:
        batch.drop_column('actor_digest')
        batch.drop_column('actor_salt')
    op.drop_index('ix_kept_report_figures_pair_month', table_name='kept_report_figures')
    op.drop_table('kept_report_figures')
