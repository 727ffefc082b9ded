"""Wiring of the Slack adapter: the Web API client, the outbox's sender and the Bolt app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.background import Background
from adapters.slack.app import PLATFORM, SlackContext, create_app, slack_background
from adapters.slack.sender import SlackSender
from bot.settings import SlackSettings
from dialogue.events import Event, ProfileLookup
from dialogue.messages import Reply
from dialogue.ports import Clock, Repositories, Store
from dialogue.service import Dialogue

OAUTH_STATE_SECONDS = 600  # an "Add to Slack" click must come back within ten minutes


@dataclass
class SlackParts:
    """What serving one Slack workspace takes."""

    client: AsyncWebClient
    sender: SlackSender
    app: AsyncApp
    background: Background  # the listeners' work after their acks


def build_slack(
    settings: SlackSettings,
    *,
    dialogue: Dialogue,
    store: Store,
    clock: Clock,
    session: aiohttp.ClientSession,
    qa_channel: str,
    engine: AsyncEngine,
    failed: Callable[[str], None] | None = None,
) -> SlackParts:
    """The Slack client, sender and Bolt app for ``settings``, sharing one HTTP session; ``failed`` hears of
    each call back to Slack after an answer that failed (see :class:`Background`).

    In multi-workspace mode installations and OAuth states live in ``engine``'s database, in the
    tables of slack_sdk's SQLAlchemy stores (created by our migrations).
    """
    channels = {qa_channel: settings.qa_channel_id} if settings.qa_channel_id else {}
    # The listeners' client waits out a 429 itself (slack_sdk's retry handler honours Retry-After);
    # the sender's does not: the outbox hears of the 429 and pauses every worker, not one.
    client = AsyncWebClient(token=settings.bot_token or None, base_url=settings.api_url, session=session)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    outbound = AsyncWebClient(token=settings.bot_token or None, base_url=settings.api_url, session=session)

    async def thread_of(ref: str) -> str | None:
        async with store.transaction(read_only=True) as tx:
            return await tx.outbox.thread_of(PLATFORM, ref)

    async def handle_once(event: Event, lookup: ProfileLookup | None, key: str | None) -> Reply:
        # Kept as a keyed digest, as on Teams: the row is written with what the person sent.
        seen = None if key is None else "slack:" + dialogue.pseudonymiser.receipt(key)

        async def arrival(tx: Repositories) -> bool:
            return seen is None or await tx.inbox.first_time(seen, at=clock.now())

        return await dialogue.handle(event, lookup, arrival=arrival)

    context = SlackContext(
        handle=dialogue.handle,
        overview=dialogue.overview,
        thread_of=thread_of,
        handle_once=handle_once,
        qa_channel_id=settings.qa_channel_id or None,
        multi_workspace=settings.oauth is not None,
        background=slack_background(failed),
    )
    # Socket Mode connections are authenticated by the app token, so there is no signature to check.
    options: dict[str, Any] = {} if settings.signing_secret else {"request_verification_enabled": False}
    sender = SlackSender(outbound, channels=channels)
    if settings.oauth is not None:
        installations = AsyncSQLAlchemyInstallationStore(settings.oauth.client_id, engine=engine)
        options["oauth_settings"] = AsyncOAuthSettings(
            client_id=settings.oauth.client_id,
            client_secret=settings.oauth.client_secret,
            scopes=list(settings.oauth.scopes),
            installation_store=installations,
            state_store=AsyncSQLAlchemyOAuthStateStore(expiration_seconds=OAUTH_STATE_SECONDS, engine=engine),
        )
        options["installation_store"] = installations

        async def token_for(team: str) -> str | None:
            bot = await installations.async_find_bot(enterprise_id=None, team_id=team)
            return bot.bot_token if bot is not None else None

        sender = SlackSender(
            outbound, channels=channels, token_for=token_for, channel_team=settings.oauth.qa_team_id
        )
    app = create_app(
        context,
        client=client,
        signing_secret=settings.signing_secret or "socket-mode",
        app_options=options,
    )
    return SlackParts(client=client, sender=sender, app=app, background=context.background)
