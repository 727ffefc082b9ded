"""``away``: someone on leave is left out of what starts before they are back, and hears the rest."""

from __future__ import annotations

from sqlalchemy import text

from tests.e2e.harness import Bot, messages, recipients

PULSE = """
[[pulse]]
name = "Quick pulse"
open_hours = 72
remind_after_hours = 24

[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."

[[campaign]]
name = "Fewer missed visits"
priority = "Independent lives at home"
prompt = "What one change would help us miss fewer visits?"
audience = ["Reablement"]
"""
CHECKIN = """
[[checkin]]
name = "Weekly check-in"
owner = "jo"
open_hours = 48
schedule = { cron = "0 9 * * MON", time_zone = "local" }

[[checkin.question]]
kind = "scale"
text = "This week I had what I needed."
"""


def _sent(out: list[str]) -> str:
    """Ben's word that the pulse went out."""
    return next(m for m in messages(out, "ben") if m.startswith("Sent"))


async def test_someone_away_gets_no_pulse_campaign_or_reminder_until_they_are_back(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("ben: pulse send Quick pulse")  # Monday: Amira is asked before she goes
    away = await bot.play("amira: away until 14 Dec")
    out = await bot.play("/clock +1d1h\nben: campaign send Fewer missed visits\nben: pulse close Quick pulse")
    todo = messages(await bot.play("amira: todo"), "amira")[0]

    assert messages(away, "amira")[0].startswith(
        "You're away until Monday 14 December: pulses, check-ins and idea campaigns that start before then "
        "leave you out (and you are not counted among those asked), and reminders stop."
    )
    assert "amira" not in recipients(out)  # no reminder on Tuesday, no campaign prompt
    assert "chloe" in recipients(out)  # who did not answer is reminded, and gets the prompt
    assert todo.startswith(
        "You're away until Mon 14 Dec: new pulses, check-ins and idea campaigns leave you out"
    )

    sent = await bot.play("/clock +1w\nben: pulse send Quick pulse")  # Tuesday 8 December
    assert _sent(sent).startswith("Sent “Quick pulse” to 11 people.")  # 12 less Amira
    assert "amira" not in recipients(sent)

    back = await bot.play("/clock +6d\nben: pulse close Quick pulse\nben: pulse send Quick pulse")  # the 14th
    assert _sent(back).startswith("Sent “Quick pulse” to 12 people.")
    assert "amira" in recipients(back)
    assert "You're away" not in messages(await bot.play("amira: todo"), "amira")[0]


async def test_news_of_ones_own_question_still_comes_and_away_off_brings_pulses_back(bot: Bot) -> None:
    await bot.programme(PULSE)
    await bot.play("amira: ask Will weekend rotas be published a month ahead?\namira: away until 1/2")
    answered = await bot.play("jo: answer 1 Yes, from January.")
    status = messages(await bot.play("amira: away"), "amira")[0]
    off = await bot.play("amira: away off\nben: pulse send Quick pulse")

    assert any(
        m.startswith("Your question #1 has an answer from Jo Adeyemi") for m in messages(answered, "amira")
    )
    assert status.startswith("You're away until Monday 1 February 2027:")  # day first, in the next year
    assert messages(off, "amira")[0] == "Welcome back: pulses, check-ins and idea campaigns reach you again."
    assert _sent(off).startswith("Sent “Quick pulse” to 12 people.")


async def test_days_that_cannot_be_read_have_come_or_are_too_far_off_are_refused(bot: Bot) -> None:
    said = {
        "away until soon": "I can't read “soon” as a day. Write the day you're back, e.g. `away until 4 Jan`",
        "away until 31 Feb": "“31 Feb” is not a day in the calendar.",
        "away until 2026-11-30": "30 November 2026 has come already.",
        # Taken as next year's, a slip left her out of everything for a year, with no year said.
        "away until 30 Nov": "30 November is today. Write the day you're back, e.g. `away until 4 Jan`",
        "away until 27/11": "27 November has gone. Write the day you're back, e.g. `away until 4 Jan` (or "
        "4/1, Monday, next week, for 2 weeks); if you mean next year's, with its year: `away until 27 Nov "
        "2027`.",
        "away until 2028-01-05": "That is more than a year away.",
        "away": "You're not away: pulses, check-ins and idea campaigns reach you as usual.",
        "I'm on maternity leave until 4 March": "Away for a while? Write the day you're back, e.g. "
        "`away until 4 march`: pulses, check-ins and idea campaigns leave you out until then.",
        "pause": "No messages at night, or by day after a night shift? `quiet 22:00-07:00` (your hours)",
    }
    for words, expected in said.items():
        reply = messages(await bot.play(f"amira: {words}"), "amira")[0]
        assert reply.startswith(expected), (words, reply)
    async with bot.app.store.transaction(read_only=True) as tx:
        amira = await tx.directory.person_by_handle("amira")
    assert amira is not None and amira.away_until is None  # nothing was set


async def test_saying_one_is_on_leave_while_a_written_answer_waits_is_not_kept_as_the_answer(
    bot: Bot,
) -> None:
    # "I'm on leave next week" was stored as the anonymous answer and shown word for word in the results.
    written = PULSE.replace(
        'kind = "scale"\ntext = "I can suggest improvements."', 'kind = "text"\ntext = "Anything?"'
    )
    await bot.programme(written)
    await bot.play("ben: pulse send Quick pulse")

    said = messages(await bot.play("amira: I'm on leave next week"), "amira")
    await bot.play("amira: skip")  # with nothing waiting, "away next week" is no answer to show back
    later = messages(
        await bot.play("amira: away next week\namira: away for 2 weeks\namira: away until Friday"), "amira"
    )

    assert said[0].startswith("Away for a while? Write the day you're back, e.g. `away until 4 Jan`")
    assert said[0].endswith("The question waiting for you still takes a written answer here, or `skip`.")
    async with bot.app.store.engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM answers WHERE text IS NOT NULL"))).scalar() == 0
    # Monday 30 November: back on the Monday after next week, after two weeks, on Friday.
    assert [m.split(":")[0] for m in later] == [
        "You're away until Monday 14 December",
        "You're away until Monday 14 December",
        "You're away until Friday 4 December",
    ]


async def test_a_reply_naming_someone_away_is_flagged_as_for_anyone_and_the_day_is_forgotten_after(
    bot: Bot,
) -> None:
    # The warning "It names Amira Hassan" came only for those asked: its absence told any manager she was
    # away (perhaps off sick).
    await bot.programme(PULSE)
    await bot.play(
        "amira: away until 2 Dec\nben: pulse send Quick pulse\nchloe: 4\nben: pulse close Quick pulse"
    )

    draft = messages(await bot.play("helen: pulse reply 1 Thanks Amira, your idea is noted."), "helen")[0]
    kept = await _away_until(bot)
    await bot.play("/clock +4d")  # Friday 4 December: her return has come everywhere on earth
    forgotten = await _away_until(bot)

    assert "It names Amira Hassan, of the teams it went to" in draft
    assert kept is not None and forgotten is None


async def _away_until(bot: Bot) -> object:
    async with bot.app.store.engine.connect() as db:
        return (await db.execute(text("SELECT away_until FROM people WHERE handle = 'amira'"))).scalar()


async def test_back_on_a_monday_one_gets_that_mondays_local_time_check_in(bot: Bot) -> None:
    # A Monday 09:00 check-in in each person's own time fires when 09:00 first comes on earth, Sunday evening
    # in London: asked then whether they were away, those back on Monday were left out.
    await bot.play("/clock +6d\namira: away until Monday\nchloe: away until 8 Dec")  # Sunday 6 December
    await bot.programme(CHECKIN)
    out = await bot.play("/clock +1d2h")

    asked = {
        who for who in recipients(out) if any(m.startswith("Weekly check-in (") for m in messages(out, who))
    }
    assert "amira" in asked and "dev" in asked
    assert "chloe" not in asked  # back on Tuesday
