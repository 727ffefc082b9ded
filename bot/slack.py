"""Wiring of the Slack adapter: the Web API client, the outbox's sender and the Bolt app."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import PLATFORM, SlackContext, create_app
from adapters.slack.sender import SlackSender
from bot.settings import SlackSettings
from dialogue.ports import Clock, Store
from dialogue.service import Dialogue


@dataclass
class SlackParts:
    """What serving one Slack workspace takes."""

    client: AsyncWebClient
    sender: SlackSender
    app: AsyncApp


def build_slack(
    settings: SlackSettings,
    *,
    dialogue: Dialogue,
    store: Store,
    clock: Clock,
    session: aiohttp.ClientSession,
    qa_channel: str,
) -> SlackParts:
    """The Slack client, sender and Bolt app for ``settings``, sharing one HTTP session."""
    client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url, session=session)
    channels = {qa_channel: settings.qa_channel_id} if settings.qa_channel_id else {}

    async def thread_of(ref: str) -> str | None:
        async with store.transaction() as tx:
            return await tx.outbox.thread_of(PLATFORM, ref)

    async def first_time(key: str) -> bool:
        async with store.transaction() as tx:
            return await tx.inbox.first_time(key, at=clock.now())

    context = SlackContext(
        handle=dialogue.handle,
        overview=dialogue.overview,
        thread_of=thread_of,
        first_time=first_time,
        qa_channel_id=settings.qa_channel_id or None,
    )
    # Socket Mode connections are authenticated by the app token, so there is no signature to check.
    options = {} if settings.signing_secret else {"request_verification_enabled": False}
    app = create_app(
        context,
        client=client,
        signing_secret=settings.signing_secret or "socket-mode",
        app_options=options,
    )
    return SlackParts(client=client, sender=SlackSender(client, channels=channels), app=app)
