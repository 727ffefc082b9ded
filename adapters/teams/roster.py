"""Reading the roster of a team the app is installed in, through the Bot Connector (``TeamsInfo``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import ConversationReference

PAGE = 500  # the most Teams returns per page of a roster


@dataclass(frozen=True)
class RosterMember:
    """One person in a team's roster: their Entra ID object id (our Teams identity), name and email."""

    user_id: str
    name: str
    email: str


async def team_roster(
    adapter: CloudAdapter, *, app_id: str, reference: dict[str, Any], team_id: str
) -> list[RosterMember]:
    """Everyone in the team ``team_id``, read page by page in a proactive turn on the team's reference."""
    members: list[RosterMember] = []

    async def read(turn_context: TurnContext) -> None:
        token: str | None = None
        while True:
            page = await TeamsInfo.get_paged_team_members(turn_context, team_id, token, PAGE)
            for member in page.members or []:
                user_id = member.aad_object_id or member.id
                if user_id:
                    name = member.name or member.given_name or user_id
                    members.append(RosterMember(str(user_id), str(name), str(member.email or "")))
            token = page.continuation_token
            if not token:
                return

    await adapter.continue_conversation(ConversationReference().deserialize(reference), read, app_id)
    return members
