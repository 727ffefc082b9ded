"""Microsoft Teams adapter: botbuilder's CloudAdapter, a TeamsActivityHandler that only translates,
Adaptive Card rendering, and the outbox's proactive sender. botbuilder is imported only here."""

from botbuilder.integration.aiohttp import CloudAdapter as TeamsAdapter

from adapters.teams.bot import Receipt, TeamsBot, TeamsContext
from adapters.teams.http import TEAMS_PATH, make_adapter, messages_route
from adapters.teams.sender import TeamsSender

__all__ = [
    "TEAMS_PATH",
    "Receipt",
    "TeamsAdapter",
    "TeamsBot",
    "TeamsContext",
    "TeamsSender",
    "make_adapter",
    "messages_route",
]
