"""Slack event retries and duplicate Teams activities under load are recorded once.

Slack redelivers an event it thinks we missed (same ``event_id``, with ``X-Slack-Retry-Num``), and Teams
may post one activity again (same id); under load the copies arrive together, on any replica. Here each of
``DISTINCT`` ideas is posted three times at once to the real server, on both engines: each idea must be
stored once and its author answered once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.slack.harness import WORKSPACE, SlackBot, payload, signed_headers, slack_bot, wait_for
from tests.teams.activities import make_member
from tests.teams.harness import people_csv, teams_bot

DISTINCT = 100  # ideas, each from a person of their own
COPIES = 3  # the first delivery and two retries
IN_FLIGHT = 100  # requests open at once: plenty of copies race, without exhausting sockets
REDELIVERIES = 5  # how often a copy answered with a 5xx is sent again, as both platforms retry those
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def at_once(requests: list[Awaitable[int]]) -> list[int]:
    """Run ``requests`` concurrently, at most ``IN_FLIGHT`` at a time; their statuses."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(request: Awaitable[int]) -> int:
        async with gate:
            return await request

    return list(await asyncio.gather(*(one(request) for request in requests)))


def slack_people() -> str:
    return "handle,name,time_zone,roles,team,slack_user_id,slack_team_id\n" + "".join(
        f"p{n},Person {n},Europe/London,staff,Team {n % 7},U{n:05d},{WORKSPACE}\n" for n in range(DISTINCT)
    )


def idea_event(n: int) -> str:
    """Person ``n``'s DM "idea ..." as a signed-once body: the same event, whichever copy carries it."""
    body = payload("message__message_body.json")
    ts = f"{1_764_493_200 + n}.000100"
    body.update(team_id=WORKSPACE, event_id=f"EvDup{n:05d}", event_time=1_764_493_200 + n)
    body["event"].update(
        text=f"idea Duplicate-proof idea number {n}",
        user=f"U{n:05d}",
        channel=f"D{n:05d}",
        channel_type="im",
        ts=ts,
    )
    body["event"].pop("blocks", None)
    return json.dumps(body)


async def post_slack(bot: SlackBot, body: str, retry: int) -> int:
    """Deliver one copy, again while it gets a 5xx; Slack marks a redelivery with its number and reason."""
    for attempt in range(REDELIVERIES + 1):
        headers = {"Content-Type": "application/json", **signed_headers(body)}
        if retry + attempt:
            headers["X-Slack-Retry-Num"] = str(retry + attempt)
            headers["X-Slack-Retry-Reason"] = "http_error" if attempt else "http_timeout"
        async with bot.http.post(bot.url, data=body.encode(), headers=headers) as response:
            await response.read()
            if response.status < 500:
                return response.status
    return response.status


async def test_slack_event_retries_under_load_are_recorded_once(database_url: str, tmp_path: Path) -> None:
    async with slack_bot(database_url, tmp_path, slack_people(), start_at=START) as bot:
        bodies = [idea_event(n) for n in range(DISTINCT)]
        requests = [post_slack(bot, body, retry) for retry in range(COPIES) for body in bodies]

        statuses = await at_once(requests)

        assert Counter(statuses) == {200: DISTINCT * COPIES}  # every copy is acknowledged, none refused
        # Listeners answer after the ack: wait for every author's answer, then a moment for any extra one.
        await wait_for(lambda: len(bot.posted("chat.postMessage")) >= DISTINCT, within=20)
        await asyncio.sleep(0.5)
        assert await bot.count("ideas") == DISTINCT
        assert await bot.count("inbox") == DISTINCT
        answered = Counter(str(call["channel"]) for call in bot.posted("chat.postMessage"))
        assert answered == {f"D{n:05d}": 1 for n in range(DISTINCT)}
        assert bot.fake.violations == []


async def test_duplicate_teams_activities_under_load_are_recorded_once(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    members = [make_member(f"Person {n}") for n in range(DISTINCT)]
    people = people_csv(
        [(f"p{n}", f"Person {n}", "staff", f"Team {n % 7}", m) for n, m in enumerate(members)]
    )
    async with teams_bot(database_url, tmp_path, people=people) as bot:
        activities = [
            bot.teams.personal_message(f"idea Duplicate-proof idea number {n}", sender=member)
            for n, member in enumerate(members)
        ]

        async def post(activity: dict[str, object]) -> int:
            # Teams sends an activity again after a 5xx (the bot's answer to a turn that failed).
            for _ in range(REDELIVERIES + 1):
                status = (await bot.post(activity))[0]
                if status < 500:
                    return status
            return status

        started = time.monotonic()
        statuses = await at_once([post(activity) for _ in range(COPIES) for activity in activities])

        # Teams' turns answer in the request: when every copy is answered, every reply has been sent.
        assert Counter(statuses) == {201: DISTINCT * COPIES}, time.monotonic() - started
        assert await bot.count("ideas") == DISTINCT
        answered = Counter(d.conversation_id for d in bot.fake.activities)
        assert answered == {bot.chat(member): 1 for member in members}
        assert bot.fake.violations == []
