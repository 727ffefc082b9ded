"""Quiet hours as people write them, and when a message that falls in them goes instead."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dialogue.quiet import NONE, QuietHours, parse_quiet, quiet_for

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("typed", "hours"),
    [
        ("22:00-07:00", "22:00-07:00"),
        ("22-7", "22:00-07:00"),
        ("10pm to 7am", "22:00-07:00"),
        ("9:00 – 16:30", "09:00-16:30"),
        ("12am-6am", "00:00-06:00"),
        ("21.30 until 6", "21:30-06:00"),
    ],
)
def test_hours_are_read_as_people_write_them(typed: str, hours: str) -> None:
    assert str(parse_quiet(typed)) == hours


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("nights", "is not a start and an end"),
        ("25:00-07:00", "is not a time of day"),
        ("13pm-7am", "is not a time"),
        ("7-7", "start and end at the same time"),
    ],
)
def test_hours_that_cannot_be_read_say_why(typed: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_quiet(typed)


def test_a_message_in_the_night_waits_for_the_morning_and_one_in_the_day_goes() -> None:
    nights = QuietHours(time(22), time(7))
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 23:30 in London (GMT)
    early = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    day = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert nights.until(late, LONDON) == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert nights.until(early, LONDON) == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert nights.until(day, LONDON) == day


def test_a_day_sleeper_gets_the_morning_pulse_after_waking_in_their_own_zone() -> None:
    sleeps = QuietHours(time(9), time(16))
    monday_nine = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert sleeps.until(monday_nine, LONDON) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    # 09:00 in London is 04:00 in New York: not quiet there.
    assert sleeps.until(monday_nine, ZoneInfo("America/New_York")) == monday_nine


def test_the_end_of_quiet_hours_keeps_to_the_local_clock_when_the_clocks_change() -> None:
    nights = QuietHours(time(22), time(7))
    before_change = datetime(2027, 3, 27, 23, 0, tzinfo=UTC)  # Sat 23:00 GMT; clocks go forward at 01:00
    assert nights.until(before_change, LONDON) == datetime(2027, 3, 28, 6, 0, tzinfo=UTC)  # 07:00 BST


def test_a_persons_own_hours_or_none_override_the_organisations() -> None:
    default = QuietHours(time(21), time(7))
    assert quiet_for(None, default) == default
    assert quiet_for(NONE, default) is None
    assert quiet_for("09:00-16:00", default) == QuietHours(time(9), time(16))
