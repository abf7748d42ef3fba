"""Every Alembic revision goes up and down, on SQLite and on PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from integrity.db import make_engine
from integrity.migrate import alembic_config, downgrade, upgrade
from integrity.schema import metadata
from tests.conftest import POSTGRES_URL, _pg_url, create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = create_pg_database()
    yield _pg_url(name).replace("postgresql://", "postgresql+psycopg://", 1)
    drop_pg_database(name)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_head_creates_every_model_table_and_base_removes_them(empty_database: str) -> None:
    upgrade(empty_database)
    assert _tables(empty_database) == set(metadata().tables)
    upgrade(empty_database)  # idempotent at head
    downgrade(empty_database, "base")
    assert _tables(empty_database) == set()


def test_each_revision_upgrades_and_downgrades_in_turn(empty_database: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(empty_database))
    revisions = list(reversed(list(script.walk_revisions())))
    assert revisions, "no migrations found"
    for revision in revisions:
        upgrade(empty_database, revision.revision)
        downgrade(empty_database, revision.down_revision or "base")
        upgrade(empty_database, revision.revision)
    assert _tables(empty_database) == set(metadata().tables)


def test_models_and_migrations_agree(empty_database: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata()) == []
    finally:
        engine.dispose()


def test_staff_language_comes_and_goes_and_the_routing_triggers_stay(
    empty_database: str,
) -> None:
    """0014 adds users.language; its downgrade drops it without rebuilding the table, so the
    routing triggers that 0013 put on users are still there."""
    from sqlalchemy import text

    def users_table() -> tuple[set[str], set[str]]:
        engine = make_engine(empty_database)
        try:
            with engine.connect() as connection:
                if engine.dialect.name == "postgresql":
                    query = ("SELECT tgname FROM pg_trigger WHERE tgrelid = 'users'::regclass "
                             "AND NOT tgisinternal")
                else:
                    query = ("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                             "AND tbl_name = 'users'")
                triggers = set(connection.scalars(text(query)))
            return {column["name"] for column in inspect(engine).get_columns("users")}, triggers
        finally:
            engine.dispose()

    upgrade(empty_database, "0013")
    _columns, triggers = users_table()
    assert triggers
    upgrade(empty_database, "0014")
    assert users_table() == (_columns | {"language"}, triggers)
    downgrade(empty_database, "0013")
    assert users_table() == (_columns, triggers)


def test_references_activity_days_and_unseen_markers_are_filled_for_existing_cases(
    empty_database: str,
) -> None:
    """0021 gives existing cases distinct references, their last activity day (a message's,
    else the filing's) and next due day; only new cases start unseen."""
    import re
    from datetime import date

    from sqlalchemy import MetaData, Table, insert, select

    from integrity.cases.references import ALPHABET

    upgrade(empty_database, "0020")
    engine = make_engine(empty_database)
    try:
        tables = MetaData()
        for name in ("users", "channels", "reports", "report_readers", "messages"):
            Table(name, tables, autoload_with=engine)
        with engine.begin() as connection:
            connection.execute(insert(tables.tables["users"]).values(
                id=1, email="i@example.org", name="I", role="inspector", password_hash="x",
                must_change_password=False, can_sign_in=True, active=True,
                created_on=date(2027, 1, 1), key_scheme=2))
            connection.execute(insert(tables.tables["channels"]).values(
                id=1, slug="c", name="C", description="", allow_exclusion=False,
                retention_days=100, asks_category=True, asks_unit=True, state="open"))
            for rid, status, acknowledged in ((1, "new", None),
                                              (2, "acknowledged", date(2027, 1, 3)),
                                              (3, "new", None)):
                connection.execute(insert(tables.tables["reports"]).values(
                    id=rid, channel_id=1, created_on=date(2027, 1, 1),
                    lookup_hash=bytes([rid]) * 32, protocol=2, payload=b"x", status=status,
                    acknowledged_on=acknowledged))
                connection.execute(insert(tables.tables["report_readers"]).values(
                    report_id=rid, user_id=1))
            connection.execute(insert(tables.tables["messages"]).values(
                report_id=2, sender="reporter", sent_on=date(2027, 1, 20), payload=b"y"))
    finally:
        engine.dispose()
    upgrade(empty_database, "0021")
    engine = make_engine(empty_database)
    try:
        tables = MetaData()
        reports = Table("reports", tables, autoload_with=engine)
        readers = Table("report_readers", tables, autoload_with=engine)
        with engine.connect() as connection:
            rows = {row.id: row for row in connection.execute(select(reports))}
            unseen = dict(connection.execute(select(readers.c.report_id, readers.c.unseen)).all())
    finally:
        engine.dispose()
    references = [row.reference for row in rows.values()]
    assert len(set(references)) == 3
    assert all(re.fullmatch(f"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}", r) for r in references)
    assert rows[1].last_activity_on == date(2027, 1, 1)
    assert rows[2].last_activity_on == date(2027, 1, 20)
    assert rows[1].next_due_on == date(2027, 1, 8)  # acknowledge within 7 days
    assert rows[2].next_due_on == date(2027, 4, 3)  # feedback 3 months after acknowledging
    assert {rid: bool(flag) for rid, flag in unseen.items()} == {1: True, 2: False, 3: True}


def test_feedback_days_set_by_any_first_message_are_cleared_for_open_cases(
    empty_database: str,
) -> None:
    """0025: the old rule took an inspector's first message of any kind as feedback. Open cases
    lose that day (feedback is due, or overdue, again), closed ones keep it; every message is
    an ordinary one; the downgrade puts the old rule's day back."""
    from datetime import date

    from sqlalchemy import MetaData, Table, insert, select
    from sqlalchemy.exc import IntegrityError

    script = ScriptDirectory.from_config(alembic_config(empty_database))
    before = script.get_revision("0025").down_revision
    upgrade(empty_database, before)
    engine = make_engine(empty_database)
    tables = MetaData()
    for name in ("users", "channels", "reports", "messages"):
        Table(name, tables, autoload_with=engine)
    reports, messages = tables.tables["reports"], tables.tables["messages"]
    try:
        with engine.begin() as connection:
            connection.execute(insert(tables.tables["channels"]).values(
                id=1, slug="c", name="C", description="", allow_exclusion=False,
                retention_days=100, asks_category=True, asks_unit=True, state="open"))
            filed, acknowledged, asked = date(2027, 1, 1), date(2027, 1, 3), date(2027, 1, 4)
            for rid, status, outcome, closed in ((1, "in_progress", None, None),
                                                 (2, "closed", "unsubstantiated",
                                                  date(2027, 3, 1))):
                connection.execute(insert(reports).values(
                    id=rid, reference=f"AAAA-AAA{rid}", channel_id=1, created_on=filed,
                    lookup_hash=bytes([rid]) * 32, protocol=2, payload=b"x", status=status,
                    outcome=outcome, acknowledged_on=acknowledged, feedback_on=asked,
                    closed_on=closed, next_due_on=None))
                connection.execute(insert(messages).values(
                    report_id=rid, sender="inspector", sent_on=asked, payload=b"y"))
    finally:
        engine.dispose()

    def rows() -> dict[int, object]:
        engine = make_engine(empty_database)
        try:
            with engine.connect() as connection:
                return {row.id: row for row in connection.execute(select(
                    Table("reports", MetaData(), autoload_with=engine)))}
        finally:
            engine.dispose()

    upgrade(empty_database, "0025")
    after = rows()
    assert (after[1].feedback_on, after[1].next_due_on) == (None, date(2027, 4, 3))
    assert after[2].feedback_on == asked and after[2].final_notice_on is None
    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            messages = Table("messages", MetaData(), autoload_with=engine)
            assert set(connection.execute(select(messages.c.kind)).scalars()) == {"message"}
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert(messages).values(
                report_id=1, sender="inspector", sent_on=asked, payload=b"z", kind="notice"))
    finally:
        engine.dispose()
    downgrade(empty_database, before)
    again = rows()
    assert again[1].feedback_on == asked and again[1].next_due_on is None
    assert again[2].feedback_on == asked


def test_the_auditor_role_comes_and_goes_and_the_routing_triggers_stay(
    empty_database: str,
) -> None:
    """0027 widens the CHECK on users.role to admit auditors without rebuilding the table (on
    SQLite the constraint's text is edited), so the routing triggers of 0013 stay; going back
    is refused while an auditor exists."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    insert_user = text(
        "INSERT INTO users (email, name, role, password_hash, must_change_password, "
        "can_sign_in, active, created_on, key_scheme) "
        "VALUES (:email, 'A', :role, 'x', false, true, true, '2027-01-01', 2)")

    def triggers_and_insert(email: str, role: str) -> tuple[set[str], bool]:
        engine = make_engine(empty_database)
        try:
            with engine.connect() as connection:
                if engine.dialect.name == "postgresql":
                    query = ("SELECT tgname FROM pg_trigger WHERE tgrelid = 'users'::regclass "
                             "AND NOT tgisinternal")
                else:
                    query = ("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                             "AND tbl_name = 'users'")
                found = set(connection.scalars(text(query)))
            try:
                with engine.begin() as connection:
                    connection.execute(insert_user, {"email": email, "role": role})
            except IntegrityError:
                return found, False
            return found, True
        finally:
            engine.dispose()

    upgrade(empty_database, "0024")
    triggers, stored = triggers_and_insert("a1@example.org", "auditor")
    assert triggers and not stored
    upgrade(empty_database, "0027")
    assert triggers_and_insert("a2@example.org", "auditor") == (triggers, True)
    assert triggers_and_insert("a3@example.org", "nobody") == (triggers, False)
    with pytest.raises(RuntimeError, match="Auditor accounts exist"):
        downgrade(empty_database, "0024")
    engine = make_engine(empty_database)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE role = 'auditor'"))
    finally:
        engine.dispose()
    downgrade(empty_database, "0024")
    assert triggers_and_insert("a4@example.org", "auditor") == (triggers, False)


def test_second_factor_secrets_are_sealed_by_the_upgrade_and_opened_by_the_downgrade(
    empty_database: str,
) -> None:
    """0035 seals each stored TOTP secret under the installation secret's key, bound to its
    account, and drops the clear column; the routing triggers on users stay."""
    from sqlalchemy import text

    import crypto

    secret, installation_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", b"\x05" * 32
    upgrade(empty_database, "0035-1")
    engine = make_engine(empty_database)
    try:
        with engine.begin() as connection:
            for n, value in ((1, secret), (2, None)):
                connection.execute(text(
                    "INSERT INTO users (id, email, name, role, password_hash, "
                    "must_change_password, active, totp_secret, key_scheme, notify, digest_hour, "
                    "created_on, can_sign_in) VALUES (:id, :email, 'A', 'admin', 'x', false, "
                    "true, :secret, 2, 'batch', 7, '2026-12-01', true)"),
                    {"id": n, "email": f"a{n}@example.org", "secret": value})
        with pytest.raises(RuntimeError, match="installation secret"):
            upgrade(empty_database, "0035")
        upgrade(empty_database, "0035", installation_secret=installation_secret)
        with engine.connect() as connection:
            rows = dict(connection.execute(text("SELECT id, totp_sealed FROM users")).all())
        assert "totp_secret" not in {c["name"] for c in inspect(engine).get_columns("users")}
        assert rows[2] is None and secret.encode() not in bytes(rows[1])
        key = crypto.totp_key(installation_secret)
        assert crypto.open_totp_secret(bytes(rows[1]), key, 1) == secret
        downgrade(empty_database, "0035-1", installation_secret=installation_secret)
        with engine.connect() as connection:
            assert dict(connection.execute(text("SELECT id, totp_secret FROM users")).all()) == {
                1: secret, 2: None}
    finally:
        engine.dispose()


def test_tombstone_reasons_are_sealed_to_the_current_readers_by_the_upgrade(
    empty_database: str,
) -> None:
    """0038 seals each stored reason to the case's active readers with a key and the recovery
    key, and drops the clear column; a reason nobody could open goes. The downgrade brings the
    column back empty: the server cannot open what it sealed."""
    from datetime import date

    from sqlalchemy import MetaData, Table, insert, text

    import crypto

    reader, inactive, recovery = (crypto.KeyPair.generate() for _ in range(3))
    reason = "REASON-PLAINTEXT: the photo shows the reporter's face at lane 3"
    upgrade(empty_database, "0038-1")
    engine = make_engine(empty_database)
    try:
        tables = MetaData()
        for name in ("installation", "users", "channels", "reports", "report_readers",
                     "tombstones"):
            Table(name, tables, autoload_with=engine)
        t = tables.tables
        with engine.begin() as connection:
            connection.execute(insert(t["installation"]).values(
                id=1, kdf_salt=bytes(16), kdf_opslimit=1, kdf_memlimit=8192, pad_block=256,
                recovery_public_key=recovery.public_key))
            for uid, active, key in ((1, True, reader), (2, False, inactive), (3, True, None)):
                connection.execute(insert(t["users"]).values(
                    id=uid, email=f"i{uid}@example.org", name="I", role="inspector",
                    password_hash="x", must_change_password=False, can_sign_in=True,
                    active=active, created_on=date(2027, 1, 1), key_scheme=2,
                    public_key=key.public_key if key else None))
            connection.execute(insert(t["channels"]).values(
                id=1, slug="c", name="C", description="", allow_exclusion=False,
                retention_days=100, asks_category=True, asks_unit=True, state="open"))
            for rid, readers in ((1, (1, 2, 3)), (2, (2, 3))):
                connection.execute(insert(t["reports"]).values(
                    id=rid, reference=f"AAAA-AAA{rid}", channel_id=1,
                    created_on=date(2027, 1, 1), lookup_hash=bytes([rid]) * 32, protocol=2,
                    payload=b"x", status="new"))
                for uid in readers:
                    connection.execute(insert(t["report_readers"]).values(
                        report_id=rid, user_id=uid))
                connection.execute(insert(t["tombstones"]).values(
                    id=rid, report_id=rid, kind="attachment", attachment_id="f" * 32,
                    made_on=date(2027, 1, 2), reason=reason))
        upgrade(empty_database, "0038")
        assert "reason" not in {c["name"] for c in inspect(engine).get_columns("tombstones")}
        with engine.connect() as connection:
            payloads = dict(connection.execute(text(
                "SELECT id, reason_payload FROM tombstones")).all())
            slots = {(tid, who): bytes(slot) for tid, who, slot in connection.execute(text(
                "SELECT tombstone_id, reader, slot FROM tombstone_key_slots")).all()}
        # Case 1: its active reader with a key and the recovery key; case 2: nobody.
        assert set(slots) == {(1, "1"), (1, "recovery")} and payloads[2] is None
        payload = bytes(payloads[1])
        assert reason.encode() not in payload
        if engine.dialect.name == "sqlite":  # secure_delete: the freed space is overwritten
            path = Path(str(engine.url.database))
            found = {p.name: reason.encode() in p.read_bytes()
                     for p in path.parent.glob(path.name + "*")}
            assert not any(found.values()), found
        for who, pair in (("1", reader), ("recovery", recovery)):
            assert crypto.open_document(payload, slots[(1, who)], pair.secret_key, 256) == {
                "reason": reason}
        downgrade(empty_database, "0038-1")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, reason FROM tombstones ORDER BY id"))
            assert rows.all() == [(1, ""), (2, "")]
        assert "tombstone_key_slots" not in _tables(empty_database)
    finally:
        engine.dispose()
