"""The outbox's connector client (adapters/teams/connector.py): the bodies it sends are the ones msrest would
send, and the connector's answers, even bare ones, reach the outbox in its terms."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.schema import ConversationReference
from botframework.connector import models
from botframework.connector.auth import MicrosoftAppCredentials
from msrest import Deserializer, Serializer

from adapters.teams import TeamsSender, make_adapter
from adapters.teams.bot import as_activity
from adapters.teams.connector import TeamsConnector
from dialogue.events import Identity
from dialogue.messages import Message
from dialogue.outbox import Address, Contact, RetryLater, Undeliverable, contact_key
from dialogue.text import t
from tests.teams.activities import APP_ID, TENANT_ID
from tests.teams.conftest import APP_PASSWORD, Answer
from tests.teams.test_render import MESSAGES
from tests.teams.tokens import LocalAuth, settings_for

CHANNEL = "19:qa@thread.tacv2"


@pytest.mark.parametrize("name", list(MESSAGES))
async def test_the_body_sent_is_the_one_msrest_would_send(name: str) -> None:
    """Every message we render, addressed to a person as the outbox addresses it."""
    reference = ConversationReference().deserialize(
        {
            "user": {"id": "29:1abc", "name": "Amira Hassan", "aadObjectId": "5a0c1d9e", "role": "user"},
            "bot": {"id": "28:bot", "name": "Next Practice"},
            "conversation": {"id": "a:1xyz", "conversationType": "personal", "tenantId": TENANT_ID},
            "channelId": "msteams",
            "locale": "en-GB",
            "serviceUrl": "https://smba.trafficmanager.net/uk/",
        }
    )
    activity = TurnContext.apply_conversation_reference(as_activity(MESSAGES[name]()), reference)
    activity.channel_data = {"notification": {"alert": True}}
    classes = {name: value for name, value in vars(models).items() if isinstance(value, type)}
    async with aiohttp.ClientSession() as session:
        ours = TeamsConnector(MicrosoftAppCredentials.empty(), "http://127.0.0.1:9", session)

        sent = ours.conversations._serialize.body(activity, "Activity")
        walked = ours.conversations._serialize._plain(activity, "Activity")  # the quick walk, not msrest's

    assert sent == walked == Serializer(classes).body(activity, "Activity")
    assert sent["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert sent["recipient"]["aadObjectId"] == "5a0c1d9e"
    assert activity.attachments[0].content is not None  # the activity itself is left as it was


async def test_the_answer_to_a_send_is_read_as_msrest_would_read_it() -> None:
    classes = {name: value for name, value in vars(models).items() if isinstance(value, type)}
    async with aiohttp.ClientSession() as session:
        ours = TeamsConnector(MicrosoftAppCredentials.empty(), "http://127.0.0.1:9", session)

        for answer in ({"id": "1:abc"}, {}):
            read = ours.conversations._deserialize._deserialize("ResourceResponse", answer)
            assert read == Deserializer(classes)._deserialize("ResourceResponse", answer)
            assert isinstance(read, models.ResourceResponse)


def _sender(url: str, session: aiohttp.ClientSession, configuration: Any = None) -> TeamsSender:
    async def nobody(key: str) -> None:
        return None

    async def ignore(*args: Any) -> None:
        return None

    configuration = configuration or SimpleNamespace(
        APP_ID=None, APP_PASSWORD=None, APP_TYPE="MultiTenant", APP_TENANTID=None
    )
    return TeamsSender(
        make_adapter(configuration, session),
        app_id=configuration.APP_ID or "",
        tenant_id=TENANT_ID,
        service_url=url,
        channels={"qa": CHANNEL},
        contact=nobody,
        remember=ignore,
        forget=ignore,
    )


async def test_a_bare_429_is_waited_out_for_its_retry_after(connector: tuple[list[Answer], str]) -> None:
    answers, url = connector
    answers.append(lambda request: web.Response(status=429, headers={"Retry-After": "7"}))
    answers.append(lambda request: web.json_response({"id": "1700000000001"}, status=201))
    async with aiohttp.ClientSession() as session:
        sender = _sender(url, session)

        with pytest.raises(RetryLater) as throttled:
            await sender.send(to=Address(channel="qa"), message=Message(t("Question #1")))
        ref = await sender.send(to=Address(channel="qa"), message=Message(t("Question #1")))

    assert throttled.value.retry_after == 7.0 and throttled.value.rate_limited
    assert ref == f"{CHANNEL};messageid=1700000000001"


async def test_a_refused_client_secret_fails_at_once_saying_what_entra_id_said(
    connector: tuple[list[Answer], str], local_auth: LocalAuth
) -> None:
    # An expired secret is the usual Teams outage: it was logged as "Teams unreachable" and retried.
    answers, url = connector
    configuration = replace(settings_for(local_auth, APP_ID, APP_PASSWORD), APP_PASSWORD="last-years-secret")
    async with aiohttp.ClientSession() as session:
        sender = _sender(url, session, configuration)

        with pytest.raises(Undeliverable) as refused:
            await sender.send(to=Address(channel="qa"), message=Message(t("Question #1")))

    assert "Teams sign-in refused" in str(refused.value)
    assert "AADSTS7000215: Invalid client secret provided." in str(refused.value)  # Entra ID's own words
    assert "MICROSOFT_APP_PASSWORD" in str(refused.value) and "outbox retry" in str(refused.value)
    assert answers == [] and [r.granted for r in local_auth.token_requests] == [False]


async def test_a_person_who_blocked_the_bot_is_not_retried(connector: tuple[list[Answer], str]) -> None:
    answers, url = connector
    refused = {"error": {"code": "ConversationBlockedByUser", "message": "User blocked the conversation."}}
    answers.append(lambda request: web.json_response(refused, status=403))
    forgotten: list[Identity] = []
    async with aiohttp.ClientSession() as session:
        sender = _sender(url, session)
        sender.forget = lambda who: _append(forgotten, who)
        amira = Identity("teams", TENANT_ID, "aad-amira")
        reference = {"conversation": {"id": "a:1x"}, "serviceUrl": url, "channelId": "msteams"}
        known = Contact("teams", contact_key(amira), reference)

        with pytest.raises(Undeliverable, match="HTTP 403"):
            await sender.send(to=Address(identity=amira, contact=known), message=Message(t("Pulse")))

    assert forgotten == [amira]


async def _append(into: list[Identity], who: Identity) -> None:
    into.append(who)
