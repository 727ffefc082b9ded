"""Sent marks, written in groups: what the platforms accepted is recorded as soon as the database can.

Every delivery waits until its own mark is committed, so at most the deliveries in flight can be sent but
not yet recorded (a crash repeats only those). Marks that arrive while a group is being written go in the
next group, so a busy outbox commits once for many messages and an idle one at once for a single message:
no timer, no added wait.
"""

from __future__ import annotations

import asyncio

from dialogue.outbox import Sent
from dialogue.ports import Store


class SentMarks:
    """Records :class:`Sent` deliveries, one transaction for whatever is waiting."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: list[tuple[Sent, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0  # transactions written (for tests and benchmarks)

    async def record(self, sent: Sent) -> None:
        """Return once ``sent`` is committed; raise what the database raised if it could not be."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((sent, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await done

    async def _write(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                async with self.store.transaction() as tx:
                    await tx.outbox.mark_sent([sent for sent, _ in group])
            except Exception as exc:  # every delivery in the group learns it was not recorded
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in group:
                    if not done.done():
                        done.set_result(None)
            self.groups += 1
