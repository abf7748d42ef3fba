"""The ``integrity`` command run as a person runs it, and its database read afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from integrity.db import make_engine

INTEGRITY = str(Path(sys.executable).with_name("integrity"))


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``integrity *args`` in the environment ``env`` (see the ``env`` fixture). The time
    limit only stops a command that hangs: a loaded machine may take minutes over one."""
    return subprocess.run([INTEGRITY, *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=600)


def database_url(env: dict[str, str]) -> str:
    """The SQLAlchemy URL of the database the command used."""
    url = env.get("INTEGRITY_DATABASE_URL", f"sqlite:///{env['INTEGRITY_DATA_DIR']}/integrity.db")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def count(env: dict[str, str], model: Any, *where: Any) -> int:
    """How many rows of ``model`` (matching ``where``) the command's database holds."""
    engine = make_engine(database_url(env))
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(model).where(*where)) or 0
    finally:
        engine.dispose()
