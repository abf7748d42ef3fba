"""The scheduler's clock: real time, or a faster one for tests and drills."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta


class Clock:
    """Real time, in UTC. A wave's day starts at midnight UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()

    def start_of(self, day: date) -> datetime:
        """When ``day`` begins: the run time of a job due on that day."""
        return datetime.combine(day, time(), UTC)


@dataclass
class FastClock(Clock):
    """A controlled clock for tests and drills: from ``started`` on, each day lasts
    ``seconds_per_day`` real seconds, ``first_day`` being the day at ``started``."""

    first_day: date
    seconds_per_day: float = 1.0
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def today(self) -> date:
        elapsed = (datetime.now(UTC) - self.started).total_seconds()
        return self.first_day + timedelta(days=int(elapsed // self.seconds_per_day))

    def start_of(self, day: date) -> datetime:
        offset = (day - self.first_day).days * self.seconds_per_day
        return self.started + timedelta(seconds=offset)
