"""Where the dashboard keeps the summaries of closed survey waves, which no longer change
(``pages._stored_summary`` works one out once, under a key of everything it depends on).

On PostgreSQL a table, so that a summary one server worked out serves every other; on SQLite
files under ``<data>/cache``. Either way a summary that cannot be read or kept only costs the
next request the same work: it is never the only copy of anything. A summary holds the
figures the dashboard shows of the wave, with the small cells already withheld.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import cast

from sqlalchemy import ForeignKey, String, Table, Text, delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from integrity.db import Base


class KeptWaveSummary(Base):
    """A closed wave's summary (JSON) under the key it was worked out for."""

    __tablename__ = "wave_summaries"

    wave_id: Mapped[int] = mapped_column(
        ForeignKey("survey_waves.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    summary: Mapped[str] = mapped_column(Text)


SUMMARIES = cast(Table, KeptWaveSummary.__table__)


class WaveSummaries(ABC):
    """Summaries of closed waves as JSON text, by wave and key."""

    @abstractmethod
    def get(self, wave_id: int, key: str) -> str | None:
        """The summary kept under ``key``, or None."""

    @abstractmethod
    def put(self, wave_id: int, key: str, text: str) -> None:
        """Keep ``text`` under ``key`` (the wave's summaries under other keys may go)."""

    @abstractmethod
    def kept(self, wave_id: int) -> list[str]:
        """Every summary kept of the wave."""


def wave_summaries_for(engine: Engine, folder: Path) -> WaveSummaries:
    """A table on PostgreSQL, the folder ``<data>/cache`` on SQLite."""
    if engine.dialect.name == "postgresql":
        return TableSummaries(engine)
    return FolderSummaries(folder)


class FolderSummaries(WaveSummaries):
    """``wave-<id>-<key>.json`` files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, wave_id: int, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("not a summary key")
        return self.folder / f"wave-{int(wave_id)}-{key}.json"

    def get(self, wave_id: int, key: str) -> str | None:
        try:
            return self._path(wave_id, key).read_text()
        except OSError:
            return None

    def put(self, wave_id: int, key: str, text: str) -> None:
        path = self._path(wave_id, key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(text)
            os.replace(temporary, path)
        except OSError:
            pass  # a read-only data folder only costs the next request the same work

    def kept(self, wave_id: int) -> list[str]:
        found = sorted(self.folder.glob(f"wave-{int(wave_id)}-*.json"))
        return [path.read_text() for path in found]


class TableSummaries(WaveSummaries):
    """Rows of ``wave_summaries``, each read and written in a transaction of its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, wave_id: int, key: str) -> str | None:
        with self._engine.connect() as connection:
            return connection.scalar(select(SUMMARIES.c.summary).where(
                SUMMARIES.c.wave_id == wave_id, SUMMARIES.c.key == key))

    def put(self, wave_id: int, key: str, text: str) -> None:
        try:
            with self._engine.begin() as connection:
                # A summary under another key (other thresholds, units or responses) is
                # stale: the wave's figures are shown under the key of now.
                connection.execute(delete(SUMMARIES).where(SUMMARIES.c.wave_id == wave_id))
                connection.execute(insert(SUMMARIES).values(wave_id=wave_id, key=key,
                                                            summary=text))
        except IntegrityError:
            pass  # another server kept it first (or the wave is gone): nothing to add

    def kept(self, wave_id: int) -> list[str]:
        with self._engine.connect() as connection:
            return list(connection.scalars(select(SUMMARIES.c.summary).where(
                SUMMARIES.c.wave_id == wave_id).order_by(SUMMARIES.c.key)))
