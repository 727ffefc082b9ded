"""The overview a person sees on opening the bot (Slack's App Home): ideas, what to answer, questions."""

from __future__ import annotations

import re

from dialogue.events import Identity
from tests.e2e.harness import Bot, messages

PULSE = """
[[pulse]]
name = "Quick pulse"

[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."

[[pulse.question]]
kind = "yes_no"
text = "Did you get support?"
"""


async def overview(bot: Bot, handle: str) -> list[str]:
    return [m.fallback() for m in await bot.app.dialogue.overview(Identity("console", "", handle))]


async def test_staff_see_their_ideas_unfinished_pulses_and_open_questions(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play(
        """
        amira: idea anon Share spare PPE between patches
        chloe: ask Can we have parking permits?
        ben: pulse send Quick pulse
        chloe: 4
        chloe: 1
        amira: 3
        """
    )

    amira, chloe = await overview(bot, "amira"), await overview(bot, "chloe")

    assert amira[0].startswith("Your ideas:") and "Share spare PPE between patches" in amira[0]
    assert "Quick pulse (pulse), open until" in amira[1]  # one of two answered
    assert chloe[1] == "Pulses and check-ins to answer: none right now."
    assert "#1 ▲0 Can we have parking permits?" in amira[2]
    assert len(amira) == 3  # no manager's queue for staff


async def test_managers_also_see_their_queue(bot: Bot) -> None:
    await bot.play("amira: idea Text people when a visit will be late\nben: status 1 review Worth it")

    ben = await overview(bot, "ben")

    # Moving it made him its owner.
    assert ben[-1] == (
        "Waiting for you:\n"
        "• Idea #1 you own [under review] ▲0: Text people when a visit will be late → `ideas 1`"
    )


CHECKIN = """
[[checkin]]
name = "Weekly check-in"
owner = "jo"
schedule = { cron = "0 9 * * MON", time_zone = "Europe/London" }

[[checkin.question]]
kind = "scale"
text = "This week I had what I needed."
"""


async def test_todo_gives_a_leader_what_waits_for_her_answer_reply_or_decision(bot: Bot) -> None:
    owned = PULSE.replace('name = "Quick pulse"', 'name = "Quick pulse"\nowner = "ben"')
    unowned = PULSE.replace("Quick pulse", "Staff survey")
    await bot.programme(owned + unowned + CHECKIN)
    setup = await bot.play(
        """
        amira: ask to @jo Will the Christmas rota be out by Friday?
        chloe: ask Can we have parking permits?
        dev: idea Share spare PPE between patches
        ben: owner 1 @ben
        ben: pulse send Quick pulse
        amira: 4
        amira: 1
        ben: pulse send Staff survey
        dev: 4
        /clock +1h
        chloe: 4
        ben: pulse close Quick pulse
        ben: pulse close Staff survey
        /clock +3d2h
        """
    )

    jo = messages(await bot.play("jo: todo"), "jo")
    ben = messages(await bot.play("ben: todo"), "ben")
    amira = messages(await bot.play("amira: todo"), "amira")

    run = re.search(r"`pulse reply (\d+) ", ben[0])
    assert run is not None, ben
    await bot.play(f"ben: pulse reply {run[1]} We will add a suggestions slot to every team meeting.\nben: 1")
    ben_after = messages(await bot.play("ben: todo"), "ben")

    # Jo: the question put to her; the check-in digest; the pulse nobody owns, which senior leaders close;
    # not yet the unaddressed question (5 days), but that it is there; not Ben's pulse.
    assert len(jo) == 1  # one message, one notification
    assert jo[0].startswith("Waiting for you:\n• Question #1 to you, asked Mon 30 Nov (▲0): Will the")
    assert "→ `answer 1 <answer>`" in jo[0] and "parking" not in jo[0]
    assert "• 1 newer question in the open, not yet overdue → `questions`" in jo[0]
    assert (
        "• Weekly check-in of Mon 30 Nov has closed: write its “you said, we did” → `checkin reply " in jo[0]
    )
    assert "• Staff survey of Mon 30 Nov has closed: write its “you said, we did” → `pulse reply " in jo[0]
    assert "Quick pulse" not in jo[0]
    assert jo[0].endswith("Pulses and check-ins to answer: none right now.")
    assert "Thank you" not in jo[0]  # something waits: no thanks for nothing
    # Ben: the pulse he owns (its digest came at close), the idea he owns; not the pulse nobody owns.
    assert "• Quick pulse of Mon 30 Nov has closed: write its “you said, we did” → `pulse reply " in ben[0]
    assert "Staff survey" not in ben[0] and "Weekly check-in" not in ben[0]
    assert "• Idea #1 you own [new] ▲0: Share spare PPE between patches → `ideas 1`" in ben[0]
    assert "Question #" not in ben[0]
    # Staff see only what they have to answer.
    assert amira == ["Pulses and check-ins to answer: none right now."]
    assert "Quick pulse" not in ben_after[0]  # replied: nothing more to do
    # The owner got the results at close, as a check-in's owner does, and only he may reply.
    assert any(
        m.startswith("Your pulse digest is ready.\nQuick pulse — run of") for m in messages(setup, "ben")
    )
    lena = messages(await bot.play(f"lena: pulse reply {run[1]} Me too"), "lena")
    assert lena == [
        "Only the leader who owns this pulse can reply to it: the reply goes to everyone it was sent to."
    ]


async def test_a_pulse_nobody_replies_to_takes_one_line_of_todo_however_many_runs_wait(bot: Bot) -> None:
    # Weekly, without an owner: by the month's end every senior leader's todo had a line a week.
    await bot.programme(PULSE.replace("Quick pulse", "Staff survey"))
    week = "ben: pulse send Staff survey\ndev: 4\nchloe: 3\nben: pulse close Staff survey\n/clock +7d\n"
    await bot.play(week * 3)

    jo = messages(await bot.play("jo: todo"), "jo")[0]

    waiting = [line for line in jo.splitlines() if "Staff survey" in line]
    assert len(waiting) == 1, jo
    assert waiting[0].startswith("• Staff survey of Mon 14 Dec has closed: write its “you said, we did”")
    assert waiting[0].endswith("<what you will do>` (2 earlier runs without one too)")


async def test_an_idea_in_pilot_stays_on_its_owners_todo_until_it_is_decided(bot: Bot) -> None:
    # Moved to piloting, it left Ben's todo, and nothing asked him to conclude the pilot.
    await bot.play(
        "chloe: idea Keys in a lockbox\nben: status 1 review Looks doable\nben: status 1 pilot North patch"
    )
    piloting = messages(await bot.play("ben: todo"), "ben")[0]
    await bot.play("ben: status 1 implemented Worked in the north")
    done = messages(await bot.play("ben: todo"), "ben")[0]

    assert "• Idea #1 you own [piloting] ▲0: Keys in a lockbox → `ideas 1`" in piloting
    assert "Idea #1" not in done


async def test_a_managers_todo_says_more_ideas_wait_only_after_listing_some(bot: Bot) -> None:
    # "1 more idea from your teams waits" with nothing listed above it read as a mistake.
    await bot.play("amira: idea Keys in a lockbox")
    alone = messages(await bot.play("ben: todo"), "ben")[0]
    await bot.play("chloe: idea Shared vans\nben: owner 2 @ben")
    listed = messages(await bot.play("ben: todo"), "ben")[0]

    assert "• 1 idea from your teams waits for a decision → `ideas new`, `ideas under review`" in alone
    assert "• Idea #2 you own [new]" in listed
    assert "• 1 more idea from your teams waits for a decision" in listed
