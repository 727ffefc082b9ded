"""A running bot in HTTP mode for Slack tests: real server, real Bolt, the local Slack-like Web API.

Requests are Bolt's own reference payloads with our values filled in, signed with slack_sdk's
``SignatureVerifier`` and posted to ``/slack/events``. Listeners call Slack after their ack, so every
helper that posts waits for the effect it expects on the local Web API before returning.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from adapters.slack.app import Handler, SlackContext
from bot.bootstrap import App, build_app
from bot.clock import MovableClock
from bot.scheduler import advance
from bot.server import SLACK_PATH, start, web_app
from bot.settings import Settings, SlackSettings
from dialogue.directory_import import import_directory
from dialogue.events import Event, Identity, Profile, ProfileLookup
from dialogue.messages import Message, Reply
from tests.reference import SLACK_PAYLOADS
from tests.slack.fake_api import FakeSlack

SECRET = "test-signing-secret"
WORKSPACE = "T111"
QA_CHANNEL = "C0QA"


def payload(name: str) -> dict[str, Any]:
    """A fresh copy of one of Bolt's reference payloads."""
    return copy.deepcopy(json.loads((SLACK_PAYLOADS / name).read_text()))


def signed_headers(body: str, *, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """The two headers Slack signs every request with."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


async def wait_for(predicate: Callable[[], object], within: float = 5.0) -> None:
    """Listeners call Slack after the ack: wait for the call (or other effect)."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "the effect never came"
        await asyncio.sleep(0.01)


def _state(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it for ``values`` typed into the modal's inputs."""
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input" or block["block_id"] not in values:
            continue
        element, value = block["element"], values[block["block_id"]]
        if element["type"] in ("static_select", "radio_buttons"):
            chosen = next(option for option in element["options"] if option["value"] == value)
            entry = {"type": element["type"], "selected_option": chosen}
        else:
            entry = {"type": element["type"], "value": value}
        state[block["block_id"]] = {element["action_id"]: entry}
    return state


@dataclass
class SlackBot:
    """The bot serving ``/slack/events`` on 127.0.0.1, its database and the local Web API."""

    app: App
    fake: FakeSlack
    url: str
    http: aiohttp.ClientSession
    clock: MovableClock

    async def post(
        self, body: str, *, form: bool = False, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        """Post a raw body, signed unless ``headers`` are given."""
        kind = "application/x-www-form-urlencoded" if form else "application/json"
        all_headers = {"Content-Type": kind, **(headers if headers is not None else signed_headers(body))}
        async with self.http.post(self.url, data=body.encode(), headers=all_headers) as response:
            await response.read()
            return response

    def posted(self, method: str) -> list[dict[str, Any]]:
        """Every call of ``method`` on the local Web API (``response_url`` for posts to response URLs)."""
        return self.fake.calls_to(method)

    def mark(self) -> int:
        """A point in the call log; :meth:`since` returns what came after it."""
        return len(self.fake.calls)

    def since(self, mark: int, method: str | None = None) -> list[dict[str, Any]]:
        """Calls after ``mark``, optionally only of ``method``."""
        return [args for name, args in self.fake.calls[mark:] if method is None or name == method]

    async def expect(self, mark: int, method: str, count: int = 1) -> list[dict[str, Any]]:
        """Wait until ``count`` calls of ``method`` came after ``mark``, and return them."""
        await wait_for(lambda: len(self.since(mark, method)) >= count)
        return self.since(mark, method)

    async def count(self, table: str, where: str = "") -> int:
        """Rows in a table of the bot's database."""
        async with self.app.store.engine.connect() as db:
            query = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
            return int((await db.execute(text(query))).scalar_one())

    async def command(
        self, user: str, command: str, text_: str = "", *, expect: str = "response_url"
    ) -> dict[str, Any]:
        """Run a slash command as ``user``; returns the bot's (ephemeral) answer, or the ``expect`` call."""
        fields = dict(
            urllib.parse.parse_qsl((SLACK_PAYLOADS / "slash_command__slash_command_body.form").read_text())
        )
        mark = self.mark()
        fields.update(
            command=command,
            text=text_,
            user_id=user,
            team_id=WORKSPACE,
            trigger_id=f"trigger-{mark}",
            response_url=self.fake.response_url(f"cmd-{mark}"),
        )
        response = await self.post(urllib.parse.urlencode(fields), form=True)
        assert response.status == 200
        return (await self.expect(mark, expect))[0]

    async def click(self, user: str, message: dict[str, Any], label: str, *, expect: str) -> list[Any]:
        """Click the button labelled ``label`` (a prefix) in a message the bot posted, as ``user``.

        ``message`` is the recorded ``chat.postMessage``/``chat.update``/``response_url`` arguments;
        returns the calls of ``expect`` that the click caused.
        """
        button = next(
            element
            for block in _blocks(message)
            if block["type"] == "actions"
            for element in block["elements"]
            if element["text"]["text"].startswith(label)
        )
        body = payload("block_actions__body.json")
        mark = self.mark()
        body["user"].update(id=user, team_id=WORKSPACE)
        body["team"]["id"] = WORKSPACE
        body["trigger_id"] = f"trigger-{mark}"
        body["response_url"] = self.fake.response_url(f"click-{mark}")
        ephemeral = "ts" not in message
        channel = dm(str(message["channel"])) if "channel" in message else "C0OTHER"
        body["container"].update(
            channel_id=channel, message_ts=message.get("ts", "1.0"), is_ephemeral=ephemeral
        )
        body["channel"] = {"id": channel, "name": "directmessage"}
        body["actions"][0].update(action_id=button["action_id"], value=button.get("value", ""))
        response = await self.post(urllib.parse.urlencode({"payload": json.dumps(body)}), form=True)
        assert response.status == 200
        return await self.expect(mark, expect)

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
        """Submit a modal the bot opened, with ``values`` by input; returns Slack's view of the answer."""
        body = payload("view_submission__body.json")
        body["user"].update(id=user, team_id=WORKSPACE)
        body["team"]["id"] = WORKSPACE
        body["view"].update(
            blocks=view["blocks"],
            callback_id=view["callback_id"],
            private_metadata=view.get("private_metadata", ""),
            state={"values": _state(view, values)},
        )
        response = await self.post(urllib.parse.urlencode({"payload": json.dumps(body)}), form=True)
        assert response.status == 200
        body_text = await response.text()
        return json.loads(body_text) if body_text else {}

    async def message(self, user: str, text_: str, *, channel: str, thread_ts: str | None = None) -> None:
        """Post a ``message`` event: a DM (channel ``D...``) or a reply in a channel thread."""
        body = payload("message__message_body.json")
        ts = f"{time.time():.6f}"
        body.update(team_id=WORKSPACE, event_id=f"Ev{self.mark()}{ts.replace('.', '')}")
        body["event"].update(
            text=text_,
            user=user,
            channel=channel,
            channel_type="im" if channel.startswith("D") else "channel",
            ts=ts,
        )
        body["event"].pop("blocks", None)
        if thread_ts is not None:
            body["event"]["thread_ts"] = thread_ts
        response = await self.post(json.dumps(body))
        assert response.status == 200

    async def open_home(self, user: str) -> dict[str, Any]:
        """Open the app's Home tab as ``user``; returns the view the bot published for them."""
        body = payload("events__app_mention_body.json")
        mark = self.mark()
        body.update(team_id=WORKSPACE, event_id=f"EvHome{mark}")
        body["event"] = {
            "type": "app_home_opened",
            "user": user,
            "channel": dm(user),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        response = await self.post(json.dumps(body))
        assert response.status == 200
        published = (await self.expect(mark, "views.publish"))[0]
        assert published["user_id"] == user
        view = published["view"]
        return json.loads(view) if isinstance(view, str) else dict(view)

    async def deliver(self) -> None:
        """Send everything due in the outbox through the Slack sender."""
        await self.app.worker.drain()

    async def advance(self, by: timedelta) -> None:
        """Move the clock, firing schedules and delivering on the way, as real time would."""
        await advance(
            dialogue=self.app.dialogue,
            store=self.app.store,
            clock=self.clock,
            until=self.clock.now() + by,
            after_step=self.deliver,
        )

    def held(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a conversation as Slack now holds them (updates applied), oldest first."""
        return [message for message in self.fake.messages if message["channel"] == channel]

    def dms_to(self, user: str, mark: int = 0) -> list[dict[str, Any]]:
        """Messages the outbox posted to ``user`` by user id, after ``mark``."""
        return [args for args in self.since(mark, "chat.postMessage") if args["channel"] == user]


def stub_context(handle: Handler, **options: Any) -> SlackContext:
    """A :class:`SlackContext` around ``handle`` for tests of Bolt's side alone: every other part of the
    core answers that it has nothing (no overview, no thread, a new event); ``options`` set the rest."""

    async def overview(
        _who: Identity, _profile: Profile | None, _fetch_profile: ProfileLookup | None
    ) -> tuple[Message, ...]:
        return ()

    async def thread_of(_ref: str) -> str | None:
        return None

    async def handle_once(event: Event, fetch_profile: ProfileLookup | None, _key: str | None) -> Reply:
        return await handle(event, fetch_profile)

    return SlackContext(handle, overview, thread_of, handle_once, **options)


def dm(user: str) -> str:
    """The app's DM conversation with a user, as the local Web API names it (``W101`` -> ``D101``)."""
    return "D" + user[1:] if user[:1] in ("U", "W") else user


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = message.get("blocks", [])
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def shown(message: dict[str, Any]) -> str:
    """Everything a message shows, as one string (text and every block), to assert on."""
    return json.dumps([message.get("text", ""), _blocks(message)], ensure_ascii=False)


@asynccontextmanager
async def slack_bot(
    database_url: str, data_dir: Path, people: str, *, start_at: datetime, qa_channel: str | None = QA_CHANNEL
) -> AsyncIterator[SlackBot]:
    """Build the bot on ``database_url`` with ``people`` (directory CSV) and serve it over HTTP."""
    async with FakeSlack() as fake:
        slack = SlackSettings(
            bot_token="xoxb-test", signing_secret=SECRET, api_url=fake.url, qa_channel_id=qa_channel
        )
        settings = Settings(
            data_dir=data_dir, secret_key=b"slack-tests-secret-000000", database_url=database_url, slack=slack
        )
        clock = MovableClock(start_at)
        app = await build_app(settings, clock=clock)
        assert app.slack is not None
        report = await import_directory(app.store, csv.DictReader(io.StringIO(people)))
        assert not report.errors, report.errors
        runner = await start(web_app(slack=app.slack.app), host="127.0.0.1", port=0)
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession() as http:
                yield SlackBot(app, fake, f"http://{host}:{port}{SLACK_PATH}", http, clock)
        finally:
            await runner.cleanup()
            await app.close()
