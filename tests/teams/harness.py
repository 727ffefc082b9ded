"""A running bot for Teams tests: our server on 127.0.0.1 with botbuilder's real CloudAdapter (no app id:
local mode), the local Bot Framework connector, a directory and a programme; activities are posted as
Teams sends them and every one is checked against the Activity definition of ConnectorAPI.json."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text

from adapters.teams import TEAMS_PATH, messages_route
from adapters.teams.render import FIELD_PREFIX
from bot.bootstrap import App, build_app
from bot.cli import check_cron
from bot.clock import MovableClock
from bot.scheduler import advance
from bot.server import start, web_app
from bot.settings import Settings, TeamsSettings
from dialogue.directory_import import import_directory
from dialogue.programme import load_programme
from tests.teams.activities import TENANT_ID, Team, TeamsActivities
from tests.teams.fake_connector import Delivered, FakeConnector, Json, check_activity

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday


@dataclass
class TeamsBot:
    """The bot under test, the connector it talks to, and helpers to talk to it as Teams does."""

    app: App
    fake: FakeConnector
    url: str
    http: aiohttp.ClientSession
    teams: TeamsActivities
    clock: MovableClock

    async def post(self, activity: dict[str, Any]) -> tuple[int, Any]:
        """POST an activity to /api/messages; returns the status and the JSON body, if any."""
        problems = check_activity(activity)
        assert problems == [], f"the test posted an activity Teams would not send: {problems}"
        async with self.http.post(self.url, json=activity) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    async def deliver(self) -> None:
        """Let the outbox deliver everything due now."""
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

    def mark(self) -> int:
        """A bookmark in what the connector received, for :meth:`since`."""
        return len(self.fake.activities)

    def since(self, mark: int, conversation_id: str | None = None) -> list[Delivered]:
        """What the connector received after ``mark``, optionally in one conversation only."""
        return [
            d
            for d in self.fake.activities[mark:]
            if conversation_id is None or d.conversation_id == conversation_id
        ]

    async def people_by_handle(self) -> dict[str, tuple[str, list[str], list[str]]]:
        """The directory as handle -> (name, roles, team names), for comparing in one assert."""
        async with self.app.store.transaction() as tx:
            names = {team.id: team.name for team in await tx.directory.teams()}
            return {
                person.handle: (
                    person.display_name,
                    sorted(role.value for role in person.roles),
                    sorted(names[team_id] for team_id in person.team_ids),
                )
                for person in await tx.directory.people()
            }

    def chat(self, member: Mapping[str, Any]) -> str:
        """The id of ``member``'s personal chat with the bot."""
        return str(self.teams.personal_conversation(member)["id"])

    def held(self, conversation_id: str) -> list[Json]:
        """The messages in a conversation as Teams now shows them (updates applied), oldest first."""
        return self.fake.conversation(conversation_id)

    async def say(self, member: Mapping[str, Any], text_: str) -> list[Json]:
        """``member`` writes to the bot in their personal chat; returns the bot's replies there."""
        mark = self.mark()
        status, _ = await self.post(self.teams.personal_message(text_, sender=member))
        assert status == 201, status
        return [{**d.activity, "id": d.activity_id} for d in self.since(mark, self.chat(member))]

    async def tap(
        self,
        member: Mapping[str, Any],
        message: Json,
        title: str,
        *,
        values: Mapping[str, str] | None = None,
        team: Team | None = None,
    ) -> Json:
        """``member`` presses the button ``title`` on ``message``'s card (filling in ``values``, by field
        name, first); returns the card Teams then shows in its place."""
        action = button(message, title)
        data = {**action["data"], **{FIELD_PREFIX + k: v for k, v in (values or {}).items()}}
        invoke = self.teams.card_action(
            action["verb"], data, sender=member, message_id=str(message["id"]), team=team, title=title
        )
        status, body = await self.post(invoke)
        assert status == 200 and body["statusCode"] == 200, body
        shown_now: Json = {"id": message["id"], "attachments": [{"content": body["value"]}]}
        if body["type"] == "application/vnd.microsoft.activity.message":
            shown_now = {"id": message["id"], "text": body["value"], "attachments": message["attachments"]}
        return shown_now

    async def count(self, table: str, where: str = "") -> int:
        """Rows in ``table`` (matching ``where``)."""
        async with self.app.store.engine.connect() as db:
            query = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
            return int((await db.execute(text(query))).scalar_one())


def shown(message: Json) -> str:
    """Everything a message shows, as one string to search in."""
    return json.dumps(message, ensure_ascii=False)


def button(message: Json, title: str) -> Json:
    """The ``Action.Execute`` titled ``title`` (or starting with it) on a message's card."""
    found = [
        action
        for attachment in message.get("attachments") or []
        for action in _actions(attachment.get("content") or {})
        if str(action.get("title", "")).startswith(title)
    ]
    assert found, f"no button {title!r} on {shown(message)}"
    return found[0]


def _actions(node: Any) -> list[Json]:
    if isinstance(node, list):
        return [action for item in node for action in _actions(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if node.get("type") == "Action.Execute" else []
    return own + [action for value in node.values() for action in _actions(value)]


def people_csv(rows: Sequence[tuple[str, str, str, str, Mapping[str, Any]]]) -> str:
    """A directory CSV of (handle, name, roles, team, member) rows naming people by their Entra object id."""
    lines = ["handle,name,roles,team,teams_user_id,teams_tenant"]
    lines += [f"{h},{n},{r},{t},{m['aadObjectId']},{TENANT_ID}" for h, n, r, t, m in rows]
    return "\n".join(lines) + "\n"


@asynccontextmanager
async def teams_bot(
    database_url: str,
    data_dir: Path,
    *,
    people: str = "",
    programme: str = "",
    qa_channel_id: str = "",
    fake: FakeConnector | None = None,
) -> AsyncIterator[TeamsBot]:
    """The bot serving /api/messages on a free port, with ``people`` (CSV) and ``programme`` (TOML)."""
    async with FakeConnector() if fake is None else _borrowed(fake) as connector:
        settings = Settings(
            data_dir=data_dir,
            secret_key=b"teams-tests-secret-0000000",
            database_url=database_url,
            teams=TeamsSettings(tenant_id=TENANT_ID, service_url=connector.url, qa_channel_id=qa_channel_id),
        )
        clock = MovableClock(START)
        app = await build_app(settings, clock=clock)
        assert app.teams is not None
        if people:
            report = await import_directory(app.store, csv.DictReader(io.StringIO(people)))
            assert not report.errors, report.errors
        if programme:
            await load_programme(app.store, tomllib.loads(programme), check_cron=check_cron)
        runner = await start(
            web_app(teams=messages_route(app.teams.adapter, app.teams.bot)), host="127.0.0.1", port=0
        )
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession() as http:
                teams = TeamsActivities(service_url=connector.url)
                yield TeamsBot(app, connector, f"http://{host}:{port}{TEAMS_PATH}", http, teams, clock)
        finally:
            await runner.cleanup()
            await app.close()


@asynccontextmanager
async def _borrowed(fake: FakeConnector) -> AsyncIterator[FakeConnector]:
    yield fake
