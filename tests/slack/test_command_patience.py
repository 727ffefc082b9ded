"""A slash command whose work outlasts the app's patience is answered before Slack's 3-second deadline,
and its reply follows when the work is done. Correctly signed requests through Bolt's real handling; the
reply goes to the local Slack-like API's ``response_url``."""

from __future__ import annotations

import asyncio
import time
import urllib.parse

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import create_app
from dialogue.events import Event, ProfileLookup
from dialogue.messages import Message, Reply
from dialogue.text import t
from tests.reference import SLACK_PAYLOADS
from tests.slack.fake_api import FakeSlack
from tests.slack.harness import SECRET, signed_headers, stub_context, wait_for

PATIENCE = 0.3


async def test_a_command_still_working_is_answered_at_the_patience_and_replies_when_done() -> None:
    done = asyncio.Event()

    async def slow_core(event: Event, _fetch_profile: ProfileLookup | None) -> Reply:
        await done.wait()  # a pulse to everyone, say
        return Reply(messages=(Message(t("Sent to 10,000 people.")),))

    async with FakeSlack() as fake:
        context = stub_context(slow_core, command_patience=PATIENCE)
        app = create_app(
            context, client=AsyncWebClient(token="xoxb-test", base_url=fake.url), signing_secret=SECRET
        )
        fields = dict(
            urllib.parse.parse_qsl((SLACK_PAYLOADS / "slash_command__slash_command_body.form").read_text())
        )
        fields.update(command="/pulse", text="send Monday", response_url=fake.response_url("cmd"))
        body = urllib.parse.urlencode(fields)
        headers = {"content-type": "application/x-www-form-urlencoded", **signed_headers(body)}

        started = time.monotonic()
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        answered_after = time.monotonic() - started

        assert response.status == 200
        assert PATIENCE <= answered_after < 2.0
        assert fake.calls_to("response_url") == []  # the work goes on
        done.set()
        await wait_for(lambda: fake.calls_to("response_url"))
        assert fake.calls_to("response_url")[0]["text"] == "Sent to 10,000 people."
        await context.background.drain(grace=5)
