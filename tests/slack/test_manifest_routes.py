"""The manifest and the Bolt app agree, both ways: Slack sends only what the app handles, and the app
handles nothing Slack would never send it.

Each probe is a correctly signed request dispatched through Bolt's real routing; Bolt answers 404
("unhandled request") when no listener matches, so the set of types answered 200 is what the app
listens to.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import SLASH_COMMANDS, create_app
from bot.settings import SLACK_BOT_SCOPES
from dialogue.commands import COMMANDS
from dialogue.events import Event, ProfileLookup
from dialogue.messages import Reply
from tests.reference import REFERENCE, SLACK_PAYLOADS
from tests.slack.fake_api import FakeSlack
from tests.slack.harness import SECRET, signed_headers, stub_context

MANIFEST = Path(__file__).resolve().parents[2] / "manifest" / "slack.yaml"
EVENTS_SPEC = REFERENCE / "slack" / "spec" / "slack_events_api_async_v1.json"
# Types Slack added after its last published Events API specification.
NEWER_EVENT_TYPES = {"app_home_opened", "app_requested", "assistant_thread_started", "function_executed"}


@pytest.fixture
def manifest() -> dict[str, Any]:
    return dict(yaml.safe_load(MANIFEST.read_text(encoding="utf-8")))


@pytest.fixture
async def bolt() -> AsyncIterator[AsyncApp]:
    async def handle(_event: Event, _fetch_profile: ProfileLookup | None) -> Reply:
        return Reply()

    async with FakeSlack() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.url)
        context = stub_context(handle)
        yield create_app(context, client=client, signing_secret=SECRET)
        await context.background.drain(grace=5)


async def status_of(app: AsyncApp, body: str, *, form: bool) -> int:
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    headers = {"content-type": kind, **signed_headers(body)}
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    return response.status


def command_body(command: str) -> str:
    fields = dict(
        urllib.parse.parse_qsl((SLACK_PAYLOADS / "slash_command__slash_command_body.form").read_text())
    )
    fields.update(command=command, text="help", user_id="W1")
    return urllib.parse.urlencode(fields)


def event_body(event_type: str) -> str:
    body = json.loads((SLACK_PAYLOADS / "events__app_mention_body.json").read_text())
    body["event"] = {"type": event_type, "user": "W1", "channel": "C0OTHER", "ts": "1.0", "tab": "messages"}
    body["event_id"] = f"Ev-{event_type}"
    return json.dumps(body)


def every_event_type(manifest: dict[str, Any]) -> set[str]:
    """Every type in Slack's Events API specification, the newer ones, and any the manifest names."""
    topics = json.loads(EVENTS_SPEC.read_text())["topics"]
    from_spec = {
        topic.split(".")[0] if topic.startswith("message") else topic.replace(".", "_") for topic in topics
    }
    return (from_spec - {"url_verification"}) | NEWER_EVENT_TYPES | subscribed_types(manifest)


def subscribed_types(manifest: dict[str, Any]) -> set[str]:
    """Event types the manifest subscribes to (``message.im`` and ``message.channels`` are ``message``)."""
    return {event.split(".")[0] for event in manifest["settings"]["event_subscriptions"]["bot_events"]}


async def test_the_app_handles_exactly_the_slash_commands_the_manifest_declares(
    bolt: AsyncApp, manifest: dict[str, Any]
) -> None:
    declared = {command["command"] for command in manifest["features"]["slash_commands"]}
    probes = declared | set(SLASH_COMMANDS) | {f"/{name}" for name in COMMANDS} | {"/not-ours"}

    handled = {
        command for command in probes if await status_of(bolt, command_body(command), form=True) == 200
    }

    assert handled == declared


async def test_the_app_handles_exactly_the_event_types_the_manifest_subscribes_to(
    bolt: AsyncApp, manifest: dict[str, Any]
) -> None:
    handled = {
        event_type
        for event_type in sorted(every_event_type(manifest))
        if await status_of(bolt, event_body(event_type), form=False) == 200
    }

    assert handled == subscribed_types(manifest)


async def test_interactivity_is_on_because_the_app_listens_to_buttons_and_modals(
    bolt: AsyncApp, manifest: dict[str, Any]
) -> None:
    click = json.loads((SLACK_PAYLOADS / "block_actions__body.json").read_text())
    click["actions"][0].update(action_id='["idea.act","1","vote"]', value="vote")
    body = urllib.parse.urlencode({"payload": json.dumps(click)})

    assert await status_of(bolt, body, form=True) == 200
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_an_oauth_install_asks_for_exactly_the_manifest_scopes(manifest: dict[str, Any]) -> None:
    assert sorted(SLACK_BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])
