"""Teams-shaped incoming activities, as Microsoft Teams posts them to a bot's messaging endpoint.

:class:`TeamsActivities` builds the JSON bodies (camelCase, as on the wire) for one bot in one tenant::

    teams = TeamsActivities(service_url=fake.url, app_id=APP_ID)
    amira = make_member("Amira Haddad")
    body = teams.personal_message("I have an idea", sender=amira)

Shapes follow what Teams sends (Teams bot docs' sample payloads and botbuilder's Teams tests): ``channelId``
"msteams"; ``from`` with the user's ``29:`` id, name and ``aadObjectId``; ``recipient`` the bot as
``28:<app id>``; ``conversation`` with ``conversationType`` ("personal" or "channel") and ``tenantId``;
``channelData.tenant.id`` always, ``channelData.team``/``channel`` in teams; a ``clientInfo`` entity with the
user's locale and time zone. Members (:func:`make_member`) have the ``TeamsChannelAccount`` shape the
connector's roster calls return, so the same dicts seed :class:`tests.teams.fake_connector.FakeConnector`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

CHANNEL_ID = "msteams"
TENANT_ID = "6e8f2c4a-1b3d-4c5e-9f7a-0b1c2d3e4f50"
APP_ID = "3f2b7c1e-8a4d-4e6f-9b0a-1c2d3e4f5a6b"
BOT_NAME = "nextpractice"
SERVICE_URL = "https://smba.trafficmanager.net/emea/"
LOCALE = "en-GB"
TIMEZONE = "Europe/London"
ADAPTIVE_CARD_ACTION = "adaptiveCard/action"

Json = dict[str, Any]
_ids = itertools.count(1)
_NAMESPACE = uuid.UUID("a3c1d6f0-4b2e-4f7a-8c9d-0e1f2a3b4c5d")


def _token(*parts: str, length: int = 40) -> str:
    """A stable opaque string from ``parts``, in the base64url alphabet Teams ids use."""
    digest = hashlib.sha256("|".join(parts).encode()).digest() * 2
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def bot_id(app_id: str = APP_ID) -> str:
    """The bot's id in Teams conversations: ``28:`` and its app id."""
    return f"28:{app_id}"


def personal_conversation_id(app_id: str, user_id: str) -> str:
    """The id of the one-to-one conversation between a bot and a user: stable, as in Teams (``a:1...``)."""
    return "a:1" + _token(app_id, user_id, length=60)


def thread_id(name: str) -> str:
    """A team or channel id shaped like Teams' (``19:...@thread.tacv2``)."""
    return f"19:{hashlib.sha256(name.encode()).hexdigest()[:32]}@thread.tacv2"


def make_member(
    name: str,
    *,
    email: str | None = None,
    aad_object_id: str | None = None,
    user_id: str | None = None,
    tenant_id: str = TENANT_ID,
    user_role: str = "user",
) -> Json:
    """A user as the connector's roster calls return them (``TeamsChannelAccount``), ids made from ``name``.

    Pass ids to pin them; by default they are stable for a name and tenant.
    """
    given, _, surname = name.partition(" ")
    aad = aad_object_id or str(uuid.uuid5(_NAMESPACE, f"{tenant_id}/{name}"))
    address = email or f"{name.lower().replace(' ', '.')}@example.org"
    member: Json = {
        "id": user_id or "29:1" + _token(tenant_id, aad, length=80),
        "name": name,
        "aadObjectId": aad,
        "givenName": given,
        "surname": surname,
        "email": address,
        "userPrincipalName": address,
        "tenantId": tenant_id,
        "userRole": user_role,
    }
    if not surname:
        del member["surname"]
    return member


@dataclass(frozen=True)
class Team:
    """A team: its id (also its General channel's id), name, Entra group id and channels (id, name).

    Teams leaves the General channel's name out (``None``) when it lists a team's channels.
    """

    id: str
    name: str
    aad_group_id: str
    channels: tuple[tuple[str, str | None], ...] = ()

    @property
    def general_channel_id(self) -> str:
        return self.id


def make_team(name: str, channels: Sequence[str] = ()) -> Team:
    """A team with its General channel and one channel per name in ``channels``."""
    team_id = thread_id(name)
    listed: list[tuple[str, str | None]] = [(team_id, None)]
    listed += [(thread_id(f"{name}/{channel}"), channel) for channel in channels]
    return Team(team_id, name, str(uuid.uuid5(_NAMESPACE, f"group/{name}")), tuple(listed))


def _account(member: Mapping[str, Any]) -> Json:
    """The ``from`` / ``membersAdded`` account of a user: what Teams puts in activities (no email or UPN)."""
    account: Json = {"id": member["id"], "name": member.get("name", "")}
    if member.get("aadObjectId"):
        account["aadObjectId"] = member["aadObjectId"]
    return account


@dataclass(frozen=True)
class TeamsActivities:
    """Builds the activities Teams posts to one bot (``app_id``) in one tenant, through ``service_url``."""

    service_url: str = SERVICE_URL
    app_id: str = APP_ID
    tenant_id: str = TENANT_ID
    bot_name: str = BOT_NAME
    locale: str = LOCALE
    timezone: str = TIMEZONE
    now: dt.datetime | None = field(default=None, compare=False)  # a fixed clock for golden tests

    # ---- parts ----

    @property
    def bot(self) -> Json:
        return {"id": bot_id(self.app_id), "name": self.bot_name}

    def personal_conversation(self, member: Mapping[str, Any]) -> Json:
        return {
            "conversationType": "personal",
            "tenantId": self.tenant_id,
            "id": personal_conversation_id(self.app_id, member["id"]),
        }

    def channel_conversation(self, channel_id: str, root_id: str | None = None) -> Json:
        """A channel conversation; with ``root_id``, the thread under that message (``;messageid=``)."""
        suffix = f";messageid={root_id}" if root_id else ""
        return {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": self.tenant_id,
            "id": channel_id + suffix,
        }

    def client_info(self) -> Json:
        country = self.locale.partition("-")[2] or "GB"
        return {
            "type": "clientInfo",
            "locale": self.locale,
            "country": country,
            "platform": "Web",
            "timezone": self.timezone,
        }

    def _stamp(self) -> Json:
        moment = self.now or dt.datetime.now(dt.UTC)
        utc = moment.astimezone(dt.UTC)
        local = moment.astimezone(ZoneInfo(self.timezone))
        return {
            "timestamp": utc.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "localTimestamp": local.isoformat(timespec="milliseconds"),
        }

    def _message_id(self) -> str:
        """A message id as Teams gives them: the post time in milliseconds since the epoch."""
        moment = self.now or dt.datetime.now(dt.UTC)
        return str(int(moment.timestamp() * 1000) + next(_ids))

    @staticmethod
    def _event_id() -> str:
        """The id of a non-message activity (``f:`` and digits)."""
        return f"f:{7_000_000_000_000_000_000 + next(_ids)}"

    def _base(self, kind: str, *, sender: Mapping[str, Any], conversation: Json, channel_data: Json) -> Json:
        return {
            "type": kind,
            "id": self._message_id() if kind == "message" else self._event_id(),
            **self._stamp(),
            "serviceUrl": self.service_url,
            "channelId": CHANNEL_ID,
            "from": _account(sender),
            "conversation": conversation,
            "recipient": self.bot,
            "channelData": channel_data,
        }

    def _team_channel_data(self, team: Team, channel_id: str, *, full_team: bool = False) -> Json:
        team_part: Json = {"id": team.id}
        if full_team:
            team_part.update(name=team.name, aadGroupId=team.aad_group_id)
        return {
            "teamsChannelId": channel_id,
            "teamsTeamId": team.id,
            "channel": {"id": channel_id},
            "team": team_part,
            "tenant": {"id": self.tenant_id},
        }

    # ---- messages ----

    def personal_message(self, text: str, *, sender: Mapping[str, Any]) -> Json:
        """A message a user writes to the bot in their one-to-one chat with it."""
        activity = self._base(
            "message",
            sender=sender,
            conversation=self.personal_conversation(sender),
            channel_data={"tenant": {"id": self.tenant_id}},
        )
        activity.update(
            text=text,
            textFormat="plain",
            attachments=[],
            entities=[self.client_info()],
            locale=self.locale,
            localTimezone=self.timezone,
        )
        return activity

    def channel_message(
        self,
        text: str,
        *,
        sender: Mapping[str, Any],
        team: Team,
        channel_id: str | None = None,
        reply_to: str | None = None,
        mention_bot: bool = True,
    ) -> Json:
        """A channel post (or, with ``reply_to``, a reply in that post's thread) that @mentions the bot.

        Bots only hear channel messages that mention them; the mention arrives in ``text`` as
        ``<at>bot name</at>``, with a ``mention`` entity and an HTML copy of the message as an attachment.
        """
        channel = channel_id or team.general_channel_id
        message_id = self._message_id()
        activity = self._base(
            "message",
            sender=sender,
            conversation=self.channel_conversation(channel, reply_to or message_id),
            channel_data=self._team_channel_data(team, channel),
        )
        activity["id"] = message_id
        entities: list[Json] = []
        html = text
        if mention_bot:
            mention = f"<at>{self.bot_name}</at>"
            entities.append({"type": "mention", "mentioned": self.bot, "text": mention})
            html = (
                f'<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">{self.bot_name}'
                f"</span>&nbsp;{text}"
            )
            text = f"{mention} {text}"
        entities.append(self.client_info())
        activity.update(
            text=text + "\n",
            textFormat="plain",
            attachments=[{"contentType": "text/html", "content": f"<p>{html}</p>"}],
            entities=entities,
            locale=self.locale,
            localTimezone=self.timezone,
        )
        if reply_to:
            activity["replyToId"] = reply_to
        return activity

    # ---- Adaptive Card Universal Actions ----

    def card_action(
        self,
        verb: str,
        data: Mapping[str, Any] | None = None,
        *,
        sender: Mapping[str, Any],
        message_id: str,
        team: Team | None = None,
        channel_id: str | None = None,
        title: str | None = None,
    ) -> Json:
        """The ``adaptiveCard/action`` invoke Teams sends when ``sender`` presses an ``Action.Execute``.

        ``message_id`` is the bot's message holding the card (``replyToId``). In a personal chat unless
        ``team`` is given; then in ``channel_id`` (default General), in the thread of ``message_id``.
        """
        action: Json = {"type": "Action.Execute", "verb": verb, "data": dict(data or {})}
        if title is not None:
            action["title"] = title
        if team is None:
            conversation = self.personal_conversation(sender)
            channel_data: Json = {"tenant": {"id": self.tenant_id}}
        else:
            channel = channel_id or team.general_channel_id
            conversation = self.channel_conversation(channel, message_id)
            channel_data = self._team_channel_data(team, channel)
        channel_data["source"] = {"name": "message"}
        channel_data["legacy"] = {"replyToId": message_id}
        activity = self._base("invoke", sender=sender, conversation=conversation, channel_data=channel_data)
        activity.update(
            name=ADAPTIVE_CARD_ACTION,
            value={"action": action, "trigger": "manual"},
            replyToId=message_id,
            entities=[self.client_info()],
            locale=self.locale,
            localTimezone=self.timezone,
        )
        return activity

    # ---- membership and installation ----

    def bot_added(self, *, by: Mapping[str, Any], team: Team | None = None) -> Json:
        """``conversationUpdate``: the bot was added to ``by``'s personal scope, or by ``by`` to ``team``."""
        return self._members_added([self.bot], by=by, team=team)

    def member_added(
        self, member: Mapping[str, Any], *, team: Team, by: Mapping[str, Any] | None = None
    ) -> Json:
        """``conversationUpdate``: ``member`` joined a team the bot is in."""
        return self._members_added([_account(member)], by=by or member, team=team)

    def _members_added(self, added: list[Json], *, by: Mapping[str, Any], team: Team | None) -> Json:
        if team is None:
            conversation = self.personal_conversation(by)
            channel_data: Json = {"tenant": {"id": self.tenant_id}}
        else:
            conversation = self.channel_conversation(team.general_channel_id)
            channel_data = {
                "team": {"aadGroupId": team.aad_group_id, "name": team.name, "id": team.id},
                "eventType": "teamMemberAdded",
                "tenant": {"id": self.tenant_id},
            }
        activity = self._base(
            "conversationUpdate", sender=by, conversation=conversation, channel_data=channel_data
        )
        activity["membersAdded"] = added
        return activity

    def installation_update(
        self, action: str = "add", *, by: Mapping[str, Any], team: Team | None = None
    ) -> Json:
        """``installationUpdate``: the app was installed (``add``) or uninstalled (``remove``) by ``by``,
        in their personal scope or in ``team``."""
        if team is None:
            conversation = self.personal_conversation(by)
            channel_data: Json = {"tenant": {"id": self.tenant_id}, "source": {"name": "message"}}
        else:
            conversation = self.channel_conversation(team.general_channel_id)
            channel_data = {
                "settings": {"selectedChannel": {"id": team.general_channel_id}},
                "channel": {"id": team.general_channel_id},
                "team": {"name": team.name, "aadGroupId": team.aad_group_id, "id": team.id},
                "tenant": {"id": self.tenant_id},
                "source": {"name": "message"},
            }
        activity = self._base(
            "installationUpdate", sender=by, conversation=conversation, channel_data=channel_data
        )
        activity.update(action=action, entities=[self.client_info()], locale=self.locale)
        return activity
