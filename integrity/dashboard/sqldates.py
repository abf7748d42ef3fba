"""Date arithmetic in SQL that reads the same on SQLite and PostgreSQL.

The report figures are computed in the database (GROUP BY), and a case's deadlines are
date sums: 7 days after filing, 3 months after the acknowledgement (integrity.cases.deadlines).
SQLite keeps dates as ISO text and PostgreSQL as dates, so each sum has two spellings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, cast, extract, func, literal, text
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

    def on_or_before_months_after(self, day: Any, start: Any, months: int) -> ColumnElement[bool]:
        """``day`` <= the same day ``months`` after ``start`` (the month's last day where it
        has fewer days), as integrity.cases.deadlines.add_months counts."""
        if self.sqlite:
            return self.day_key(day) <= self.day_key(start) + months * MONTH_STEP  # type: ignore[no-any-return]
        # PostgreSQL's date + interval clamps to the month's last day, as add_months does.
        return day <= cast(start + text(f"interval '{int(months)} months'"), Date)  # type: ignore[no-any-return]

    def months_after_before(self, start: Any, months: int, day: date) -> ColumnElement[bool]:
        """The same day ``months`` after ``start`` is before ``day``."""
        if self.sqlite:
            return self.day_key(start) + months * MONTH_STEP < literal(day_key(day))  # type: ignore[no-any-return]
        return cast(start + text(f"interval '{int(months)} months'"), Date) < day  # type: ignore[no-any-return]

    def part(self, field: str, column: Any) -> ColumnElement[int]:
        return cast(extract(field, column), Integer)

    def day_key(self, column: Any) -> ColumnElement[int]:
        """The increasing day number of ``column`` (see MONTH_STEP)."""
        month_index = self.part("year", column) * 12 + self.part("month", column)
        return month_index * MONTH_STEP + self.part("day", column)  # type: ignore[no-any-return]


def day_key(day: date) -> int:
    """The same day number as DateSql.day_key, in Python."""
    return (day.year * 12 + day.month) * MONTH_STEP + day.day
