"""A weekly check-in in Slack, through signed requests and the local Web API only.

The scheduler opens the run and everyone but its owner gets the questions as DMs; five answer (a click,
then a written answer); at close the owning senior leader gets the digest in her DM. What she then writes
there is not sent to everyone at once: it comes back to her with Send it / Don't send. Don't send sends
nothing; Send it sends her "you said, we did" to each participant once, and a second click sends no more.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import check_cron
from dialogue.programme import load_programme
from tests.slack.harness import SlackBot, dm, shown, slack_bot

PEOPLE = """\
handle,name,time_zone,roles,team,slack_user_id,slack_team_id
amira,Amira Hassan,Europe/London,staff,Reablement,W101,T111
chloe,Chloe Price,Europe/London,staff,Reablement,W102,T111
dev,Dev Patel,Europe/London,staff,Reablement,W103,T111
ellie,Ellie Watson,Europe/London,staff,Reablement,W104,T111
farah,Farah Begum,Europe/London,staff,Reablement,W105,T111
gus,Gus Moyo,Europe/London,staff,Reablement,W106,T111
ben,Ben Carter,Europe/London,manager,Reablement,W200,T111
helen,Helen Marsh,Europe/London,senior_leader,Executive Team,W300,T111
"""
AMIRA, CHLOE, DEV, ELLIE, FARAH, GUS = ("W101", "W102", "W103", "W104", "W105", "W106")
BEN, HELEN = ("W200", "W300")
PARTICIPANTS = (AMIRA, CHLOE, DEV, ELLIE, FARAH, GUS, BEN)  # everyone but the owner
CHECKIN = """
[[checkin]]
name = "Weekly check-in"
owner = "helen"
intro = "Helen reads every answer."
open_hours = 24
schedule = { cron = "0 10 * * MON", time_zone = "Europe/London" }

[[checkin.question]]
kind = "scale"
text = "This week I had what I needed."

[[checkin.question]]
kind = "text"
text = "What should I know about?"
"""
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # the check-in is due at 10:00 London time
ANSWERS = (
    (AMIRA, "4", "Rotas keep changing at short notice"),
    (CHLOE, "2", "The rota changed twice this week"),
    (DEV, "3", "More notice of rota changes, please"),
    (ELLIE, "4", "Handovers went well"),
    (FARAH, "5", "The new van helps"),
)
DROPPED = "Thanks all, we will fix the rota"
SENT = "From January the rota is fixed four weeks ahead."
SAID = "You said, we did"


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[SlackBot]:
    async with slack_bot(database_url, tmp_path, PEOPLE, start_at=MONDAY) as running:
        await load_programme(running.app.store, tomllib.loads(CHECKIN), check_cron=check_cron)
        yield running


async def say(bot: SlackBot, user: str, text: str, count: int = 1) -> list[dict[str, Any]]:
    """``user`` writes in their DM with the bot; returns the ``count`` messages the bot posted back there."""
    mark = bot.mark()
    await bot.message(user, text, channel=dm(user))
    return await bot.expect(mark, "chat.postMessage", count)


def as_held(bot: SlackBot, posted: dict[str, Any]) -> dict[str, Any]:
    """The message ``posted`` (the arguments of its chat.postMessage) as Slack holds it now, with its ts."""
    held = bot.held(str(posted["channel"]))
    return next(m for m in reversed(held) if m.get("blocks") == posted.get("blocks"))


def now_shown(bot: SlackBot, message: dict[str, Any]) -> dict[str, Any]:
    """``message`` (held, with its ts) as Slack shows it now, updates applied."""
    (now,) = [m for m in bot.held(str(message["channel"])) if m.get("ts") == message["ts"]]
    return now


def buttons(message: dict[str, Any]) -> list[str]:
    """The labels of a message's buttons, in order."""
    return [
        element["text"]["text"]
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def news_for(bot: SlackBot, user: str, mark: int = 0) -> list[dict[str, Any]]:
    """The "you said, we did" messages ``user`` got after ``mark``."""
    return [message for message in bot.dms_to(user, mark) if SAID in shown(message)]


async def test_the_owner_reads_the_digest_and_her_reply_goes_out_only_once_she_sends_it(
    bot: SlackBot,
) -> None:
    # Monday 10:00: the run opens; everyone but its owner gets the first question in their DM.
    mark = bot.mark()
    await bot.advance(timedelta(hours=1))
    opened = {user: bot.dms_to(user, mark) for user in (*PARTICIPANTS, HELEN)}
    assert {user: len(got) for user, got in opened.items()} == {**dict.fromkeys(PARTICIPANTS, 1), HELEN: 0}
    first = opened[AMIRA][0]
    assert "Weekly check-in (check-in, 2 questions, anonymous)" in shown(first)
    assert "This week I had what I needed." in shown(first)
    assert buttons(first) == ["1", "2", "3", "4", "5"]

    # Five answer: a click on the scale, then the written question, answered in the DM.
    for user, score, written in ANSWERS:
        await bot.click(user, bot.held(dm(user))[0], score, expect="chat.update")
        await bot.deliver()
        assert "What should I know about?" in shown(bot.held(dm(user))[-1])
        thanks = await say(bot, user, written, count=2)
        assert "Thanks, noted." in shown(thanks[0]) and "That's everything" in shown(thanks[1])

    # Tuesday 10:00: the run closes and the owner, only she, gets the digest.
    mark = bot.mark()
    await bot.advance(timedelta(days=1))
    (digest,) = bot.dms_to(HELEN, mark)
    assert all(SAID not in shown(message) for message in bot.since(mark, "chat.postMessage"))
    text = shown(digest)
    assert "Your check-in digest is ready." in text and "Responses: 5 of 7" in text
    assert "n=5, mean 3.6" in text and "Rotas keep changing at short notice" in text
    assert "Amira" not in text  # free text without names
    assert "Reply here with what you will do" in text

    # She writes in her DM: it is shown back to her with two buttons, and nobody else gets anything.
    mark = bot.mark()
    preview = as_held(bot, *await say(bot, HELEN, DROPPED))
    await bot.deliver()
    assert preview["channel"] == dm(HELEN)
    assert "Send this to all 7 people the check-in went to?" in shown(preview) and DROPPED in shown(preview)
    assert buttons(preview) == ["Send it", "Don't send"]
    assert [args["channel"] for args in bot.since(mark, "chat.postMessage")] == [dm(HELEN)]

    # Don't send: she is told so, and still nobody else gets anything.
    dropped = await bot.click(HELEN, preview, "Don't send", expect="chat.postMessage")
    await bot.deliver()
    assert "Not sent. Write it again when you are ready" in shown(dropped[-1])
    now = now_shown(bot, preview)
    assert "Not sent:" in shown(now) and buttons(now) == []  # the preview says so, without its buttons
    assert [args["channel"] for args in bot.since(mark, "chat.postMessage")] == [dm(HELEN), dm(HELEN)]

    # She writes again and clicks Send it: each participant gets her reply once, and she is thanked.
    preview = as_held(bot, *await say(bot, HELEN, SENT))
    assert SENT in shown(preview) and DROPPED not in shown(preview)
    stale = copy.deepcopy(preview)  # as a second device still shows it, buttons and all
    sent = await bot.click(HELEN, preview, "Send it", expect="chat.postMessage")
    assert "Thank you. Your reply is on its way to all 7 people the check-in went to." in shown(sent[-1])
    now = now_shown(bot, preview)
    assert "Sent to everyone the check-in went to:" in shown(now) and buttons(now) == []
    await bot.deliver()
    for user in PARTICIPANTS:
        (news,) = news_for(bot, user, mark)
        assert "Weekly check-in" in shown(news) and f"Helen Marsh: {SENT}" in shown(news)
        assert all(DROPPED not in shown(message) for message in bot.dms_to(user, mark))
    assert news_for(bot, HELEN) == []

    # A second click of Send it (on a device that still shows the buttons) sends nothing more.
    again = bot.mark()
    repeat = await bot.click(HELEN, stale, "Send it", expect="chat.postMessage")
    await bot.deliver()
    assert "You already replied to the check-in of Mon 30 Nov." in shown(repeat[-1])
    assert [args["channel"] for args in bot.since(again, "chat.postMessage")] == [dm(HELEN)]
    assert {user: len(news_for(bot, user)) for user in PARTICIPANTS} == dict.fromkeys(PARTICIPANTS, 1)
    assert bot.fake.violations == []


async def test_a_reply_that_starts_with_a_command_word_is_shown_back_too(bot: SlackBot) -> None:
    await bot.advance(timedelta(hours=1))  # the run opens
    user, score, _written = ANSWERS[0]
    await bot.click(user, bot.held(dm(user))[0], score, expect="chat.update")  # someone answers
    mark = bot.mark()
    await bot.advance(timedelta(days=1))  # it closes: the digest
    assert any("Your check-in digest is ready." in shown(message) for message in bot.dms_to(HELEN, mark))

    mark = bot.mark()
    (posted,) = await say(
        bot, HELEN, "Ask your team leader for the January rota: it is fixed four weeks ahead."
    )
    preview = as_held(bot, posted)
    await bot.deliver()

    assert "Send this to all 7 people the check-in went to?" in shown(
        preview
    ) and "Ask your team leader" in shown(preview)
    assert buttons(preview) == ["Send it", "Don't send", "Run as a command"]
    assert "It starts with `ask`" in shown(preview)
    assert [args["channel"] for args in bot.since(mark, "chat.postMessage")] == [dm(HELEN)]  # not #qa

    # She meant it as a question after all: not reading like one, it is shown back once more, as typing it
    # would be, then posted; the preview keeps no buttons.
    ran = await bot.click(HELEN, preview, "Run as a command", expect="chat.postMessage")
    assert "Ask this in the open, in the Q&amp;A channel, or share it as an idea?" in shown(ran[-1])
    asked = await bot.click(HELEN, as_held(bot, ran[-1]), "Ask it with my name", expect="chat.postMessage")
    await bot.deliver()
    assert "Your question #1 is posted" in shown(asked[-1])
    now = now_shown(bot, preview)
    assert "Run as a command:" in shown(now) and buttons(now) == []
    assert all(news_for(bot, user) == [] for user in PARTICIPANTS)


async def test_a_digest_too_long_for_one_message_arrives_whole_in_parts(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'paged.db'}"  # paging does not depend on the engine
    staff = [f"W{500 + n}" for n in range(16)]
    people = (
        PEOPLE.split("\n")[0]
        + "\n"
        + "helen,Helen Marsh,Europe/London,senior_leader,Executive Team,W300,T111\n"
    )
    people += "".join(
        f"p{n},Person {n},Europe/London,staff,Reablement,{user},T111\n" for n, user in enumerate(staff)
    )
    async with slack_bot(database_url, tmp_path, people, start_at=MONDAY) as bot:
        await load_programme(bot.app.store, tomllib.loads(CHECKIN), check_cron=check_cron)
        await bot.advance(timedelta(hours=1))  # the run opens
        # Sixteen answers of ~950 characters: Slack draws at most 12,000 in a message, a Teams card 24 KB.
        written = {
            user: f"{user} says: " + "The rota changed twice and nobody said why. " * 21 for user in staff
        }
        for user, answer in written.items():
            await bot.click(user, bot.held(dm(user))[0], "3", expect="chat.update")
            await bot.deliver()
            await say(bot, user, answer, count=2)
        mark = bot.mark()

        await bot.advance(timedelta(days=1))  # it closes: the digest

        parts = bot.dms_to(HELEN, mark)
        text = "\n".join(shown(part) for part in parts)
        assert len(parts) >= 2 and f"(part {len(parts)} of {len(parts)})" in shown(parts[-1])
        assert [user for user, answer in written.items() if answer.strip() not in text] == []  # none cut
        assert "Reply here with what you will do" in shown(parts[-1])
        assert bot.fake.violations == []
