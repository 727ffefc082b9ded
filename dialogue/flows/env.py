"""What every flow works with: one transaction, the time, settings and the pseudonymiser."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from dialogue.anonymity import Pseudonymiser
from dialogue.directory import Person
from dialogue.errors import Refusal
from dialogue.formatting import zone
from dialogue.messages import Message
from dialogue.outbox import NewDelivery
from dialogue.pages import paged_deliveries
from dialogue.ports import Repositories
from dialogue.quiet import quiet_for
from dialogue.settings import DialogueSettings


@dataclass(frozen=True)
class Env:
    """One unit of work."""

    tx: Repositories
    now: datetime
    settings: DialogueSettings
    anon: Pseudonymiser

    async def send(self, deliveries: Iterable[NewDelivery]) -> int:
        """Put messages in the outbox (idempotent by key), a long one in parts; how many were new. A new
        message to a person waits for the end of their quiet hours (see :mod:`dialogue.quiet`)."""
        batch = paged_deliveries(list(deliveries))
        if not batch:
            return 0
        waiting = {d.person_id for d in batch if _may_wait(d) and d.person_id is not None}
        if waiting:
            people = {p.id: p for p in await self.tx.directory.people_by_ids(waiting)}
            batch = [
                self._in_quiet_time(d, people.get(d.person_id or 0)) if _may_wait(d) else d for d in batch
            ]
        return await self.tx.outbox.enqueue(batch, now=self.now)

    def quiet_until(self, person: Person, at: datetime) -> datetime:
        """``at``, or the end of the person's quiet hours if it falls in them."""
        quiet = quiet_for(person.quiet_hours, self.settings.quiet_hours)
        return at if quiet is None else quiet.until(at, zone(person.time_zone))

    def _in_quiet_time(self, delivery: NewDelivery, person: Person | None) -> NewDelivery:
        """``delivery`` due once the person's quiet hours are over."""
        at = delivery.not_before or self.now
        due = at if person is None else self.quiet_until(person, at)
        return delivery if due == at else replace(delivery, not_before=due)

    async def person(self, person_id: int | None) -> Person | None:
        """The person, or None."""
        return await self.tx.directory.get_person(person_id) if person_id is not None else None

    async def name(self, person_id: int | None) -> str:
        """Display name of a person, or a neutral word when unknown."""
        person = await self.person(person_id)
        return person.display_name if person else "someone"

    async def team_name(self, team_id: int | None) -> str:
        """Name of a team, or ``no team``."""
        team = await self.tx.directory.get_team(team_id) if team_id is not None else None
        return team.name if team else "no team"

    async def by_handle(self, handle: str) -> Person:
        """The person with this handle (``@`` allowed), or a refusal naming the handle."""
        person = await self.tx.directory.person_by_handle(handle.lstrip("@"))
        if person is None:
            raise Refusal(f"I don't know anyone called {handle!r}. Handles look like `@amira`.")
        return person


def _may_wait(delivery: NewDelivery) -> bool:
    """Whether the delivery is a new message to a person that quiet hours hold back."""
    return delivery.person_id is not None and delivery.replaces is None and not delivery.keep_time


def to_author(key: str, message: Message, *, person_id: int | None, route: str | None) -> NewDelivery:
    """A delivery to the author of an idea or question: by id, or by pseudonymous route if anonymous."""
    if person_id is not None:
        return NewDelivery(key=key, message=message, person_id=person_id)
    return NewDelivery(key=key, message=message, route=route)


def channel_posts(env: Env, key: str, message: Message, *, skip: str | None = None) -> list[NewDelivery]:
    """One delivery of ``message`` to the Q&A channel on every platform that has one, except ``skip``
    (the platform where the text was written in the thread already)."""
    return [
        NewDelivery(
            key=f"{key}:{platform}",
            message=message,
            channel=env.settings.qa_channel,
            platform=platform,
        )
        for platform in env.settings.channel_platforms
        if platform != skip
    ]
