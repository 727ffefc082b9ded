"""Wiring of the Teams adapter: botbuilder's CloudAdapter, the bot, and the outbox's sender."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp

from adapters.background import Background
from adapters.teams import Receipt, TeamsAdapter, TeamsBot, TeamsContext, TeamsSender, make_adapter
from bot.settings import TeamsSettings
from dialogue.events import Event, Identity
from dialogue.messages import Reply
from dialogue.outbox import Contact, contact_key
from dialogue.ports import Clock, Repositories, Store
from dialogue.service import Dialogue

log = logging.getLogger(__name__)
PLATFORM = "teams"


@dataclass
class TeamsParts:
    """What serving Teams takes: the adapter (for /api/messages), the bot, and the sender."""

    adapter: TeamsAdapter
    bot: TeamsBot
    sender: TeamsSender
    background: Background  # slow taps' answers, shown after Teams had a note


def build_teams(
    settings: TeamsSettings,
    *,
    dialogue: Dialogue,
    store: Store,
    clock: Clock,
    session: aiohttp.ClientSession,
    qa_channel: str,
    failed: Callable[[str], None] | None = None,
) -> TeamsParts:
    """The CloudAdapter, bot and sender for ``settings``; references and retries live in ``store``, the
    sender's calls go through ``session``; ``failed`` hears of each slow tap whose answer could not be
    shown (see :class:`Background`)."""
    if not settings.app_id:
        log.warning(
            "TEAMS RUNS UNAUTHENTICATED: no MICROSOFT_APP_ID is set, so /api/messages accepts requests "
            "from anyone. Use this only on your own machine; set MICROSOFT_APP_ID in production."
        )
    configuration = SimpleNamespace(
        APP_ID=settings.app_id or None,
        APP_PASSWORD=settings.app_password or None,
        APP_TYPE=settings.app_type if settings.app_id else "MultiTenant",  # no credentials to check
        APP_TENANTID=settings.tenant_id or None,
        # botbuilder mishandles a missing token under overridden endpoints when unauthenticated.
        **(dict(settings.endpoints) if settings.app_id else {}),
    )
    adapter = make_adapter(configuration, session)

    async def keep(tx: Repositories, who: Identity, reference: dict[str, Any]) -> None:
        await tx.contacts.keep_contact(Contact(PLATFORM, contact_key(who), reference), at=clock.now())

    async def remember(who: Identity, reference: dict[str, Any]) -> None:
        async with store.transaction() as tx:
            await keep(tx, who, reference)

    async def record(tx: Repositories, receipt: Receipt) -> bool:
        seen, sender = receipt
        if seen is not None and not await tx.inbox.first_time(seen, at=clock.now()):
            return False
        if sender is not None:
            await keep(tx, *sender)
        return True

    async def arrived(receipt: Receipt) -> bool:
        # One unit of work for both: a turn's first database round trips, so there are as few as can be.
        if receipt == (None, None):
            return True  # nothing to record (no write transaction, which on SQLite queues for the lock)
        async with store.transaction() as tx:
            return await record(tx, receipt)

    async def handle_arrived(event: Event, receipt: Receipt) -> Reply:
        return await dialogue.handle(event, arrival=functools.partial(record, receipt=receipt))

    async def forget(who: Identity) -> None:
        async with store.transaction() as tx:
            await tx.contacts.set_reachable(PLATFORM, contact_key(who), False, at=clock.now())

    async def contact(key: str) -> Contact | None:
        async with store.transaction(read_only=True) as tx:
            return await tx.contacts.contact(PLATFORM, key)

    async def thread_of(conversation_id: str) -> str | None:
        async with store.transaction(read_only=True) as tx:
            return await tx.outbox.thread_of(PLATFORM, conversation_id)

    async def unsee(key: str) -> None:
        async with store.transaction() as tx:
            await tx.inbox.forget(key)

    async def team_installed(key: str, data: dict[str, Any] | None) -> None:
        async with store.transaction() as tx:
            if data is None:
                await tx.contacts.set_reachable(PLATFORM, key, False, at=clock.now())
            else:
                await tx.contacts.save_contact(Contact(PLATFORM, key, data), at=clock.now())

    context = TeamsContext(
        dialogue.handle,
        remember,
        forget,
        thread_of,
        arrived,
        unsee,
        team_installed,
        handle_arrived,
        background=Background("Teams", failed),
        digest=dialogue.pseudonymiser.receipt,
    )
    bot = TeamsBot(context)
    sender = TeamsSender(
        adapter,
        app_id=settings.app_id,
        tenant_id=settings.tenant_id,
        service_url=settings.service_url,
        channels={qa_channel: settings.qa_channel_id} if settings.qa_channel_id else {},
        contact=contact,
        remember=remember,
        forget=forget,
    )
    return TeamsParts(adapter=adapter, bot=bot, sender=sender, background=context.background)
