"""Pulses end to end: answers by number, changed answers, reminders to non-respondents only, the k rule."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.cli import check_cron
from dialogue.events import Chose, Identity, Said
from dialogue.programme import ProgrammeError, load_programme
from tests.e2e.harness import ORGANISATION, Bot, messages, recipients, start_bot

PULSE = """
[[pulse]]
name = "Quick pulse"
open_hours = 48
remind_after_hours = 24

[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."

[[pulse.question]]
kind = "enps"
text = "Would you recommend us?"
"""
# Five of Reablement's six and all three of Housing answer; the others never do.
ANSWERS = """
amira: 4
amira: 9
chloe: 5
chloe: 10
dev: 3
dev: 6
ellie: 4
ellie: 8
farah: 2
farah: 9
priya: 4
priya: 7
sam: 5
sam: 10
lena: 4
lena: 9
amira: 2
"""


async def test_a_pulse_is_answered_by_number_and_an_answer_can_be_changed(bot: Bot) -> None:
    await bot.programme(PULSE)
    out = await bot.play("amira: pulse send Quick pulse\nben: pulse send Quick pulse\n" + ANSWERS)

    assert (
        messages(out, "amira")[0]
        == "Sorry, only managers can use `pulse`. Type `help` to see what you can do."
    )
    assert messages(out, "ben")[0] == "Sent “Quick pulse” to 12 people. It closes Wed 02 Dec 08:00."
    asked = [who for who in recipients(out) if who not in ("ben",)]
    assert sorted(set(asked)) == sorted(
        ["helen", "jo", "kate", "amira", "chloe", "dev", "ellie", "farah", "lena", "priya", "sam"]
    )
    assert "[4] (chosen)" in messages(out, "amira")[2]  # the question updated in place
    # Times are shown in each person's own zone.
    assert messages(out, "sam")[-1].endswith("You can change a tapped answer until Wed 02 Dec 03:00.")
    # While it is open, only how many answered: figures that move with each answer would give it away.
    progress = messages(await bot.play("ben: pulse results Quick pulse"), "ben")[0]
    assert "Responses so far: at least 5 of 12" in progress  # 8, in steps of the group size
    assert "n=" not in progress and "eNPS" not in progress and "mean" not in progress
    # Amira's last "2" changed her eNPS answer from 9: the mean counts it once, as 2.
    out = await bot.play("ben: pulse close Quick pulse\nben: pulse results Quick pulse")
    result = next(m for m in messages(out, "ben") if "Responses:" in m)
    assert "Responses: 8 of 12 (67%)" in result
    assert "Everyone: n=8, eNPS +25, mean 7.6" in result


async def test_a_pulse_still_open_is_not_sent_again(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse")

    out = await bot.play("ben: pulse send Quick pulse")

    assert messages(out, "ben") == [
        "“Quick pulse” is already out, open until Wed 02 Dec 08:00. "
        "`pulse close Quick pulse` closes it; then you can send it again."
    ]
    assert recipients(out) == ["ben"]  # nobody is asked twice
    out = await bot.play("ben: pulse close Quick pulse\n/clock +1h\nben: pulse send Quick pulse")
    assert any(m.startswith("Sent “Quick pulse” to 12 people.") for m in messages(out, "ben"))


async def test_the_reminder_reaches_only_people_who_have_not_answered(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS)

    out = await bot.play("/clock +1d")

    reminded = [who for who in recipients(out) if any(m.startswith("Reminder:") for m in messages(out, who))]
    assert sorted(reminded) == ["ben", "helen", "jo", "kate"]
    assert len(recipients(out)) == 4  # once each
    assert recipients(await bot.play("/clock +20h")) == []  # and only once


async def test_someone_who_stopped_part_way_is_reminded_of_the_next_question(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS + "helen: 3")  # Helen answered Q1 only

    out = await bot.play("/clock +1d")

    # Before, only people who had answered nothing were reminded; Helen never heard again.
    (helen,) = messages(out, "helen")
    assert helen.startswith("Reminder: 1 question of this pulse still waits for you; it closes Wed 02 Dec")
    assert "Q2/2: Would you recommend us?" in helen
    assert all(m.startswith("Reminder: this pulse closes") for m in messages(out, "kate"))


async def test_remind_after_hours_0_sends_no_reminder(bot: Bot) -> None:
    await bot.programme(PULSE.replace("remind_after_hours = 24", "remind_after_hours = 0"))
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS)

    out = await bot.play("/clock +1d\n/clock +1d")

    assert not any(m.startswith("Reminder:") for m in messages(out))
    assert any("has closed" in m for m in messages(out, "helen"))  # it ran its course all the same


async def test_results_withhold_small_groups_and_any_group_that_subtraction_would_reveal(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS + "ben: pulse close Quick pulse\n")

    result = messages(await bot.play("jo: pulse results Quick pulse"), "jo")[0]

    assert "Everyone: n=8, mean 3.9, 1: 0  2: 1  3: 1  4: 4  5: 2" in result
    # Teams with fewer than 5 people asked (Housing, the executive) are only ever counted together.
    assert "Withheld, fewer than 5 answers: Other teams" in result and "Housing" not in result
    # Reablement has 5 answers, but Everyone minus Reablement would give the other 3 away.
    assert "Withheld, so a smaller group can't be worked out: Reablement" in result
    assert "n=5" not in result and "n=3" not in result


async def test_a_closed_pulse_refuses_answers_and_its_questions_say_it_closed(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse")
    shown = bot.session.sender.last_choices("dev")
    assert shown is not None and shown.message.choices
    question = shown.message.choices[0]

    out = await bot.play("/clock +2h\nben: pulse close Quick pulse")  # two days early
    reply = await bot.app.dialogue.handle(
        Chose(Identity("console", "", "dev"), question.action, question.ref, question.options[2].value)
    )

    typed = await bot.play("dev: 4\ndev: maybe\n/clock +4d\ndev: 4")

    # The question keeps its words, so the chat still reads as a record of what was asked; closed before the
    # time everyone was promised, it says who closed it early.
    record = (
        "Quick pulse: this pulse was closed early by Ben Carter. Thank you to everyone who answered.\n"
        "Q1/2: I can suggest "
    )
    assert record in "\n".join(messages(out, "dev"))
    assert reply.messages[0].fallback().startswith("“Quick pulse” closed on Mon 30 Nov 10:00,")
    # "4" typed after it closed is told so, as the tap is; words that answer nothing, and "4" days later,
    # are not taken for a late answer.
    assert messages(typed, "dev") == [
        "“Quick pulse” closed on Mon 30 Nov 10:00, so answers can no longer be given or changed. "
        "Thank you all the same!",
        "I didn't catch that. Type `help` to see what you can do, or `idea <your idea>` to share one.",
        "I didn't catch that. Type `help` to see what you can do, or `idea <your idea>` to share one.",
    ]
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM answers"))).scalar() == 0


async def test_words_typed_for_a_written_question_after_its_pulse_closed_are_told_it_closed(bot: Bot) -> None:
    # A carer writing her answer on her next working day got "I didn't catch that", her words kept nowhere.
    await bot.programme(
        PULSE.replace(
            'kind = "enps"\ntext = "Would you recommend us?"', 'kind = "text"\ntext = "What would help?"'
        )
    )
    await bot.play("ben: pulse send Quick pulse\namira: 4")  # Amira is at the written question; Dev is not
    late = await bot.play("ben: pulse close Quick pulse\n/clock +1h\namira: More time between visits")
    other = await bot.play("dev: More time between visits")

    assert messages(late, "amira")[-1] == (
        "“Quick pulse” closed on Mon 30 Nov 08:00, so answers can no longer be given or changed. Thank you "
        "all the same!\nIf you meant something else, type `help` to see what you can do."
    )
    assert messages(other, "dev")[0].startswith("I didn't catch that.")
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM answers WHERE text IS NOT NULL"))).scalar() == 0


async def test_anonymous_answers_are_stored_without_the_person_or_a_time(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS)

    async with bot.app.store.engine.connect() as db:
        rows = (await db.execute(text("SELECT * FROM answers"))).mappings().all()
    assert len(rows) == 16
    assert set(rows[0]) == {"occurrence_id", "item_id", "respondent", "team_id", "number", "text"}
    for row in rows:
        assert len(row["respondent"]) == 32 and not row["respondent"].startswith("person:")


WRITTEN = """
[[pulse]]
name = "Written pulse"

[[pulse.question]]
kind = "text"
text = "What one thing would make next week better?"
"""


async def test_written_words_that_start_with_a_command_word_are_shown_back_before_either_happens(
    bot: Bot,
) -> None:
    await bot.programme(WRITTEN)
    await bot.play("ben: pulse send Written pulse")

    out = await bot.play("amira: help\namira: Ask the rota team to publish a month ahead")
    shown = messages(out, "amira")[1]
    saved = await bot.play("amira: 1")

    assert messages(out, "amira")[0].startswith("Hello Amira")  # a command word alone is still a command
    assert shown.startswith(
        "Your answer to “What one thing would make next week better?”, or a command?\n"
        "Ask the rota team to publish a month ahead\n[1] Save as my answer  [2] Run as a command"
    )
    assert messages(saved, "amira")[0] == "Saved as your answer:\nAsk the rota team to publish a month ahead"
    assert messages(out + saved, "#qa") == []  # nothing was asked in the open, under her name or at all
    async with bot.app.store.engine.connect() as db:
        stored = (await db.execute(text("SELECT text FROM answers"))).scalars().all()
        assert (await db.execute(text("SELECT count(*) FROM questions"))).scalar() == 0
    assert stored == ["Ask the rota team to publish a month ahead"]
    # Once answered, the same words are a command again.
    out = await bot.play("amira: ask Will rotas be published a month ahead?")
    assert any("Question #1" in m for m in messages(out, "#qa"))


async def test_a_question_typed_while_a_written_answer_waits_can_be_asked_and_the_answer_still_waits(
    bot: Bot,
) -> None:
    await bot.programme(WRITTEN)
    await bot.play("ben: pulse send Written pulse")

    asked = await bot.play("amira: ask When is the pay award?\namira: 2\namira: 2")
    answered = await bot.play("amira: Fewer handovers")

    # Run as a command, the question is shown back once more: she was in the middle of an anonymous pulse,
    # and "Run as a command" does not say "with my name". She asks it anonymously.
    assert messages(asked, "amira")[1].startswith("Run as a command:\nask When is the pay award?")
    assert messages(asked, "amira")[2].startswith("Ask this in the open, in the Q&A channel, or share it")
    posted = "\n".join(messages(asked, "#qa"))
    assert "When is the pay award?" in posted and "Amira" not in posted
    assert messages(answered, "amira")[0].startswith("Thanks, noted.")
    async with bot.app.store.engine.connect() as db:
        stored = (await db.execute(text("SELECT text FROM answers"))).scalars().all()
    assert stored == ["Fewer handovers"]


async def test_an_open_runs_figures_stay_hidden_so_no_answer_shows_as_a_difference(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS + "ben: pulse close Quick pulse\n/clock +7d")
    await bot.play("ben: pulse send Quick pulse")

    before = messages(await bot.play("ben: pulse results Quick pulse"), "ben")[-1]
    after = messages(await bot.play("amira: 1\nben: pulse results Quick pulse"), "ben")[-1]
    fifth = messages(await bot.play(ANSWERS.split("priya: 4")[0] + "ben: pulse results Quick pulse"), "ben")
    everyone = "".join(
        f"{who}: 3\n{who}: 7\n" for who in ("helen", "jo", "kate", "lena", "priya", "sam", "ben")
    )
    last = messages(await bot.play(everyone + "ben: pulse results Quick pulse"), "ben")

    assert "Everyone: n=8, eNPS +25" in before  # the last closed run's figures
    # Nothing moved with Amira's answer, not even the count: a manager asking after each conversation saw
    # who had answered. It moves in steps of five.
    assert "Responses so far: fewer than 5 of 12" in before and after == before
    assert "Responses so far: at least 5 of 12" in fifth[-1]
    assert "Responses so far: at least 10 of 12" in last[-1]  # not "all": that named the last to answer


CHANGED = PULSE.replace("I can suggest improvements.", "I feel listened to.")
SHORTER = PULSE.split("[[pulse.question]]")[0] + "[[pulse.question]]" + PULSE.split("[[pulse.question]]")[1]
LONGER = (
    PULSE
    + """
[[pulse.question]]
kind = "text"
text = "What one thing would help?"
"""
)


async def test_a_reloaded_pulse_keeps_its_answers_with_the_questions_they_answered(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS)

    # A reworded or dropped question that has answers would have them count for another, or deleted.
    as_checkin = PULSE.replace("[[pulse]]", '[[checkin]]\nowner = "helen"').replace("[[pulse.", "[[checkin.")
    for changed, mistake in (
        (CHANGED, "question 1 (“I can suggest improvements.”) has answers from earlier runs, which would"),
        (SHORTER, "question 2 (“Would you recommend us?”) has answers from earlier runs; leaving it out"),
        (as_checkin, "'Quick pulse' is a pulse already"),
    ):
        with pytest.raises(ProgrammeError) as refused:
            await bot.programme(changed)
        assert any(mistake in problem for problem in refused.value.problems), refused.value.problems

    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM answers"))).scalar() == 16  # nothing changed
    # A question added at the end waits for the open run to close: those who finished would never get it.
    with pytest.raises(ProgrammeError) as refused:
        await bot.programme(LONGER)
    assert refused.value.problems == [
        "pulse 1 (“Quick pulse”): a run of 'Quick pulse' is open until Wed 02 Dec 08:00 UTC, so its "
        "questions cannot change while people answer them; load this once it closes (`pulse close Quick "
        "pulse` in the chat closes it now)"
    ]
    # Then it is fine: earlier answers stay with theirs.
    await bot.play("ben: pulse close Quick pulse")
    await bot.programme(LONGER)
    out = await bot.play("ben: pulse results Quick pulse")
    assert "I can suggest improvements." in messages(out, "ben")[-1]


async def test_the_trend_follows_how_many_answered_even_with_nothing_numeric(bot: Bot) -> None:
    await bot.programme(WRITTEN)
    await bot.play(
        "ben: pulse send Written pulse\namira: Fewer handovers\nben: pulse close Written pulse\n/clock +7d"
    )
    await bot.play("ben: pulse send Written pulse\nben: pulse close Written pulse\n/clock +7d")

    result = messages(await bot.play("ben: pulse results Written pulse"), "ben")[-1]

    # Fewer answering is a signal of its own: one of 12, then none.
    assert "Trend across runs (oldest first):\nAnswered: Mon 30 Nov 1/12 → Mon 07 Dec 0/12" in result
    assert "pulse reply" not in result  # nobody answered the last run: nothing to reply to
    assert " mean: " not in result  # nothing numeric to follow


async def test_a_day_after_a_run_closes_nothing_says_how_far_each_person_got(bot: Bot) -> None:
    # Each later question went to a person once they had answered the one before; each respondent key's
    # answers say how many they gave. Matched up, the two tied answers to people.
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS + "helen: 3")  # Helen stops after one
    await bot.play("/clock +1d")  # the reminder: to those who had not answered, who are known from it

    async def progress() -> list[str]:
        async with bot.app.store.engine.connect() as db:
            rows = await db.execute(
                text(
                    "SELECT key FROM deliveries WHERE key LIKE 'occ:1:item:2:%' OR key LIKE 'occ:1:remind:%'"
                )
            )
            return [row.key for row in rows]

    await bot.play("ben: pulse close Quick pulse")
    kept = await progress()  # the second question's messages, updated in place as it closed; reminders
    assert any(":item:2:" in key for key in kept) and any(":remind:" in key for key in kept)
    before = messages(await bot.play("ben: pulse results Quick pulse"), "ben")[0]

    await bot.play("/clock +1d1h")

    assert await progress() == []
    async with bot.app.store.engine.connect() as db:
        first = (
            await db.execute(text("SELECT count(*) FROM deliveries WHERE key LIKE 'occ:1:item:1:%'"))
        ).scalar()
        answers = (await db.execute(text("SELECT count(*) FROM answers"))).scalar()
    assert first == 2 * 12  # everyone's first question and its "closed" update stay
    assert answers == 17  # nine answered both questions, Helen only the first
    assert messages(await bot.play("ben: pulse results Quick pulse"), "ben")[0] == before


async def test_a_leader_closes_the_loop_with_the_overall_figures_after_a_preview(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS)
    run = int(re.search(r"last run #(\d+)", messages(await bot.play("ben: pulse list"), "ben")[0])[1])

    early = messages(await bot.play(f"jo: pulse reply {run} We hear you"), "jo")[0]
    closed = messages(await bot.play("ben: pulse close Quick pulse"), "ben")[0]
    refused = messages(await bot.play(f"amira: pulse reply {run} Hello all"), "amira")[0]
    # One team's manager does not answer for the whole organisation: its reply goes to everyone asked.
    local = messages(await bot.play(f"ben: pulse reply {run} Reablement will trial it"), "ben")[0]
    preview = await bot.play(f"jo: pulse reply {run} We will add a suggestions slot to every team meeting.")
    sent = await bot.play("jo: 1")

    assert early.startswith("This pulse is still open; you can reply once it closes")
    assert f"`pulse reply {run} <what you will do>` sends everyone it went to" in closed
    assert refused.startswith("Sorry, only managers can use `pulse`")
    assert local == (
        "Only a senior leader, an admin or a manager of every team it went to can reply to it: the reply "
        "goes to everyone it was sent to."
    )
    said = (
        "You said, we did: Quick pulse of Mon 30 Nov\n"
        "8 of 12 people answered (67%).\n"
        "Q1. I can suggest improvements. — average 3.9 out of 5, where 5 is Strongly agree (8 answers)\n"
        "Q2. Would you recommend us? — eNPS +25 (the share who gave 9 or 10 less the share who gave 0 to 6), "
        "average 7.6 out of 10 (8 answers)\n"
        "Jo Adeyemi: We will add a suggestions slot to every team meeting."
    )
    assert recipients(preview) == ["jo"]  # nothing goes out before Send
    assert messages(preview, "jo")[0].startswith(
        "Send this to the 11 other people the pulse went to?\n" + said + "\n[1] Send it"
    )
    assert "Reablement" not in said  # staff get the overall figure only, no team that could be small
    everyone = {who for who in recipients(sent) if said in messages(sent, who)}
    # Everyone asked but Jo, who has just read it in the preview.
    assert len(everyone) == 11 and "amira" in everyone and "ben" in everyone and "jo" not in everyone
    thanks = "Thank you. Your reply is on its way to the 11 other people the pulse went to."
    assert thanks in messages(sent, "jo")
    again = messages(await bot.play(f"helen: pulse reply {run} Twice"), "helen")[0]
    assert again == "This pulse of Mon 30 Nov has already had its reply."
    assert "reply with" not in messages(await bot.play("jo: pulse list"), "jo")[0]
    # What everyone was told stays beside what they said.
    results = messages(await bot.play("ben: pulse results Quick pulse"), "ben")[0]
    assert (
        "Reply sent to everyone asked (“you said, we did”): We will add a suggestions slot to every team "
        "meeting." in results
    )


async def test_a_send_button_sends_the_words_it_previewed_not_another_managers_later_draft(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS + "ben: pulse close Quick pulse")
    run = int(re.search(r"last run #(\d+)", messages(await bot.play("ben: pulse list"), "ben")[0])[1])
    await bot.play(f"helen: pulse reply {run} Helen's words")
    helens = bot.session.sender.last_choices("helen")
    assert helens is not None
    await bot.play(f"jo: pulse reply {run} Jo's words")

    stale = await bot.app.dialogue.handle(
        Chose(
            Identity("console", "", "helen"),
            helens.message.choices[0].action,
            helens.message.choices[0].ref,
            helens.message.choices[0].options[0].value,
        )
    )
    out = await bot.play("jo: 1")

    assert stale.messages[0].fallback().startswith("This reply has been written again since")
    assert any("Jo Adeyemi: Jo's words" in m for m in messages(out, "amira"))
    assert not any("Helen's words" in m for who in recipients(out) for m in messages(out, who))


async def test_a_scheduled_run_does_not_start_while_one_sent_by_hand_is_still_open(bot: Bot) -> None:
    await bot.programme(
        PULSE.replace("open_hours = 48", "open_hours = 72").replace(
            "remind_after_hours = 24",
            'remind_after_hours = 24\nschedule = { cron = "0 9 * * MON", time_zone = "Europe/London" }',
        )
    )
    out = await bot.play("ben: pulse send Quick pulse\n/clock +1w2h")

    firsts = [m for m in messages(out, "amira") if m.startswith("Quick pulse (pulse")]
    # Sent by hand at 08:00 on 30 November and open until 3 December: the 09:00 run of that Monday would
    # have asked everyone again; the next Monday's goes out.
    assert len(firsts) == 2, "\n---\n".join(firsts)
    listed = messages(await bot.play("ben: pulse list"), "ben")[0]
    assert "last run" in listed and "of Mon 07 Dec (open)" in listed


async def test_longer_words_that_only_look_like_commands_are_shown_back_under_a_written_question(
    bot: Bot,
) -> None:
    await bot.programme(WRITTEN)
    await bot.play("ben: pulse send Written pulse")

    out = await bot.play(
        "amira: questions answered quicker by managers\nchloe: help 2 more carers on the rota"
    )
    run = await bot.play("dev: ask when is the pay award\ndev: 2")
    short = await bot.play("ellie: questions answered")

    # Keywords of a command in its second word ("answered", a number) no longer make prose a command.
    assert messages(out, "amira")[0].startswith(
        "Your answer to “What one thing would make next week better?”"
    )
    assert messages(out, "chloe")[0].startswith(
        "Your answer to “What one thing would make next week better?”"
    )
    # Run as a command on words that do not read like a question still asks before posting in the open.
    assert messages(run, "dev")[1].startswith("Run as a command:\nask when is the pay award")
    assert messages(run, "dev")[2].startswith(
        "Ask this in the open, in the Q&A channel, or share it as an idea?"
    )
    assert messages(run, "#qa") == []
    assert messages(short, "ellie")[0].startswith("Answered questions")  # short and unmistakable: runs


async def test_answers_typed_as_words_count_as_taps_and_anything_else_says_how_to_answer(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse")
    amira = Identity("console", "", "amira")

    first = await bot.app.dialogue.handle(Said(amira, "Four."))
    second = await bot.app.dialogue.handle(Said(amira, "#10"))
    stray = await bot.app.dialogue.handle(Said(Identity("console", "", "chloe"), "great"))
    remark = await bot.app.dialogue.handle(
        Said(Identity("console", "", "dev"), "The van keeps breaking down")
    )

    assert first.messages[0].fallback() == (
        "Noted: 4, for Q1 of “Quick pulse” (anonymous).\nTap another answer on the question to change it."
    )
    assert second.messages[0].fallback().startswith("Noted: 10, for Q2 of “Quick pulse” (anonymous).")
    assert stray.messages[0].fallback() == (
        "I didn't catch that. To answer Q1 of “Quick pulse”, tap one of its buttons, or type 1 (Strongly "
        "disagree) to 5 (Strongly agree)."
    )
    # A remark is not an answer either, and is told where such words go.
    told = remark.messages[0].fallback()
    assert told.endswith(
        "type 1 (Strongly disagree) to 5 (Strongly agree). If you meant to tell us something, "
        "`idea <your idea>` shares it and "
        "`ask <question>` asks senior managers (start either with `anon` to stay anonymous)."
    )
    async with bot.app.store.engine.connect() as db:
        numbers = (await db.execute(text("SELECT number FROM answers ORDER BY number"))).scalars().all()
    assert numbers == [4, 10]


async def test_a_score_typed_out_of_another_scale_is_refused_and_the_words_at_either_end_are_taken(
    bot: Bot,
) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse")
    amira = Identity("console", "", "amira")

    agreed = await bot.app.dialogue.handle(Said(amira, "Strongly agree"))
    out_of_five = await bot.app.dialogue.handle(Said(amira, "4/5"))  # Q2 is out of 10: it is not 4 there
    out_of_ten = await bot.app.dialogue.handle(Said(amira, "8/10"))

    assert agreed.messages[0].fallback().startswith("Noted: 5, for Q1 of “Quick pulse”")
    assert out_of_five.messages[0].fallback() == (
        "I didn't catch that. To answer Q2 of “Quick pulse”, tap one of its buttons, or type 0 (Not at all "
        "likely) to 10 (Extremely likely)."
    )
    assert out_of_ten.messages[0].fallback().startswith("Noted: 8, for Q2 of “Quick pulse”")
    async with bot.app.store.engine.connect() as db:
        numbers = (await db.execute(text("SELECT number FROM answers ORDER BY number"))).scalars().all()
    assert numbers == [5, 8]


async def test_a_reply_that_names_someone_asked_is_flagged_before_it_goes(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS + "ben: pulse close Quick pulse")
    run = int(re.search(r"last run #(\d+)", messages(await bot.play("ben: pulse list"), "ben")[0])[1])

    named = messages(
        await bot.play(f"jo: pulse reply {run} Priya, your point about handovers is noted."), "jo"
    )
    plain = messages(await bot.play(f"jo: pulse reply {run} Handovers will be shorter."), "jo")

    warning = "It names Priya Nair, of the teams it went to: everyone will read it, so check it gives away "
    assert warning + "nobody's answer." in named[0]
    assert "It names" not in plain[0]


async def test_a_first_name_that_is_an_everyday_word_is_a_name_only_as_names_are_written(
    database_url: str, tmp_path: Path
) -> None:
    # With Will Foster asked, every "we will" was flagged as naming him, so the warning meant nothing.
    will = "will,Will Foster,Europe/London,staff,Reablement,Adult Social Care\n"
    bot = await start_bot(database_url, tmp_path, people=ORGANISATION + will)
    try:
        await bot.programme(PULSE)
        await bot.play(
            "ben: pulse send Quick pulse\n" + ANSWERS + "will: 3\nwill: 7\nben: pulse close Quick pulse"
        )
        run = int(re.search(r"last run #(\d+)", messages(await bot.play("ben: pulse list"), "ben")[0])[1])
        drafts = [
            messages(await bot.play(f"jo: pulse reply {run} {reply}"), "jo")[0]
            for reply in ("We will report back in January.", "Will, thanks for the handover idea.",
                          "chloe, your point is noted.", "THANKS WILL FOR THE IDEA")
        ]  # fmt: skip
    finally:
        await bot.app.close()

    assert "It names" not in drafts[0]
    assert "It names Will Foster, of the teams it went to" in drafts[1]
    assert "It names Chloe Price, of the teams it" in drafts[2]  # a phone's lower case still names her
    assert "It names Will Foster, of the teams it went to" in drafts[3]  # and capitals name Will


async def test_a_typed_answer_is_not_guessed_when_two_surveys_wait(bot: Bot) -> None:
    named = PULSE.replace("Quick pulse", "Training needs").replace("open_hours = 48", "anonymous = false")
    await bot.programme(PULSE + named)
    await bot.play("ben: pulse send Quick pulse\nben: pulse send Training needs")

    typed = await bot.app.dialogue.handle(Said(Identity("console", "", "amira"), "4"))

    # One is anonymous, the other not: "4" could be meant for either.
    assert typed.messages[0].fallback() == (
        "Questions wait for you in both “Training needs” and “Quick pulse”, so I can't tell which that is "
        "for: tap the button on the question you mean."
    )
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM answers"))).scalar() == 0


async def test_words_only_one_of_two_waiting_questions_takes_answer_that_one(bot: Bot) -> None:
    yes_no = '[[pulse]]\nname = "Support pulse"\n[[pulse.question]]\nkind = "yes_no"\n'
    yes_no += 'text = "Did you get support?"\n'
    await bot.programme(PULSE + yes_no)
    await bot.play("ben: pulse send Quick pulse\nben: pulse send Support pulse")

    typed = await bot.app.dialogue.handle(Said(Identity("console", "", "amira"), "yes"))

    # Only the yes-or-no question takes "yes"; the survey is named, and whether it is anonymous.
    assert typed.messages[0].fallback().startswith("Noted: Yes, for Q1 of “Support pulse” (anonymous).")
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT number FROM answers"))).scalars().all() == [1]


async def test_the_hint_for_a_yes_no_or_choice_question_says_what_to_type(bot: Bot) -> None:
    await bot.programme(
        """
[[pulse]]
name = "Support pulse"
[[pulse.question]]
kind = "yes_no"
text = "Did you get support?"
[[pulse.question]]
kind = "choice"
text = "What would help most?"
options = ["Time", "Training", "Tools"]
"""
    )
    await bot.play("ben: pulse send Support pulse")
    amira = Identity("console", "", "amira")

    unsure = await bot.app.dialogue.handle(Said(amira, "maybe"))
    await bot.app.dialogue.handle(Said(amira, "Yep"))
    choice = await bot.app.dialogue.handle(Said(amira, "money"))
    picked = await bot.app.dialogue.handle(Said(amira, "training"))

    assert unsure.messages[0].fallback().endswith("tap one of its buttons, or type yes or no.")
    assert (
        choice.messages[0]
        .fallback()
        .endswith("tap one of its buttons, or type an answer's number (1 to 3) or its words.")
    )
    assert picked.messages[0].fallback().startswith("Noted: Training, for Q2 of “Support pulse” (anonymous).")


async def test_figures_round_halves_up_as_people_do_and_staff_hear_the_enps(bot: Bot) -> None:
    await bot.programme(
        PULSE + '\n[[pulse.question]]\nkind = "yes_no"\ntext = "Did you get your rota on time?"\n'
    )
    answers = zip(
        ["amira", "chloe", "dev", "ellie", "farah", "priya", "sam", "lena"],
        [4, 4, 3, 3, 3, 3, 3, 3],  # mean 3.25
        [9, 10, 5, 7, 8, 7, 8, 7],  # two promoters, one detractor: eNPS +12.5; mean 7.625
        ["yes", "ie", "do", "Yes", "oes", "no", "na", "naddo"],  # 62.5% and 37.5%, some in Welsh
        strict=True,
    )
    script = "".join(f"{who}: {q1}\n{who}: {q2}\n{who}: {q3}\n" for who, q1, q2, q3 in answers)
    await bot.play("ben: pulse send Quick pulse\n" + script + "ben: pulse close Quick pulse")

    results = messages(await bot.play("ben: pulse results Quick pulse"), "ben")[0]
    preview = messages(await bot.play("jo: pulse reply 1 Rotas will come a week earlier."), "jo")[0]

    # Python's round() gave +12, 3.2 and 62% / 38% (halves to the even neighbour); shares add up to 100%.
    assert "Everyone: n=8, mean 3.3" in results
    assert "Everyone: n=8, eNPS +13, mean 7.6" in results
    assert "Q1. I can suggest improvements. — average 3.3 out of 5, where 5 is Strongly agree (8" in preview
    assert "Q2. Would you recommend us? — eNPS +13 (the share who gave 9 or 10 less the share who" in preview
    assert "Q3. Did you get your rota on time? — Yes 63%, No 37% (8 answers)" in preview


async def test_an_earlier_run_is_read_by_its_number(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse\n" + ANSWERS + "ben: pulse close Quick pulse")
    await bot.play("/clock +1h\nben: pulse send Quick pulse\nben: pulse close Quick pulse")  # nobody answered

    asked = "ben: pulse results run 1\nben: pulse results run 9\nben: pulse results run 2"
    out = messages(await bot.play(asked))

    # Before, only the newest closed run could be read: run 1's figures were gone for good.
    assert out[0].startswith("Quick pulse — run of Mon 30 Nov (closed)\nResponses: 8 of 12 (67%)")
    assert "Everyone: n=8, eNPS +25, mean 7.6" in out[0]
    assert out[1] == "There is no pulse run #9. `pulse list` gives the latest."
    assert out[2].startswith("Quick pulse — run of Mon 30 Nov (closed)\nResponses: 0 of 12 (0%)")


async def test_results_name_the_one_team_that_answered(bot: Bot) -> None:
    await bot.programme(PULSE)
    answers = "".join(
        f"{who}: {n}\n{who}: 8\n"
        for who, n in zip(["amira", "chloe", "dev", "ellie", "farah"], "45345", strict=True)
    )
    await bot.play("ben: pulse send Quick pulse\n" + answers + "ben: pulse close Quick pulse")

    results = messages(await bot.play("ben: pulse results Quick pulse"), "ben")[0]

    # One team's row repeats Everyone, but says whose figures they are: before, a team leader reading a
    # pulse sent to the whole council could not tell.
    assert "Everyone: n=5, mean 4.2" in results
    assert "Reablement: n=5, mean 4.2" in results


async def test_the_same_written_words_are_shown_once_with_how_many_wrote_them(bot: Bot) -> None:
    # A leader read "• good team" eleven times in a row on a phone.
    written = '[[pulse]]\nname = "Written"\n[[pulse.question]]\nkind = "text"\ntext = "What went well?"\n'
    await bot.programme(written)
    words = {
        "amira": "Good team",
        "chloe": "Good team",
        "dev": "Good team ",
        "ellie": "The new rota",
        "farah": "Good team",
    }
    await bot.play(
        "ben: pulse send Written\n"
        + "".join(f"{h}: {w}\n" for h, w in words.items())
        + "ben: pulse close Written"
    )

    result = messages(await bot.play("jo: pulse results Written"), "jo")[0]

    assert "\n5 written answers\n• Good team (×4)\n• The new rota\n" in result


async def test_a_typed_answer_goes_to_neither_when_one_is_anonymous_and_words_for_neither_are_not_asked_about(
    bot: Bot,
) -> None:
    named = '[[pulse]]\nname = "Support pulse"\nanonymous = false\n[[pulse.question]]\nkind = "yes_no"\n'
    named += 'text = "Did you get support?"\n'
    await bot.programme(PULSE + named)
    await bot.play("ben: pulse send Quick pulse\nben: pulse send Support pulse")
    amira = Identity("console", "", "amira")

    no = await bot.app.dialogue.handle(Said(amira, "no"))
    how = await bot.app.dialogue.handle(Said(amira, "how do I see results?"))

    # "no" takes only the named question, but she may have had the anonymous one in mind: a tap says which.
    assert no.messages[0].fallback().startswith("Questions wait for you in both")
    assert how.messages[0].fallback().startswith("I didn't catch that. Type `help`")  # not "which is it for?"
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM answers"))).scalar() == 0


async def test_after_a_pulse_closes_a_managers_words_still_reach_the_question_put_to_him(bot: Bot) -> None:
    # For a day after close, any words from someone whose last question was a written one were told "the
    # pulse closed", though he had answered it: his answer to a question put to him was swallowed.
    await bot.programme(
        PULSE.replace(
            'kind = "enps"\ntext = "Would you recommend us?"', 'kind = "text"\ntext = "What would help?"'
        )
    )
    await bot.play("amira: ask to @ben Can I swap my Friday visits?")
    await bot.play("lena: pulse send Quick pulse\nben: 4\nben: More cover\nlena: pulse close Quick pulse")

    said = messages(await bot.play("ben: Yes, swap with Chloe this week"), "ben")

    assert said[0].startswith(
        "Post this under your name, in the open, as your answer to a question put to you?"
    )


async def test_a_pulse_at_a_time_that_comes_twice_when_the_clocks_go_back_is_sent_once(bot: Bot) -> None:
    # 01:30 came twice in London on 31 October 2027; with its first run closed within the hour, a daily
    # night-shift pulse went out again at the second 01:30, its answers split over two runs.
    bot.clock.set(datetime(2027, 10, 30, 22, 0, tzinfo=UTC))
    await bot.programme(
        PULSE.replace("open_hours = 48", "open_hours = 1")
        .replace("Quick pulse", "Night pulse")
        .replace(
            "remind_after_hours = 24",
            'schedule = { cron = "30 1 * * *", time_zone = "Europe/London" }',
        )
    )
    out = await bot.play("/clock +7h")

    asked = [m for m in messages(out, "amira") if m.startswith("Night pulse (pulse")]
    assert len(asked) == 1, "\n---\n".join(asked)


async def test_is_this_anonymous_while_a_named_pulse_waits_says_it_is_not(bot: Bot) -> None:
    # Told "Pulse and check-in answers are anonymous" while a named pulse waited, Amira wrote what she would
    # not have signed.
    await bot.programme(
        PULSE.replace("Quick pulse", "Team wellbeing").replace("open_hours = 48", "anonymous = false")
    )
    before = messages(await bot.play("amira: is this anonymous?"), "amira")
    await bot.play("ben: pulse send Team wellbeing")
    out = await bot.play("amira: can my manager see this")
    done = await bot.play("amira: 4\namira: 9\namira: is this anonymous")

    said = messages(out, "amira")[0]
    assert said.startswith(
        "“Team wellbeing”, waiting for you, is NOT anonymous: your answers to it carry your"
    )
    assert "Your chat app keeps its own record of what you send here" in said
    # Nothing named waits for her before it was sent, nor once she has answered it.
    assert before[0].startswith("Pulse and check-in answers are anonymous unless one says")
    assert messages(done, "amira")[-1].startswith("Pulse and check-in answers are anonymous unless one says")


async def test_a_fortnightly_pulse_comes_every_other_monday_from_its_first(bot: Bot) -> None:
    fortnightly = PULSE.replace("Quick pulse", "Fortnightly pulse").replace(
        "remind_after_hours = 24",
        'schedule = { cron = "0 9 * * MON", time_zone = "Europe/London", every_weeks = 2 }',
    )
    # As `programme load` does: loaded at 08:00, its first run is that Monday's 09:00.
    await load_programme(
        bot.app.store, tomllib.loads(fortnightly), check_cron=check_cron, now=bot.clock.now()
    )
    out = await bot.play("/clock +4w2h")

    asked = [line for line in out if line.startswith("-- ") or "Fortnightly pulse (pulse" in line]
    runs = [m for m in messages(out, "amira") if m.startswith("Fortnightly pulse (pulse")]
    # Mondays 30 November, 14 and 28 December; not 7 or 21 December.
    assert len(runs) == 3, "\n".join(asked)
    listed = messages(await bot.play("ben: pulse list"), "ben")[0]
    assert "of Mon 28 Dec" in listed


async def test_a_teams_own_pulse_is_replied_to_by_its_manager_and_not_by_another_teams(bot: Bot) -> None:
    team = PULSE.replace("Quick pulse", "Reablement pulse").replace(
        "open_hours = 48", 'open_hours = 48\naudience = ["Reablement"]'
    )
    await bot.programme(team)
    await bot.play("ben: pulse send Reablement pulse\n" + ANSWERS + "ben: pulse close Reablement pulse")

    other = messages(await bot.play("lena: pulse reply 1 Housing will look at it"), "lena")[0]
    own = messages(await bot.play("ben: pulse reply 1 We will trial travel-free mornings."), "ben")[0]

    assert other.startswith("Only a senior leader, an admin or a manager of every team it went to can reply")
    assert own.startswith("Send this to the 5 other people the pulse went to?")


async def test_help_anon_says_what_is_anonymous_and_what_is_not(bot: Bot) -> None:
    out = await bot.play("amira: help anon\namira: help")
    said = messages(out, "amira")

    assert said[0].startswith("Pulse and check-in answers are anonymous unless one says “not anonymous”")
    assert (
        "an anonymous idea still shows your team if it has 5 or more people besides its managers" in said[0]
    )
    assert "`help anon` says what is anonymous and what is not" in said[1]


async def test_an_open_run_to_five_or_fewer_shows_no_count_at_all(bot: Bot) -> None:
    # "not all of 3" became "all 3" as the last answered: the manager chasing her learnt she had.
    housing = PULSE.replace("Quick pulse", "Housing pulse").replace(
        "open_hours = 48", 'open_hours = 48\naudience = ["Housing"]'
    )
    await bot.programme(housing)
    await bot.play("lena: pulse send Housing pulse\npriya: 4\npriya: 9")
    before = messages(await bot.play("lena: pulse results Housing pulse"), "lena")[0]
    after = messages(
        await bot.play("sam: 4\nsam: 9\nlena: 4\nlena: 9\nlena: pulse results Housing pulse"), "lena"
    )

    assert "Responses so far: shown when it closes, as it went to 3, no more than 5" in before
    assert after[-1] == before


async def test_a_privacy_question_in_other_words_is_answered_not_kept_as_a_named_answer(bot: Bot) -> None:
    # "can my manager see what I write?" was stored as Amira's signed written answer.
    named = PULSE.replace("Quick pulse", "Named one").replace("open_hours = 48", "anonymous = false")
    named = named.replace(
        'kind = "scale"\ntext = "I can suggest improvements."', 'kind = "text"\ntext = "Anything?"'
    )
    await bot.programme(named)
    await bot.play("ben: pulse send Named one")

    out = await bot.play("amira: can my manager see what I write?\namira: Will they know it was me")

    for said in messages(out, "amira"):
        assert said.startswith("“Named one”, waiting for you, is NOT anonymous"), said
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM answers"))).scalar() == 0


async def test_a_scheduled_pulses_open_hours_are_counted_on_its_zones_clocks(bot: Bot) -> None:
    # Sent at 09:00 on Friday 29 October 2027 and open 72 hours, it said "Open until Mon 01 Nov 08:00":
    # the clocks went back on the Sunday.
    bot.clock.set(datetime(2027, 10, 29, 7, 0, tzinfo=UTC))
    friday = PULSE.replace("open_hours = 48", "open_hours = 72").replace(
        "remind_after_hours = 24",
        'remind_after_hours = 24\nschedule = { cron = "0 9 * * FRI", time_zone = "Europe/London" }',
    )
    await load_programme(bot.app.store, tomllib.loads(friday), check_cron=check_cron, now=bot.clock.now())
    out = await bot.play("/clock +2h")

    assert "Open until Mon 01 Nov 09:00" in messages(out, "amira")[0]
