"""Hosting the Teams bot on aiohttp: botbuilder's CloudAdapter behind ``POST /api/messages``."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from adapters.teams.bot import TeamsBot

log = logging.getLogger(__name__)

TEAMS_PATH = "/api/messages"
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_adapter(configuration: Any) -> CloudAdapter:
    """A CloudAdapter authenticating with ``configuration`` (botbuilder's APP_ID, APP_PASSWORD, ...).

    A turn that fails is logged and answered with HTTP 500, so Teams retries it, rather than
    botbuilder's default of telling the person "the bot encountered an error" and answering 200.
    """
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(configuration))

    async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
        log.error("Teams turn failed for activity %s: %r", turn_context.activity.id, error)
        raise error

    adapter.on_turn_error = on_turn_error
    return adapter


def messages_route(adapter: CloudAdapter, bot: TeamsBot) -> Route:
    """The handler of ``POST /api/messages``: a body that is not a JSON object is a 400, not a 500."""

    async def messages(request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise web.HTTPBadRequest(text="the body must be a JSON activity") from None
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise web.HTTPBadRequest(text="the body must be a JSON activity with a type")
        response: web.StreamResponse = await adapter.process(request, bot)
        return response

    return messages
