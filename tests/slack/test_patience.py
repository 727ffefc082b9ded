"""A slash command or a click whose work outlasts the app's patience is answered before Slack's 3-second
deadline, and its reply follows when the work is done. Correctly signed requests through Bolt's real
handling; replies go to the local Slack-like API."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Callable

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import create_app
from adapters.slack.render import encode_action
from dialogue.events import Event, ProfileLookup
from dialogue.messages import Message, Reply
from dialogue.text import t
from tests.reference import SLACK_PAYLOADS
from tests.slack.fake_api import FakeSlack
from tests.slack.harness import SECRET, signed_headers, stub_context, wait_for

PATIENCE = 0.3


def slash_command(fake: FakeSlack) -> str:
    fields = dict(
        urllib.parse.parse_qsl((SLACK_PAYLOADS / "slash_command__slash_command_body.form").read_text())
    )
    fields.update(command="/pulse", text="send Monday", response_url=fake.response_url("cmd"))
    return urllib.parse.urlencode(fields)


def click(_fake: FakeSlack) -> str:
    body = json.loads((SLACK_PAYLOADS / "block_actions__body.json").read_text())
    action_id, value = encode_action("idea.act", "1", "vote")
    body["actions"][0].update(action_id=action_id, value=value)
    body["container"].update(channel_id="D111", is_ephemeral=False)
    return urllib.parse.urlencode({"payload": json.dumps(body)})


@pytest.mark.parametrize(
    ("request_body", "reply_by"), [(slash_command, "response_url"), (click, "chat.postMessage")]
)
async def test_work_still_going_is_answered_at_the_patience_and_replies_when_done(
    request_body: Callable[[FakeSlack], str], reply_by: str
) -> None:
    done = asyncio.Event()

    async def slow_core(event: Event, _fetch_profile: ProfileLookup | None) -> Reply:
        await done.wait()  # a pulse to everyone, or a click queued behind a burst of others
        return Reply(messages=(Message(t("Done.")),))

    async with FakeSlack() as fake:
        context = stub_context(slow_core, patience=PATIENCE)
        app = create_app(
            context, client=AsyncWebClient(token="xoxb-test", base_url=fake.url), signing_secret=SECRET
        )
        body = request_body(fake)
        headers = {"content-type": "application/x-www-form-urlencoded", **signed_headers(body)}

        started = time.monotonic()
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        answered_after = time.monotonic() - started

        assert response.status == 200
        assert PATIENCE <= answered_after < 2.0
        assert fake.calls_to(reply_by) == []  # the work goes on
        done.set()
        await wait_for(lambda: fake.calls_to(reply_by))
        assert fake.calls_to(reply_by)[0]["text"] == "Done."
        await context.background.drain(grace=5)
