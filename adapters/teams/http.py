"""Hosting the Teams bot on aiohttp: botbuilder's CloudAdapter behind ``POST /api/messages``."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.serializer_helper import serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter

from adapters.teams.bot import TeamsBot
from adapters.teams.credentials import ReusedConnectorsAuthentication
from adapters.teams.from_json import activity_from

log = logging.getLogger(__name__)

TEAMS_PATH = "/api/messages"
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_adapter(configuration: Any, session: aiohttp.ClientSession) -> CloudAdapter:
    """A CloudAdapter authenticating with ``configuration`` (botbuilder's APP_ID, APP_PASSWORD, ...), its
    calls to the connector going through ``session``.

    A turn that fails is logged and answered with HTTP 500, so Teams retries it, rather than
    botbuilder's default of telling the person "the bot encountered an error" and answering 200.
    """
    adapter = CloudAdapter(ReusedConnectorsAuthentication(configuration, session))

    async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
        # A warning, not an error: proactive sends come through here too, and their 429s are routine (the
        # outbox retries them). Only the type: the message may quote what a person wrote.
        log.warning("Teams turn failed for activity %s: %s", turn_context.activity.id, type(error).__name__)
        raise error

    adapter.on_turn_error = on_turn_error
    return adapter


def messages_route(adapter: CloudAdapter, bot: TeamsBot) -> Route:
    """The handler of ``POST /api/messages``.

    A body that is not a JSON activity is a 400. The request is authenticated before the turn, and any
    failure to authenticate is a 401: botbuilder 4.17's ``CloudAdapter.process`` only maps PermissionError
    to 401 and lets an expired token, an unknown key or a forged signature escape as a 500, which Teams
    would retry. A turn that fails is a 500 (see :func:`make_adapter`).
    """

    async def messages(request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise web.HTTPBadRequest(text="the body must be a JSON activity") from None
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise web.HTTPBadRequest(text="the body must be a JSON activity with a type")
        activity = activity_from(body)
        try:
            authenticated = await adapter.bot_framework_authentication.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except Exception as refused:  # botbuilder raises many types for a bad token; all mean "not you"
            log.warning("Teams request refused (%s): %s", type(refused).__name__, refused)
            raise web.HTTPUnauthorized(text="a valid Bot Framework token is required") from None
        invoke: InvokeResponse | None = await adapter.process_activity(authenticated, activity, bot.on_turn)
        if invoke is None:
            return web.Response(status=201)
        answer = invoke.body if isinstance(invoke.body, dict | None) else serializer_helper(invoke.body)
        return web.json_response(answer, status=invoke.status)

    return messages
