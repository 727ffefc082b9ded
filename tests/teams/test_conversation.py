"""Teams activities, shaped as Teams sends them, posted to /api/messages on a running server (botbuilder's
real CloudAdapter, here without an app id: local mode); replies and proactive messages arrive at the
local Bot Framework connector, and the effects show in the database."""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from adapters.teams import TEAMS_PATH, messages_route
from bot.bootstrap import App, build_app
from bot.cli import check_cron
from bot.clock import MovableClock
from bot.server import start, web_app
from bot.settings import Settings, TeamsSettings
from dialogue.directory_import import import_directory
from dialogue.programme import load_programme
from tests.teams.activities import TENANT_ID, TeamsActivities, make_member
from tests.teams.fake_connector import FakeConnector

AMIRA = make_member("Amira Hassan")
BEN = make_member("Ben Carter")
PULSE = (
    '[[pulse]]\nname = "Quick"\n[[pulse.question]]\nkind = "scale"\ntext = "I can suggest improvements."\n'
)


@dataclass
class TeamsBot:
    app: App
    fake: FakeConnector
    url: str
    http: aiohttp.ClientSession
    teams: TeamsActivities

    async def post(self, activity: dict[str, Any]) -> tuple[int, Any]:
        async with self.http.post(self.url, json=activity) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    async def count(self, table: str, where: str = "") -> int:
        async with self.app.store.engine.connect() as db:
            query = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
            return int((await db.execute(text(query))).scalar_one())


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[TeamsBot]:
    async with FakeConnector() as fake:
        teams = TeamsActivities(service_url=fake.url + "/")
        settings = Settings(
            data_dir=tmp_path,
            secret_key=b"teams-tests-secret-0000000",
            database_url=database_url,
            teams=TeamsSettings(tenant_id=TENANT_ID, service_url=fake.url + "/"),
        )
        app = await build_app(settings, clock=MovableClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)))
        assert app.teams is not None
        people = "handle,name,roles,team,teams_user_id,teams_tenant\n"
        people += f"amira,Amira Hassan,staff,Reablement,{AMIRA['aadObjectId']},{TENANT_ID}\n"
        people += f"ben,Ben Carter,manager,Reablement,{BEN['aadObjectId']},{TENANT_ID}\n"
        assert not (await import_directory(app.store, csv.DictReader(io.StringIO(people)))).errors
        await load_programme(app.store, tomllib.loads(PULSE), check_cron=check_cron)
        route = messages_route(app.teams.adapter, app.teams.bot)
        runner = await start(web_app(teams=route), host="127.0.0.1", port=0)
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession() as http:
                yield TeamsBot(app, fake, f"http://{host}:{port}{TEAMS_PATH}", http, teams)
        finally:
            await runner.cleanup()
            await app.close()


def shown(delivered: Any) -> str:
    return str(delivered.activity)


async def test_a_personal_message_is_answered_with_a_card_and_the_reference_is_kept(bot: TeamsBot) -> None:
    status, _ = await bot.post(
        bot.teams.personal_message("idea Share spare PPE between patches", sender=AMIRA)
    )

    assert status in (200, 201)
    (reply,) = await bot.fake.wait_for(1)
    assert "Your idea #1 is in" in shown(reply)
    assert reply.activity["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert await bot.count("ideas") == 1
    assert await bot.count("contacts", "reachable") == 1
    assert bot.fake.violations == []


async def test_a_pulse_reaches_people_proactively_and_a_tap_refreshes_the_card(bot: TeamsBot) -> None:
    await bot.post(bot.teams.personal_message("hello", sender=AMIRA))  # Teams gave us her reference
    await bot.post(bot.teams.personal_message("pulse send Quick", sender=BEN))
    before = len(bot.fake.activities)
    await bot.app.worker.drain()

    question = next(
        d
        for d in bot.fake.activities[before:]
        if d.conversation_id == bot.teams.personal_conversation(AMIRA)["id"]
        and "I can suggest improvements" in shown(d)
    )
    card = question.activity["attachments"][0]["content"]
    button = next(
        action
        for element in card["body"]
        if element.get("type") == "ActionSet"
        for action in element["actions"]
        if action["title"] == "4"
    )
    invoke = bot.teams.card_action(
        button["verb"], button["data"], sender=AMIRA, message_id=question.activity_id
    )

    status, body = await bot.post(invoke)

    assert status == 200
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "✓ 4" in str(body["value"])
    assert await bot.count("answers") == 1
    assert bot.fake.violations == []


async def test_someone_who_removed_the_app_is_not_retried(bot: TeamsBot) -> None:
    await bot.post(bot.teams.personal_message("hello", sender=AMIRA))
    await bot.post(bot.teams.installation_update("remove", by=AMIRA))
    assert await bot.count("contacts", "NOT reachable") == 1

    await bot.post(bot.teams.personal_message("pulse send Quick", sender=BEN))
    await bot.app.worker.drain()

    assert await bot.count("deliveries", "status = 'failed' AND last_error LIKE '%removed the app%'") == 1
