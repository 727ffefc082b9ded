"""Quiet hours: messages nobody asked for wait until they end, in each person's own time.

Pulses, reminders, campaign prompts and news wait; the next question after someone answers one does not
(they are there). An organisation may set hours for everyone; each person may set their own (a night
worker sleeps by day) or none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

NONE = ""  # a person's setting for "no quiet hours", whatever the organisation's
_TIME = r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?"
_RANGE = re.compile(rf"{_TIME}\s*(?:-|–|to|until|till)\s*{_TIME}")


@dataclass(frozen=True)
class QuietHours:
    """From ``start`` to ``end`` each day, local time; past midnight when ``end`` is earlier."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def until(self, at: datetime, zone: tzinfo) -> datetime:
        """``at``, or the end of the quiet hours it falls in, in ``zone`` (as a moment in ``at``'s zone)."""
        local = at.astimezone(zone)
        now = local.time()
        overnight = self.end < self.start
        inside = (now >= self.start or now < self.end) if overnight else self.start <= now < self.end
        if not inside:
            return at
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        # Built on the local wall clock, then read back in that zone: a change of clocks overnight is kept.
        return end.replace(tzinfo=None).replace(tzinfo=zone).astimezone(at.tzinfo)


def parse_quiet(text: str) -> QuietHours:
    """Hours as people write them: ``22:00-07:00``, ``22-7``, ``10pm to 7am``, ``9:00 – 16:30``. Raises
    ValueError saying what is wrong."""
    match = _RANGE.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"“{text.strip()}” is not a start and an end, like 22:00-07:00")
    start, end = _time(*match.groups()[:3]), _time(*match.groups()[3:])
    if start == end:
        raise ValueError("the quiet hours start and end at the same time")
    return QuietHours(start, end)


def _time(hour: str, minute: str | None, half: str | None) -> time:
    value, minutes = int(hour), int(minute or 0)
    if half is not None:
        if not 1 <= value <= 12:
            raise ValueError(f"{hour}{half} is not a time")
        value = value % 12 + (12 if half == "pm" else 0)
    if value > 23 or minutes > 59:
        raise ValueError(f"{hour}:{minute or '00'} is not a time of day")
    return time(value, minutes)


def quiet_for(own: str | None, default: QuietHours | None) -> QuietHours | None:
    """A person's quiet hours: their own (``NONE`` for none), else the organisation's ``default``."""
    if own is None:
        return default
    return parse_quiet(own) if own != NONE else None
