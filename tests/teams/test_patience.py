"""A card tap whose work outlasts the bot's patience is answered before Teams gives up on it (it waits about
five seconds, then retries and shows an error), and what the tap does shows when the work is done: the card
refreshed in place, or, if the work failed, a message saying it was not saved. Activities posted to a
running server (botbuilder's real CloudAdapter); replies and updates arrive at the local connector."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from adapters.background import Background
from adapters.teams import TEAMS_PATH, TeamsBot, TeamsContext, make_adapter, messages_route
from adapters.teams.bot import STILL_WORKING
from adapters.teams.render import encode_action
from bot.server import start, web_app
from dialogue.errors import NOT_SAVED
from dialogue.events import Event
from dialogue.messages import Reply
from tests.teams import test_week as week
from tests.teams.activities import TeamsActivities, make_member
from tests.teams.fake_connector import FakeConnector, Json
from tests.teams.harness import TeamsBot as RunningBot
from tests.teams.harness import button, people_csv, teams_bot

AMIRA = make_member("Amira Hassan")
BEN = make_member("Ben Carter")
PULSE = (
    '[[pulse]]\nname = "Quick"\n[[pulse.question]]\nkind = "scale"\ntext = "I can suggest improvements."\n'
)
NOTE = "application/vnd.microsoft.activity.message"


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    people = people_csv(
        [
            ("amira", "Amira Hassan", "staff", "Reablement", AMIRA),
            ("ben", "Ben Carter", "manager", "Reablement", BEN),
        ]
    )
    async with teams_bot(database_url, tmp_path, people=people, programme=PULSE) as running:
        yield running


def pulse_question(bot: RunningBot, member: dict[str, Any]) -> Json:
    """The pulse card in ``member``'s chat, as Teams shows it now."""
    return next(m for m in bot.held(bot.chat(member)) if "I can suggest improvements" in str(m))


def tap(bot: RunningBot, member: dict[str, Any], message: Json, title: str) -> Json:
    action = button(message, title)
    return bot.teams.card_action(action["verb"], action["data"], sender=member, message_id=str(message["id"]))


async def test_a_slow_tap_gets_a_note_at_once_and_its_card_refreshed_in_place_when_done(
    bot: RunningBot,
) -> None:
    for member in (AMIRA, BEN):
        await bot.post(bot.teams.personal_message("hello", sender=member))
    await bot.post(bot.teams.personal_message("pulse send Quick", sender=BEN))
    await bot.deliver()
    # Ben's tap is answered in time: the refreshed card comes back in the invoke's answer.
    _, in_time = await bot.post(tap(bot, BEN, pulse_question(bot, BEN), "4"))
    assert in_time["type"] == "application/vnd.microsoft.card.adaptive"
    # Amira's tap waits behind others (no patience at all here), so Teams hears first that it is going on.
    assert bot.app.teams is not None
    bot.app.teams.bot.context.patience = 0
    question = pulse_question(bot, AMIRA)
    updates = len(bot.fake.calls_to("update_activity"))

    status, body = await bot.post(tap(bot, AMIRA, question, "4"))

    assert status == 200
    assert body == {"statusCode": 200, "type": NOTE, "value": STILL_WORKING}
    await bot.app.teams.background.drain(grace=5)
    assert len(bot.fake.calls_to("update_activity")) == updates + 1
    refreshed = pulse_question(bot, AMIRA)
    assert refreshed["id"] == question["id"]  # the card she tapped, updated in place
    assert refreshed["attachments"][0]["content"] == in_time["value"]  # showing what a prompt tap shows
    assert "✓ 4" in str(refreshed)
    assert await bot.count("answers") == 2  # hers and Ben's, each once
    assert bot.fake.violations == []


async def test_a_slow_tap_that_fails_is_answered_and_then_told_it_was_not_saved() -> None:
    release = asyncio.Event()
    failures: list[str] = []

    async def slow_and_failing(_event: Event, _receipt: object) -> Reply:
        await release.wait()  # the database is slow, and then it is gone
        raise ConnectionError("the database went away")

    async def nothing(*_args: object) -> Any:
        return True

    context = TeamsContext(
        handle=slow_and_failing,  # type: ignore[arg-type]
        remember=nothing,
        forget=nothing,
        thread_of=nothing,
        arrived=nothing,
        unsee=nothing,
        team_installed=nothing,
        handle_arrived=slow_and_failing,
        background=Background("Teams", failures.append),
        patience=0.3,
    )
    amira = make_member("Amira Hassan")
    async with FakeConnector(members=[amira]) as fake, aiohttp.ClientSession() as session:
        configuration = SimpleNamespace(
            APP_ID=None, APP_PASSWORD=None, APP_TYPE="MultiTenant", APP_TENANTID=None
        )
        route = messages_route(make_adapter(configuration, session), TeamsBot(context))
        runner = await start(web_app(teams=route), host="127.0.0.1", port=0)
        host, port = runner.addresses[0][:2]
        try:
            activities = TeamsActivities(service_url=fake.url)
            verb, data = encode_action("pulse.answer", "1", "4")
            invoke = activities.card_action(verb, data, sender=amira, message_id="1:card")
            started = time.monotonic()
            async with (
                asyncio.timeout(5),
                session.post(f"http://{host}:{port}{TEAMS_PATH}", json=invoke) as answer,
            ):
                status, body = answer.status, await answer.json()
            answered_after = time.monotonic() - started

            assert status == 200 and body["value"] == STILL_WORKING
            assert 0.3 <= answered_after < 2.0  # well inside the five seconds Teams waits
            assert fake.activities == []  # nothing more yet: the work goes on
            release.set()
            (told,) = await fake.wait_for(1)
            assert told.activity["text"] == NOT_SAVED
            await context.background.drain(grace=5)
            assert failures == ["card tap"]  # counted, for the metric
            assert fake.violations == []
        finally:
            await runner.cleanup()


async def test_a_slow_tap_in_a_channel_changes_nothing_everyone_sees(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeConnector(members=list(week.EVERYONE)) as fake:
        fake.add_team(week.STAFF_VOICE, list(week.EVERYONE))
        async with teams_bot(
            database_url, tmp_path, people=week.PEOPLE, qa_channel_id=week.QA_CHANNEL, fake=fake
        ) as bot:
            await bot.say(week.AMIRA, "ask How will rotas change over winter?")
            await bot.deliver()
            (post,) = [d for d in bot.fake.activities if d.conversation_id == week.QA_CHANNEL]
            assert bot.app.teams is not None
            bot.app.teams.bot.context.patience = 0
            card = bot.fake.message(week.QA_CHANNEL, post.activity_id) or {}
            action = button({**card, "id": post.activity_id}, "Answer")
            invoke = bot.teams.card_action(
                action["verb"],
                action["data"],
                sender=week.HELEN,
                message_id=post.activity_id,
                team=week.STAFF_VOICE,
            )
            mark = bot.mark()

            status, body = await bot.post(invoke)
            await bot.app.teams.background.drain(grace=5)

            assert status == 200 and body["value"] == STILL_WORKING
            # Her answer form would have replaced the question for everyone in the channel: not shown.
            assert bot.fake.calls_to("update_activity") == [] and bot.since(mark) == []
            assert "How will rotas change over winter?" in str(
                bot.fake.message(week.QA_CHANNEL, post.activity_id)
            )
