"""Real Slack payloads, correctly signed, posted to /slack/events on a running server; effects checked in
the database and on the local Slack-like Web API."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text

from adapters.slack.render import encode_action
from bot.server import web_app
from tests.bot.test_operability import configured
from tests.reference import SLACK_PAYLOADS
from tests.slack.fake_api import FakeSlack, make_member
from tests.slack.harness import SlackBot, signed_headers, slack_bot, wait_for

PAYLOADS = SLACK_PAYLOADS
PEOPLE = """\
handle,name,roles,team,slack_user_id,slack_team_id
amira,Amira Hassan,staff,Reablement,W111,T111
ben,Ben Carter,manager,Reablement,W222,T111
"""
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[SlackBot]:
    async with slack_bot(database_url, tmp_path, PEOPLE, start_at=MONDAY) as bot:
        yield bot


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


async def test_a_slash_command_stores_the_idea_and_answers_the_person_privately(served: SlackBot) -> None:
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
    served: SlackBot, headers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = slash_command(served.fake, "/idea", "A forged idea")
    if headers == "stale":
        headers = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    elif headers == "wrong-secret":
        headers = signed_headers(body, secret="not-the-secret")

    # Bolt's loggers take the root's level when the app is made, as `serve` makes it after setting INFO.
    with configured(logging.INFO), caplog.at_level(logging.INFO, logger="slack_bolt.RequestVerification"):
        response = await served.post(body, form=True, headers=headers)

    assert response.status == 401
    assert await served.count("ideas") == 0
    assert served.posted("response_url") == []
    # Bolt would log the body (her words and Slack id) of a request it refuses: a rotated secret must not
    # write what people sent, anonymous or not, into the logs.
    if headers:
        assert "Invalid request signature detected: refused with 401" in caplog.text
    assert "forged idea" not in caplog.text and "forged+idea" not in caplog.text
    assert "W111" not in caplog.text  # the sender's Slack user id


async def test_a_direct_message_is_answered_and_a_retried_event_counts_once(served: SlackBot) -> None:
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


async def test_text_is_stored_as_typed_not_as_slack_encodes_it(served: SlackBot) -> None:
    served.fake.members.append(make_member("W222", "Ben Carter"))
    typed = (
        "idea Shorter A&E handovers, see the rota page (https://intranet.example/rota) cc @Ben Carter > 2h"
    )
    # What Slack sends for it: &, < and > escaped, the link and the mention as markup.
    sent = (
        "idea Shorter A&amp;E handovers, see the <https://intranet.example/rota|rota page> cc <@W222> &gt; 2h"
    )

    await served.post(dm_event(sent, event_id="Ev1"))
    await served.post(dm_event("ideas 1", event_id="Ev2"))
    shown_again = (await served.expect(0, "chat.postMessage", 2))[-1]
    await served.post(slash_command(served.fake, "/ask", "Why are A&amp;E handovers slow?"), form=True)
    await wait_for(lambda: served.posted("response_url"))

    async with served.app.store.engine.connect() as db:
        (idea,) = (await db.execute(text("SELECT text FROM ideas"))).scalars().all()
        (question,) = (await db.execute(text("SELECT text FROM questions"))).scalars().all()
    assert idea == typed.removeprefix("idea ")
    assert question == "Why are A&E handovers slow?"
    assert "Shorter A&amp;E handovers" in json.dumps(shown_again)  # escaped once more, as Slack wants
    assert "A&amp;amp;E" not in json.dumps(shown_again)


async def test_slack_is_asked_who_someone_is_only_the_first_time_they_write(served: SlackBot) -> None:
    served.fake.members.append(make_member("W333", "Cara Diaz", tz="Europe/London"))

    await served.post(dm_event("idea Label the key safes", event_id="Ev1"))  # Amira, in the directory
    await served.post(dm_event("idea Share the rota a week earlier", event_id="Ev2", user="W333"))
    await wait_for(lambda: len(served.posted("chat.postMessage")) == 2)
    await served.post(dm_event("idea Rota reminders by text", event_id="Ev3", user="W333"))

    await wait_for(lambda: len(served.posted("chat.postMessage")) == 3)
    assert await served.count("ideas") == 3
    # users.info is rate limited (Tier 4): a pulse answered by thousands must not ask it for each tap.
    assert [call["user"] for call in served.fake.calls_to("users.info")] == ["W333"]
    assert await served.count("people", "display_name = 'Cara Diaz' AND time_zone = 'Europe/London'") == 1


async def test_a_staff_member_cannot_use_manager_commands(served: SlackBot) -> None:
    await served.post(slash_command(served.fake, "/pulse", "send Monday"), form=True)

    await wait_for(lambda: served.posted("response_url"))
    assert "only managers can use `pulse`" in json.dumps(served.posted("response_url")[0])


async def vote_click(served: SlackBot) -> str:
    """Ben shares idea #1; the form body of Amira's click on its vote button."""
    await served.post(
        slash_command(served.fake, "/idea", "Text people when a visit is late", user="W222"), form=True
    )
    await wait_for(lambda: served.posted("response_url"))
    body = json.loads((PAYLOADS / "block_actions__body.json").read_text())
    action_id, value = encode_action("idea.act", "1", "vote")
    body["actions"][0].update(action_id=action_id, value=value)
    body["container"].update(channel_id="D111", is_ephemeral=False)
    return urllib.parse.urlencode({"payload": json.dumps(body)})


async def test_a_button_click_reaches_the_core_as_the_same_choice(served: SlackBot) -> None:
    form = await vote_click(served)

    response = await served.post(form, form=True)

    assert response.status == 200
    await wait_for(lambda: served.posted("chat.postMessage"))
    assert "Voted. #1 now has 1 vote." in json.dumps(served.posted("chat.postMessage")[0])
    assert await served.count("idea_votes") == 1


async def test_a_reply_slack_refuses_after_a_click_is_counted_in_the_metrics(served: SlackBot) -> None:
    form = await vote_click(served)
    served.fake.fail_next("chat.postMessage", "channel_not_found")

    response = await served.post(form, form=True)

    assert response.status == 200
    assert await served.count("idea_votes") == 1  # stored; only the reply was lost
    registry = served.app.metrics.registry
    labels = {"platform": "slack", "after": "button click"}
    await wait_for(lambda: registry.get_sample_value("nextpractice_platform_calls_failed_total", labels) == 1)
    assert "nextpractice_platform_calls_failed_total" in (await served.app.metrics.scrape()).decode()


@asynccontextmanager
async def another_writer(bot: SlackBot, table: str) -> AsyncIterator[asyncio.Event]:
    """Another connection holds the database for half a second (on PostgreSQL, ``table`` locked against
    writes); yields an event set once it has let go."""
    engine = bot.app.store.engine
    # SQLite takes its write lock with the transaction's first statement (BEGIN IMMEDIATE).
    hold = f"LOCK TABLE {table} IN EXCLUSIVE MODE" if engine.dialect.name == "postgresql" else "SELECT 1"
    held, released = asyncio.Event(), asyncio.Event()

    async def other_writer() -> None:
        async with engine.begin() as db:
            await db.execute(text(hold))
            held.set()
            await asyncio.sleep(0.5)
        released.set()

    writer = asyncio.create_task(other_writer())
    await held.wait()
    yield released
    await writer


# Slack never sends a click or a command again, and an event again only if it got no answer: answered
# before being stored, what was lost in a crash in between would be gone.


async def test_a_click_is_acknowledged_only_once_it_is_stored(served: SlackBot) -> None:
    form = await vote_click(served)

    async with another_writer(served, "idea_votes") as released:
        response = await served.post(form, form=True)

        assert response.status == 200
        assert released.is_set()
        assert await served.count("idea_votes") == 1


async def test_a_direct_message_is_acknowledged_only_once_it_is_stored(served: SlackBot) -> None:
    async with another_writer(served, "ideas") as released:
        response = await served.post(dm_event("idea Text people when a visit is late", event_id="EvStored1"))

        assert response.status == 200
        assert released.is_set()
        assert await served.count("ideas") == 1
    await wait_for(lambda: served.posted("chat.postMessage"))


async def test_a_slash_command_is_acknowledged_once_its_idea_is_stored(served: SlackBot) -> None:
    async with another_writer(served, "ideas") as released:
        response = await served.post(
            slash_command(served.fake, "/idea", "Text people when a visit is late"), form=True
        )

        assert response.status == 200
        assert released.is_set()
        assert await served.count("ideas") == 1
    await wait_for(lambda: served.posted("response_url"))


def test_health_route_exists() -> None:
    assert any(
        route.resource.canonical == "/healthz" for route in web_app().router.routes() if route.resource
    )
    assert isinstance(web_app(), web.Application)


async def test_a_slash_command_too_long_is_refused_with_its_text_shown_back(served: SlackBot) -> None:
    long_idea = "Share the rota four weeks ahead so carers can plan childcare. " * 18  # ~1,100 characters

    await served.post(slash_command(served.fake, "/idea", long_idea), form=True)

    await wait_for(lambda: served.posted("response_url"))
    reply = json.dumps(served.posted("response_url")[0], ensure_ascii=False)
    assert "the limit is 1000. Please shorten it." in reply
    assert "What you wrote, to shorten:" in reply and long_idea.strip() in reply  # Slack keeps it nowhere
    assert await served.count("ideas") == 0
