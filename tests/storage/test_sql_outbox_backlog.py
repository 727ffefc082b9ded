"""The outbox's backlog on both engines: what is due and not yet sent, and since when."""

from __future__ import annotations

from dialogue.messages import Message
from dialogue.outbox import NewDelivery, Sent
from dialogue.text import t
from storage import SqlStore
from tests.storage.helpers import at, person


async def test_backlog_counts_due_unsent_rows_and_finds_the_oldest(store: SqlStore) -> None:
    async with store.transaction() as tx:
        assert await tx.outbox.backlog(at(0)) == (0, None)
        amira = await person(tx, "amira")
        await tx.outbox.enqueue(
            [
                NewDelivery(key=key, message=Message(t(key)), person_id=amira.id, not_before=at(minutes))
                for key, minutes in (("a", 0), ("b", 1), ("c", 2), ("d", 10))
            ],
            now=at(0),
        )
        # Only a is due at 0; rows waiting for a later time are not part of the backlog yet.
        assert await tx.outbox.backlog(at(0)) == (1, at(0))
        (a,) = await tx.outbox.claim(worker="w", now=at(0), limit=10, lease_seconds=60)

    async with store.transaction() as tx:
        # Being sent is not sent: a still counts, and is the oldest.
        assert await tx.outbox.backlog(at(2)) == (3, at(0))
        await tx.outbox.mark_sent([Sent(a.id, "chat", "r1", at(2))])
        assert await tx.outbox.backlog(at(2)) == (2, at(1))
        b, c = await tx.outbox.claim(worker="w", now=at(2), limit=10, lease_seconds=60)
        await tx.outbox.mark_failed(b.id, error="gone")
        await tx.outbox.mark_retry(c.id, error="rate limited", not_before=at(20))

    async with store.transaction() as tx:
        assert await tx.outbox.backlog(at(5)) == (0, None)  # b failed for good, c waits until 20
        assert await tx.outbox.backlog(at(10)) == (1, at(10))
        assert await tx.outbox.backlog(at(30)) == (2, at(10))
        assert await tx.outbox.counts() == {"sent": 1, "failed": 1, "pending": 2}
