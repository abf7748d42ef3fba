"""``integrity user invite``: the first administrator gets a set-up link, not a passphrase;
a setting saved in the database reaches the command line too."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from integrity.db import make_engine
from integrity.models import Invitation, StoredSetting, User
from tests.helpers.cli import count, database_url, run


def test_user_invite_prints_a_one_time_link_and_stores_only_its_hash(env) -> None:
    assert run(env, "init").returncode == 0
    engine = make_engine(database_url(env))
    try:
        # A public address saved on the settings page is the one the link uses.
        with engine.begin() as connection:
            connection.execute(StoredSetting.__table__.insert().values(
                name="public_url", value='"http://integrity.customs.example"',
                updated_at=datetime(2026, 1, 1)))
        result = run(env, "user", "invite", "--role", "admin", "--email", "Root@Example.org",
                     "--name", "First Admin")
        assert result.returncode == 0, result.stderr
        match = re.search(r"(http://integrity\.customs\.example/staff/setup/(\S+)\?lang=en)",
                          result.stdout)
        assert match, result.stdout
        token = match.group(2)
        with engine.connect() as connection:
            user = connection.execute(select(User.__table__).where(
                User.email == "root@example.org")).one()
            stored = connection.execute(select(Invitation.token_hash)).scalar_one()
        assert user.login_salt is None and user.role == "admin"
        assert token.encode() not in stored and len(stored) == 32
    finally:
        engine.dispose()
    again = run(env, "user", "invite", "--role", "manager", "--email", "root@example.org",
                "--name", "Again")
    assert again.returncode != 0 and "already exists" in again.stderr
    assert count(env, User) == 1
