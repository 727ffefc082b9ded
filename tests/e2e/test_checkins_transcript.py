"""Check-ins and campaigns on the scheduler: recurring runs on a moved clock, digests, "you said, we did"."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from dialogue.directory_import import import_directory
from dialogue.programme import ProgrammeError
from tests.e2e.harness import ORGANISATION, Bot, messages, recipients, start_bot

CHECKIN = """
[[checkin]]
name = "Weekly check-in"
owner = "jo"
intro = "Jo reads every answer."
anonymous = true
open_hours = 48
remind_after_hours = 24
schedule = { cron = "0 9 * * MON", time_zone = "local" }

[[checkin.question]]
kind = "scale"
text = "This week I had what I needed."

[[checkin.question]]
kind = "text"
text = "What should I know about?"
"""
CAMPAIGN = """
[[campaign]]
name = "Fewer missed visits"
priority = "Independent lives at home"
prompt = "What one change would help us miss fewer visits?"
audience = ["Reablement"]
schedule = { cron = "0 10 * * TUE", time_zone = "Europe/London" }
"""
INTRO = "Weekly check-in (check-in, 2 questions, anonymous)"
EVERYONE_BUT_JO = ["amira", "ben", "chloe", "dev", "ellie", "farah", "helen", "kate", "lena", "priya", "sam"]


def intros(out: list[str]) -> Counter[str]:
    counts = {who: sum(m.startswith(INTRO) for m in messages(out, who)) for who in set(recipients(out))}
    return Counter({who: n for who, n in counts.items() if n})


async def test_a_weekly_local_time_check_in_comes_once_a_week_at_nine_wherever_people_are(bot: Bot) -> None:
    await bot.programme(CHECKIN)

    out = await bot.play("/clock +2w\n/clock +1w6h")

    runs = intros(out)
    # 7, 14 and 21 December: three runs, each to everyone once; the owner gets digests instead.
    assert sorted(runs) == EVERYONE_BUT_JO
    assert set(runs.values()) == {3}
    first_round = [who for who in recipients(out) if who != "jo"][: len(EVERYONE_BUT_JO)]
    # 09:00 comes first in Kolkata, then London, then New York.
    assert first_round[0] == "priya" and first_round[-1] == "sam"
    # The first two runs have closed and Jo has their digests; the third is still open. Nobody answered,
    # so each digest says so and asks for no reply.
    nobody = "Nobody answered Weekly check-in of Mon {} Dec (sent to 11 people)."
    assert [m for m in messages(out, "jo") if m.startswith("Nobody")] == [
        nobody.format("07"),
        nobody.format("14"),
    ]
    assert not any("digest is ready" in m for m in messages(out, "jo"))


async def test_a_restarted_or_second_bot_replaying_the_same_weeks_sends_nothing_again(
    bot: Bot, database_url: str, tmp_path: Path
) -> None:
    await bot.programme(CHECKIN)
    first = await bot.play("/clock +2w6h")
    assert set(intros(first).values()) == {2}

    # Another process on the same database, its clock two weeks behind, lives through the same fortnight.
    replica = await start_bot(database_url, tmp_path / "replica", people="handle,name\n")
    try:
        again = await replica.play("/clock +2w6h")
    finally:
        await replica.app.close()

    assert messages(again) == []


async def test_the_leader_gets_the_digest_and_the_reply_goes_back_to_every_participant(bot: Bot) -> None:
    await bot.programme(CHECKIN)
    await bot.play("/clock +1w2h")
    out = await bot.play(
        """
        amira: 4
        amira: Rotas keep changing at short notice
        chloe: 2
        chloe: skip
        amira: checkin reply 1 Thanks
        /clock +2d4h
        """
    )
    digest = messages(out, "jo")[-1]
    listed = messages(await bot.play("jo: checkin list"), "jo")[0]
    # Written in the conversation, a reply is shown back first: "Thanks" or a message meant for another
    # window must not go to everyone. Written again, it replaces the first; Send sends the last.
    first = await bot.play("jo: thanks")
    preview = await bot.play("jo: We will freeze rota changes inside two weeks.")
    reply = await bot.play("jo: 1")

    # The list gives the run's number, which `checkin reply` takes, until she has replied.
    run = re.search(r"last run #(\d+) of Mon 07 Dec \(closed\); reply with `checkin reply (\d+) ", listed)
    assert run is not None and run[1] == run[2], listed
    assert "reply with" not in messages(await bot.play("jo: checkin list"), "jo")[0]

    assert "Sorry, only senior leaders can use `checkin`. Type `help` to see what you can do." in messages(
        out, "amira"
    )
    assert digest.startswith("Your check-in digest is ready.\nWeekly check-in — run of Mon 07 Dec (closed)")
    assert "Responses: 2 of 11 (18%)" in digest
    assert "Rotas keep changing" not in digest  # one written answer is under the group size
    assert "1 written answer: not shown (fewer than 5 answers; words can tell who wrote them" in digest
    assert recipients(first) == ["jo"] and recipients(preview) == ["jo"]  # nothing went out yet
    said = (
        "You said, we did: Weekly check-in of Mon 07 Dec\n"
        "2 of 11 people answered (18%).\n"
        # Two answers: no figure can be shown without risking who said what, and it says so once.
        "Too few answered to share the figures without risking who said what.\n"
        "Jo Adeyemi: We will freeze rota changes inside two weeks."
    )
    # The preview is what everyone will get: the overall figures (under the same k rule) and her words.
    assert messages(preview, "jo")[0].startswith(
        f"Send this to all 11 people the check-in went to?\n{said}\n[1] Send it"
    )
    assert (
        messages(reply, "jo")[-1]
        == "Thank you. Your reply is on its way to all 11 people the check-in went to."
    )
    assert sorted(who for who in recipients(reply) if said in messages(reply, who)) == EVERYONE_BUT_JO
    assert not any("thanks" in m for who in recipients(reply) for m in messages(reply, who))


async def test_a_reply_written_after_the_digest_can_be_dropped(bot: Bot) -> None:
    await bot.programme(CHECKIN)
    await bot.play("/clock +1w2h\namira: 4\n/clock +2d4h")

    out = await bot.play("jo: ok thanks\njo: oops, wrong window\njo: 2")

    said = messages(out, "jo")
    # "ok thanks" is not a reply to everyone asked; the reply is still welcome.
    assert said[0].startswith("👍") and said[0].endswith(
        "Your reply to the digest (“you said, we did”) is still welcome: write it here."
    )
    assert said[1].startswith("Send this to all 11 people the check-in went to?\n")
    assert said[-1] == "Not sent. Write it again when you are ready (`checkin reply 1 <text>`)."
    assert set(recipients(out)) == {"jo"}  # nothing went to anyone else
    listed = messages(await bot.play("jo: checkin list"), "jo")[0]
    assert "reply with `checkin reply" in listed  # still hers to write


async def test_a_campaign_prompt_reply_is_shown_back_then_shared_and_the_prompt_closes_after_a_week(
    bot: Bot,
) -> None:
    await bot.programme(CAMPAIGN)
    prompt = await bot.play("/clock +1d2h")
    out = await bot.play(
        """
        amira: Text people when a visit will be late
        amira: 1
        chloe: anon Share spare PPE between patches
        dev: thanks!
        dev: Busy on visits all week
        dev: 3
        dev: Carpool rota for the rural round
        ellie: Ask the rota team to publish rotas a week ahead
        ellie: 2
        priya: Anything
        ben: ideas
        """
    )
    closing = await bot.play("/clock +7d")

    assert sorted(set(recipients(prompt))) == ["amira", "ben", "chloe", "dev", "ellie", "farah"]
    preview, decided, shared = messages(out, "amira")
    assert preview.startswith("Share this as your idea for “Fewer missed visits”?")
    assert "[1] Share with my name  [2] Share anonymously  [3] Not an idea" in preview
    assert decided == "Shared with your name:\nText people when a visit will be late"  # the preview, in place
    assert shared == (
        "Thanks! Your idea #1 is in, for the campaign “Fewer missed visits”. You'll hear about every change."
    )
    # "anon" at the start is explicit: shared at once.
    assert messages(out, "chloe")[0].startswith("Thanks! Your idea #2 is in, for the campaign “Fewer missed")
    # A "thanks" is not an idea, and words that are not one can be dropped.
    assert messages(out, "dev")[0].startswith("👍 You're welcome.")
    # The prompt still waits after "Not an idea": the idea that follows is offered, not misunderstood.
    dropped, offered = messages(out, "dev")[-2:]
    assert dropped.startswith("Not shared. Anything else you write here until Tue 08 Dec 10:00 is offered")
    assert offered.startswith("Share this as your idea for “Fewer missed visits”?\nCarpool rota")
    # Words that start with a command word ("Ask ...") are offered as the idea, and the command too.
    ellie = messages(out, "ellie")
    assert "[4] Run as a command" in ellie[0] and "It starts with `ask`" in ellie[0]
    assert ellie[-1].startswith(
        "Thanks! Your idea #3 is in, for the campaign “Fewer missed visits”. It is anonymous"
    )
    assert messages(out, "priya")[0].startswith("I didn't catch that.")  # Housing was not asked
    listed = messages(out, "ben")[0]
    assert "#1 [new] ▲0 Text people when a visit will be late" in listed and "thanks" not in listed
    closed = "This idea campaign has closed. Thank you! Ideas are always welcome with `idea <your idea>`."
    assert sum(m == closed for m in messages(closing, "amira")) == 1


async def test_campaign_words_too_long_for_a_button_are_pointed_to_the_form(bot: Bot) -> None:
    await bot.programme(CAMPAIGN)
    await bot.play("/clock +1d2h")
    emoji = "More " + "🚑" * 994  # within the 1,000 characters of an idea, but each emoji counts two on Slack

    out = await bot.play(f"farah: {emoji}")

    assert messages(out, "farah")[0].startswith("That is too long to show back with buttons.")
    assert "Share an idea" in messages(out, "farah")[0]


async def test_an_anonymous_campaign_idea_leaves_its_author_looking_like_those_who_did_not_reply(
    bot: Bot,
) -> None:
    """Who the prompt still waits for must not tell anonymous authors from people who did not reply."""
    await bot.programme(CAMPAIGN)
    await bot.play(
        """
        /clock +1d2h
        amira: Text people when a visit will be late
        amira: 1
        chloe: anon Share spare PPE between patches
        dev: Rotas a week ahead
        dev: 2
        ellie: idea anon Pool cars for the north patch
        """
    )
    async with bot.app.store.engine.connect() as db:
        rows = await db.execute(
            text("SELECT p.handle FROM conversations c JOIN people p ON p.id = c.person_id ORDER BY p.handle")
        )
        waiting = [row.handle for row in rows]

    # Amira shared with her name; Chloe, Dev and Ellie anonymously (three ways), Farah not at all.
    assert waiting == ["ben", "chloe", "dev", "ellie", "farah"]
    async with bot.app.store.engine.connect() as db:
        anonymous = (
            await db.execute(text("SELECT count(*) FROM ideas WHERE author_id IS NULL AND campaign_id = 1"))
        ).scalar_one()
    assert anonymous == 3


QUICK = """
[[pulse]]
name = "Quick pulse"
[[pulse.question]]
kind = "yes_no"
text = "Did you get your rota on time?"
"""


async def test_numbers_answer_a_pulse_then_the_check_in_that_came_just_before_it(bot: Bot) -> None:
    await bot.programme(CHECKIN + QUICK)
    await bot.play("jo: checkin send Weekly check-in\nben: pulse send Quick pulse")

    out = await bot.play("amira: 1\namira: 4\namira: Rotas came late again")

    said = messages(out, "amira")
    assert "Did you get your rota on time?" in said[0] and "(chosen)" in said[0]  # the pulse, answered
    assert any("answering the earlier message “Weekly check-in" in line for line in out)
    assert any("This week I had what I needed." in m and "[4] (chosen)" in m for m in said)
    assert "What should I know about?" in "\n".join(said)
    assert said[-2] == "Thanks, noted." and said[-1].startswith("That's everything")


async def test_names_typed_on_a_phone_find_their_pulse_or_check_in(bot: Bot) -> None:
    await bot.programme(CHECKIN.replace("Weekly check-in", "Director’s check-in") + QUICK)
    await bot.programme(QUICK.replace("Quick pulse", "Quick poll"))

    out = await bot.play(
        """
        jo: checkin send director's check in
        jo: checkin list
        ben: pulse send quick
        ben: pulse send quick pulse
        ben: pulse close pulse
        ben: pulse results poll
        """
    )

    jo = messages(out, "jo")
    ben = [m for m in messages(out, "ben") if not m.startswith("Director’s check-in")]  # he takes part too
    assert jo[0].startswith("Sent “Director’s check-in”")  # a straight apostrophe, no hyphen
    assert jo[1].startswith("Check-ins:")
    assert ben[0] == "“quick” could be the pulse “Quick pulse”, “Quick poll”: please give the whole name."
    assert ben[1].startswith("Sent “Quick pulse”")
    # A word inside a name finds it too: "poll" is in one name only; "pulse" in one, as "Quick" ends none.
    said = [m for m in ben if m.startswith(("Closed", "“Quick poll”"))]
    assert said[0].startswith("Closed “Quick pulse”") and said[1] == "“Quick poll” has no run yet."


async def test_thanks_stop_and_privacy_questions_are_answered_not_saved_or_shared(bot: Bot) -> None:
    await bot.programme(CAMPAIGN + CHECKIN)
    await bot.play("/clock +1d2h")  # Tuesday 10:00: the campaign prompt
    out = await bot.play(
        """
        amira: thanks!
        amira: Idea: Pool cars for the north patch
        chloe: who can see this?
        dev: STOP
        """
    )
    async with bot.app.store.engine.connect() as db:
        ideas = (await db.execute(text("SELECT text FROM ideas"))).scalars().all()

    thanks, shared = messages(out, "amira")
    assert thanks.startswith("👍 You're welcome.") and "An idea for the campaign is still welcome" in thanks
    assert shared.startswith("Thanks! Your idea #1 is in, for the campaign")  # "Idea:" is the command
    assert ideas == ["Pool cars for the north patch"]
    assert "managers see results only for groups of 5 or more" in messages(out, "chloe")[0]
    assert messages(out, "dev")[0].startswith("Answering is always up to you")

    # A written question waits: "ok" is not taken as the answer, and the question still is.
    await bot.play("/clock +6d\namira: 4")
    out = await bot.play("amira: ok\namira: Rotas came late again")
    said = messages(out, "amira")
    assert "still takes a written answer here, or `skip`" in said[0]
    assert said[0].startswith("👍 Type `help`")  # "ok" is no thanks: no "You're welcome"
    assert said[1] == "Thanks, noted."


async def test_while_a_campaign_waits_a_carers_everyday_words_are_answered_not_offered_as_ideas(
    bot: Bot,
) -> None:
    # On a phone between visits, each of these came back as "Share this as your idea?" for a week.
    await bot.programme(CAMPAIGN)
    await bot.play("/clock +1d2h")  # Tuesday 10:00: the campaign prompt
    said = {
        "hello": "Hello Farah Begum. Here is what you can do, with an example of each:",
        "how do i use this": "Hello Farah Begum. Here is what you can do, with an example of each:",
        "thank u": "👍 You're welcome.",
        "dziękuję": "👍 You're welcome.",
        "sorry": "No problem at all.",
        "👍🏽": "👍 Type `help`",
        "😡😡": "I can only read words",
        "who sees my answers": "Pulse and check-in answers are anonymous",
        "can my manager see what i say?": "Pulse and check-in answers are anonymous",
    }

    replies = [messages(await bot.play(f"farah: {words}"), "farah")[0] for words in said]
    stop = messages(await bot.play("farah: STOP"), "farah")[0]

    for (words, expected), reply in zip(said.items(), replies, strict=True):
        assert reply.startswith(expected), (words, reply)
        assert "Share this as your idea" not in reply, words
    # Nothing more is asked for after "stop"; a pulse's reminder is not the only one there is.
    assert "still welcome" not in stop and "one reminder for a pulse or check-in" in stop
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM ideas"))).scalar() == 0


async def test_a_reply_previewed_is_sent_by_typing_what_its_button_says(bot: Bot) -> None:
    # "send it" typed under the preview (as people who do not tap type it) replaced the reply with "send
    # it", and tapped, that went to everyone.
    await bot.programme(CHECKIN)
    await bot.play("/clock +1w2h\namira: 4\n/clock +2d4h")

    early = await bot.play("jo: send it")
    await bot.play("jo: We will freeze rota changes inside two weeks.")
    sent = await bot.play("jo: Send it.")

    assert messages(early, "jo") == [
        "There is no reply to send yet: write what you will do (`checkin reply 1 <text>`), and I'll show it "
        "to you before it goes."
    ]
    assert (
        messages(sent, "jo")[-1]
        == "Thank you. Your reply is on its way to all 11 people the check-in went to."
    )
    told = [
        who
        for who in recipients(sent)
        if any("We will freeze rota changes" in m for m in messages(sent, who))
    ]
    assert sorted(set(told) - {"jo"}) == EVERYONE_BUT_JO
    assert not any("send it" in m.lower() for who in EVERYONE_BUT_JO for m in messages(sent, who))


async def test_a_pulse_reply_is_sent_or_dropped_by_the_command_with_its_buttons_words(bot: Bot) -> None:
    await bot.programme(QUICK)
    await bot.play("ben: pulse send Quick pulse\namira: 1\nben: pulse close Quick pulse")
    await bot.play("jo: pulse reply 1 More travel time from January")
    dropped = await bot.play("jo: pulse reply 1 don't send")
    await bot.play("jo: pulse reply 1 More travel time from February")
    sent = await bot.play("jo: pulse reply 1 send it")

    assert (
        messages(dropped, "jo")[-1] == "Not sent. Write it again when you are ready (`pulse reply 1 <text>`)."
    )
    assert "amira" not in recipients(dropped)
    assert any("More travel time from February" in m for m in messages(sent, "amira"))
    assert not any("send it" in m for m in messages(sent, "amira"))


async def test_typing_the_words_of_a_button_under_an_idea_shown_back_keeps_nothing(bot: Bot) -> None:
    await bot.programme(CAMPAIGN)
    await bot.play("amira: ask the rota team to plan travel time")  # shown back: ask it, or share it?
    asked = await bot.play("amira: ask it with my name")
    await bot.play("/clock +1d2h")  # Tuesday 10:00: the campaign prompt
    await bot.play("farah: we need more travel time between visits in the rota")
    typed = await bot.play("farah: Share anonymously")
    shared = await bot.play("farah: 2")  # the button under her words, still there

    assert messages(typed, "farah") == [
        "“Share anonymously” is what a button under your idea says, so I kept nothing: tap it there. To "
        "share an idea by typing, write `idea` and your idea, or `idea anon` and your idea to stay anonymous."
    ]
    assert messages(asked, "amira")[0].startswith(
        "“ask it with my name” is what a button under your words says"
    )
    assert messages(asked, "#qa") == []
    assert messages(shared, "farah")[-1].startswith("Thanks! Your idea #1 is in")
    async with bot.app.store.engine.connect() as db:
        ideas = (await db.execute(text("SELECT text, author_id IS NULL FROM ideas"))).all()
    assert [tuple(row) for row in ideas] == [("we need more travel time between visits in the rota", True)]


async def test_under_a_campaign_yess_confirms_nothing_away_and_pulse_words_stay_answers(bot: Bot) -> None:
    # "Yess" typed under the shown-back idea replaced it, and went out as idea #1 under her name; "not
    # really" for a pulse became an idea offer; "yes" after the pulse closed too.
    await bot.programme(CAMPAIGN + QUICK)
    await bot.play("/clock +1d2h")  # Tuesday 10:00: the campaign prompt
    shown = await bot.play("farah: we need more travel time between visits in the rota")
    yess = await bot.play("farah: Yess")
    shared = await bot.play("farah: 1")
    await bot.play("ben: pulse send Quick pulse")
    answered = await bot.play("farah: not really")
    await bot.play("ben: pulse close Quick pulse")
    late = await bot.play("chloe: yes!!")

    assert messages(shown, "farah")[0].startswith("Share this as your idea for “Fewer missed visits”?")
    assert messages(yess, "farah") == [
        "“Yess” is not an idea, so I kept nothing. If I showed your idea back, tap Share with my name or "
        "Share anonymously under it (or Not an idea); otherwise write your idea here."
    ]
    assert messages(shared, "farah")[-1].startswith("Thanks! Your idea #1 is in")
    assert messages(answered, "farah")[0].startswith("Noted: No, for Q1 of “Quick pulse”")
    assert messages(late, "chloe")[0].startswith("“Quick pulse” closed on")
    async with bot.app.store.engine.connect() as db:
        ideas = (await db.execute(text("SELECT text FROM ideas"))).scalars().all()
    assert ideas == ["we need more travel time between visits in the rota"]


async def test_a_question_asked_while_a_campaign_waits_is_asked_not_offered_as_an_idea(bot: Bot) -> None:
    # "ask Why is the canteen closing?" was shown back as an idea for a week; "Share anonymously", read as
    # "ask anonymously", made it an anonymous idea.
    await bot.programme(CAMPAIGN)
    await bot.play("/clock +1d2h")  # Tuesday 10:00: the campaign prompt
    out = await bot.play(
        "ellie: ask Why is the canteen closing?\ndev: anonymously ask Is the restructure on?"
    )

    assert messages(out, "ellie")[0].startswith("Your question #1 is posted")
    posted = "\n".join(messages(out, "#qa"))
    assert "Question #1 from Ellie Watson:\nWhy is the canteen closing?" in posted
    assert "Question #2 from an anonymous colleague:\nIs the restructure on?" in posted
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM ideas"))).scalar() == 0


async def test_a_written_question_that_another_survey_displaced_is_asked_again(bot: Bot) -> None:
    pulse = QUICK + '\n[[pulse.question]]\nkind = "text"\ntext = "What would help?"\n'
    await bot.programme(CHECKIN + pulse)
    await bot.play("jo: checkin send Weekly check-in\nben: pulse send Quick pulse")

    # The pulse's yes/no, then its written question; meanwhile the check-in's written question is what
    # her words answer first (one written answer waits at a time).
    out = await bot.play(
        """
        amira: 1
        amira: 4
        amira: Rotas came late again
        amira: More notice of changes
        """
    )

    said = messages(out, "amira")
    assert "Still waiting for your written answer, in Quick pulse: What would help?" in "\n".join(said)
    async with bot.app.store.engine.connect() as db:
        written = (
            await db.execute(text("SELECT text FROM answers WHERE text IS NOT NULL ORDER BY text"))
        ).all()
    assert [row.text for row in written] == ["More notice of changes", "Rotas came late again"]


async def test_the_reply_command_shows_back_too_and_only_the_owner_may_use_it(bot: Bot) -> None:
    await bot.programme(CHECKIN)
    await bot.play("/clock +1w2h\namira: 4\n/clock +2d4h")

    by_admin = await bot.play("kate: checkin reply 1 HR here.")
    preview = await bot.play("jo: checkin reply 1 We will freeze rota changes.")
    sent = await bot.play("jo: 1")

    # An admin is not the leader the check-in speaks for; the owner is not then told she replied.
    assert messages(by_admin, "kate") == [
        "Only the leader who owns this check-in can reply to it: the reply goes to everyone it was sent to."
    ]
    assert recipients(preview) == ["jo"]  # the command shows back what everyone will get, as the chat does
    assert messages(preview, "jo")[0].startswith("Send this to all 11 people the check-in went to?\n")
    said = "Jo Adeyemi: We will freeze rota changes."
    assert (
        sorted(who for who in recipients(sent) if any(said in m for m in messages(sent, who)))
        == EVERYONE_BUT_JO
    )


WRITTEN_PULSE = """
[[pulse]]
name = "Written pulse"

[[pulse.question]]
kind = "text"
text = "What one thing would make next week better?"
"""


async def test_a_campaign_prompt_waits_behind_a_written_answer_then_takes_ideas(bot: Bot) -> None:
    await bot.programme(CAMPAIGN + WRITTEN_PULSE)
    await bot.play("ben: pulse send Written pulse\n/clock +1d2h")  # Tuesday 10:00: the campaign's prompt

    answered = await bot.play("amira: Fewer handovers")
    idea = await bot.play("amira: More time between visits")

    # The words went to the question asked first, then the campaign took her next ones.
    assert messages(answered, "amira")[0].startswith("Thanks, noted.")
    assert messages(answered, "amira")[-1] == (
        "Your ideas for “Fewer missed visits” are still welcome: write one here.\n"
        "Or `idea <your idea>` any time."
    )
    assert messages(idea, "amira")[0].startswith("Share this as your idea for “Fewer missed visits”?")
    async with bot.app.store.engine.connect() as db:
        stored = (await db.execute(text("SELECT text FROM answers"))).scalars().all()
    assert stored == ["Fewer handovers"]

    async def waiting(*handles: str) -> list[tuple[str, str]]:
        async with bot.app.store.engine.connect() as db:
            rows = await db.execute(
                text(
                    "SELECT p.handle, c.awaiting, c.at FROM conversations c "
                    "JOIN people p ON p.id = c.person_id ORDER BY p.handle"
                )
            )
            return [(row.awaiting, str(row.at)) for row in rows if row.handle in handles]

    # Her wait for ideas dates from the prompt, as everyone's does: not from when she finished the pulse
    # (which would date that, and any anonymous idea she shares next).
    async with bot.app.store.engine.connect() as db:
        prompt = (
            await db.execute(text("SELECT id, opens_at FROM occurrences WHERE kind = 'campaign'"))
        ).one()
    assert await waiting("amira") == [(f"campaign:{prompt.id}", str(prompt.opens_at))]
    # Once the run closes, someone who never wrote their answer (Chloe) looks like those who did.
    await bot.play("ben: pulse close Written pulse")
    closed = await waiting("amira", "chloe", "dev")
    assert len(closed) == 3 and len(set(closed)) == 1 and closed[0][0].startswith("campaign:"), closed


async def test_anon_typed_under_words_shown_back_points_to_the_button(bot: Bot) -> None:
    await bot.programme(CAMPAIGN)
    await bot.play("/clock +1d2h")  # Tuesday 10:00: the campaign's prompt

    out = await bot.play("amira: More vans for the north patch\namira: anon")

    assert messages(out, "amira")[-1] == (
        "To share an idea anonymously, write anon and then your idea; if I showed your words back, "
        "tap *Share anonymously* under them."
    )
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM ideas"))).scalar() == 0


async def test_a_check_in_whose_owner_has_left_sends_its_digest_to_every_senior_leader(bot: Bot) -> None:
    await bot.programme(CHECKIN)
    without_jo = "\n".join(line for line in ORGANISATION.splitlines() if not line.startswith("jo,"))
    report = await import_directory(bot.app.store, csv.DictReader(io.StringIO(without_jo)), complete=True)
    # The import says what the leaver leaves behind, and loading the programme again names her as gone.
    assert report.switched_off == ["jo"]
    assert report.unowned == [
        "checkin 'Weekly check-in': its owner jo is switched off, so its digests go to every senior leader "
        "until you name a new `owner` in the programme file and load it again"
    ]
    with pytest.raises(ProgrammeError, match="'jo' is switched off: the last complete directory import"):
        await bot.programme(CHECKIN)

    await bot.play("/clock +1w2h\namira: 4\nchloe: 2\ndev: 3\nellie: 5\nfarah: 4")
    closed = await bot.play("/clock +2d6h")
    todo = messages(await bot.play("helen: todo"), "helen")[0]
    out = await bot.play("helen: checkin reply 1 We will hire two drivers\nhelen: 1")

    # Before, Jo's digest failed quietly and nobody could reply; now the senior leader still here gets it.
    head = "“Weekly check-in” has no owner in the directory now"
    assert {who for who in recipients(closed) if any(m.startswith(head) for m in messages(closed, who))} == {
        "helen"
    }
    digest = next(m for m in messages(closed, "helen") if m.startswith(head))
    assert "Responses: 5 of 11 (45%)\nQ1. This week I had what I needed.\nEveryone: n=5, mean 3.6" in digest
    assert "Q2. What should I know about?\nNo written answers." in digest
    assert "Whoever of you replies first answers for all: `checkin reply 1 <what you will do>`" in digest
    assert "`checkin reply 1 <what you will do>`" in todo
    assert "We will hire two drivers" in messages(out, "amira")[-1]


async def test_each_person_is_reminded_a_day_after_their_own_first_question(bot: Bot) -> None:
    await bot.programme(CHECKIN)
    await bot.play("/clock +1w4h\namira: 4")  # Mon 7 Dec 12:00 London: asked at 09:00 local but in NY

    def reminded(out: list[str]) -> set[str]:
        return {who for who in recipients(out) if any(m.startswith("Reminder:") for m in messages(out, who))}

    kolkata = await bot.play("/clock +16h")  # Tue 04:00 London, 09:30 in Kolkata
    london = await bot.play("/clock +6h")  # Tue 10:00
    new_york = await bot.play("/clock +5h")  # Tue 15:00 London, 10:00 in New York

    # Before, one reminder for all came a day after the last first question (Sam's): 19:30 in Kolkata.
    assert reminded(kolkata) == {"priya"}
    assert reminded(london) == set(EVERYONE_BUT_JO) - {"priya", "sam"}  # Amira, of its second question
    assert reminded(new_york) == {"sam"}


async def test_a_local_time_check_in_is_nobodys_to_answer_before_their_own_nine_oclock(bot: Bot) -> None:
    await bot.programme(CHECKIN)
    await bot.play("/clock +1w")  # Mon 7 Dec 08:00 London: 13:30 in Kolkata, where it came at 09:00

    early = messages(await bot.play("amira: todo\namira: 4\npriya: todo"), None)
    later = await bot.play("/clock +1h\namira: todo\namira: 4")

    # Before, Amira's todo said her chat had the questions, and "4" counted, an hour before they came.
    assert early[0] == (
        "Pulses and check-ins to answer: none right now.\n"
        "Coming: Weekly check-in (check-in), Mon 07 Dec 09:00"
    )
    assert early[1].startswith("I didn't catch that.")
    assert early[2].startswith("Pulses and check-ins to answer (your chat with the bot has the questions):")
    assert any(m.startswith(INTRO) for m in messages(later, "amira"))
    assert any("[4] (chosen)" in m for m in messages(later, "amira"))  # the console taps the newest buttons


async def test_only_the_owner_sends_or_closes_a_check_in(bot: Bot) -> None:
    await bot.programme(CHECKIN)

    out = await bot.play(
        "helen: checkin send Weekly check-in\njo: checkin send Weekly check-in\namira: 4\n"
        "helen: checkin close Weekly check-in\nkate: checkin close Weekly check-in"
    )

    refused = "“Weekly check-in” is Jo Adeyemi's check-in: only they can {} it (or an admin)."
    helen = messages(out, "helen")
    assert helen[0].startswith(refused.format("send"))
    assert any(m.startswith(refused.format("close")) for m in helen)
    assert any(m.startswith("Sent “Weekly check-in” to 11 people.") for m in messages(out, "jo"))
    assert any(m.startswith("Closed “Weekly check-in”") for m in messages(out, "kate"))  # an admin may


async def test_a_run_nobody_answered_offers_no_reply(bot: Bot) -> None:
    await bot.programme(CHECKIN)
    await bot.play("/clock +1w2h\n/clock +2d6h")  # the run of Mon 7 Dec opens and closes unanswered

    listed = messages(await bot.play("jo: checkin list"), "jo")[0]

    assert "last run #1 of Mon 07 Dec (closed)" in listed and "reply with" not in listed


async def test_a_local_time_run_is_labelled_with_its_own_day_wherever_it_went_first(
    database_url: str, tmp_path: Path
) -> None:
    # Nine o'clock on Monday in Auckland is Sunday 20:00 in London: the run was labelled Sunday for Jo.
    bot = await start_bot(
        database_url, tmp_path, people=ORGANISATION + "kiri,Kiri Ngata,Pacific/Auckland,staff,Housing,\n"
    )
    try:
        await bot.programme(CHECKIN)
        await bot.play("/clock +6d13h")  # Sun 6 Dec 21:00 London: Kiri has it; London has not yet

        listed = messages(await bot.play("jo: checkin list"), "jo")[0]
        await bot.play("/clock +3d")
        results = messages(await bot.play("jo: checkin results Weekly check-in"), "jo")[0]
    finally:
        await bot.app.close()

    assert "last run #1 of Mon 07 Dec (open)" in listed
    assert results.startswith("Weekly check-in — run of Mon 07 Dec (closed)")


async def test_while_a_campaign_waits_answers_and_commands_are_still_what_they_are(bot: Bot) -> None:
    # The demo campaign stays open a week: "yes" for a pulse became a proposed idea, and `ideas new` (as
    # `todo` suggests) needed a "Run as a command" tap.
    await bot.programme(CAMPAIGN + QUICK)
    await bot.play("ben: campaign send Fewer missed visits\nben: pulse send Quick pulse")
    await bot.play("amira: idea Rota board")

    out = await bot.play("amira: yes\nben: ideas new\nben: help todo\nben: ideas in review")
    out += await bot.play("chloe: Spare keys")

    assert messages(out, "amira")[0].startswith("Noted: Yes, for Q1 of “Quick pulse” (anonymous).")
    ben = messages(out, "ben")
    assert ben[0].startswith("Ideas new:") and "#1 [new] ▲0 Rota board" in ben[0]
    assert ben[1].startswith("`todo`\nWhat waits for you:")
    assert ben[2] == "Ideas under review: none yet. Share one with `idea <your idea>`."
    # Words that are neither are still offered as an idea.
    assert messages(out, "chloe")[0].startswith("Share this as your idea for “Fewer missed visits”?")


async def test_a_command_mistyped_while_a_written_answer_waits_is_offered_not_saved(bot: Bot) -> None:
    await bot.programme(CHECKIN)
    await bot.play("/clock +1w2h\namira: 4")  # the written question waits now

    offered = await bot.play("amira: hlep")
    ran = await bot.play("amira: 2")
    async with bot.app.store.engine.connect() as db:
        written = (await db.execute(text("SELECT count(*) FROM answers WHERE text IS NOT NULL"))).scalar()

    # Before, "hlep" was saved as an anonymous answer: "Thanks, noted. That's everything".
    (shown,) = messages(offered, "amira")
    assert shown.startswith("Your answer to “What should I know about?”, or a command?")
    assert "Did you mean `help`? Tap Run as a command." in shown
    assert any("`todo`" in m for m in messages(ran, "amira"))  # help, as asked
    assert written == 0


async def test_the_owners_digest_shows_the_trend_across_runs(bot: Bot) -> None:
    await bot.programme(CHECKIN)
    answers = "".join(f"{who}: {n}\n" for who, n in zip(EVERYONE_BUT_JO[:6], "455342", strict=True))
    first = await bot.play("/clock +1w2h\n" + answers + "/clock +2d6h")  # Mon 7 Dec, closed Wed
    second = await bot.play("/clock +4d18h\n" + answers + "/clock +2d6h")  # Mon 14 Dec, closed Wed

    (digest_1,) = [m for m in messages(first, "jo") if m.startswith("Your check-in digest is ready.")]
    (digest_2,) = [m for m in messages(second, "jo") if m.startswith("Your check-in digest is ready.")]
    # One run is no trend; from the second, the digest says how this week compares (as results did).
    assert "Trend across runs" not in digest_1
    assert "Trend across runs (oldest first):" in digest_2


async def test_a_pulse_reply_to_a_check_in_run_says_which_command_replies(bot: Bot) -> None:
    # Pulses and check-ins share run numbers: "pulse reply 1" on the check-in was told "Only the leader
    # who owns this check-in can reply to it."
    await bot.programme(CHECKIN)
    await bot.play("/clock +1w2h\namira: 4\n/clock +2d4h")

    said = messages(await bot.play("jo: pulse reply 1 Thank you all"), "jo")

    assert said == ["Run #1 is a check-in, not a pulse: `checkin reply 1 <text>`."]


async def test_a_question_written_under_a_campaign_prompt_can_be_asked_instead(bot: Bot) -> None:
    # Everything written in a campaign's week was offered as an idea, a question too, with no way to ask it.
    await bot.programme(CAMPAIGN)
    await bot.play("/clock +1d2h")  # Tuesday 10:00: the campaign prompt
    offered = messages(await bot.play("farah: Can we have more pool cars?"), "farah")[0]
    asking = await bot.play("farah: 3")
    asked = await bot.play("farah: 2")  # Ask anonymously

    assert (
        "[1] Share with my name  [2] Share anonymously  [3] Ask it as a question  [4] Not an idea" in offered
    )
    assert messages(asking, "farah")[0] == "Not shared as an idea:\nCan we have more pool cars?"
    assert messages(asking, "farah")[1].startswith(
        "Ask this in the open, in the Q&A channel, or share it as an idea?\nCan we have more pool cars?"
    )
    assert messages(asked, "#qa")[0].startswith("Question #1 from an anonymous colleague:\nCan we have more")
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM ideas"))).scalar() == 0
