"""The overview a person sees on opening the bot (Slack's App Home): ideas, what to answer, questions."""

from __future__ import annotations

from dialogue.events import Identity
from tests.e2e.harness import Bot

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
    assert chloe[1] == "To answer: nothing right now. Thank you!"
    assert "#1 ▲0 Can we have parking permits?" in amira[2]
    assert len(amira) == 3  # no manager's queue for staff


async def test_managers_also_see_their_queue(bot: Bot) -> None:
    await bot.play("amira: idea Text people when a visit will be late\nben: status 1 review Worth it")

    ben = await overview(bot, "ben")

    assert ben[-1].startswith("Your queue: 1 ideas waiting for a decision.")
    assert "#1 [under review] ▲0 Text people when a visit will be late" in ben[-1]
