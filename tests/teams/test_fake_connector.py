"""The local Bot Framework Connector and auth, driven by botframework-connector and botbuilder themselves.

Proves that :class:`FakeConnector` answers the real ``ConnectorClient``, ``CloudAdapter`` and ``TeamsInfo``
the way the connector does (with and without auth), that its failures reach callers as the real ones would,
that it validates what it receives, and that :class:`LocalAuth` lets a real ``CloudAdapter`` accept and
refuse channel tokens with no network at all.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from botbuilder.core import InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import (
    Activity,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)
from botbuilder.schema.teams import TeamInfo, TeamsChannelAccount
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials

from tests.teams.activities import (
    APP_ID,
    TENANT_ID,
    TeamsActivities,
    bot_id,
    make_member,
    make_team,
    personal_conversation_id,
)
from tests.teams.conftest import APP_PASSWORD
from tests.teams.fake_connector import (
    ROUTES,
    Delivered,
    FakeConnector,
    check_activity,
    load_spec,
    validator_for,
)
from tests.teams.tokens import BotSettings, LocalAuth, bearer, settings_for

AMIRA = make_member("Amira Haddad")
ANSWERED = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Thanks for answering"}],
}
CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "How was your week?"}],
    "actions": [{"type": "Action.Execute", "title": "Good", "verb": "pulse", "data": {"answer": "good"}}],
}


def client_for(fake: FakeConnector) -> ConnectorClient:
    """botframework-connector's own client, without credentials (a bot with no app id)."""
    return ConnectorClient(MicrosoftAppCredentials.empty(), base_url=fake.url)


def adapter_for(settings: BotSettings) -> CloudAdapter:
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(settings))


def message(text: str, conversation_id: str, **extra: Any) -> Activity:
    return Activity(type="message", text=text, conversation=ConversationAccount(id=conversation_id), **extra)


def one_to_one(member: dict[str, Any]) -> ConversationParameters:
    """What a bot posts to start a chat with one user (botbuilder sends tenant_id as "tenantID")."""
    return ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id=bot_id(APP_ID)),
        members=[ChannelAccount(id=member["id"])],
        tenant_id=TENANT_ID,
        channel_data={"tenant": {"id": TENANT_ID}},
    )


# ---- the schema validation is real ----


def test_the_spec_is_the_connector_api_with_the_activity_definition() -> None:
    spec = load_spec()
    assert spec["swagger"] == "2.0"
    assert "/v3/conversations/{conversationId}/activities/{activityId}" in spec["paths"]
    # Refs are resolved: an activity's type is checked against #/definitions/ActivityTypes.
    assert not validator_for("Activity").is_valid({"type": 7})
    assert not validator_for("Activity").is_valid({"type": "mesage"})


def test_every_conversation_operation_of_the_spec_is_served() -> None:
    served = {(method, re.sub(r"\{(\w+)\}", "{}", route)) for method, route, _ in ROUTES}
    spec_operations = {
        (method.upper(), re.sub(r"\{(\w+)\}", "{}", route))
        for route, operations in load_spec()["paths"].items()
        for method in operations
        if route.startswith("/v3/conversations")
    }

    assert spec_operations <= served
    # And Teams' extensions that TeamsInfo calls, which the spec lacks.
    assert served - spec_operations == {
        ("GET", "/v3/conversations/{}/members/{}"),
        ("GET", "/v3/teams/{}"),
        ("GET", "/v3/teams/{}/conversations"),
    }


def test_a_well_formed_message_passes_and_wrong_types_do_not() -> None:
    good = {
        "type": "message",
        "text": "Hello",
        "from": {"id": bot_id(APP_ID), "name": "nextpractice"},
        "conversation": {"id": "a:1x", "conversationType": "personal", "isGroup": False},
        "timestamp": "2026-03-02T09:30:00.123Z",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": CARD}],
        "entities": [{"type": "mention", "text": "<at>Amira</at>", "mentioned": {"id": AMIRA["id"]}}],
        "channelData": {"notification": {"alert": True}},
    }
    bad = {
        "type": "mesage",
        "text": 42,
        "from": "nextpractice",
        "conversation": {"id": "a:1x", "isGroup": "yes"},
        "timestamp": "yesterday",
        "attachments": {"contentType": "text/plain"},
        "entities": ["mention"],
        "replyToId": 1700000000001,
    }

    problems = check_activity(bad)

    assert check_activity(good) == []
    where = {problem.split(":")[0] for problem in problems}
    assert where == {
        "type",
        "text",
        "from",
        "conversation/isGroup",
        "timestamp",
        "attachments",
        "entities/0",
        "replyToId",
    }


def test_the_connectors_own_rules_come_on_top_of_the_schema() -> None:
    no_type = check_activity({"text": "Hello"})
    empty = check_activity({"type": "message"})
    broken_card = check_activity(
        {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": {"body": []}}
            ],
        }
    )

    assert no_type == ["type: an activity needs a type"]
    assert len(empty) == 1 and "needs text, attachments or suggestedActions" in empty[0]
    assert len(broken_card) == 1 and "AdaptiveCard object" in broken_card[0]


def test_the_built_incoming_activities_are_valid_and_teams_shaped() -> None:
    teams = TeamsActivities(service_url="https://smba.trafficmanager.net/emea/")
    team = make_team("Operations", ["Ideas"])
    built = {
        "personal": teams.personal_message("I have an idea", sender=AMIRA),
        "channel": teams.channel_message("Idea: fewer meetings", sender=AMIRA, team=team),
        "action": teams.card_action("pulse", {"answer": "good"}, sender=AMIRA, message_id="1700000000001"),
        "bot added": teams.bot_added(by=AMIRA),
        "bot added to team": teams.bot_added(by=AMIRA, team=team),
        "member added": teams.member_added(AMIRA, team=team),
        "installed": teams.installation_update("add", by=AMIRA),
        "uninstalled": teams.installation_update("remove", by=AMIRA, team=team),
    }

    for name, activity in built.items():
        assert check_activity(activity) == [], name
        assert activity["channelId"] == "msteams" and activity["recipient"]["id"] == f"28:{APP_ID}", name
        assert activity["conversation"]["tenantId"] == TENANT_ID, name
        assert activity["channelData"]["tenant"]["id"] == TENANT_ID, name
        assert activity["from"]["aadObjectId"] == AMIRA["aadObjectId"], name
    personal, channel = built["personal"], built["channel"]
    assert personal["conversation"] == {
        "conversationType": "personal",
        "tenantId": TENANT_ID,
        "id": personal_conversation_id(APP_ID, AMIRA["id"]),
    }
    assert personal["entities"][0]["timezone"] == "Europe/London"
    assert channel["conversation"]["id"] == f"{team.id};messageid={channel['id']}"
    assert channel["channelData"]["team"] == {"id": team.id}
    assert channel["text"].startswith("<at>nextpractice</at> ")
    assert built["action"]["value"]["action"]["type"] == "Action.Execute"
    assert built["action"]["value"]["trigger"] == "manual"
    assert built["bot added"]["membersAdded"] == [{"id": f"28:{APP_ID}", "name": "nextpractice"}]
    assert built["uninstalled"]["action"] == "remove"


# ---- the real ConnectorClient, no auth ----


async def test_send_reply_update_and_delete_through_the_real_client(fake_connector: FakeConnector) -> None:
    fake = fake_connector
    client = client_for(fake)
    chat = personal_conversation_id(APP_ID, AMIRA["id"])

    sent = await client.conversations.send_to_conversation(chat, message("How was your week?", chat))
    replied = await client.conversations.reply_to_activity(chat, sent.id, message("Thanks!", chat))
    card = message(
        "",
        chat,
        id=sent.id,
        attachments=[{"contentType": "application/vnd.microsoft.card.adaptive", "content": CARD}],
    )
    card.text = None
    updated = await client.conversations.update_activity(chat, sent.id, card)
    await client.conversations.delete_activity(chat, replied.id)

    assert sent.id != replied.id and updated.id == sent.id
    assert [call.operation for call in fake.calls] == [
        "send_to_conversation",
        "reply_to_activity",
        "update_activity",
        "delete_activity",
    ]
    assert [call.status for call in fake.calls] == [201, 201, 200, 200]
    assert all("Authorization" not in call.headers for call in fake.calls)  # no app id, no token
    (now,) = fake.conversation(chat)
    assert now["attachments"][0]["content"]["type"] == "AdaptiveCard" and now["id"] == sent.id
    assert fake.deleted == [(chat, replied.id)]
    assert [d.operation for d in fake.activities] == [
        "send_to_conversation",
        "reply_to_activity",
        "update_activity",
    ]
    assert fake.violations == []


async def test_updating_or_deleting_an_unknown_message_is_not_found(fake_connector: FakeConnector) -> None:
    client = client_for(fake_connector)

    with pytest.raises(ErrorResponseException) as updated:
        await client.conversations.update_activity("a:1x", "404", message("Edited", "a:1x", id="404"))
    with pytest.raises(ErrorResponseException) as deleted:
        await client.conversations.delete_activity("a:1x", "404")

    # One call each: msrest's retry policy only retries 408 and 5xx.
    assert updated.value.response.status_code == deleted.value.response.status_code == 404
    assert len(fake_connector.calls) == 2 and fake_connector.violations == []


async def test_rosters_whole_and_paged_and_one_member(fake_connector: FakeConnector) -> None:
    fake = fake_connector
    crowd = [make_member(f"Person {n:03d}") for n in range(120)]
    fake.set_roster("19:big@thread.tacv2", crowd)
    client = client_for(fake)

    everyone = await client.conversations.get_conversation_members("a:1x")
    pages = []
    token = None
    while True:
        page = await client.conversations.get_teams_conversation_paged_members(
            "19:big@thread.tacv2", 50, token
        )
        pages.append(page.members)
        token = page.continuation_token
        if not token:
            break
    one = await client.conversations.get_conversation_member("a:1x", AMIRA["aadObjectId"])

    assert [member.name for member in everyone] == ["Amira Haddad", "Ben Okafor", "Chloe Martin"]
    assert [len(page) for page in pages] == [50, 50, 20]
    assert [member.aad_object_id for page in pages for member in page] == [m["aadObjectId"] for m in crowd]
    first = pages[0][0]
    assert (first.email, first.user_principal_name, first.tenant_id) == (
        crowd[0]["email"],
        crowd[0]["userPrincipalName"],
        TENANT_ID,
    )
    assert one.id == AMIRA["id"]  # looked up by Entra object id, as Teams allows
    assert fake.violations == []


async def test_creating_a_chat_gives_the_same_conversation_per_user(fake_connector: FakeConnector) -> None:
    client = client_for(fake_connector)
    parameters = one_to_one(AMIRA)
    parameters.activity = Activity(type="message", text="Welcome to nextpractice")

    first = await client.conversations.create_conversation(parameters)
    again = await client.conversations.create_conversation(one_to_one(AMIRA))

    assert first.id == again.id == personal_conversation_id(APP_ID, AMIRA["id"])
    assert first.activity_id and again.activity_id is None
    assert fake_connector.conversation(first.id)[0]["text"] == "Welcome to nextpractice"
    assert [member["id"] for member in fake_connector.roster(first.id)] == [AMIRA["id"]]
    assert fake_connector.violations == []


async def test_a_post_in_a_channel_starts_a_thread_the_bot_can_reply_in(
    fake_connector: FakeConnector,
) -> None:
    client = client_for(fake_connector)
    team = make_team("Operations", ["Ideas"])
    ideas = team.channels[1][0]
    post = ConversationParameters(
        is_group=True,
        bot=ChannelAccount(id=bot_id(APP_ID)),
        channel_data={"channel": {"id": ideas}, "tenant": {"id": TENANT_ID}},
        activity=MessageFactory.text("This month's idea campaign: paperwork"),
    )

    created = await client.conversations.create_conversation(post)
    reply = await client.conversations.reply_to_activity(
        created.id, created.activity_id, message("Reply with your idea", created.id)
    )

    assert created.id == f"{ideas};messageid={created.activity_id}"
    assert [m["text"] for m in fake_connector.conversation(created.id)] == [
        "This month's idea campaign: paperwork",
        "Reply with your idea",
    ]
    assert reply.id != created.activity_id and fake_connector.violations == []


async def test_invalid_requests_are_refused_and_recorded(fake_connector: FakeConnector) -> None:
    fake = fake_connector
    client = client_for(fake)

    with pytest.raises(ErrorResponseException) as empty:
        await client.conversations.send_to_conversation(
            "a:1x", Activity(type="message", conversation=ConversationAccount(id="a:1x"))
        )
    with pytest.raises(ErrorResponseException) as elsewhere:
        await client.conversations.send_to_conversation("a:1x", message("Hi", "a:1y"))
    members = [ChannelAccount(id=AMIRA["id"]), ChannelAccount(id="29:1other")]
    group_chat = ConversationParameters(
        bot=ChannelAccount(id=bot_id(APP_ID)), members=members, tenant_id=TENANT_ID
    )
    with pytest.raises(ErrorResponseException) as group:
        await client.conversations.create_conversation(group_chat)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.url}v3/conversations/a:1x/activities", json={"type": 3}) as typed:
            typed_status = typed.status
        async with session.get(f"{fake.url}v3/bots") as unknown:
            unknown_status = unknown.status

    assert empty.value.response.status_code == 400 and empty.value.error.error.code == "BadArgument"
    assert elsewhere.value.response.status_code == group.value.response.status_code == 400
    assert (typed_status, unknown_status) == (400, 404)
    assert len(fake.violations) == 6
    assert "a message needs text" in fake.violations[0]
    assert "is not the conversation of the URL" in fake.violations[1]
    assert "one-to-one chat" in fake.violations[2]
    assert fake.violations[3].startswith("POST /v3/conversations/a:1x/activities: type: 3 is not one of [")
    assert fake.violations[4] == "POST /v3/conversations/a:1x/activities: type: 3 is not of type 'string'"
    assert fake.violations[5] == "GET /v3/bots: no such operation in the Connector API"
    assert fake.activities == []


async def test_an_oversized_message_is_refused_with_413(fake_connector: FakeConnector) -> None:
    client = client_for(fake_connector)

    with pytest.raises(ErrorResponseException) as raised:
        await client.conversations.send_to_conversation("a:1x", message("x" * 30_000, "a:1x"))

    assert raised.value.response.status_code == 413
    assert raised.value.error.error.code == "MessageSizeTooBig"
    assert len(fake_connector.violations) == 1 and "28 KB" in fake_connector.violations[0]


# ---- scripted failures reach the caller as the real ones do ----


async def test_a_rate_limit_reaches_the_caller_with_status_and_retry_after(
    fake_connector: FakeConnector,
) -> None:
    fake = fake_connector
    client = client_for(fake)
    fake.rate_limit_next(2, retry_after=7, conversation_id="a:1busy")

    other = await client.conversations.send_to_conversation("a:1calm", message("Hi", "a:1calm"))
    errors = []
    for _ in range(2):
        with pytest.raises(ErrorResponseException) as raised:
            await client.conversations.send_to_conversation("a:1busy", message("Hi", "a:1busy"))
        errors.append(raised.value)
    after = await client.conversations.send_to_conversation("a:1busy", message("Hi", "a:1busy"))

    assert other.id and after.id  # only the named conversation, and only twice
    for error in errors:
        assert error.response.status_code == 429
        assert error.response.headers["Retry-After"] == "7"
        assert error.error.error.code == "Throttled"
    assert [call.status for call in fake.calls] == [201, 429, 429, 201]  # msrest does not retry a 429
    assert fake.violations == []


async def test_a_server_error_on_a_post_reaches_the_caller_but_msrest_retries_reads_and_updates(
    fake_connector: FakeConnector,
) -> None:
    fake = fake_connector
    client = client_for(fake)
    sent = await client.conversations.send_to_conversation("a:1x", message("Hi", "a:1x"))

    fake.server_error_next(1, status=503)
    with pytest.raises(ErrorResponseException) as raised:
        await client.conversations.send_to_conversation("a:1x", message("Hi again", "a:1x"))
    fake.server_error_next(1, status=502)
    members = await client.conversations.get_conversation_members("a:1x")
    fake.server_error_next(1, status=504)
    await client.conversations.update_activity("a:1x", sent.id, message("Edited", "a:1x", id=sent.id))

    assert raised.value.response.status_code == 503 and raised.value.error.error.code == "ServiceUnavailable"
    # urllib3's Retry (msrest's policy) retries 5xx, but POST is not in its allowed methods: GET and PUT are.
    assert [(call.operation, call.status) for call in fake.calls[1:]] == [
        ("send_to_conversation", 503),
        ("get_conversation_members", 502),
        ("get_conversation_members", 200),
        ("update_activity", 504),
        ("update_activity", 200),
    ]
    assert len(members) == 3 and fake.violations == []


async def test_a_user_who_blocked_the_bot_gets_403_until_unblocked(fake_connector: FakeConnector) -> None:
    fake = fake_connector
    client = client_for(fake)
    chat = (await client.conversations.create_conversation(one_to_one(AMIRA))).id
    fake.block(user_id=AMIRA["aadObjectId"])

    with pytest.raises(ErrorResponseException) as to_chat:
        await client.conversations.send_to_conversation(chat, message("A pulse for you", chat))
    with pytest.raises(ErrorResponseException) as new_chat:
        await client.conversations.create_conversation(one_to_one(AMIRA))
    ben = fake.members[1]
    allowed = await client.conversations.create_conversation(one_to_one(ben))
    fake.unblock(user_id=AMIRA["aadObjectId"])
    after = await client.conversations.send_to_conversation(chat, message("Welcome back", chat))

    for raised in (to_chat, new_chat):
        assert raised.value.response.status_code == 403
        assert raised.value.error.error.code == "ConversationBlockedByUser"
        assert raised.value.error.error.message == "User blocked the conversation with the bot."
    assert allowed.id and after.id and fake.violations == []


async def test_a_blocked_users_chat_is_refused_even_if_this_fake_never_made_it(
    fake_connector: FakeConnector,
) -> None:
    fake_connector.block(user_id=AMIRA["id"], code="BotNotInConversationRoster", message="Not in roster.")
    chat = personal_conversation_id(APP_ID, AMIRA["id"])  # as an incoming activity gave it to the bot
    reply = message("Hi", chat, from_property=ChannelAccount(id=bot_id(APP_ID)))

    with pytest.raises(ErrorResponseException) as raised:
        await client_for(fake_connector).conversations.send_to_conversation(chat, reply)

    assert raised.value.response.status_code == 403
    assert raised.value.error.error.code == "BotNotInConversationRoster"


async def test_wait_for_returns_as_soon_as_enough_activities_arrived(fake_connector: FakeConnector) -> None:
    client = client_for(fake_connector)

    async def send_later() -> None:
        for n in range(3):
            await asyncio.sleep(0.05)
            await client.conversations.send_to_conversation("a:1x", message(f"Message {n}", "a:1x"))

    sender = asyncio.create_task(send_later())
    arrived = await fake_connector.wait_for(3, timeout=5)
    await sender
    with pytest.raises(AssertionError, match=r"waited 0\.1 s for 4 activities, got 3"):
        await fake_connector.wait_for(4, timeout=0.1)
    texts = await fake_connector.wait_for(1, where=lambda d: d.activity.get("text") == "Message 1")

    assert [d.activity["text"] for d in arrived] == ["Message 0", "Message 1", "Message 2"]
    assert isinstance(texts[0], Delivered) and texts[0].conversation_id == "a:1x"


# ---- the real CloudAdapter, proactive: unauthenticated and through LocalAuth ----


@dataclass
class Proactive:
    fake: FakeConnector
    adapter: CloudAdapter
    app_id: str | None
    auth: LocalAuth | None = None


@pytest.fixture(params=["no app id", "app id and tokens"])
async def proactive(request: pytest.FixtureRequest, local_auth: LocalAuth) -> AsyncIterator[Proactive]:
    """A CloudAdapter and the fake: both without auth, or both through the local auth endpoints."""
    members = [AMIRA, make_member("Ben Okafor")]
    if request.param == "no app id":
        async with FakeConnector(members=members) as fake:
            yield Proactive(fake, adapter_for(settings_for(None, None, None)), None)
    else:
        async with FakeConnector(members=members, auth=local_auth, app_id=APP_ID) as fake:
            adapter = adapter_for(settings_for(local_auth, APP_ID, APP_PASSWORD))
            yield Proactive(fake, adapter, APP_ID, local_auth)


async def test_cloud_adapter_creates_a_chat_and_continues_it(proactive: Proactive) -> None:
    fake, adapter = proactive.fake, proactive.adapter
    references: list[ConversationReference] = []

    async def greet(context: TurnContext) -> None:
        references.append(TurnContext.get_conversation_reference(context.activity))
        await context.send_activity(MessageFactory.text("Welcome to nextpractice"))

    async def pulse(context: TurnContext) -> None:
        attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": CARD}
        sent = await context.send_activity(MessageFactory.attachment(attachment))
        closed = MessageFactory.text("This pulse has closed")
        closed.id = sent.id
        await context.update_activity(closed)

    await adapter.create_conversation(proactive.app_id, greet, one_to_one(AMIRA), "msteams", fake.url)
    await adapter.continue_conversation(references[0], pulse, proactive.app_id)
    delivered = await fake.wait_for(3)

    chat = personal_conversation_id(APP_ID, AMIRA["id"])
    assert references[0].conversation.id == chat and references[0].service_url == fake.url
    # CloudAdapter sends proactive messages as replies to the continuation activity's made-up id.
    assert [d.operation for d in delivered] == ["reply_to_activity", "reply_to_activity", "update_activity"]
    assert [m.get("text") for m in fake.conversation(chat)] == [
        "Welcome to nextpractice",
        "This pulse has closed",
    ]
    authorizations = {call.authorization for call in fake.calls}
    if proactive.auth is None:
        assert authorizations == {""}
    else:
        assert all(proactive.auth.check_bot_token(header, app_id=APP_ID) == "" for header in authorizations)
        # botframework-connector makes a new MSAL client per connector client: a token request per turn.
        assert [request.client_id for request in proactive.auth.token_requests] == [APP_ID, APP_ID]
        assert {request.scope for request in proactive.auth.token_requests} == {
            "https://api.botframework.com/.default"
        }
    assert fake.violations == []


async def test_teams_info_reads_the_team_and_its_members(proactive: Proactive) -> None:
    fake, adapter = proactive.fake, proactive.adapter
    team = make_team("Operations", ["Ideas", "Pulse"])
    staff = [AMIRA, make_member("Ben Okafor"), make_member("Chloe Martin")]
    fake.add_team(team, staff)
    reference = ConversationReference(
        channel_id="msteams",
        service_url=fake.url,
        conversation=ConversationAccount(
            id=team.id, conversation_type="channel", is_group=True, tenant_id=TENANT_ID
        ),
        bot=ChannelAccount(id=bot_id(APP_ID)),
    )
    seen: dict[str, Any] = {}

    async def read(context: TurnContext) -> None:
        # A continuation activity has no channelData; TeamsInfo's paged members needs one (botbuilder bug).
        context.activity.channel_data = {"team": {"id": team.id}}
        seen["details"] = await TeamsInfo.get_team_details(context, team.id)  # synchronous client inside
        seen["channels"] = await TeamsInfo.get_team_channels(context, team.id)
        seen["page"] = await TeamsInfo.get_paged_team_members(context, team.id, page_size=2)
        seen["one"] = await TeamsInfo.get_team_member(context, team.id, staff[2]["id"])

    await adapter.continue_conversation(reference, read, proactive.app_id)

    details = seen["details"]
    assert (details.id, details.name, details.aad_group_id, details.channel_count, details.member_count) == (
        team.id,
        "Operations",
        team.aad_group_id,
        3,
        3,
    )
    assert [(channel.id, channel.name) for channel in seen["channels"]] == list(team.channels)
    page = seen["page"]
    assert [m.name for m in page.members] == ["Amira Haddad", "Ben Okafor"] and page.continuation_token
    assert seen["one"].user_principal_name == staff[2]["userPrincipalName"]
    assert [call.operation for call in fake.calls] == [
        "get_team_details",
        "get_teams_channels",
        "get_conversation_paged_members",
        "get_conversation_member",
    ]
    if proactive.auth is not None:
        assert all(call.authorization.startswith("Bearer ") for call in fake.calls)
    assert fake.violations == []


async def test_a_rate_limit_reaches_cloud_adapter_callers(proactive: Proactive) -> None:
    fake = proactive.fake
    chat = personal_conversation_id(APP_ID, AMIRA["id"])
    reference = ConversationReference(
        channel_id="msteams",
        service_url=fake.url,
        conversation=ConversationAccount(id=chat, conversation_type="personal", tenant_id=TENANT_ID),
        bot=ChannelAccount(id=bot_id(APP_ID)),
        user=ChannelAccount(id=AMIRA["id"]),
    )
    fake.rate_limit_next(retry_after=3)

    async def send(context: TurnContext) -> None:
        await context.send_activity("A pulse for you")

    with pytest.raises(ErrorResponseException) as raised:
        await proactive.adapter.continue_conversation(reference, send, proactive.app_id)

    assert raised.value.response.status_code == 429 and raised.value.response.headers["Retry-After"] == "3"
    assert fake.activities == [] and fake.violations == []


async def test_the_secured_fake_refuses_calls_without_a_token_it_issued(
    secured_connector: FakeConnector, local_auth: LocalAuth
) -> None:
    fake = secured_connector
    anonymous = client_for(fake)
    wrong_password = adapter_for(
        BotSettings(
            APP_ID=APP_ID,
            APP_PASSWORD="not-the-secret",
            TO_CHANNEL_FROM_BOT_LOGIN_URL=local_auth.login_url,
            TO_CHANNEL_FROM_BOT_OAUTH_SCOPE="https://api.botframework.com",
            TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=local_auth.channel_issuer,
            TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=local_auth.openid_metadata_url,
        )
    )

    other_app = adapter_for(settings_for(local_auth, "another-app", "its-secret"))

    with pytest.raises(ErrorResponseException) as unauthorized:
        await anonymous.conversations.send_to_conversation("a:1x", message("Hi", "a:1x"))
    with pytest.raises(PermissionError, match="invalid_client"):
        await wrong_password.create_conversation(APP_ID, _ignore, one_to_one(AMIRA), "msteams", fake.url)
    with pytest.raises(ErrorResponseException) as not_ours:
        await other_app.create_conversation("another-app", _ignore, one_to_one(AMIRA), "msteams", fake.url)

    assert unauthorized.value.response.status_code == not_ours.value.response.status_code == 401
    assert fake.violations == [
        "POST /v3/conversations/a:1x/activities: 401, no Authorization header",
        "POST /v3/conversations: 401, the bearer token is for app 'another-app', not '" + APP_ID + "'",
    ]
    # The wrong password never got a token, so it never reached the fake.
    assert [(request.client_id, request.granted) for request in local_auth.token_requests] == [
        (APP_ID, False),
        ("another-app", True),
    ]
    assert len(fake.calls) == 2


async def _ignore(context: TurnContext) -> None:
    return None


# ---- the real CloudAdapter.process behind aiohttp: incoming tokens ----


@dataclass
class RecordingBot(TeamsActivityHandler):
    """Answers messages with an echo and card actions with a message; remembers what it handled."""

    handled: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        self.handled.append("message")
        text = TurnContext.remove_recipient_mention(turn_context.activity) or ""
        await turn_context.send_activity(f"echo: {text.strip()}")

    async def on_teams_members_added(
        self, teams_members_added: list[TeamsChannelAccount], team_info: TeamInfo, turn_context: TurnContext
    ) -> None:
        names = ",".join(member.name or member.id for member in teams_members_added)
        self.handled.append(f"members added {names} in {team_info.name if team_info else 'personal scope'}")

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        self.handled.append("installed")

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        self.handled.append("uninstalled")

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        action = invoke_value.action
        self.handled.append(f"action {action['verb']} {action['data']}")
        # The card that replaces the one pressed. (A "message" answer, whose value is a string, cannot be
        # returned this way: botbuilder types AdaptiveCardInvokeResponse.value as a dict and fails to
        # serialize a string.)
        return AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=ANSWERED
        )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def hosted_raw(adapter: CloudAdapter, bot: RecordingBot) -> Handler:
    """``CloudAdapter.process`` as botbuilder's samples host it."""

    async def messages(request: web.Request) -> web.StreamResponse:
        response = await adapter.process(request, bot)
        return response if response is not None else web.Response(status=201)

    return messages


def hosted_guarded(adapter: CloudAdapter, bot: RecordingBot) -> Handler:
    """Authenticate first and refuse with 401 whatever authentication raises, then run the turn.

    botbuilder only maps PermissionError to 401; an expired token (PyJWT's ExpiredSignatureError), an unknown
    key id (IndexError) or a bad signature escape ``CloudAdapter.process`` as 500s.
    """

    async def messages(request: web.Request) -> web.StreamResponse:
        activity = Activity().deserialize(await request.json())
        try:
            authenticated = await adapter.bot_framework_authentication.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except Exception:
            return web.Response(status=401)
        invoke: InvokeResponse | None = await adapter.process_activity(authenticated, activity, bot.on_turn)
        if invoke is not None:
            return web.json_response(invoke.body, status=invoke.status)
        return web.Response(status=201)

    return messages


@dataclass
class BotServer:
    url: str
    hosting: str  # "raw" or "guarded"
    bot: RecordingBot
    fake: FakeConnector
    auth: LocalAuth
    teams: TeamsActivities

    async def post(self, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
        headers = bearer(token) if token is not None else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, json=body, headers=headers) as response,
        ):
            answer = await response.json() if response.content_type == "application/json" else None
            return response.status, answer


async def serve(handler: Handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/api/messages", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/api/messages"


@pytest.fixture(params=["raw", "guarded"])
async def bot_server(
    request: pytest.FixtureRequest, local_auth: LocalAuth, secured_connector: FakeConnector
) -> AsyncIterator[BotServer]:
    """A real aiohttp server hosting a real CloudAdapter that trusts ``local_auth``."""
    bot = RecordingBot()
    adapter = adapter_for(settings_for(local_auth, APP_ID, APP_PASSWORD))
    hosting = hosted_raw if request.param == "raw" else hosted_guarded
    runner, url = await serve(hosting(adapter, bot))
    teams = TeamsActivities(service_url=secured_connector.url)
    try:
        yield BotServer(url, request.param, bot, secured_connector, local_auth, teams)
    finally:
        await runner.cleanup()


async def test_a_valid_channel_token_is_accepted_and_the_reply_goes_out_with_a_bot_token(
    bot_server: BotServer,
) -> None:
    server = bot_server
    body = server.teams.personal_message("I have an idea", sender=AMIRA)

    status, _ = await server.post(body, server.auth.valid_token(APP_ID, server.fake.url))
    (reply,) = await server.fake.wait_for(1)

    assert status == 201 and server.bot.handled == ["message"]
    assert reply.operation == "reply_to_activity" and reply.activity["text"] == "echo: I have an idea"
    assert reply.activity["replyToId"] == body["id"]
    assert reply.conversation_id == body["conversation"]["id"]
    assert server.fake.violations == []  # the reply carried a token the local endpoint issued to the app
    assert server.auth.metadata_requests == 1  # botframework-connector caches the keys per metadata URL


# What botbuilder 4.17's CloudAdapter.process answers ("raw"): only a PermissionError becomes a 401; the
# rest escape as 500s. Hosted "guarded" (authenticate first, refuse on any error), every one is a 401.
REFUSALS: dict[str, tuple[Callable[[LocalAuth, str], str] | None, int]] = {
    "expired": (lambda auth, url: auth.expired_token(APP_ID, url), 500),  # jwt.ExpiredSignatureError
    "wrong audience": (lambda auth, url: auth.wrong_audience_token(APP_ID, url), 401),
    "wrong issuer": (lambda auth, url: auth.wrong_issuer_token(APP_ID, url), 401),
    "unknown key": (
        lambda auth, url: auth.unknown_key_token(APP_ID, url),
        500,
    ),  # IndexError: kid not in JWKS
    "forged signature": (lambda auth, url: auth.unknown_key_token(APP_ID, url, same_kid=True), 500),
    "another service url": (lambda auth, url: auth.valid_token(APP_ID, "https://elsewhere.example/"), 401),
    "no token": (None, 500),  # AttributeError: the parameterized auth validates claims of a None identity
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_bad_channel_tokens_are_refused_and_the_bot_never_runs(
    bot_server: BotServer, case: str
) -> None:
    server = bot_server
    mint, raw_status = REFUSALS[case]
    token = mint(server.auth, server.fake.url) if mint else None
    body = server.teams.personal_message("Let me in", sender=AMIRA)

    status, _ = await server.post(body, token)

    assert status == (raw_status if server.hosting == "raw" else 401)
    assert server.bot.handled == [] and server.fake.calls == []


async def test_a_key_that_does_not_endorse_msteams_is_refused(secured_connector: FakeConnector) -> None:
    with LocalAuth(endorsements=["webchat"]) as narrow:
        bot = RecordingBot()
        runner, url = await serve(
            hosted_guarded(adapter_for(settings_for(narrow, APP_ID, APP_PASSWORD)), bot)
        )
        try:
            server = BotServer(
                url, "guarded", bot, secured_connector, narrow, TeamsActivities(secured_connector.url)
            )
            body = server.teams.personal_message("Hello", sender=AMIRA)
            status, _ = await server.post(body, narrow.valid_token(APP_ID, secured_connector.url))
        finally:
            await runner.cleanup()

    assert status == 401 and bot.handled == []


async def test_teams_shaped_activities_reach_the_right_handlers(bot_server: BotServer) -> None:
    server = bot_server
    teams, fake = server.teams, server.fake
    team = make_team("Operations", ["Ideas"])
    ben = make_member("Ben Okafor")
    fake.add_team(team, [AMIRA, ben])
    card_message = "1700000000001"
    posts = [
        teams.channel_message("Idea: fewer meetings", sender=AMIRA, team=team),
        teams.bot_added(by=AMIRA),
        teams.member_added(ben, team=team),
        teams.installation_update("add", by=AMIRA),
        teams.installation_update("remove", by=AMIRA, team=team),
        teams.card_action("pulse", {"answer": "good"}, sender=AMIRA, message_id=card_message),
    ]

    answers = [await server.post(body, server.auth.valid_token(APP_ID, fake.url)) for body in posts]
    (echo,) = await fake.wait_for(1)

    # CloudAdapter.process serializes the invoke response's body a second time (it is already a dict) and
    # fails: botbuilder 4.17 cannot answer an Adaptive Card action through it. Hosted "guarded", it can.
    invoke_status = 500 if server.hosting == "raw" else 200
    assert [status for status, _ in answers] == [201, 201, 201, 201, 201, invoke_status]
    if server.hosting == "guarded":
        card = {"statusCode": 200, "type": "application/vnd.microsoft.card.adaptive", "value": ANSWERED}
        assert answers[-1][1] == card
    assert server.bot.handled == [
        "message",
        "members added nextpractice in personal scope",
        "members added Ben Okafor in Operations",  # looked up in the team's roster by TeamsInfo.get_member
        "installed",
        "uninstalled",
        "action pulse {'answer': 'good'}",
    ]
    assert echo.activity["text"] == "echo: Idea: fewer meetings"  # the bot's mention removed
    assert echo.conversation_id == posts[0]["conversation"]["id"]  # the reply stays in the post's thread
    assert fake.violations == []


async def test_botbuilders_parameterized_auth_fails_a_headerless_request_even_with_auth_disabled(
    local_auth: LocalAuth, fake_connector: FakeConnector
) -> None:
    """Why settings_for() with no app id gives the built-in configuration (pins a botbuilder 4.17 bug)."""
    parameterized = BotSettings(
        APP_ID=None,
        APP_PASSWORD=None,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=local_auth.openid_metadata_url,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=local_auth.channel_issuer,
    )
    statuses = []
    for settings in (parameterized, settings_for(local_auth, None, None)):
        bot = RecordingBot()
        runner, url = await serve(hosted_raw(adapter_for(settings), bot))
        try:
            server = BotServer(
                url, "raw", bot, fake_connector, local_auth, TeamsActivities(fake_connector.url)
            )
            statuses.append((await server.post(server.teams.personal_message("Hi", sender=AMIRA), None))[0])
        finally:
            await runner.cleanup()

    assert statuses == [500, 201]
    assert [d.activity["text"] for d in await fake_connector.wait_for(1)] == ["echo: Hi"]
