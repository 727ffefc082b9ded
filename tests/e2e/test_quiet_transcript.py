"""Quiet hours: what nobody asked for waits until they end, in each person's own time."""

from __future__ import annotations

from pathlib import Path

from dialogue.quiet import parse_quiet
from tests.e2e.harness import Bot, messages, recipients, start_bot

PULSE = """
[[pulse]]
name = "Quick pulse"
open_hours = 48
remind_after_hours = 24

[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."

[[pulse.question]]
kind = "yes_no"
text = "Did you get support?"
"""


async def test_the_organisations_night_keeps_a_pulse_for_new_york_until_seven_there(
    database_url: str, tmp_path: Path
) -> None:
    bot = await start_bot(database_url, tmp_path, quiet_hours=parse_quiet("21:00-07:00"))
    try:
        await bot.programme(PULSE)
        sent = await bot.play("ben: pulse send Quick pulse")  # Monday 08:00 London: 03:00 in New York
        morning = await bot.play("/clock +4h")  # 07:00 in New York
    finally:
        await bot.app.close()

    assert "priya" in recipients(sent) and "amira" in recipients(sent)  # 13:30 in Kolkata, 08:00 here
    assert "sam" not in recipients(sent)
    assert recipients(morning) == ["sam"]
    assert messages(morning, "sam")[0].startswith("Quick pulse (pulse, 2 questions, anonymous)")


async def test_a_night_worker_sleeping_by_day_gets_the_pulse_and_news_at_four_and_answers_at_once(
    bot: Bot,
) -> None:
    await bot.programme(PULSE)
    await bot.play("amira: ask Will weekend rotas be published a month ahead?")
    set_hours = await bot.play("amira: quiet 08:00-16:00")
    day = await bot.play("ben: pulse send Quick pulse\n/clock +2h\njo: answer 1 Yes, from January.")
    todo = messages(await bot.play("amira: todo"), "amira")[0]
    # Chloe, asked before she set the same hours, answers at 10:00, inside them.
    answered = await bot.play("chloe: quiet 08:00-16:00\nchloe: 4")
    woken = await bot.play("/clock +6h")  # 16:00

    assert messages(set_hours, "amira")[0].startswith(
        "Your quiet hours are 08:00-16:00 (your own, in your own time): pulses, reminders, idea campaigns "
        "and news that come then wait until they end."
    )
    assert "amira" not in recipients(day)
    # Her todo says when the pulse comes, not "none right now".
    assert "none right now.\nComing: Quick pulse (pulse), Mon 30 Nov 16:00" in todo
    said = messages(woken, "amira")
    assert said[0].startswith("Quick pulse (pulse, 2 questions, anonymous)")
    assert said[1].startswith("Your question #1 has an answer from Jo Adeyemi")
    # She is answering: the next question comes at once, whatever her hours.
    assert any(m.startswith("Q2/2: Did you get support?") for m in messages(answered, "chloe"))


async def test_no_reminder_comes_to_someone_asleep_until_the_pulse_has_closed(bot: Bot) -> None:
    await bot.programme(PULSE.replace("open_hours = 48", "open_hours = 30"))
    await bot.play("ben: pulse send Quick pulse\nchloe: quiet 07:00-20:00")

    out = await bot.play("/clock +1d1h")  # Tuesday 09:00: reminders; the pulse closes at 14:00

    assert "dev" in recipients(out) and "chloe" not in recipients(out)
    assert "chloe" not in recipients(await bot.play("/clock +12h"))  # nor later, once it has closed


async def test_quiet_says_which_hours_apply_and_refuses_what_it_cannot_read(
    database_url: str, tmp_path: Path
) -> None:
    bot = await start_bot(database_url, tmp_path, quiet_hours=parse_quiet("21:00-07:00"))
    try:
        said = [
            messages(await bot.play(f"amira: {words}"), "amira")[0]
            for words in ("quiet", "quiet off", "quiet default", "quiet nights", "quiet 22-6")
        ]
    finally:
        await bot.app.close()

    assert said[0].startswith("Your quiet hours are 21:00-07:00 (your organisation's, in your own time)")
    assert said[1].startswith("You have no quiet hours: messages come whenever they are sent.")
    assert said[2].startswith("Your quiet hours are 21:00-07:00 (your organisation's")
    assert said[3] == (
        "I can't set that: “nights” is not a start and an end, like 22:00-07:00. Write the hours, e.g. "
        "`quiet 22:00-07:00` (a night worker: `quiet 09:00-16:00`)."
    )
    assert said[4].startswith("Your quiet hours are 22:00-06:00 (your own,")
    assert said[4].endswith(
        "Change them with `quiet <from>-<to>`, or `quiet off`, or `quiet default` for your organisation's "
        "(21:00-07:00)."
    )


async def test_someone_asleep_for_the_whole_of_a_short_pulse_is_not_asked_or_counted(bot: Bot) -> None:
    # Her question came after the pulse had closed, she counted among those who did not answer, and its
    # rows kept for good that she could not have answered an anonymous pulse.
    await bot.programme(PULSE.replace("open_hours = 48\nremind_after_hours = 24", "open_hours = 2"))
    sent = await bot.play("amira: quiet 07:00-16:00\nben: pulse send Quick pulse")
    later = await bot.play("/clock +9h")

    assert any(
        m.startswith("Sent “Quick pulse” to 11 people.") for m in messages(sent, "ben")
    )  # 12 less Amira
    assert "amira" not in recipients(later)
