"""The running bot as the console adapter sees it: the core, a movable clock, the scheduler and the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import scheduler
from bot.bootstrap import App
from bot.clock import MovableClock
from dialogue.events import Event
from dialogue.messages import Reply


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
