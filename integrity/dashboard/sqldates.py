"""Date arithmetic in SQL that reads the same on SQLite and PostgreSQL.

The report figures are computed in the database (GROUP BY), and a case's deadlines are
date sums: 7 days after filing, 3 months after the acknowledgement (integrity.cases.deadlines).
SQLite keeps dates as ISO text and PostgreSQL as dates, so each sum has two spellings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Integer, cast, extract, func, literal
from sqlalchemy.sql.elements import ColumnElement

# A day as one increasing number: (year·12 + month)·32 + day. Months are 32 apart, so "the
# same day 3 months later" is key + 96, and a day that month lacks (31 April) falls beyond
# every real day of the month before the next one: comparing keys with "<=" is comparing
# against add_months() with its clamping to the month's last day.
MONTH_STEP = 32


class DateSql:
    """Date expressions for one SQL dialect ("sqlite" or "postgresql")."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def plus_days(self, column: Any, days: int) -> ColumnElement[Any]:
        """``column`` + ``days`` as a date."""
        if self.sqlite:
            return func.date(column, f"{days:+d} days")
        return column + literal(days, Integer)  # type: ignore[no-any-return]

    def days_between(self, later: Any, earlier: Any) -> ColumnElement[int]:
        """Whole days from ``earlier`` to ``later``."""
        if self.sqlite:
            return cast(func.julianday(later) - func.julianday(earlier), Integer)
        return cast(later - earlier, Integer)

    def part(self, field: str, column: Any) -> ColumnElement[int]:
        return cast(extract(field, column), Integer)

    def day_key(self, column: Any) -> ColumnElement[int]:
        """The increasing day number of ``column`` (see MONTH_STEP)."""
        month_index = self.part("year", column) * 12 + self.part("month", column)
        return month_index * MONTH_STEP + self.part("day", column)  # type: ignore[no-any-return]


def day_key(day: date) -> int:
    """The same day number as DateSql.day_key, in Python."""
    return (day.year * 12 + day.month) * MONTH_STEP + day.day
