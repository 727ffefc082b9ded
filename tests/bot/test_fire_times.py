"""When schedules fire: real time zones, daylight saving, "each person's own 09:00", and catch-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.scheduler import fire_times, latest_due, missed, next_fire
from dialogue.schedules import LOCAL_TIME, Schedule
from dialogue.surveys import OccurrenceKind


def weekly(zone: str) -> Schedule:
    return Schedule(id=1, kind=OccurrenceKind.PULSE, target_id=1, cron="0 9 * * MON", time_zone=zone)


def test_monday_nine_in_london_follows_daylight_saving() -> None:
    times = fire_times(
        weekly("Europe/London"), datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 4, 7, tzinfo=UTC)
    )

    # 23 March is GMT; 30 March and 6 April are BST (clocks went forward on 29 March).
    assert times == [
        datetime(2026, 3, 23, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 8, 0, tzinfo=UTC),
        datetime(2026, 4, 6, 8, 0, tzinfo=UTC),
    ]


def test_a_local_time_schedule_fires_when_nine_comes_first_on_earth() -> None:
    fire = next_fire(weekly(LOCAL_TIME), datetime(2026, 11, 22, tzinfo=UTC))

    # 09:00 on Monday in UTC+14 is 19:00 on Sunday in UTC.
    assert fire == datetime(2026, 11, 22, 19, 0, tzinfo=UTC)  # Sunday 22 November


def test_fire_times_are_strictly_after_the_start_and_up_to_the_end() -> None:
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    schedule = weekly("UTC")

    assert fire_times(schedule, at, at + timedelta(days=7)) == [at + timedelta(days=7)]
    assert next_fire(schedule, at - timedelta(seconds=1)) == at


def test_latest_due_finds_a_missed_firing_only_within_the_grace_period() -> None:
    schedule = weekly("UTC")
    missed = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    assert latest_due(schedule, missed + timedelta(hours=2), timedelta(hours=6)) == missed
    assert latest_due(schedule, missed + timedelta(hours=7), timedelta(hours=6)) is None
    assert latest_due(schedule, missed, timedelta(seconds=1)) == missed


def test_latest_due_never_finds_a_firing_from_before_the_schedule_was_set() -> None:
    missed = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    set_before = replace(weekly("UTC"), since=missed - timedelta(minutes=5))
    set_after = replace(weekly("UTC"), since=missed + timedelta(minutes=5))

    assert latest_due(set_before, missed + timedelta(hours=2), timedelta(hours=6)) == missed
    assert latest_due(set_after, missed + timedelta(hours=2), timedelta(hours=6)) is None
    assert latest_due(set_after, missed + timedelta(days=7), timedelta(hours=6)) == missed + timedelta(days=7)


def test_a_local_time_run_is_caught_up_while_it_is_still_to_come_or_just_past_somewhere() -> None:
    schedule = weekly(LOCAL_TIME)
    first_zone = datetime(2026, 11, 29, 19, 0, tzinfo=UTC)  # Monday 09:00 in UTC+14
    six = timedelta(hours=6)

    assert missed(schedule, first_zone + timedelta(hours=17), six) == first_zone  # Monday noon, UTC
    # UTC-12 reaches Monday 09:00 at Monday 21:00 UTC; six hours after that it is over.
    last_zone = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert missed(schedule, last_zone + six - timedelta(minutes=1), six) == first_zone
    assert (
        missed(schedule, datetime(2026, 11, 30, 21, 0, tzinfo=UTC) + six + timedelta(minutes=1), six) is None
    )
    # A Europe/London schedule keeps to the grace period alone.
    assert missed(weekly("UTC"), datetime(2026, 11, 30, 9, 0, tzinfo=UTC) + timedelta(hours=7), six) is None


def test_weekday_numbers_mean_what_they_mean_in_cron_monday_is_one_sunday_zero_or_seven() -> None:
    week = (datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 6, 23, 0, tzinfo=UTC))  # Mon to Sun

    def days(cron: str) -> list[str]:
        schedule = replace(weekly("Europe/London"), cron=cron)
        return [at.strftime("%a %d") for at in fire_times(schedule, *week)]

    # APScheduler alone counts from Monday = 0: "1-5" would have run Tuesday to Saturday.
    assert days("0 9 * * 1-5") == ["Mon 30", "Tue 01", "Wed 02", "Thu 03", "Fri 04"]
    assert days("0 9 * * 1") == days("0 9 * * MON") == ["Mon 30"]
    assert days("0 9 * * 0") == days("0 9 * * 7") == days("0 9 * * sun") == ["Sun 06"]
    assert days("0 9 * * */2") == [
        "Tue 01",
        "Thu 03",
        "Sat 05",
        "Sun 06",
    ]  # Sunday, Tuesday, ... as cron reads it


def test_a_time_that_comes_twice_when_the_clocks_go_back_fires_once() -> None:
    nightly = Schedule(
        id=1, kind=OccurrenceKind.PULSE, target_id=1, cron="30 1 * * *", time_zone="Europe/London"
    )
    times = fire_times(nightly, datetime(2027, 10, 30, 12, tzinfo=UTC), datetime(2027, 11, 1, 12, tzinfo=UTC))

    # 01:30 BST on 31 October (00:30 UTC), not again at 01:30 GMT an hour later; then 01:30 GMT on 1 November.
    assert times == [datetime(2027, 10, 31, 0, 30, tzinfo=UTC), datetime(2027, 11, 1, 1, 30, tzinfo=UTC)]


def test_every_other_week_runs_in_every_second_week_from_its_first_run() -> None:
    # Set on Wednesday 2 December: its first run is Monday 7 December, then 21 December, 4 January...
    fortnightly = replace(weekly("Europe/London"), since=datetime(2026, 12, 2, 12, tzinfo=UTC), every_weeks=2)

    times = fire_times(fortnightly, datetime(2026, 12, 2, 12, tzinfo=UTC), datetime(2027, 1, 20, tzinfo=UTC))

    assert times == [datetime(2026, 12, d, 9, tzinfo=UTC) for d in (7, 21)] + [
        datetime(2027, 1, d, 9, tzinfo=UTC) for d in (4, 18)
    ]
    # Monday and Thursday every other week: both days of the weeks it runs in, from its first run (Thursday
    # 3 December).
    twice = replace(fortnightly, cron="0 9 * * MON,THU")
    days = [
        t.day
        for t in fire_times(twice, datetime(2026, 12, 2, 12, tzinfo=UTC), datetime(2026, 12, 25, tzinfo=UTC))
    ]
    assert days == [3, 14, 17]
