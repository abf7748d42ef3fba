"""The ``integrity`` command, run as an administrator would run it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from integrity.db import make_engine
from integrity.models import Category, Channel, OrgUnit, User
from tests.conftest import FAST_ARGON2, POSTGRES_URL, _pg_url, create_pg_database, drop_pg_database

INTEGRITY = str(Path(sys.executable).with_name("integrity"))


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def env(request: pytest.FixtureRequest, tmp_path: Path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    environment["INTEGRITY_DATA_DIR"] = str(tmp_path / "data")
    for name, value in FAST_ARGON2.items():
        environment[f"INTEGRITY_{name.upper()}"] = str(value)
    name = None
    if request.param == "postgresql":
        name = create_pg_database()
        environment["INTEGRITY_DATABASE_URL"] = _pg_url(name)
    yield environment
    if name:
        drop_pg_database(name)


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [INTEGRITY, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def _count(env: dict[str, str], model) -> int:
    url = env.get("INTEGRITY_DATABASE_URL", f"sqlite:///{env['INTEGRITY_DATA_DIR']}/integrity.db")
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(model))
    finally:
        engine.dispose()


def test_init_is_idempotent_and_writes_a_secret_key_once(env) -> None:
    first = run(env, "init")
    assert first.returncode == 0, first.stderr
    assert "Wrote a new secret key" in first.stdout
    key = (Path(env["INTEGRITY_DATA_DIR"]) / "secret_key").read_text()
    second = run(env, "init")
    assert second.returncode == 0, second.stderr
    assert "Wrote a new secret key" not in second.stdout
    assert (Path(env["INTEGRITY_DATA_DIR"]) / "secret_key").read_text() == key


def test_user_add_prints_a_one_time_passphrase(env) -> None:
    run(env, "init")
    result = run(env, "user", "add", "--role", "inspector", "--email", "Ana@Example.org",
                 "--name", "Ana")
    assert result.returncode == 0, result.stderr
    assert "One-time passphrase" in result.stdout
    assert "two-factor" in result.stdout
    duplicate = run(env, "user", "add", "--role", "manager", "--email", "ana@example.org",
                    "--name", "Ana again")
    assert duplicate.returncode != 0
    assert "already exists" in duplicate.stderr
    assert _count(env, User) == 1


def test_user_add_reads_a_passphrase_from_stdin(env) -> None:
    run(env, "init")
    result = run(env, "user", "add", "--role", "manager", "--email", "m@example.org",
                 "--name", "M", "--password-stdin", stdin="a long enough passphrase\n")
    assert result.returncode == 0, result.stderr
    assert "One-time passphrase" not in result.stdout
    short = run(env, "user", "add", "--role", "manager", "--email", "n@example.org",
                "--name", "N", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "at least 12 characters" in short.stderr


def test_demo_loads_once_however_often_it_runs(env) -> None:
    run(env, "init")
    first = run(env, "demo")
    assert first.returncode == 0, first.stderr
    assert "admin@demo.invalid" in first.stdout
    counts = [_count(env, model) for model in (User, OrgUnit, Channel, Category)]
    assert counts[0] == 3 and counts[1] >= 15 and counts[2] == 1 and counts[3] == 11
    second = run(env, "demo")
    assert second.returncode == 0, second.stderr
    assert "already present" in second.stdout
    assert [_count(env, model) for model in (User, OrgUnit, Channel, Category)] == counts


def test_commands_without_init_explain_what_to_do(env) -> None:
    result = run(env, "demo")
    assert result.returncode != 0
    assert "integrity init" in result.stderr
