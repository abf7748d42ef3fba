"""Legal deadlines of a case (EU Directive 2019/1937, Art. 9; ISO 37002).

Acknowledge a report within 7 days of receiving it; give the reporter feedback within
3 months of the acknowledgement or, when none was sent, of the end of those 7 days. The
inbox, the case page, the dashboard and the reminders all use these functions.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

ACKNOWLEDGE_DAYS = 7
FEEDBACK_MONTHS = 3


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day where it has fewer days."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def acknowledge_by(created_on: date) -> date:
    """The last day to acknowledge a report filed on ``created_on``."""
    return created_on + timedelta(days=ACKNOWLEDGE_DAYS)


def feedback_by(created_on: date, acknowledged_on: date | None) -> date:
    """The last day to give feedback: 3 months from acknowledgement, or from the 7th day."""
    start = acknowledged_on or acknowledge_by(created_on)
    return add_months(start, FEEDBACK_MONTHS)


def next_due(created_on: date, acknowledged_on: date | None,
             feedback_on: date | None) -> date | None:
    """The day the pending deadline falls due, or None once feedback was given."""
    if acknowledged_on is None:
        return acknowledge_by(created_on)
    if feedback_on is None:
        return feedback_by(created_on, acknowledged_on)
    return None


@dataclass(frozen=True)
class Deadlines:
    acknowledge_by: date
    feedback_by: date
    acknowledged_on: date | None
    feedback_on: date | None
    today: date

    @property
    def acknowledge_overdue(self) -> bool:
        """Not acknowledged and past the day, or acknowledged late."""
        done = self.acknowledged_on
        return (done is None and self.today > self.acknowledge_by) or (
            done is not None and done > self.acknowledge_by
        )

    @property
    def feedback_overdue(self) -> bool:
        done = self.feedback_on
        return (done is None and self.today > self.feedback_by) or (
            done is not None and done > self.feedback_by
        )

    @property
    def pending(self) -> str | None:
        """The next deadline still to meet: "acknowledge", "feedback", or None."""
        if self.acknowledged_on is None:
            return "acknowledge"
        if self.feedback_on is None:
            return "feedback"
        return None

    @property
    def days_left(self) -> int | None:
        """Days until the pending deadline (negative when overdue)."""
        if self.pending == "acknowledge":
            return (self.acknowledge_by - self.today).days
        if self.pending == "feedback":
            return (self.feedback_by - self.today).days
        return None


def deadlines(created_on: date, acknowledged_on: date | None, feedback_on: date | None,
              today: date) -> Deadlines:
    """Every deadline fact of one case on ``today``."""
    return Deadlines(acknowledge_by(created_on), feedback_by(created_on, acknowledged_on),
                     acknowledged_on, feedback_on, today)
