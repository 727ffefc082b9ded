"""Units of work: a read-only one does not wait behind a writer, on either engine."""

from __future__ import annotations

import asyncio

from dialogue.directory import Role
from storage import SqlStore


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
