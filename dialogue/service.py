"""The core's single entry point: adapters hand it events, the scheduler hands it firings."""

from __future__ import annotations

from datetime import datetime

from dialogue.anonymity import Pseudonymiser
from dialogue.events import Event
from dialogue.messages import Reply
from dialogue.ports import Clock, Store
from dialogue.schedules import Schedule
from dialogue.settings import DialogueSettings


class Dialogue:
    """All four conversations (ideas, pulses, questions, check-ins) behind one object."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        pseudonymiser: Pseudonymiser,
        settings: DialogueSettings | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.pseudonymiser = pseudonymiser
        self.settings = settings or DialogueSettings()

    async def handle(self, event: Event) -> Reply:
        """Answer one inbound event; proactive messages to others go to the outbox."""
        raise NotImplementedError

    async def fire(self, schedule: Schedule, due: datetime) -> int | None:
        """Enqueue the run of ``schedule`` due at ``due`` (UTC); the new occurrence id, or None if
        that run was already enqueued (a repeat firing is harmless)."""
        raise NotImplementedError

    async def tick(self) -> None:
        """Housekeeping due by now: close runs (digests, in-place updates), send reminders to
        non-respondents, flag overdue questions. Each happens once, even if ticks overlap."""
        raise NotImplementedError

    async def next_event(self, after: datetime) -> datetime | None:
        """When :meth:`tick` next has something to do after ``after`` (for moving a clock)."""
        raise NotImplementedError
