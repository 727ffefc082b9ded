"""``nextpractice programme load``'s core: a file with mistakes changes nothing and lists them all."""

from __future__ import annotations

import tomllib

import pytest

from bot.cli import check_cron, cron_gap
from dialogue.programme import ProgrammeError, load_programme
from storage.store import SqlStore

CAMPAIGN = """
[[campaign]]
name = "{name}"
priority = "Reliable care"
prompt = "How could we miss fewer visits?"
"""
PULSE = """
[[pulse]]
name = "{name}"
[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."
"""
CHECKIN = """
[[checkin]]
name = "{name}"
owner = "jo"
[[checkin.question]]
kind = "text"
text = "What got in the way?"
"""


async def test_a_name_used_twice_is_a_mistake_and_nothing_is_loaded(store: SqlStore) -> None:
    programme = (
        CAMPAIGN.format(name="Fewer missed visits")
        + CAMPAIGN.format(name="fewer missed visits ")
        + PULSE.format(name="Monday pulse")
        + PULSE.format(name="Monday Pulse")
        + CHECKIN.format(name="MONDAY PULSE")  # pulses and check-ins share their names
    )

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme))

    assert [p for p in refused.value.problems if "already used" in p] == [
        "campaign 2 (“fewer missed visits”): the name 'fewer missed visits' is already used by campaign "
        "1 (“Fewer missed visits”)",
        "pulse 2 (“Monday Pulse”): the name 'Monday Pulse' is already used by pulse 1 (“Monday pulse”)",
        "checkin 1 (“MONDAY PULSE”): the name 'MONDAY PULSE' is already used by pulse 1 (“Monday pulse”)",
    ]
    async with store.transaction(read_only=True) as tx:
        assert await tx.surveys.surveys() == []


async def test_a_campaign_and_a_pulse_may_share_a_name(store: SqlStore) -> None:
    programme = CAMPAIGN.format(name="Fewer missed visits") + PULSE.format(name="Fewer missed visits")

    report = await load_programme(store, tomllib.loads(programme))

    assert (report.campaigns, report.pulses) == (["Fewer missed visits"], ["Fewer missed visits"])


async def test_a_misspelt_key_and_a_schedule_that_never_fires_are_mistakes(store: SqlStore) -> None:
    programme = """
[[pulse]]
name = "Monday pulse"
remind_after_hour = 12
schedule = { cron = "0 9 30 2 *", time_zone = "Europe/London", timezone = "UTC" }
[[pulse.question]]
kind = "scale"
txt = "I can suggest improvements."
"""

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme), check_cron=check_cron)

    problems = refused.value.problems
    assert problems[0].startswith(
        "pulse 1 (“Monday pulse”): unknown `remind_after_hour` (known: anonymous, audience, intro,"
    )
    assert (
        "pulse 1 (“Monday pulse”) schedule: unknown `timezone` (known: cron, every_weeks, time_zone)"
        in problems
    )
    assert "pulse 1 (“Monday pulse”): schedule cron '0 9 30 2 *' never fires: no date matches it" in problems
    assert "pulse 1 (“Monday pulse”) question 1: unknown `txt` (known: kind, options, text)" in problems


@pytest.mark.parametrize(
    ("written", "said"),
    [
        (
            'time_zone = "London"',
            "unknown time zone 'London' (an IANA name or \"local\"); did you mean 'Europe/London'?",
        ),
        ('time_zone = "europe/london"', "; did you mean 'Europe/London'?"),
        # Read as UK or US time, they never follow summer time: 09:00 came at 10:00 all summer.
        ('time_zone = "GMT"', "time zone 'GMT' never follows summer time, so the schedule would run an hour"),
        ('time_zone = "EST"', "time zone 'EST' never follows summer time"),
        ('time_zone = "Etc/GMT-1"', "time zone 'Etc/GMT-1' never follows summer time"),
        (
            "timezone_missing = true",
            '`schedule` needs a `time_zone`: an IANA name such as "Europe/London", or "local"',
        ),
    ],
)
async def test_a_time_zone_left_out_or_written_loosely_is_named(
    store: SqlStore, written: str, said: str
) -> None:
    schedule = f'schedule = {{ cron = "0 9 * * MON", {written} }}'.replace(", timezone_missing = true", "")
    programme = PULSE.format(name="Monday pulse").replace(
        "[[pulse.question]]", f"{schedule}\n[[pulse.question]]"
    )

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme), check_cron=check_cron)

    assert any(said in problem for problem in refused.value.problems), refused.value.problems


async def test_a_wrong_time_zone_does_not_hide_a_wrong_cron_in_the_same_schedule(store: SqlStore) -> None:
    programme = PULSE.format(name="Monday pulse").replace(
        "[[pulse.question]]",
        'schedule = { cron = "0 9 * * TUESDAY", time_zone = "Europe/Londn" }\n[[pulse.question]]',
    )

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme), check_cron=check_cron)

    problems = refused.value.problems
    assert (
        "pulse 1 (“Monday pulse”): unknown time zone 'Europe/Londn' (an IANA name or \"local\")" in problems
    )
    assert any(p.startswith("pulse 1 (“Monday pulse”): ") and "TUESDAY" in p for p in problems), problems


@pytest.mark.parametrize(
    ("cron", "said"),
    [
        # MON/2 ran every Monday.
        (
            "0 9 * * MON/2",
            "schedule cron '0 9 * * MON/2' is not valid: 'mon/2': a step needs a range of days, e.g. 1-5/2; "
            "for every other week, write the day (MON) and add `every_weeks = 2` to the schedule",
        ),
        # "*/14" reads as fortnightly; it ran on Sun 29 Nov and then Tue 1 Dec.
        (
            "0 9 */14 * *",
            "schedule cron '0 9 */14 * *': a step in the day of the month starts again each month (*/14 "
            "runs on the 1st, 15th and 29th, then the 1st again); for every other week, write the day (MON) "
            "and add `every_weeks = 2` to the schedule; or name the days of the month (1,15)",
        ),
    ],
)
async def test_every_other_week_is_refused_rather_than_run_on_the_wrong_days(
    store: SqlStore, cron: str, said: str
) -> None:
    programme = PULSE.format(name="Fortnightly pulse").replace(
        "[[pulse.question]]",
        f'schedule = {{ cron = "{cron}", time_zone = "Europe/London" }}\n[[pulse.question]]',
    )

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme), check_cron=check_cron)

    assert refused.value.problems == [f"pulse 1 (“Fortnightly pulse”): {said}"]


async def test_texts_too_long_for_a_phone_and_options_nobody_could_tell_apart_are_mistakes(
    store: SqlStore,
) -> None:
    long_option = "We should prioritise improvements to the rostering and scheduling system for team A"
    programme = f"""
[[pulse]]
name = "Priorities"
intro = "{"Please read this. " * 60}"
[[pulse.question]]
kind = "choice"
text = "Which first?"
options = ["{long_option}", "Team B"]
[[pulse.question]]
kind = "choice"
text = "Which day?"
options = ["Monday", "monday ", "Friday"]
"""

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme))

    assert refused.value.problems == [
        "pulse 1 (“Priorities”): `intro` is 1079 characters long; keep it to 1000 (people read it on a "
        "phone)",
        "pulse 1 (“Priorities”) question 1: each option must be 1 to 75 characters (it is a button's words)",
        "pulse 1 (“Priorities”) question 2: two options read the same; people could not tell them apart",
    ]


async def test_a_table_written_once_instead_of_as_a_list_is_a_mistake_not_a_crash(store: SqlStore) -> None:
    programme = """
[pulse]
name = "Monday pulse"
question = "I can suggest improvements."

[[checkin]]
name = "Weekly"
owner = "jo"
question = "What got in the way?"
"""

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme))

    assert refused.value.problems == [
        "`pulse` must be written [[pulse]], once for each, its keys below it",
        "checkin 1 (“Weekly”): `checkin.question` must be written [[checkin.question]], once for each, "
        "its keys below "
        "it",
        "checkin 1 (“Weekly”): add at least one [[checkin.question]] with a kind and text",
        "checkin 1 (“Weekly”): `owner` must be the handle of a senior leader ('jo' is nobody in the "
        "directory)",
    ]


async def test_a_pulse_may_name_an_owner_who_must_be_a_manager(store: SqlStore) -> None:
    programme = PULSE.format(name="Monday pulse").replace(
        "[[pulse.question]]", 'owner = "sam"\n[[pulse.question]]'
    )

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme))

    assert refused.value.problems == [
        "pulse 1 (“Monday pulse”): `owner` must be the handle of a manager or senior leader ('sam' is "
        "nobody in the directory)"
    ]


async def test_a_check_in_without_an_owner_is_one_mistake_not_two(store: SqlStore) -> None:
    programme = CHECKIN.format(name="Weekly").replace('owner = "jo"\n', "")

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme))

    assert refused.value.problems == ["checkin 1 (“Weekly”): `owner` must be a non-empty text"]


async def test_options_on_a_scale_and_a_reminder_after_the_close_are_mistakes(store: SqlStore) -> None:
    programme = """
[[pulse]]
name = "Monday pulse"
open_hours = 24
remind_after_hours = 24
[[pulse.question]]
kind = "scale"
text = "I can suggest improvements."
options = ["Never", "Always"]
"""

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme))

    assert refused.value.problems == [
        "pulse 1 (“Monday pulse”) question 1: `options` are only for choice questions (this one is scale)",
        "pulse 1 (“Monday pulse”): `remind_after_hours` (24) must be less than `open_hours` (24): the "
        "run closes before the "
        "reminder would go",
    ]


async def test_an_open_time_that_is_no_whole_number_of_hours_is_named_once(store: SqlStore) -> None:
    programme = PULSE.format(name="Monday pulse").replace(
        "[[pulse.question]]",
        'open_hours = 0.5\nschedule = { cron = "0 9 * * *", time_zone = "Europe/London" }\n'
        "[[pulse.question]]",
    )

    with pytest.raises(ProgrammeError) as refused:
        await load_programme(store, tomllib.loads(programme), check_cron=check_cron, cron_gap=cron_gap)

    # Not also "`open_hours` (72) must be less than the 24 hours between its runs": the file never says 72.
    assert refused.value.problems == [
        "pulse 1 (“Monday pulse”): `open_hours` must be a whole number of hours between 1 and 1440"
    ]


async def test_every_other_week_is_written_as_every_weeks_and_its_open_time_may_span_a_week(
    store: SqlStore,
) -> None:
    # A fortnightly check-in could not be written ("MON/2" and "*/14" are refused): `every_weeks = 2`.
    fortnightly = 'schedule = { cron = "0 9 * * MON", time_zone = "Europe/London", every_weeks = 2 }'
    programme = PULSE.format(name="Monday pulse").replace(
        "[[pulse.question]]", f"open_hours = 168\n{fortnightly}\n[[pulse.question]]"
    )
    await load_programme(store, tomllib.loads(programme), check_cron=check_cron, cron_gap=cron_gap)
    async with store.transaction(read_only=True) as tx:
        assert [s.every_weeks for s in await tx.schedules.schedules()] == [2]

    weekly = programme.replace(", every_weeks = 2", "")
    wrong = programme.replace("every_weeks = 2", "every_weeks = 0")
    for text, said in (
        (weekly, "`open_hours` (168) must be less than the 168 hours between its runs"),
        (wrong, "schedule `every_weeks` must be a whole number from 1 to 8 (2: every other week its cron"),
    ):
        with pytest.raises(ProgrammeError) as refused:
            await load_programme(store, tomllib.loads(text), check_cron=check_cron, cron_gap=cron_gap)
        assert any(said in problem for problem in refused.value.problems), refused.value.problems
