"""Scheduling against a real database: a firing enqueues its run once, whoever fires it and however often."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import MovableClock
from bot.scheduler import Scheduler, advance
from dialogue.anonymity import Pseudonymiser
from dialogue.directory_import import import_directory
from dialogue.messages import Message
from dialogue.outbox import NewDelivery, Sent
from dialogue.programme import load_programme
from dialogue.service import Dialogue
from dialogue.surveys import OccurrenceKind
from dialogue.text import lines, t
from storage import SqlStore
from storage.models import DeliveryRow, PersonRow

MONDAY_NINE = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 09:00 in London in winter
PEOPLE = [{"handle": f"p{i}", "name": f"Person {i}", "team": "Housing"} for i in range(6)]
PROGRAMME: dict[str, Any] = {
    "pulse": [
        {
            "name": "Monday pulse",
            "schedule": {"cron": "0 9 * * MON", "time_zone": "Europe/London"},
            "open_hours": 48,
            "question": [{"kind": "scale", "text": "How was last week?"}],
        }
    ]
}


async def _setup(store: SqlStore) -> None:
    assert not (await import_directory(store, PEOPLE)).errors
    await load_programme(store, PROGRAMME)


def _dialogue(store: SqlStore, clock: MovableClock) -> Dialogue:
    return Dialogue(store=store, clock=clock, pseudonymiser=Pseudonymiser(b"scheduler-test-secret-000000"))


async def _runs(store: SqlStore) -> int:
    async with store.transaction() as tx:
        survey = await tx.surveys.survey_by_name("Monday pulse")
        assert survey is not None
        return len(await tx.surveys.occurrences(kind=OccurrenceKind.PULSE, target_id=survey.id))


async def _queued(store: SqlStore) -> int:
    async with store.transaction() as tx:
        return sum((await tx.outbox.counts()).values())


async def test_replicas_and_restarts_after_a_missed_firing_send_the_run_once(store: SqlStore) -> None:
    await _setup(store)
    clock = MovableClock(MONDAY_NINE + timedelta(hours=1))  # the bot was down at 09:00
    replicas = [Scheduler(dialogue=_dialogue(store, clock), store=store, clock=clock) for _ in range(3)]
    try:
        for replica in replicas:
            await replica.start()
    finally:
        for replica in replicas:
            replica.shutdown()

    assert await _runs(store) == 1
    assert await _queued(store) == len(PEOPLE)
    assert sum(r.fired for r in replicas) == 1


async def test_a_programme_loaded_after_its_slot_waits_for_the_next_one(store: SqlStore) -> None:
    # Loaded at 09:30, after Monday 09:00: starting the bot then must not send 09:00's run as a late one.
    assert not (await import_directory(store, PEOPLE)).errors
    await load_programme(store, PROGRAMME, now=MONDAY_NINE + timedelta(minutes=30))
    clock = MovableClock(MONDAY_NINE + timedelta(hours=1))
    scheduler = Scheduler(dialogue=_dialogue(store, clock), store=store, clock=clock)
    try:
        await scheduler.start()
    finally:
        scheduler.shutdown()
    assert await _runs(store) == 0

    # Loaded again unchanged the next Monday at 08:00, then down at 09:00: that run is caught up.
    await load_programme(store, PROGRAMME, now=MONDAY_NINE + timedelta(days=7, hours=-1))
    clock.set(MONDAY_NINE + timedelta(days=7, hours=1))
    scheduler = Scheduler(dialogue=_dialogue(store, clock), store=store, clock=clock)
    try:
        await scheduler.start()
    finally:
        scheduler.shutdown()
    assert await _runs(store) == 1


async def test_a_firing_missed_by_more_than_the_grace_period_is_not_sent(store: SqlStore) -> None:
    await _setup(store)
    clock = MovableClock(MONDAY_NINE + timedelta(hours=7))
    scheduler = Scheduler(
        dialogue=_dialogue(store, clock), store=store, clock=clock, grace=timedelta(hours=6)
    )
    try:
        await scheduler.start()
    finally:
        scheduler.shutdown()

    assert await _runs(store) == 0


async def test_apscheduler_runs_each_stored_schedule_at_its_next_fire_time(store: SqlStore) -> None:
    await _setup(store)
    clock = MovableClock(datetime.now(UTC))
    scheduler = Scheduler(dialogue=_dialogue(store, clock), store=store, clock=clock)
    try:
        await scheduler.start()
        job = scheduler._aps.get_job(f"schedule:{scheduler.registered[0].id}")
        fire = job.next_run_time.astimezone(UTC)
    finally:
        scheduler.shutdown()

    london = fire.astimezone(ZoneInfo("Europe/London"))
    assert (london.weekday(), london.hour, london.minute) == (0, 9, 0)
    assert fire > clock.now()


async def test_moving_the_clock_over_weeks_fires_every_run_once_even_when_repeated(store: SqlStore) -> None:
    await _setup(store)
    clock = MovableClock(MONDAY_NINE - timedelta(hours=1))
    dialogue = _dialogue(store, clock)
    steps: list[datetime] = []

    async def step() -> None:
        steps.append(clock.now())

    await advance(
        dialogue=dialogue, store=store, clock=clock, until=MONDAY_NINE + timedelta(weeks=3), after_step=step
    )
    # A second process replaying the same three weeks must not add runs.
    replay = MovableClock(MONDAY_NINE - timedelta(hours=1))
    await advance(
        dialogue=_dialogue(store, replay),
        store=store,
        clock=replay,
        until=replay.now() + timedelta(weeks=3, hours=1),
        after_step=step,
    )

    assert await _runs(store) == 4  # 30 Nov, 7, 14 and 21 Dec
    assert MONDAY_NINE in steps and MONDAY_NINE + timedelta(hours=48) in steps  # fired, then closed
    assert clock.now() == MONDAY_NINE + timedelta(weeks=3)


LOCAL_PEOPLE = [
    {"handle": "priya", "name": "Priya", "team": "Housing", "time_zone": "Asia/Kolkata"},  # 09:00 = 03:30 UTC
    {"handle": "lena", "name": "Lena", "team": "Housing", "time_zone": "Europe/London"},  # 09:00 UTC
    {"handle": "sam", "name": "Sam", "team": "Housing", "time_zone": "America/New_York"},  # 09:00 = 14:00 UTC
]
LOCAL_PULSE: dict[str, Any] = {
    "pulse": [
        {
            "name": "Monday pulse",
            "schedule": {"cron": "0 9 * * MON", "time_zone": "local"},
            "open_hours": 48,
            "question": [{"kind": "scale", "text": "How was last week?"}],
        }
    ]
}


async def test_a_local_time_run_missed_at_its_first_zone_still_reaches_those_whose_time_is_near(
    store: SqlStore,
) -> None:
    # Loaded on Monday at 12:00 UTC: 09:00 came in the first zone on Sunday evening, in Kolkata at 03:30,
    # in London at 09:00, and is still to come in New York. Sam gets it at his 09:00, Lena now (three
    # hours late); Priya's came eight and a half hours ago: not at her evening, she gets next week's.
    assert not (await import_directory(store, LOCAL_PEOPLE)).errors
    noon = MONDAY_NINE + timedelta(hours=3)
    await load_programme(store, LOCAL_PULSE, now=noon)
    clock = MovableClock(noon)
    scheduler = Scheduler(dialogue=_dialogue(store, clock), store=store, clock=clock)
    try:
        await scheduler.start()
    finally:
        scheduler.shutdown()

    async with store.engine.connect() as db:
        rows = await db.execute(
            select(PersonRow.handle, DeliveryRow.not_before).join(
                PersonRow, PersonRow.id == DeliveryRow.person_id
            )
        )
        due = {row.handle: row.not_before for row in rows}
    assert due == {"sam": MONDAY_NINE + timedelta(hours=5), "lena": noon}  # Sam at his 09:00, Lena now


async def test_a_weekly_campaign_open_a_week_goes_out_every_week(store: SqlStore) -> None:
    # Open 168 hours, it was still open when the next Tuesday's firing came, so that week was skipped:
    # the demo's "weekly" campaign went out every other week, and nothing said so.
    assert not (await import_directory(store, PEOPLE)).errors
    weekly = {
        "campaign": [
            {
                "name": "Fewer missed visits",
                "priority": "Independent lives",
                "prompt": "What one change would help?",
                "schedule": {"cron": "0 10 * * TUE", "time_zone": "Europe/London"},
            }
        ]
    }
    await load_programme(store, weekly, now=MONDAY_NINE - timedelta(hours=1))
    clock = MovableClock(MONDAY_NINE - timedelta(hours=1))

    async def nothing() -> None:
        return None

    dialogue = _dialogue(store, clock)
    await advance(
        dialogue=dialogue,
        store=store,
        clock=clock,
        until=MONDAY_NINE + timedelta(days=16),
        after_step=nothing,
    )

    async with store.transaction() as tx:
        runs = await tx.surveys.occurrences(kind=OccurrenceKind.CAMPAIGN, target_id=1, limit=10)
    assert sorted(run.opens_at.day for run in runs) == [1, 8, 15]  # each Tuesday of the three
    assert [run.closed for run in sorted(runs, key=lambda r: r.id)] == [True, True, False]


async def test_with_a_retention_period_serve_deletes_old_messages_at_start_and_keeps_newer_ones(
    store: SqlStore,
) -> None:
    # NEXTPRACTICE_RETENTION_DAYS: nobody has to remember a daily `outbox prune` for the texts to go.
    sent_at = {"spring": MONDAY_NINE - timedelta(days=200), "last week": MONDAY_NINE - timedelta(days=7)}
    for key, when in sent_at.items():
        async with store.transaction() as tx:
            message = Message(lines(t("Your idea moved to under review")))
            await tx.outbox.enqueue([NewDelivery(key=key, message=message, channel="qa")], now=when)
            for row in await tx.outbox.claim(worker="w", now=when, limit=1, lease_seconds=60):
                await tx.outbox.mark_sent([Sent(row.id, "slack", f"ref-{key}", when)])
    clock = MovableClock(MONDAY_NINE)
    keep_all = Scheduler(dialogue=_dialogue(store, clock), store=store, clock=clock)
    pruning = Scheduler(
        dialogue=_dialogue(store, clock), store=store, clock=clock, retention=timedelta(days=90)
    )
    for scheduler in (keep_all, pruning):
        try:
            await scheduler.start()
            kept = [row.key for row in await _rows(store)]
            hourly = scheduler._aps.get_job("prune") is not None
        finally:
            scheduler.shutdown()
        if scheduler is keep_all:
            assert (kept, hourly) == (["last week", "spring"], False)
        else:
            assert (kept, hourly) == (["last week"], True)  # and again every hour while it runs


async def _rows(store: SqlStore) -> list[DeliveryRow]:
    async with store.engine.connect() as db:
        return list((await db.execute(select(DeliveryRow).order_by(DeliveryRow.key))).all())
