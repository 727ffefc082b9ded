"""A weekly check-in in Teams: activities as Teams sends them to /api/messages, everything the bot sends
through the local Bot Framework connector.

The scheduler opens the run and everyone but its owner gets the questions as cards in their chat with the
bot; five answer (a tap, then a written answer); at close the owning senior leader gets the digest in hers.
What she then writes there is not sent to everyone at once: it comes back as a card with Send it / Don't
send. Don't send sends nothing; Send it sends her "you said, we did" to each participant once, and neither
Teams delivering the tap again nor a second tap sends more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.teams.activities import make_member, make_team
from tests.teams.fake_connector import FakeConnector, Json
from tests.teams.harness import TeamsBot, button, people_csv, shown, teams_bot

AMIRA, CHLOE, DEV, ELLIE, FARAH, GUS = (
    make_member(name)
    for name in ("Amira Hassan", "Chloe Price", "Dev Patel", "Ellie Watson", "Farah Begum", "Gus Moyo")
)
BEN, HELEN = make_member("Ben Carter"), make_member("Helen Marsh")
STAFF = (AMIRA, CHLOE, DEV, ELLIE, FARAH, GUS)
PARTICIPANTS = (*STAFF, BEN)  # everyone but the owner
PEOPLE = people_csv(
    [(m["name"].split()[0].lower(), m["name"], "staff", "Reablement", m) for m in STAFF]
    + [("ben", "Ben Carter", "manager", "Reablement", BEN)]
    + [("helen", "Helen Marsh", "senior_leader", "Executive Team", HELEN)]
)
# The harness's clock starts on Monday 30 November 2026 at 09:00 UTC; the check-in is due at 10:00 London.
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
ANSWERS = (
    (AMIRA, "4", "Rotas keep changing at short notice"),
    (CHLOE, "2", "The rota changed twice this week"),
    (DEV, "3", "More notice of rota changes, please"),
    (ELLIE, "4", "Handovers went well"),
    (FARAH, "5", "The new van helps"),
)
DROPPED = "Thanks all, we will fix the rota"
SENT = "From January the rota is fixed four weeks ahead"
SAID = "You said, we did"
STAFF_VOICE = make_team("Staff Voice", ["Ask the leaders"])
QA_CHANNEL = STAFF_VOICE.channels[1][0]


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[TeamsBot]:
    async with FakeConnector(members=[*PARTICIPANTS, HELEN]) as fake:
        fake.add_team(STAFF_VOICE, [*PARTICIPANTS, HELEN])
        async with teams_bot(
            database_url, tmp_path, people=PEOPLE, programme=CHECKIN, qa_channel_id=QA_CHANNEL, fake=fake
        ) as running:
            yield running


def titles(message: Json) -> list[str]:
    """The titles of the buttons on a message's card, in order."""
    return [
        str(action["title"])
        for attachment in message.get("attachments") or []
        for action in _buttons(attachment.get("content") or {})
    ]


def _buttons(node: Any) -> list[Json]:
    if isinstance(node, list):
        return [action for item in node for action in _buttons(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if node.get("type") == "Action.Execute" else []
    return own + [action for value in node.values() for action in _buttons(value)]


def got(bot: TeamsBot, member: Mapping[str, Any], mark: int = 0) -> list[Json]:
    """What the bot sent to ``member``'s chat after ``mark``."""
    return [d.activity for d in bot.since(mark, bot.chat(member))]


def news_for(bot: TeamsBot, member: Mapping[str, Any], mark: int = 0) -> list[Json]:
    """The "you said, we did" messages ``member`` got after ``mark``."""
    return [activity for activity in got(bot, member, mark) if SAID in shown(activity)]


async def test_the_owner_reads_the_digest_and_her_reply_goes_out_only_once_she_sends_it(
    bot: TeamsBot,
) -> None:
    # Monday 10:00: the run opens; everyone but its owner gets the first question in their chat.
    mark = bot.mark()
    await bot.advance(timedelta(hours=1))
    opened = {m["name"]: got(bot, m, mark) for m in (*PARTICIPANTS, HELEN)}
    assert {name: len(cards) for name, cards in opened.items()} == {
        **{m["name"]: 1 for m in PARTICIPANTS},
        HELEN["name"]: 0,
    }
    first = opened[AMIRA["name"]][0]
    assert "Weekly check-in (check-in, 2 questions, anonymous)" in shown(first)
    assert "This week I had what I needed." in shown(first)
    assert titles(first) == ["1", "2", "3", "4", "5"]

    # Five answer: a tap on the scale (the card shows the choice), then the written question, in the chat.
    for member, score, written in ANSWERS:
        question = bot.held(bot.chat(member))[0]
        assert f"✓ {score}" in shown(await bot.tap(member, question, score))
        await bot.deliver()
        assert "What should I know about?" in shown(bot.held(bot.chat(member))[-1])
        thanks = await bot.say(member, written)
        assert len(thanks) == 2
        assert "Thanks, noted." in shown(thanks[0]) and "That's everything" in shown(thanks[1])

    # Tuesday 10:00: the run closes and the owner, only she, gets the digest.
    mark = bot.mark()
    await bot.advance(timedelta(days=1))
    (digest,) = got(bot, HELEN, mark)
    assert all(SAID not in shown(d.activity) for d in bot.since(mark))
    text = shown(digest)
    assert "Your check-in digest is ready." in text and "Responses: 5 of 7" in text
    assert "n=5, mean 3.6" in text and "Rotas keep changing at short notice" in text
    assert "Amira" not in text  # free text without names
    assert "Reply here with what you will do" in text

    # She writes in her chat: it comes back to her as a card with two buttons; nobody else gets anything.
    mark = bot.mark()
    (preview,) = await bot.say(HELEN, DROPPED)
    await bot.deliver()
    assert "Send this to all 7 people the check-in went to?" in shown(preview) and DROPPED in shown(preview)
    assert titles(preview) == ["Send it", "Don't send"]  # nothing here a command could have meant
    assert {d.conversation_id for d in bot.since(mark)} == {bot.chat(HELEN)}

    # Don't send: the card says so, without its buttons; she is told so; still nobody else gets anything.
    told = bot.mark()
    dropped = await bot.tap(HELEN, preview, "Don't send")
    await bot.deliver()
    assert "Not sent:" in shown(dropped) and DROPPED in shown(dropped) and titles(dropped) == []
    (note,) = got(bot, HELEN, told)
    assert "Not sent. Write it again when you are ready" in shown(note)
    assert {d.conversation_id for d in bot.since(mark)} == {bot.chat(HELEN)}

    # She writes again and taps Send it: each participant gets her reply once, and she is thanked.
    (preview,) = await bot.say(HELEN, SENT)
    assert SENT in shown(preview) and DROPPED not in shown(preview)
    action = button(preview, "Send it")
    send = bot.teams.card_action(
        action["verb"], action["data"], sender=HELEN, message_id=str(preview["id"]), title="Send it"
    )
    told = bot.mark()
    status, answer = await bot.post(send)
    assert status == 200 and answer["statusCode"] == 200, answer
    sent_card = {"attachments": [{"content": answer["value"]}]}  # the card, now without its buttons
    assert "Sent to everyone the check-in went to:" in shown(sent_card) and titles(sent_card) == []
    (thanks,) = got(bot, HELEN, told)
    assert "Thank you. Your reply is on its way to all 7 people the check-in went to." in shown(thanks)
    await bot.deliver()
    for member in PARTICIPANTS:
        (news,) = news_for(bot, member, mark)
        assert "Weekly check-in" in shown(news) and "Helen Marsh: " in shown(news) and SENT in shown(news)
        assert all(DROPPED not in shown(activity) for activity in got(bot, member, mark))
    assert all("Send this to all" in shown(preview) for preview in news_for(bot, HELEN))  # previews only

    # Teams delivers the same tap again: it was answered the first time, and nothing more is sent.
    again = bot.mark()
    status, answer = await bot.post(send)
    assert status == 200 and answer["value"] == "Done.", answer
    # She taps Send it a second time: she is told she has already replied, and nothing more is sent.
    repeat = await bot.tap(HELEN, preview, "Send it")
    await bot.deliver()
    assert repeat["text"] == "You already replied to the check-in of Mon 30 Nov."
    assert bot.since(again) == []
    assert {m["name"]: len(news_for(bot, m)) for m in PARTICIPANTS} == {m["name"]: 1 for m in PARTICIPANTS}
    assert bot.fake.violations == []


async def test_a_reply_that_starts_with_a_command_word_is_shown_back_too(bot: TeamsBot) -> None:
    await bot.advance(timedelta(hours=1))  # the run opens
    member, score, _written = ANSWERS[0]
    await bot.tap(member, bot.held(bot.chat(member))[0], score)  # someone answers
    mark = bot.mark()
    await bot.advance(timedelta(days=1))  # it closes: the digest
    assert any("Your check-in digest is ready." in shown(activity) for activity in got(bot, HELEN, mark))

    mark = bot.mark()
    (preview,) = await bot.say(
        HELEN, "Ask your team leader for the January rota: it is fixed four weeks ahead."
    )
    await bot.deliver()

    assert "Send this to all 7 people the check-in went to?" in shown(
        preview
    ) and "Ask your team leader" in shown(preview)
    assert titles(preview) == ["Send it", "Don't send", "Run as a command"]
    assert "if you meant that command, tap Run as a command" in shown(preview)
    assert {d.conversation_id for d in bot.since(mark)} == {bot.chat(HELEN)}  # nothing in the Q&A channel

    # She meant it as a question after all: not reading like one, it is shown back once more, as typing it
    # would be, then posted in the open; the card keeps no buttons.
    ran = await bot.tap(HELEN, preview, "Run as a command")
    assert "Run as a command:" in shown(ran) and titles(ran) == []
    (check,) = [a for a in got(bot, HELEN, mark) if "Ask this in the open" in shown(a)]
    # Five long choices: a card shows them as a list with Send.
    send = button(check, "Send")
    card = check["attachments"][0]["content"]
    (choices,) = [element["choices"] for element in card["body"] if element["type"] == "Input.ChoiceSet"]
    (named,) = [choice["value"] for choice in choices if choice["title"] == "Ask it with my name"]
    status, _answer = await bot.post(
        bot.teams.card_action(
            send["verb"],
            {**send["data"], "choice:0": named},
            sender=HELEN,
            message_id=str(check.get("id", "1")),
        )
    )
    assert status == 200
    await bot.deliver()
    assert any("Your question #1 is posted" in shown(activity) for activity in got(bot, HELEN, mark))
    assert {d.conversation_id for d in bot.since(mark)} - {bot.chat(HELEN)}  # the Q&A channel has it
    assert all(news_for(bot, member) == [] for member in PARTICIPANTS)


async def test_a_digest_too_long_for_one_card_arrives_whole_in_parts(
    database_url: str, tmp_path: Path
) -> None:
    many = [make_member(f"Person {n:02d}") for n in range(16)]
    people = people_csv(
        [(f"p{n:02d}", m["name"], "staff", "Reablement", m) for n, m in enumerate(many)]
        + [("helen", "Helen Marsh", "senior_leader", "Executive Team", HELEN)]
    )
    async with (
        FakeConnector(members=[*many, HELEN]) as fake,
        teams_bot(database_url, tmp_path, people=people, programme=CHECKIN, fake=fake) as bot,
    ):
        await bot.advance(timedelta(hours=1))  # the run opens
        # Sixteen answers of ~950 characters: more than a Teams card holds (24 KB as UTF-16).
        written = {
            m["name"]: f"{m['name']} says: " + "The rota changed and nobody said why. " * 24 for m in many
        }
        for member in many:
            await bot.tap(member, bot.held(bot.chat(member))[0], "3")
            await bot.deliver()
            await bot.say(member, written[member["name"]])
        mark = bot.mark()

        await bot.advance(timedelta(days=1))  # it closes: the digest

        parts = got(bot, HELEN, mark)
        text = "\n".join(shown(part) for part in parts)
        assert len(parts) >= 2 and f"(part {len(parts)} of {len(parts)})" in shown(parts[-1])
        assert [name for name, answer in written.items() if answer.strip() not in text] == []  # none cut
        assert "Reply here with what you will do" in shown(parts[-1])
        assert bot.fake.violations == []  # every part within Teams' size limit
