"""Real Slack payloads, correctly signed, posted to /slack/events on a running server; effects checked in
the database and on the local Slack-like Web API."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from adapters.slack.render import encode_action
from bot.bootstrap import App, build_app
from bot.server import SLACK_PATH, start, web_app
from bot.settings import Settings, SlackSettings
from dialogue.directory_import import import_directory
from tests.reference import SLACK_PAYLOADS
from tests.slack.fake_api import FakeSlack

PAYLOADS = SLACK_PAYLOADS
SECRET = "test-signing-secret"
PEOPLE = [
    {
        "handle": "amira",
        "name": "Amira Hassan",
        "team": "Reablement",
        "slack_user_id": "W111",
        "slack_team_id": "T111",
    },
    {
        "handle": "ben",
        "name": "Ben Carter",
        "roles": "manager",
        "team": "Reablement",
        "slack_user_id": "W222",
        "slack_team_id": "T111",
    },
]


def signed_headers(body: str, *, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


@dataclass
class Served:
    app: App
    fake: FakeSlack
    url: str
    http: aiohttp.ClientSession

    async def post(
        self, body: str, *, form: bool = False, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        kind = "application/x-www-form-urlencoded" if form else "application/json"
        all_headers = {"Content-Type": kind, **(headers if headers is not None else signed_headers(body))}
        async with self.http.post(self.url, data=body.encode(), headers=all_headers) as response:
            await response.read()
            return response

    async def count(self, table: str) -> int:
        async with self.app.store.engine.connect() as db:
            return int((await db.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())

    def posted(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.fake.calls if name == method]


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with FakeSlack() as fake:
        slack = SlackSettings(
            bot_token="xoxb-test", signing_secret=SECRET, api_url=fake.url, qa_channel_id="C0QA"
        )
        settings = Settings(
            data_dir=tmp_path, secret_key=b"slack-tests-secret-000000", database_url=database_url, slack=slack
        )
        app = await build_app(settings)
        assert app.slack is not None
        assert not (await import_directory(app.store, PEOPLE)).errors
        runner = await start(web_app(slack=app.slack.app), host="127.0.0.1", port=0)
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession() as http:
                yield Served(app, fake, f"http://{host}:{port}{SLACK_PATH}", http)
        finally:
            await runner.cleanup()
            await app.close()


def slash_command(fake: FakeSlack, command: str, text_: str, user: str = "W111") -> str:
    fields = dict(
        urllib.parse.parse_qsl((PAYLOADS / "slash_command__slash_command_body.form").read_text().strip())
    )
    fields.update(command=command, text=text_, user_id=user, response_url=fake.response_url("cmd"))
    return urllib.parse.urlencode(fields)


def dm_event(text_: str, *, event_id: str, user: str = "W111") -> str:
    body = json.loads((PAYLOADS / "message__message_body.json").read_text())
    body["event_id"] = event_id
    body["event"].update(text=text_, user=user, channel="D111", channel_type="im", ts=f"{time.time():.6f}")
    body["event"].pop("blocks", None)
    return json.dumps(body)


async def wait_for(predicate: Any, within: float = 5.0) -> None:
    """Listeners do their work after the ack: wait for its effect."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "the effect never came"
        await __import__("asyncio").sleep(0.02)


async def test_a_slash_command_stores_the_idea_and_answers_the_person_privately(served: Served) -> None:
    response = await served.post(
        slash_command(served.fake, "/idea", "Text people when a visit is late"), form=True
    )

    assert response.status == 200
    await wait_for(lambda: served.posted("response_url"))
    assert await served.count("ideas") == 1
    reply = served.posted("response_url")[0]
    assert reply["response_type"] == "ephemeral" and "Your idea #1 is in" in json.dumps(reply)
    assert served.fake.violations == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(
            {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=forged"},
            id="forged",
        ),
        pytest.param("stale", id="stale"),
        pytest.param("wrong-secret", id="wrong-secret"),
        pytest.param({}, id="unsigned"),
    ],
)
async def test_unsigned_forged_and_stale_requests_are_refused_and_change_nothing(
    served: Served, headers: Any
) -> None:
    body = slash_command(served.fake, "/idea", "A forged idea")
    if headers == "stale":
        headers = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    elif headers == "wrong-secret":
        headers = signed_headers(body, secret="not-the-secret")

    response = await served.post(body, form=True, headers=headers)

    assert response.status == 401
    assert await served.count("ideas") == 0
    assert served.posted("response_url") == []


async def test_a_direct_message_is_answered_and_a_retried_event_counts_once(served: Served) -> None:
    body = dm_event("idea Share spare PPE between patches", event_id="Ev1")

    first = await served.post(body)
    retry = await served.post(
        body,
        headers={**signed_headers(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )

    assert first.status == 200 and retry.status == 200
    await wait_for(lambda: served.posted("chat.postMessage"))
    assert await served.count("ideas") == 1
    assert served.posted("chat.postMessage")[0]["channel"] == "D111"
    assert served.fake.violations == []


async def test_a_staff_member_cannot_use_manager_commands(served: Served) -> None:
    await served.post(slash_command(served.fake, "/pulse", "send Monday"), form=True)

    await wait_for(lambda: served.posted("response_url"))
    assert "only managers can use `pulse`" in json.dumps(served.posted("response_url")[0])


async def test_a_button_click_reaches_the_core_as_the_same_choice(served: Served) -> None:
    await served.post(
        slash_command(served.fake, "/idea", "Text people when a visit is late", user="W222"), form=True
    )
    await wait_for(lambda: served.posted("response_url"))
    body = json.loads((PAYLOADS / "block_actions__body.json").read_text())
    action_id, value = encode_action("idea.act", "1", "vote")
    body["actions"][0].update(action_id=action_id, value=value)
    body["container"].update(channel_id="D111", is_ephemeral=False)
    form = urllib.parse.urlencode({"payload": json.dumps(body)})

    response = await served.post(form, form=True)

    assert response.status == 200
    await wait_for(lambda: served.posted("chat.postMessage"))
    assert "Voted. #1 now has 1 vote." in json.dumps(served.posted("chat.postMessage")[0])
    assert await served.count("idea_votes") == 1


def test_health_route_exists() -> None:
    assert any(
        route.resource.canonical == "/healthz" for route in web_app().router.routes() if route.resource
    )
    assert isinstance(web_app(), web.Application)
