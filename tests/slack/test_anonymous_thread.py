"""An anonymous asker in Slack: a reply in the question's thread shows their name, so the bot must not tell
anyone that the asker wrote it; `followup` in their DM is how they follow up as the asker. Signed requests
through Bolt, the local Web API only, and what the database keeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.slack.harness import QA_CHANNEL, SlackBot, dm, shown, slack_bot

PEOPLE = """\
handle,name,time_zone,roles,team,slack_user_id,slack_team_id
amira,Amira Hassan,Europe/London,staff,Reablement,W101,T111
chloe,Chloe Price,Europe/London,staff,Reablement,W102,T111
helen,Helen Marsh,Europe/London,senior_leader,Executive Team,W300,T111
"""
AMIRA, CHLOE, HELEN = "W101", "W102", "W300"
MONDAY = datetime(2026, 11, 30, 9, 17, tzinfo=UTC)  # not on the hour: times kept must be only the hour


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[SlackBot]:
    async with slack_bot(database_url, tmp_path, PEOPLE, start_at=MONDAY) as running:
        yield running


async def test_the_anonymous_asker_replying_in_the_thread_is_not_named_as_the_asker(bot: SlackBot) -> None:
    await bot.command(AMIRA, "/ask", "anon Why do rotas change at two days' notice?")
    await bot.deliver()
    post = bot.held(QA_CHANNEL)[-1]
    assert "an anonymous colleague" in shown(post)
    await bot.command(HELEN, "/answer", "1 Because agency cover is booked late; we are changing that.")
    await bot.deliver()
    bot.clock.set(bot.clock.now() + timedelta(minutes=9))

    # Amira, then Chloe, reply in the thread, where Slack shows their names.
    said = {}
    for user, words in ((AMIRA, "Will it be fixed by January?"), (CHLOE, "Does it cover weekends?")):
        mark = bot.mark()
        await bot.message(user, words, channel=QA_CHANNEL, thread_ts=post["ts"])
        (said[user],) = await bot.expect(mark, "chat.postEphemeral")  # only the writer sees it
    await bot.deliver()

    # Both are answered alike, with how the asker follows up without their name; Helen, who answered, is
    # told of both alike, each under the name the thread shows.
    assert shown(said[AMIRA]) == shown(said[CHLOE]).replace(CHLOE, AMIRA)
    assert "shows your name" in shown(said[AMIRA]) and "`followup 1 &lt;text&gt;`" in shown(said[AMIRA])
    told = [
        m["text"]
        for m in bot.posted("chat.postMessage")
        if m["channel"] == HELEN and "follow-up" in m["text"]
    ]
    assert told == [
        "New follow-up on question #1 from Amira Hassan:\nWill it be fixed by January?",
        "New follow-up on question #1 from Chloe Price:\nDoes it cover weekends?",
    ]
    async with bot.app.store.engine.connect() as db:
        posts = (
            await db.execute(text("SELECT author_id, by_asker FROM qa_posts WHERE kind = 'followup'"))
        ).all()
        # The outbox too: each follow-up made one message to the asker (by the question's route), alike.
        routed = (
            (await db.execute(text("SELECT key FROM deliveries WHERE route IS NOT NULL"))).scalars().all()
        )
    assert [(row.author_id is not None, row.by_asker) for row in posts] == [(True, False), (True, False)]
    assert sorted(key.rsplit(":", 2)[-1] for key in routed if ":followup:" in key) == ["asker", "asker"]

    # From her DM, `followup` is the asker's: Helen is told so, and the post keeps no name and no minute.
    mark = bot.mark()
    await bot.message(AMIRA, "followup 1 And will part-time staff be included?", channel=dm(AMIRA))
    await bot.deliver()
    (to_helen,) = [m for m in bot.since(mark, "chat.postMessage") if m["channel"] == HELEN]
    assert "from the asker" in shown(to_helen) and "Amira" not in shown(to_helen)
    async with bot.app.store.engine.connect() as db:
        kept = (
            await db.execute(text("SELECT author_id, by_asker, at FROM qa_posts WHERE text LIKE 'And will%'"))
        ).one()
        arrivals = (await db.execute(text("SELECT at FROM inbox"))).scalars().all()
    assert kept.author_id is None and kept.by_asker
    assert _minute(kept.at) == 0
    assert arrivals and all(_minute(at) == 0 for at in arrivals)  # a Teams key names the conversation
    assert bot.fake.violations == []


def _minute(at: datetime | str) -> int:
    """The minute of a stored time (SQLite hands it back as text)."""
    return (at if isinstance(at, datetime) else datetime.fromisoformat(at)).minute


async def test_without_a_qa_channel_the_asker_is_not_told_the_question_is_posted(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_bot(database_url, tmp_path, PEOPLE, start_at=MONDAY, qa_channel=None) as bot:
        assert "NO Q&A CHANNEL" in caplog.text  # said when the bot starts
        answer = await bot.command(AMIRA, "/ask", "Why do rotas change at two days' notice?")
        await bot.deliver()

        assert "is recorded, but no Q&amp;A channel is set up yet" in shown(answer)
        assert "senior managers see it with `questions`" in shown(answer)
        assert bot.posted("chat.postMessage") == []
        mark = bot.mark()
        await bot.message(HELEN, "questions", channel=dm(HELEN))
        (listed,) = await bot.expect(mark, "chat.postMessage")
        assert "Why do rotas change" in shown(listed)
