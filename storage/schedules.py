"""Recurring schedules, one per target."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, or_, select, update

from dialogue.schedules import Schedule
from dialogue.surveys import OccurrenceKind
from storage.models import ScheduleRow
from storage.sql import Repo


def _schedule(row: ScheduleRow) -> Schedule:
    return Schedule(
        id=row.id,
        kind=OccurrenceKind(row.kind),
        target_id=row.target_id,
        cron=row.cron,
        time_zone=row.time_zone,
        active=row.active,
        since=row.since,
        every_weeks=row.every_weeks,
    )


class SqlSchedules(Repo):
    """Implements :class:`dialogue.ports.ScheduleRepo`.

    Removing a schedule deactivates its row instead of deleting it: occurrences keep
    pointing at it, and setting it again revives the same id, so occurrence keys (which
    contain the schedule id) still make a repeated firing harmless.
    """

    async def set_schedule(
        self,
        *,
        kind: OccurrenceKind,
        target_id: int,
        cron: str,
        time_zone: str,
        since: datetime | None = None,
        every_weeks: int = 1,
    ) -> Schedule:
        """Create or replace the schedule of this target (one per target); ``since`` is kept as the time
        its cadence was set only when it is new or changes (cron, zone, weeks, or switched back on)."""
        insert = self.insert(ScheduleRow)
        changed = or_(
            ScheduleRow.cron != cron,
            ScheduleRow.time_zone != time_zone,
            ScheduleRow.every_weeks != every_weeks,
            ScheduleRow.active.is_(False),
        )
        row = await self.session.scalar(
            insert.values(
                kind=OccurrenceKind(kind).value,
                target_id=target_id,
                cron=cron,
                time_zone=time_zone,
                active=True,
                since=since,
                every_weeks=every_weeks,
            )
            .on_conflict_do_update(
                index_elements=[ScheduleRow.kind, ScheduleRow.target_id],
                set_={
                    "cron": cron,
                    "time_zone": time_zone,
                    "every_weeks": every_weeks,
                    "active": True,
                    "since": case((changed, insert.excluded.since), else_=ScheduleRow.since),
                },
            )
            .returning(ScheduleRow)
            .execution_options(populate_existing=True)
        )
        assert row is not None
        return _schedule(row)

    async def remove_schedule(self, kind: OccurrenceKind, target_id: int) -> None:
        """Stop the target's schedule (it no longer appears in :meth:`schedules`)."""
        await self.session.execute(
            update(ScheduleRow)
            .where(ScheduleRow.kind == OccurrenceKind(kind).value, ScheduleRow.target_id == target_id)
            .values(active=False)
        )

    async def schedules(self) -> list[Schedule]:
        """Active schedules, ordered by id."""
        rows = await self.session.scalars(
            select(ScheduleRow)
            .where(ScheduleRow.active.is_(True))
            .order_by(ScheduleRow.id)
            .execution_options(populate_existing=True)
        )
        return [_schedule(row) for row in rows]

    async def get_schedule(self, schedule_id: int) -> Schedule | None:
        """The schedule with this id, also when it was removed (then ``active`` is False)."""
        row = await self.session.get(ScheduleRow, schedule_id, populate_existing=True)
        return _schedule(row) if row else None
