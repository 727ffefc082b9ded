"""The running bot as the console adapter sees it: the core, a movable clock, the scheduler and the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.console import Answered
from bot import scheduler
from bot.bootstrap import CONSOLE, App
from bot.clock import MovableClock
from bot.colleagues import others_answer
from dialogue.events import Event
from dialogue.flows.surveys import ANSWER_ACTION
from dialogue.messages import Message, Reply

EARLIER_SHOWN = 5  # messages from earlier runs shown again: the newest that still have buttons
NEWS_SHOWN = 10  # and the newest without buttons that came since the person was last watched


class AppConsoleHost:
    """Implements :class:`adapters.console.ConsoleHost` for a built :class:`~bot.bootstrap.App`."""

    def __init__(self, app: App, clock: MovableClock) -> None:
        self.app = app
        self.clock = clock

    async def handle(self, event: Event) -> Reply:
        """Pass the event to the core."""
        return await self.app.dialogue.handle(event)

    async def advance(self, delta: timedelta) -> None:
        """Move the clock on, firing schedules and housekeeping on the way, delivering after each step."""
        await scheduler.advance(
            dialogue=self.app.dialogue,
            store=self.app.store,
            clock=self.clock,
            until=self.clock.now() + delta,
            after_step=self.app.worker.drain,
        )

    async def settle(self) -> None:
        """Deliver what is due now, so messages to anyone print straight away."""
        await self.app.worker.drain()

    def now(self) -> datetime:
        """The console's clock."""
        return self.clock.now()

    async def knows(self, handle: str) -> bool:
        """Whether someone in the directory has ``handle``."""
        async with self.app.store.transaction(read_only=True) as tx:
            return await tx.directory.person_by_handle(handle) is not None

    async def others_answer(self, handle: str) -> Answered:
        """The rest of the staff answer what waits for them (made-up answers), delivered at once."""
        answered = await others_answer(self.app.dialogue, self.app.store, but=handle)
        await self.app.worker.drain()
        return answered

    async def mark(self) -> int:
        """Where the outbox stands: messages up to it are an earlier run's (see :meth:`news`)."""
        async with self.app.store.transaction(read_only=True) as tx:
            return await tx.outbox.newest_id()

    async def news(self, handle: str, *, after: int | None, until: int) -> list[Message]:
        """Messages without buttons an earlier run printed (or held) for ``handle``, between two marks."""
        async with self.app.store.transaction(read_only=True) as tx:
            person = await tx.directory.person_by_handle(handle)
            if person is None:
                return []
            return await tx.outbox.sent_between(
                person.id, CONSOLE, after=after, until=until, limit=NEWS_SHOWN
            )

    async def still_to_pick(self, handle: str) -> list[tuple[str, Message]]:
        """Messages printed to ``handle`` by earlier console runs that still have buttons, oldest first."""
        async with self.app.store.transaction(read_only=True) as tx:
            person = await tx.directory.person_by_handle(handle)
            if person is None:
                return []
            earlier = await tx.outbox.still_to_pick(person.id, CONSOLE, limit=EARLIER_SHOWN)
        # A question answered keeps its buttons (to change the answer): not one that "still waits".
        open_refs = await self.app.dialogue.unanswered(person.id)
        return [
            (ref, message)
            for ref, message in earlier
            if not any(c.action == ANSWER_ACTION and c.ref not in open_refs for c in message.choices)
        ]
