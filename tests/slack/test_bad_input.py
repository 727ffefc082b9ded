"""Bad input at /slack/events on a running server: malformed bodies, huge bodies, replays and odd Unicode.
Each is refused with the right status, or handled, with nothing half-written, and the server stays up."""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.slack.harness import SlackBot, signed_headers, slack_bot, wait_for
from tests.slack.test_events import dm_event, slash_command

PEOPLE = """\
handle,name,roles,team,slack_user_id,slack_team_id
amira,Amira Hassan,staff,Reablement,W111,T111
"""
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[SlackBot]:
    async with slack_bot(database_url, tmp_path, PEOPLE, start_at=MONDAY) as bot:
        yield bot


async def still_up(bot: SlackBot) -> None:
    """The server answers, and a good request still works."""
    health = bot.url.replace("/slack/events", "/healthz")
    async with bot.http.get(health) as response:
        assert response.status == 200
    before = await bot.count("ideas")
    assert (await bot.post(slash_command(bot.fake, "/idea", "Still here"), form=True)).status == 200
    await wait_for(lambda: len(bot.posted("response_url")) > 0)
    assert await bot.count("ideas") == before + 1


MALFORMED = {
    "json that does not parse": ('{"type": "event_callback", "event": {', False),
    "json that is not an object": ("[1, 2, 3]", False),
    "form with a payload that is not json": ("payload=%7Bnot+json", True),
    "form with no fields": ("", True),
    "bytes that are not utf-8": ("\udcff\udcfe", False),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_but_signed_bodies_are_refused_and_change_nothing(
    served: SlackBot, case: str
) -> None:
    body, form = MALFORMED[case]
    raw = body.encode("utf-8", "surrogateescape")
    headers = {**signed_headers(raw.decode("latin-1")), "Content-Type": "application/json"}
    if form:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    async with served.http.post(served.url, data=raw, headers=headers) as response:
        status = response.status

    assert 400 <= status < 500 or status == 200  # never a server error
    assert await served.count("inbox") == 0 and await served.count("ideas") == 0
    await still_up(served)


async def test_a_huge_body_is_refused_before_it_is_read(served: SlackBot) -> None:
    body = slash_command(served.fake, "/idea", "x" * (2 * 1024 * 1024))
    headers = {**signed_headers(body), "Content-Type": "application/x-www-form-urlencoded"}

    async with served.http.post(served.url, data=io.BytesIO(body.encode()), headers=headers) as response:
        assert response.status == 413
    assert await served.count("ideas") == 0
    await still_up(served)


async def test_a_replay_after_five_minutes_is_refused(served: SlackBot) -> None:
    body = dm_event("idea Replayed idea", event_id="EvReplay")
    stamp = int(time.time()) - 5 * 60 - 5  # a genuine signature, captured and sent again too late
    response = await served.post(body, headers=signed_headers(body, timestamp=stamp))

    assert response.status == 401
    assert await served.count("ideas") == 0


ODD_TEXT = {
    "right-to-left override": "idea Rota \u202eetadpu\u202c for winter",
    "zero-width and combining": "idea Re\u200bable\u0301ment\u200d visits",
    "emoji and astral plane": "idea 🧑‍⚕️ visits 𝔣𝔞𝔰𝔱𝔢𝔯",
    "a NUL character": "idea Fewer\u0000forms",
    "a lone surrogate": "idea Broken \ud800 text",
    "only whitespace and controls": "idea \u0007\u0008\t ",
}


@pytest.mark.parametrize("case", list(ODD_TEXT))
async def test_odd_unicode_in_a_signed_message_is_handled_and_stored_safely(
    served: SlackBot, case: str
) -> None:
    body = json.dumps(json.loads(dm_event(ODD_TEXT[case], event_id=f"Ev-{case}")))  # \ud800 stays escaped

    response = await served.post(body)

    assert response.status == 200
    await wait_for(lambda: served.posted("chat.postMessage"))
    reply = json.dumps(served.posted("chat.postMessage")[-1], ensure_ascii=False)
    stored = await served.count("ideas")
    if case == "only whitespace and controls":
        assert stored == 0 and "idea" in reply.lower()  # asked for the idea's text instead
    else:
        assert stored == 1 and "Your idea #1 is in" in reply
    assert served.fake.violations == []
    await still_up(served)
