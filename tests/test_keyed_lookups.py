"""Lookup hashes keyed with the installation secret (docs/protocol.md#keyed-lookup-hashes):
a copy of the database alone cannot tell whether a receipt is right."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

import crypto
from integrity import current
from integrity.app import create_app
from integrity.config import Settings
from integrity.db import dispose, make_engine
from integrity.migrate import upgrade
from integrity.reporting.models import Report
from tests.conftest import FAST_ARGON2, make_settings
from tests.protocol_client import ReporterClient

ANSWERS = {"what": "Fuel waved through at the north gate"}


def _stored_values(db) -> list[bytes]:
    return [value for row in db.execute(select(Report)).scalars()
            for value in (row.lookup_hash, row.reporter_public_key, row.payload) if value]


def test_a_copy_of_the_database_cannot_confirm_the_right_receipt(
    app, db, reporter: ReporterClient, channel, tmp_path: Path, database_url: str
) -> None:
    filed = reporter.file(channel.slug, ANSWERS)
    keys = filed.keys
    # Everything that follows from the right receipt without the installation secret...
    guesses = [keys.lookup, crypto.lookup_hash(keys.lookup),
               crypto.lookup_hash(crypto.lookup_hash(keys.lookup))]
    stored = _stored_values(db)
    assert not any(guess in value for guess in guesses for value in stored)
    # ... while the secret confirms it.
    keyed = crypto.keyed_lookup_hash(keys.lookup, current.lookup_key(app))
    assert db.scalar(select(Report.id).where(Report.lookup_hash == keyed)) is not None

    # The same database served with another installation secret opens nothing.
    other = create_app(make_settings(tmp_path / "elsewhere", database_url))
    try:
        answer = other.test_client().post("/api/v1/mailbox",
                                          json={"lookup": crypto.b64encode(keys.lookup)})
        assert answer.status_code == 404
    finally:
        dispose(other)
    assert reporter.mailbox(filed.receipt)["report"]["document"]["answers"] == ANSWERS


def test_the_installation_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings.from_env(environ={}, data_dir=tmp_path, secret_key="k" * 32)
    app = create_app(settings)
    try:
        path = tmp_path / "installation_secret"
        assert path.stat().st_mode & 0o077 == 0
        first = current.lookup_key(app)
    finally:
        dispose(app)
    again = create_app(settings)
    try:
        assert current.lookup_key(again) == first
    finally:
        dispose(again)
    configured = Settings.from_env(environ={"INTEGRITY_INSTALLATION_SECRET":
                                            crypto.b64encode(bytes(32))}, data_dir=tmp_path)
    assert configured.load_installation_secret() == bytes(32)
    bad = Settings.from_env(environ={"INTEGRITY_INSTALLATION_SECRET": "short"},
                            data_dir=tmp_path)
    with pytest.raises(ValueError, match="INTEGRITY_INSTALLATION_SECRET"):
        bad.load_installation_secret()


def test_stored_protocol_1_hashes_are_keyed_by_the_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0017")
    engine = make_engine(url)
    lookup = os.urandom(32)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO channels (id, slug, name, description, state, allow_exclusion, "
                "asks_category, asks_unit, retention_days, translations) "
                "VALUES (1, 'c', 'C', '', 'open', 0, 1, 1, 30, '{}')"))
            connection.execute(text(
                "INSERT INTO reports (channel_id, created_on, lookup_hash, payload, status, "
                "protocol) VALUES (1, '2026-12-01', :hash, :payload, 'new', 1)"),
                {"hash": crypto.lookup_hash(lookup), "payload": b"x"})
        with pytest.raises(RuntimeError, match="installation secret"):
            upgrade(url)
        secret = os.urandom(32)
        upgrade(url, installation_secret=secret)
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT lookup_hash FROM reports")).scalar()
        assert stored == crypto.keyed_lookup_hash(lookup, crypto.lookup_key(secret))
    finally:
        engine.dispose()


def test_init_writes_the_installation_secret_and_says_to_back_it_up(tmp_path: Path) -> None:
    integrity = str(Path(sys.executable).with_name("integrity"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    env["INTEGRITY_DATA_DIR"] = str(tmp_path / "data")
    env.update({f"INTEGRITY_{k.upper()}": str(v) for k, v in FAST_ARGON2.items()})
    first = subprocess.run([integrity, "init"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert first.returncode == 0, first.stderr
    assert "installation secret" in first.stdout and "back it up" in first.stdout
    secret = (tmp_path / "data" / "installation_secret").read_text()
    second = subprocess.run([integrity, "init"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert "installation secret" not in second.stdout
    assert (tmp_path / "data" / "installation_secret").read_text() == secret
