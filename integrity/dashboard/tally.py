"""The counts behind one cell of the report figures, which add up over cells and months."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

COUNTS = ("received", "acknowledge_due", "acknowledged_in_time", "feedback_due",
          "feedback_in_time", "closed", "came_back", "open", "overdue")
HISTOGRAMS = ("outcomes", "days_to_acknowledge", "days_to_close")


@dataclass
class Tally:
    """Counts behind one cell; tallies of disjoint sets of reports add up."""

    received: int = 0
    acknowledge_due: int = 0
    acknowledged_in_time: int = 0
    feedback_due: int = 0
    feedback_in_time: int = 0
    closed: int = 0
    came_back: int = 0
    open: int = 0
    overdue: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    days_to_acknowledge: Counter[int] = field(default_factory=Counter)
    days_to_close: Counter[int] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outcomes.update(other.outcomes)
        self.days_to_acknowledge.update(other.days_to_acknowledge)
        self.days_to_close.update(other.days_to_close)
