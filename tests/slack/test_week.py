"""A whole week in Slack, through signed requests and the local Web API only.

Monday a pulse goes out and clicks come in; Tuesday the reminder reaches only those who have
not answered; Wednesday the pulse closes and the manager reads the results; an idea comes in
through the modal and its status change reaches the submitter; a question is asked in the
Q&A channel, upvoted, answered with ``/answer`` in its thread, and followed up there.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import check_cron
from dialogue.programme import load_programme
from storage.models import DeliveryRow
from tests.slack.harness import QA_CHANNEL, SlackBot, dm, shown, slack_bot

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
PULSE = """
[[pulse]]
name = "Quick pulse"
open_hours = 48
remind_after_hours = 24

[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."
"""
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[SlackBot]:
    async with slack_bot(database_url, tmp_path, PEOPLE, start_at=MONDAY) as running:
        await load_programme(running.app.store, tomllib.loads(PULSE), check_cron=check_cron)
        yield running


async def test_a_week_in_slack(bot: SlackBot) -> None:
    # Monday: the manager sends the pulse; everyone gets it as a DM with buttons.
    sent = await bot.command(BEN, "/pulse", "send Quick pulse")
    assert "Sent “Quick pulse” to 8 people" in shown(sent)
    await bot.deliver()
    everyone = (AMIRA, CHLOE, DEV, ELLIE, FARAH, GUS, BEN, HELEN)
    assert all(len(bot.held(dm(user))) == 1 for user in everyone)
    assert "I can suggest improvements." in shown(bot.held(dm(AMIRA))[0])
    assert "Pulses and check-ins to answer (your chat with the bot has the questions)" in json.dumps(
        await bot.open_home(GUS)
    )

    # Five answer with a click; the question is updated in place to show the choice.
    for user, score in ((AMIRA, "4"), (CHLOE, "5"), (DEV, "3"), (ELLIE, "4"), (FARAH, "2")):
        await bot.click(user, bot.held(dm(user))[0], score, expect="chat.update")
        assert f"Your answer: {score}." in shown(bot.held(dm(user))[0])
    # A second click changes the answer while the pulse is open.
    await bot.click(FARAH, bot.held(dm(FARAH))[0], "5", expect="chat.update")
    assert "Your answer: 5." in shown(bot.held(dm(FARAH))[0])
    assert await bot.count("answers") == 5

    # Tuesday: the reminder reaches only those who have not answered, once.
    mark = bot.mark()
    await bot.advance(timedelta(days=1))
    reminded = [args["channel"] for args in bot.since(mark, "chat.postMessage")]
    assert sorted(reminded) == sorted([GUS, BEN, HELEN])

    # Wednesday: the pulse has closed; the manager reads the results (5 of 8, Farah's changed answer).
    await bot.advance(timedelta(days=1, hours=1))
    results = shown(await bot.command(BEN, "/pulse", "results Quick pulse"))
    assert "Responses: 5 of 8" in results
    assert "mean 4.2" in results

    # An idea through the modal: an empty one is refused inline, then it is shared.
    opened = await bot.command(AMIRA, "/idea", expect="views.open")
    form = opened["view"]
    refused = await bot.submit(AMIRA, form, {"idea": "  ", "anonymous": "no"})
    assert refused["response_action"] == "errors" and "idea" in refused["errors"]
    assert await bot.count("ideas") == 0
    mark = bot.mark()
    await bot.submit(AMIRA, form, {"idea": "Text people when a visit is running late", "anonymous": "no"})
    await bot.expect(mark, "chat.postMessage")
    assert await bot.count("ideas") == 1

    # The manager moves it on through the status modal; Amira hears why, in her DM.
    listing = await bot.command(BEN, "/nextpractice", "ideas 1")
    await bot.click(BEN, listing, "Change status", expect="views.open")
    status_form = bot.posted("views.open")[-1]["view"]
    mark = bot.mark()
    await bot.submit(BEN, status_form, {"status": "under_review", "reason": "Trying it in the north patch"})
    await bot.deliver()
    told = shown(bot.dms_to(AMIRA, mark)[-1])
    assert "under review" in told.lower() and "Trying it in the north patch" in told

    # A question goes to the Q&A channel; colleagues upvote it there.
    # She typed "@channel", which Slack sends as <!channel>: shown as she typed it, it pings nobody.
    await bot.command(
        AMIRA, "/ask", "How will rotas change over winter? <!channel> <https://x.example|&lt;!here&gt;>"
    )
    mark = bot.mark()
    await bot.deliver()
    post = bot.held(QA_CHANNEL)[-1]
    assert "winter? @channel &lt;!here&gt; (https://x.example)" in shown(post)
    assert "<!channel>" not in shown(post) and "<!here>" not in shown(post)
    for user in (CHLOE, DEV):
        thanks = await bot.click(user, bot.held(QA_CHANNEL)[-1], "▲ Upvote", expect="response_url")
        assert thanks[-1]["response_type"] == "ephemeral" and "Upvoted" in shown(thanks[-1])
    await bot.deliver()  # the post's count is refreshed through the outbox
    assert "Upvote (2)" in shown(bot.held(QA_CHANNEL)[-1])

    # A senior leader answers with /answer: into the question's thread, and the asker is told by DM.
    await bot.command(HELEN, "/answer", "1 We are adding a winter rota review with staff in December.")
    mark = bot.mark()
    await bot.deliver()
    in_thread = [a for a in bot.since(mark, "chat.postMessage") if a.get("thread_ts") == post["ts"]]
    assert len(in_thread) == 1 and "winter rota review" in shown(in_thread[0])
    assert "winter rota review" in shown(bot.dms_to(AMIRA, mark)[-1])

    # A colleague follows up in the thread: it is recorded against the question, and the asker is
    # told, but it is not echoed into the thread where Chloe already wrote it.
    mark = bot.mark()
    await bot.message(CHLOE, "Will part-time staff be included?", channel=QA_CHANNEL, thread_ts=post["ts"])
    await bot.expect(mark, "chat.postEphemeral")
    assert await bot.count("qa_posts", "kind = 'followup'") == 1
    await bot.deliver()
    assert "part-time staff" in shown(bot.dms_to(AMIRA, mark)[-1])
    assert [a for a in bot.since(mark, "chat.postMessage") if a["channel"] == QA_CHANNEL] == []

    # The Home tab: Amira sees her idea's status, and nothing left to answer now the pulse has closed;
    # the manager sees his queue.
    home = json.dumps(await bot.open_home(AMIRA), ensure_ascii=False)
    assert "Text people when a visit is running late" in home and "under review" in home.lower()
    assert "Pulses and check-ins to answer: none right now." in home
    assert "Waiting for you" not in home
    bens = json.dumps(await bot.open_home(BEN), ensure_ascii=False)
    assert "Waiting for you:" in bens and "you own [under review]" in bens
    assert bot.fake.violations == []
    # What arrived is recorded by a keyed digest of its event id ("slack:" and 40 hex digits), never plainly.
    assert await bot.count("inbox") >= 1 and await bot.count("inbox", "length(key) <> 46") == 0


CAMPAIGN = """
[[campaign]]
name = "Fewer missed visits"
priority = "Independent lives at home"
prompt = "What one change would help us miss fewer visits?"
audience = ["Reablement"]
"""


async def test_words_written_after_a_campaign_prompt_are_shared_only_with_a_tap(bot: SlackBot) -> None:
    await load_programme(bot.app.store, tomllib.loads(CAMPAIGN), check_cron=check_cron)
    await bot.command(BEN, "/nextpractice", "campaign send Fewer missed visits")
    await bot.deliver()

    # Words under the prompt are shown back with buttons, not taken as an idea at once.
    mark = bot.mark()
    await bot.message(AMIRA, "Busy on visits all week", channel=dm(AMIRA))
    (preview,) = await bot.expect(mark, "chat.postMessage")
    assert "Share this as your idea for “Fewer missed visits”?" in shown(preview)
    held = next(m for m in reversed(bot.held(dm(AMIRA))) if m.get("blocks") == preview.get("blocks"))
    await bot.click(AMIRA, held, "Not an idea", expect="chat.update")
    (now,) = [m for m in bot.held(dm(AMIRA)) if m.get("ts") == held["ts"]]
    assert "Not shared." in shown(now) and "actions" not in shown(now) and await bot.count("ideas") == 0

    # Words that are an idea: one tap shares them anonymously, and the preview says so in place.
    mark = bot.mark()
    await bot.message(CHLOE, "Pool cars for the north patch", channel=dm(CHLOE))
    (preview,) = await bot.expect(mark, "chat.postMessage")
    held = next(m for m in reversed(bot.held(dm(CHLOE))) if m.get("blocks") == preview.get("blocks"))
    await bot.click(CHLOE, held, "Share anonymously", expect="chat.update")
    (now,) = [m for m in bot.held(dm(CHLOE)) if m.get("ts") == held["ts"]]
    assert "Shared anonymously:" in shown(now) and "Pool cars for the north patch" in shown(now)
    assert await bot.count("ideas", "author_id IS NULL AND campaign_id IS NOT NULL") == 1


async def test_an_answer_typed_in_the_dm_counts_as_the_tap_and_is_kept_nowhere_else(bot: SlackBot) -> None:
    await bot.command(BEN, "/pulse", "send Quick pulse")
    await bot.deliver()

    # On a phone, some type "4" instead of tapping; others type words that answer nothing.
    await bot.message(AMIRA, "4/5", channel=dm(AMIRA))
    await bot.message(CHLOE, "great", channel=dm(CHLOE))
    await bot.deliver()

    assert await bot.count("answers") == 1
    assert any("Noted: 4, for Q1 of “Quick pulse” (anonymous)." in shown(m) for m in bot.held(dm(AMIRA)))
    # Nothing kept says what she answered: the question is not updated through the outbox.
    async with bot.app.store.engine.connect() as db:
        kept = (await db.execute(select(DeliveryRow.message))).scalars().all()
    assert kept and all(choice.get("selected") is None for row in kept for choice in row.get("choices", []))
    hint = shown(bot.held(dm(CHLOE))[-1])
    typed = "or type 1 (Strongly disagree) to 5 (Strongly agree)."
    assert f"To answer Q1 of “Quick pulse”, tap one of its buttons, {typed}" in hint
    assert "Your answer:" not in shown(bot.held(dm(CHLOE))[0])
