"""Units of work on either engine: a read-only one does not wait behind a writer; writers queue."""

from __future__ import annotations

import asyncio

from dialogue.directory import Role
from storage import SqlStore
from tests.storage.helpers import T0


async def test_a_lookup_is_not_held_up_by_a_write_in_progress(store: SqlStore) -> None:
    async with store.transaction() as tx:
        await tx.directory.upsert_person(
            handle="amira", display_name="Amira", time_zone="UTC", roles={Role.STAFF}
        )

    async with store.transaction() as writer:
        await writer.directory.upsert_person(
            handle="ben", display_name="Ben", time_zone="UTC", roles={Role.STAFF}
        )
        # The writer holds SQLite's write lock until it commits; a reading unit of work sees the last
        # committed state at once, where a writing one would wait (up to the 5 s busy timeout).
        async with asyncio.timeout(2), store.transaction(read_only=True) as reader:
            assert await reader.directory.person_by_handle("amira") is not None
            assert await reader.directory.person_by_handle("ben") is None

    async with store.transaction(read_only=True) as reader:
        assert await reader.directory.person_by_handle("ben") is not None


async def test_a_burst_of_writers_all_get_their_turn(store: SqlStore) -> None:
    # Sixteen units of work at once, each holding the write lock 0.4 s: the last waits 6 s in all. Left
    # to SQLite's busy handler (5 s timeout) the last ones failed with "database is locked"; they queue.
    async def write(n: int) -> None:
        async with store.transaction() as tx:
            assert await tx.inbox.first_time(f"burst:{n}", at=T0)
            await asyncio.sleep(0.4)  # a slow unit of work, such as a fan-out to thousands

    await asyncio.gather(*(write(n) for n in range(16)))

    async with store.transaction() as tx:  # each was recorded: recording it again says so
        assert [await tx.inbox.first_time(f"burst:{n}", at=T0) for n in range(16)] == [False] * 16
