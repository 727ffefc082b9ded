"""The schedule and conversation repositories on both engines."""

from __future__ import annotations

from dialogue.surveys import OccurrenceKind
from storage import SqlStore
from tests.storage.helpers import at, person


async def test_one_schedule_per_target_and_removal_keeps_the_id(store: SqlStore) -> None:
    async with store.transaction() as tx:
        pulse = await tx.schedules.set_schedule(
            kind=OccurrenceKind.PULSE, target_id=1, cron="0 9 * * MON", time_zone="Europe/London"
        )
        campaign = await tx.schedules.set_schedule(
            kind=OccurrenceKind.CAMPAIGN, target_id=1, cron="0 9 1 * *", time_zone="local"
        )
        replaced = await tx.schedules.set_schedule(
            kind=OccurrenceKind.PULSE, target_id=1, cron="0 10 * * FRI", time_zone="UTC"
        )
        assert replaced.id == pulse.id
        assert (replaced.cron, replaced.time_zone, replaced.active) == ("0 10 * * FRI", "UTC", True)
        assert campaign.local_time
        assert await tx.schedules.schedules() == [replaced, campaign]
    async with store.transaction() as tx:
        await tx.schedules.remove_schedule(OccurrenceKind.PULSE, 1)
        assert await tx.schedules.schedules() == [campaign]
        removed = await tx.schedules.get_schedule(pulse.id)
        assert removed is not None
        assert not removed.active
        revived = await tx.schedules.set_schedule(
            kind=OccurrenceKind.PULSE, target_id=1, cron="0 9 * * MON", time_zone="UTC"
        )
        assert revived.id == pulse.id
        assert revived.active
        assert await tx.schedules.get_schedule(pulse.id + 100) is None


async def test_a_schedule_keeps_when_its_cadence_was_set_until_the_cadence_changes(store: SqlStore) -> None:
    weekly = {"kind": OccurrenceKind.PULSE, "target_id": 1, "time_zone": "Europe/London"}
    async with store.transaction() as tx:
        first = await tx.schedules.set_schedule(**weekly, cron="0 9 * * MON", since=at(0))
        same = await tx.schedules.set_schedule(**weekly, cron="0 9 * * MON", since=at(60))
        assert (first.since, same.since) == (at(0), at(0))  # loaded again unchanged: still since the first
        moved = await tx.schedules.set_schedule(**weekly, cron="0 10 * * MON", since=at(120))
        assert moved.since == at(120)
        await tx.schedules.remove_schedule(OccurrenceKind.PULSE, 1)
        back = await tx.schedules.set_schedule(**weekly, cron="0 10 * * MON", since=at(180))
        assert back.since == at(180)  # switched back on: from now
        unknown = await tx.schedules.set_schedule(**{**weekly, "target_id": 2}, cron="0 9 * * MON")
        assert unknown.since is None


async def test_awaiting_is_set_replaced_and_cleared_conditionally(store: SqlStore) -> None:
    async with store.transaction() as tx:
        amira = await person(tx, "amira")
        assert await tx.conversations.awaiting(amira.id) is None
        await tx.conversations.set_awaiting(amira.id, "item:1:1", at=at(0))
        await tx.conversations.set_awaiting(amira.id, "item:1:2", at=at(1))
    async with store.transaction() as tx:
        assert await tx.conversations.awaiting(amira.id) == "item:1:2"
        await tx.conversations.clear_awaiting(amira.id, "item:1:1")  # no longer what it awaits
        assert await tx.conversations.awaiting(amira.id) == "item:1:2"
        await tx.conversations.clear_awaiting(amira.id, "item:1:2")
        assert await tx.conversations.awaiting(amira.id) is None
        await tx.conversations.set_awaiting(amira.id, "campaign:3", at=at(2))
        await tx.conversations.clear_awaiting(amira.id)
        assert await tx.conversations.awaiting(amira.id) is None
