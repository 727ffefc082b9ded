"""The inbox of handled platform events: a retried event is recognised, also across stores (replicas)."""

from __future__ import annotations

from storage import SqlStore
from tests.storage.helpers import at


async def test_an_event_counts_once_even_from_another_replica(database_url: str, store: SqlStore) -> None:
    replica = SqlStore(database_url)
    try:
        async with store.transaction() as tx:
            assert await tx.inbox.first_time("slack:Ev01", at=at(0))
            assert not await tx.inbox.first_time("slack:Ev01", at=at(0))
        async with replica.transaction() as tx:
            assert not await tx.inbox.first_time("slack:Ev01", at=at(1))
            assert await tx.inbox.first_time("slack:Ev02", at=at(1))
    finally:
        await replica.close()


async def test_old_arrivals_are_forgotten_and_recent_ones_kept(store: SqlStore) -> None:
    async with store.transaction() as tx:
        assert await tx.inbox.first_time("teams:old", at=at(0))
        assert await tx.inbox.first_time("teams:new", at=at(3 * 24 * 60))  # three days later

    async with store.transaction() as tx:
        assert await tx.inbox.forget_before(at(2 * 24 * 60)) == 1

    async with store.transaction() as tx:
        assert await tx.inbox.first_time("teams:old", at=at(3 * 24 * 60))  # forgotten: new again
        assert not await tx.inbox.first_time("teams:new", at=at(3 * 24 * 60))
