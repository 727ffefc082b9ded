"""Recurring schedules. The scheduler decides when; the core makes each firing idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dialogue.surveys import OccurrenceKind

# A schedule whose time zone is LOCAL_TIME fires at its cron time in each recipient's own zone.
LOCAL_TIME = "local"


@dataclass(frozen=True)
class Schedule:
    """Runs a campaign, pulse or check-in on a cron cadence in a time zone."""

    id: int
    kind: OccurrenceKind
    target_id: int
    cron: str  # five-field crontab: minute hour day month day-of-week
    time_zone: str  # IANA name, or LOCAL_TIME
    active: bool = True
    # When its cadence was set (None: not known, as before this was kept): it never fires for an earlier
    # time, so a schedule loaded at noon does not send that morning's run as a late one.
    since: datetime | None = None
    # Runs only in every n-th week its cron matches, counted from the first run after ``since`` (a
    # fortnightly check-in: cron cannot say "every other Monday").
    every_weeks: int = 1

    @property
    def local_time(self) -> bool:
        """True when each recipient gets it at the cron time in their own time zone."""
        return self.time_zone == LOCAL_TIME


def occurrence_key(schedule_id: int, due: datetime) -> str:
    """The unique key of a scheduled firing: the same schedule and due time never run twice."""
    return f"schedule:{schedule_id}:{due.isoformat()}"


# Local-time schedules are evaluated in the first zone on earth to reach a wall-clock time;
# each recipient's delivery then waits until that wall-clock time in their own zone.
EARLIEST_ZONE = "Etc/GMT-14"
# A local-time run caught up late (loaded or restarted after its time had come somewhere) reaches nobody
# whose own time of it passed longer ago than this: a 09:00 check-in must not arrive at night.
LOCAL_LATE = timedelta(hours=6)


def firing_zone(schedule: Schedule) -> str:
    """The zone the scheduler evaluates the cron expression in."""
    return EARLIEST_ZONE if schedule.local_time else schedule.time_zone
