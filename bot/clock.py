"""Clocks: the real one, and one that tests and the console move by hand."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


class MovableClock:
    """A clock that stands still until moved, so a week can pass in a second."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The time the clock was last set to."""
        return self._now

    def set(self, when: datetime) -> None:
        """Move the clock to ``when``; it never goes backwards (occurrences and leases rely on it)."""
        if when.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware time")
        when = when.astimezone(UTC)
        if when < self._now:
            raise ValueError(f"the clock cannot go back from {self._now:%Y-%m-%d %H:%M} to {when:%H:%M}")
        self._now = when
