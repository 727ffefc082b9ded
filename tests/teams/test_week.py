"""The same week as tests/slack/test_week.py, in Teams: activities as Teams sends them to /api/messages,
everything the bot sends through the local Bot Framework connector.

Monday a pulse goes out as cards and taps come in; Tuesday the reminder reaches only those who have not
answered; Wednesday the pulse has closed and the manager reads the results; an idea comes in through the
form card and its status change reaches the submitter; a question starts a thread in the Q&A channel, is
upvoted there, answered into the thread, and followed up in it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.teams.activities import make_member, make_team
from tests.teams.fake_connector import FakeConnector
from tests.teams.harness import TeamsBot, people_csv, shown, teams_bot

AMIRA, CHLOE, DEV, ELLIE, FARAH, GUS = (
    make_member(name)
    for name in ("Amira Hassan", "Chloe Price", "Dev Patel", "Ellie Watson", "Farah Begum", "Gus Moyo")
)
BEN, HELEN = make_member("Ben Carter"), make_member("Helen Marsh")
STAFF = (AMIRA, CHLOE, DEV, ELLIE, FARAH, GUS)
EVERYONE = (*STAFF, BEN, HELEN)
PEOPLE = people_csv(
    [(m["name"].split()[0].lower(), m["name"], "staff", "Reablement", m) for m in STAFF]
    + [("ben", "Ben Carter", "manager", "Reablement", BEN)]
    + [("helen", "Helen Marsh", "senior_leader", "Executive Team", HELEN)]
)
PULSE = """
[[pulse]]
name = "Quick pulse"
open_hours = 48
remind_after_hours = 24

[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."
"""
CAMPAIGN = """
[[campaign]]
name = "Fewer missed visits"
priority = "Independent lives at home"
prompt = "What one change would help us miss fewer visits?"
audience = ["Reablement"]
"""
STAFF_VOICE = make_team("Staff Voice", ["Ask the leaders"])
QA_CHANNEL = STAFF_VOICE.channels[1][0]


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[TeamsBot]:
    async with FakeConnector(members=list(EVERYONE)) as fake:
        fake.add_team(STAFF_VOICE, list(EVERYONE))
        async with teams_bot(
            database_url,
            tmp_path,
            people=PEOPLE,
            programme=PULSE + CAMPAIGN,
            qa_channel_id=QA_CHANNEL,
            fake=fake,
        ) as running:
            yield running


async def test_a_week_in_teams(bot: TeamsBot) -> None:
    # Monday: the manager sends the pulse from his chat; everyone gets it as a card in theirs, the app
    # opening a chat with those it has not talked to yet.
    sent = await bot.say(BEN, "pulse send Quick pulse")
    assert "Sent “Quick pulse” to 8 people" in shown(sent[-1])
    await bot.deliver()
    pulses = {
        m["name"]: [a for a in bot.held(bot.chat(m)) if "I can suggest improvements" in shown(a)]
        for m in EVERYONE
    }
    assert all(len(cards) == 1 for cards in pulses.values()), pulses

    # Five answer with a tap; the card is refreshed in place to show the choice.
    for member, score in ((AMIRA, "4"), (CHLOE, "5"), (DEV, "3"), (ELLIE, "4"), (FARAH, "2")):
        now_shown = await bot.tap(member, pulses[member["name"]][0], score)
        assert f"✓ {score}" in shown(now_shown)
    # A second tap changes the answer while the pulse is open.
    assert "✓ 5" in shown(await bot.tap(FARAH, pulses[FARAH["name"]][0], "5"))
    assert await bot.count("answers") == 5

    # Tuesday: the reminder reaches only those who have not answered, once.
    mark = bot.mark()
    await bot.advance(timedelta(days=1))
    reminded = {d.conversation_id for d in bot.since(mark)}
    assert reminded == {bot.chat(m) for m in (GUS, BEN, HELEN)}

    # Wednesday: the pulse has closed; the manager reads the results (5 of 8, Farah's changed answer).
    await bot.advance(timedelta(days=1, hours=1))
    results = shown((await bot.say(BEN, "pulse results Quick pulse"))[-1])
    assert "Responses: 5 of 8" in results and "mean 4.2" in results

    # An idea through the form card: an empty one comes back with the error beside the field.
    form = (await bot.say(AMIRA, "idea"))[-1]
    refused = await bot.tap(AMIRA, form, "Share", values={"idea": "  ", "anonymous": "no"})
    assert "text" not in refused, refused  # the card itself, redrawn, not a note beside the old one
    assert "Your idea is empty" in shown(refused) and await bot.count("ideas") == 0
    # Sent again unchanged (she tapped before fixing it), it shows the error again, not "Done.".
    again = await bot.tap(AMIRA, refused, "Share", values={"idea": "  ", "anonymous": "no"})
    assert "text" not in again and "Your idea is empty" in shown(again) and await bot.count("ideas") == 0
    shared = await bot.tap(
        AMIRA,
        refused,
        "Share",
        values={"idea": "Text people when a visit is running late", "anonymous": "no"},
    )
    assert "#1" in shown(shared) and await bot.count("ideas") == 1
    # The same card tapped again (a double tap, her phone still showing the form): taken once.
    again = await bot.tap(
        AMIRA,
        refused,
        "Share",
        values={"idea": "Text people when a visit is running late", "anonymous": "no"},
    )
    assert again["text"] == "Done." and await bot.count("ideas") == 1
    # What recognises it says neither who sent it nor what it said: a digest keyed with the secret.
    assert await bot.count("inbox", "key LIKE 'teams:form:%' AND length(key) = 51") == 1
    # No record of what arrived names a chat: each key is a keyed digest (a chat's id names its person).
    assert await bot.count("inbox") >= 2 and await bot.count("inbox", "length(key) NOT IN (46, 51)") == 0

    # The manager moves it on through the status form; Amira hears why, in her chat.
    listing = (await bot.say(BEN, "ideas 1"))[-1]
    status_form = await bot.tap(BEN, listing, "Change status")
    # Without a reason the form comes back with the error beside the field and his choice kept.
    no_reason = await bot.tap(BEN, status_form, "", values={"status": "under_review", "reason": ""})
    assert "text" not in no_reason and "reason" in shown(no_reason).lower()
    assert '"value": "under_review"' in shown(no_reason) and await bot.count("idea_events") == 1
    mark = bot.mark()
    await bot.tap(
        BEN, status_form, "", values={"status": "under_review", "reason": "Trying it in the north patch"}
    )
    await bot.deliver()
    told = shown(bot.since(mark, bot.chat(AMIRA))[-1].activity)
    assert "under review" in told.lower() and "Trying it in the north patch" in told

    # A question starts a thread in the Q&A channel; mention-like text stays text.
    await bot.say(AMIRA, "ask How will rotas change over winter? <at>everyone</at>")
    mark = bot.mark()
    await bot.deliver()
    (post,) = bot.since(mark, QA_CHANNEL)
    assert "How will rotas change over winter?" in shown(post.activity)
    assert post.activity.get("entities") in (None, [])  # no mention entity: nobody is notified
    thread = f"{QA_CHANNEL};messageid={post.activity_id}"

    # Colleagues upvote it there; the post's count is refreshed through the outbox.
    for member in (CHLOE, DEV):
        await bot.tap(
            member, bot.fake.message(QA_CHANNEL, post.activity_id) or {}, "▲ Upvote", team=STAFF_VOICE
        )
    await bot.deliver()
    assert "Upvote (2)" in shown(bot.fake.message(QA_CHANNEL, post.activity_id) or {})

    # A senior leader answers: into the question's thread, and the asker is told in her chat.
    mark = bot.mark()
    await bot.say(HELEN, "answer 1 We are adding a winter rota review with staff in December.")
    await bot.deliver()
    in_thread = bot.since(mark, thread)
    assert len(in_thread) == 1 and "winter rota review" in shown(in_thread[0].activity)
    assert "winter rota review" in shown(bot.since(mark, bot.chat(AMIRA))[-1].activity)

    # A colleague follows up in the thread: recorded against the question, the asker told, and not
    # echoed into the thread where Chloe already wrote it.
    mark = bot.mark()
    reply = bot.teams.channel_message(
        "Will part-time staff be included?", sender=CHLOE, team=STAFF_VOICE, channel_id=QA_CHANNEL,
        reply_to=post.activity_id,
    )  # fmt: skip
    assert (await bot.post(reply))[0] == 201
    assert await bot.count("qa_posts", "kind = 'followup'") == 1
    await bot.deliver()
    assert "part-time staff" in shown(bot.since(mark, bot.chat(AMIRA))[-1].activity)
    (confirmation,) = bot.since(mark, thread)  # Teams has no private replies in a channel: a short one
    assert confirmation.operation == "reply_to_activity" and "Follow-up added to #1" in shown(
        confirmation.activity
    )
    assert "part-time" not in shown(confirmation.activity)
    assert bot.fake.violations == []


async def test_a_refused_campaign_idea_comes_back_with_its_prompt_and_error(bot: TeamsBot) -> None:
    await bot.say(BEN, "campaign send Fewer missed visits")
    await bot.deliver()
    (prompt,) = [m for m in bot.held(bot.chat(AMIRA)) if "Share an idea" in shown(m)]
    form = await bot.tap(AMIRA, prompt, "Share an idea")
    assert "What one change would help us miss fewer visits?" in shown(form)

    too_long = "x" * 5000
    refused = await bot.tap(AMIRA, form, "Share", values={"idea": too_long, "anonymous": "yes"})
    # The same form in place: the campaign's prompt, the error beside the idea, her choice kept.
    assert "text" not in refused, refused
    assert "What one change would help us miss fewer visits?" in shown(refused)
    assert "the limit is 1000" in shown(refused) and '"value": "yes"' in shown(refused)
    assert await bot.count("ideas") == 0

    shared = await bot.tap(
        AMIRA, refused, "Share", values={"idea": "Text people when a visit is late", "anonymous": "yes"}
    )
    assert "text" not in shared and "#1" in shown(shared)
    assert await bot.count("ideas", "campaign_id IS NOT NULL AND author_id IS NULL") == 1
