"""Deadlines around month ends and leap years (Directive 2019/1937, Art. 9)."""

from datetime import date

import pytest

from integrity.cases.deadlines import acknowledge_by, add_months, deadlines, feedback_by


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),   # leap year
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2027, 11, 30), 3, date(2028, 2, 29)),  # into a leap February
    (date(2026, 10, 31), 3, date(2027, 1, 31)),
    (date(2026, 12, 15), 3, date(2027, 3, 15)),  # across the year
    (date(2028, 2, 29), 12, date(2029, 2, 28)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
])
def test_months_are_added_with_the_day_clamped_to_the_month(start, months, expected) -> None:
    assert add_months(start, months) == expected


def test_acknowledgement_is_due_seven_days_after_filing() -> None:
    assert acknowledge_by(date(2026, 12, 28)) == date(2027, 1, 4)
    assert acknowledge_by(date(2028, 2, 25)) == date(2028, 3, 3)   # through 29 February
    assert acknowledge_by(date(2027, 2, 25)) == date(2027, 3, 4)


def test_feedback_runs_from_acknowledgement_or_from_the_seventh_day() -> None:
    assert feedback_by(date(2026, 11, 20), date(2026, 11, 30)) == date(2027, 2, 28)
    # Never acknowledged: three months from the end of the seven days (27 Nov -> 27 Feb).
    assert feedback_by(date(2026, 11, 20), None) == date(2027, 2, 27)
    # Filed 24 Jan 2028: the seven days end on 31 Jan; three months later is 30 April.
    assert feedback_by(date(2028, 1, 24), None) == date(2028, 4, 30)
    assert feedback_by(date(2027, 11, 23), date(2027, 11, 30)) == date(2028, 2, 29)


def test_overdue_states_on_the_edge_days() -> None:
    filed = date(2026, 11, 1)
    due = deadlines(filed, None, None, today=date(2026, 11, 8))
    assert due.acknowledge_by == date(2026, 11, 8)
    assert not due.acknowledge_overdue and due.days_left == 0 and due.pending == "acknowledge"
    late = deadlines(filed, None, None, today=date(2026, 11, 9))
    assert late.acknowledge_overdue and late.days_left == -1
    acknowledged_late = deadlines(filed, date(2026, 11, 9), None, today=date(2026, 11, 9))
    assert acknowledged_late.acknowledge_overdue and acknowledged_late.pending == "feedback"
    on_time = deadlines(filed, date(2026, 11, 3), None, today=date(2027, 2, 3))
    assert on_time.feedback_by == date(2027, 2, 3) and not on_time.feedback_overdue
    assert deadlines(filed, date(2026, 11, 3), None, today=date(2027, 2, 4)).feedback_overdue
    done = deadlines(filed, date(2026, 11, 3), date(2026, 12, 1), today=date(2027, 6, 1))
    assert not done.feedback_overdue and done.pending is None and done.days_left is None
