"""When things happen: APScheduler fires stored schedules; the core makes every firing idempotent.

APScheduler keeps its jobs in memory only (its job stores must not be shared between
processes), so our own tables hold the schedules and each process registers them at
start. A firing enqueues the occurrence under the key (schedule, due time), so a second
replica, a restart or a misfire never sends the same run twice.

Two drivers share the same firing code: :class:`Scheduler` follows the real clock (for
``nextpractice serve``), and :func:`advance` steps a :class:`~bot.clock.MovableClock`
through every due moment (for the console and tests).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import MovableClock
from bot.metrics import Metrics
from dialogue.ports import Clock, Store
from dialogue.schedules import Schedule, firing_zone
from dialogue.service import Dialogue

log = logging.getLogger(__name__)

TICK_SECONDS = 30  # housekeeping: closing runs, reminders, overdue questions
PRUNE_SECONDS = 3600  # the retention period is in days: an hourly pass keeps within it
RELOAD_SECONDS = 60  # picks up schedules loaded by another process
DEFAULT_GRACE = timedelta(hours=6)  # a firing missed by less than this is sent late rather than never
LOCAL_SPAN = timedelta(hours=26)  # a wall-clock time comes first in UTC+14, last in UTC-12

Step = Callable[[], Awaitable[Any]]


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(word: str) -> int:
    """A weekday as standard cron numbers it (0 and 7 Sunday, 1 Monday), from a number or a name."""
    if word in _DAYS:
        return _DAYS.index(word)
    if word.isdigit() and int(word) <= 7:
        return int(word)
    raise ValueError(f"{word!r} is not a weekday (0-7, where 0 and 7 are Sunday, or sun, mon, ... sat)")


def weekdays(field: str) -> str:
    """A cron weekday field as standard cron reads it, written in the day names APScheduler reads the same
    way: APScheduler numbers days from Monday (its ``1`` is Tuesday), so ``1-5`` would run Tuesday to
    Saturday."""
    if field == "*":
        return field
    days: set[int] = set()
    for token in field.lower().split(","):
        span, slash, step = token.partition("/")
        if slash and not (step.isdigit() and int(step) > 0):
            raise ValueError(f"{token!r}: the step after / must be a whole number of days")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            start, _, end = span.partition("-")
            first, last = _day(start), _day(end)
            if last < first:
                raise ValueError(f"{token!r}: a range of days runs forwards, e.g. 1-5 (Monday to Friday)")
        elif slash:  # "mon/2" reads as "every other week", which cron cannot say
            raise ValueError(
                f"{token!r}: a step needs a range of days, e.g. 1-5/2; for every other week, write the day "
                "(MON) and add `every_weeks = 2` to the schedule"
            )
        else:
            first = last = _day(span)
        days.update(day % 7 for day in range(first, last + 1, int(step or 1)))
    return ",".join(_DAYS[day] for day in sorted(days))


def cron_trigger(cron: str, zone: str) -> CronTrigger:
    """The trigger of a five-field cron expression, its weekdays numbered as standard cron numbers them (see
    :func:`weekdays`; a day of the month and a weekday together must both match, as APScheduler reads them);
    ValueError says what is wrong with it."""
    *rest, weekday = cron.split()
    return CronTrigger.from_crontab(" ".join((*rest, weekdays(weekday))), timezone=ZoneInfo(zone))


@lru_cache(maxsize=256)
def _trigger(cron: str, zone: str) -> CronTrigger:
    return cron_trigger(cron, zone)


def trigger(schedule: Schedule) -> CronTrigger:
    """The APScheduler trigger of a schedule (a local-time schedule runs in the earliest zone)."""
    return _trigger(schedule.cron, firing_zone(schedule))


# A Monday: the weeks of a schedule set before its `since` was kept count from it.
EPOCH = datetime(1970, 1, 5, tzinfo=ZoneInfo("UTC"))


def next_fire(schedule: Schedule, after: datetime) -> datetime | None:
    """The schedule's first fire time strictly after ``after``, in UTC. A wall-clock time that comes twice on
    the night the clocks go back fires the first time only: APScheduler gives both, and a daily 01:30 pulse
    went out twice (once its first run had closed, the second was a new run). With ``every_weeks``, only in
    every n-th week from its first run."""
    at = after.astimezone(ZoneInfo("UTC"))
    while (fire := _cron_next(schedule, at)) is not None:
        if schedule.every_weeks == 1 or _weeks_on(schedule, fire) % schedule.every_weeks == 0:
            return fire
        at = fire
    return None


def _cron_next(schedule: Schedule, after: datetime) -> datetime | None:
    """The cron's first fire time strictly after ``after``, in UTC, each wall time once."""
    utc = ZoneInfo("UTC")
    while True:
        fire: datetime | None = trigger(schedule).get_next_fire_time(None, after + timedelta(microseconds=1))
        # The wall time's first coming: the same instant read as the earlier of two (fold=0).
        if fire is None or fire.replace(fold=0).astimezone(utc) == fire.astimezone(utc):
            return fire.astimezone(utc) if fire else None
        after = fire.astimezone(utc)


def _weeks_on(schedule: Schedule, fire: datetime) -> int:
    """Whole weeks (Monday to Sunday, in the schedule's zone) from its first run after ``since`` to
    ``fire``."""
    first = _cron_next(schedule, schedule.since or EPOCH) or fire
    zone = ZoneInfo(firing_zone(schedule))
    first_day, fire_day = first.astimezone(zone).date(), fire.astimezone(zone).date()
    return (fire_day - first_day + timedelta(days=first_day.weekday() - fire_day.weekday())).days // 7


def fire_times(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """The schedule's fire times in ``(start, end]``, oldest first."""
    times: list[datetime] = []
    at = next_fire(schedule, start)
    while at is not None and at <= end:
        times.append(at)
        at = next_fire(schedule, at)
    return times


def missed(schedule: Schedule, now: datetime, grace: timedelta) -> datetime | None:
    """The run to catch up on at start: the latest fire time within ``grace`` before ``now``; for a
    local-time schedule, while it is still to come in someone's zone, or came within ``grace`` (its fire
    time is when the first zone reaches the wall-clock time; the last reaches it ``LOCAL_SPAN`` later). Never
    one from before the schedule was set, in any zone.

    A local-time check-in loaded, or a bot restarted, on Monday morning in London would otherwise miss that
    week's run for everyone: 09:00 came in the first zone on Sunday evening, UTC.
    """
    if not schedule.local_time:
        return latest_due(schedule, now, grace)
    start = now - grace - LOCAL_SPAN
    if schedule.since is not None:
        start = max(start, schedule.since - LOCAL_SPAN)
    times = fire_times(schedule, start, now)
    return times[-1] if times else None


def latest_due(schedule: Schedule, now: datetime, grace: timedelta) -> datetime | None:
    """The most recent fire time within ``grace`` before ``now`` (inclusive) and after the schedule was set,
    if any."""
    start = now - grace if schedule.since is None else max(now - grace, schedule.since)
    times = fire_times(schedule, start, now)
    return times[-1] if times else None


async def catch_up(dialogue: Dialogue, store: Store, now: datetime, grace: timedelta = DEFAULT_GRACE) -> int:
    """Fire, once, each schedule's run missed within ``grace`` before ``now`` (see :func:`missed`), as
    :meth:`Scheduler.start` does: the console starts on a moved clock with no scheduler running, and a
    Monday-morning start missed that Monday's local-time check-in. How many runs were enqueued."""
    fired = 0
    for schedule in await load_schedules(store):
        due = missed(schedule, now, grace)
        if due is not None and await fire(dialogue, schedule, due) is not None:
            fired += 1
    return fired


async def load_schedules(store: Store) -> list[Schedule]:
    """Every active schedule in the database."""
    async with store.transaction() as tx:
        return await tx.schedules.schedules()


async def fire(
    dialogue: Dialogue, schedule: Schedule, due: datetime, metrics: Metrics | None = None
) -> int | None:
    """Enqueue one run; the occurrence id, or None when that run was already enqueued."""
    occurrence = await dialogue.fire(schedule, due)
    if occurrence is not None:
        log.info("schedule %s (%s) fired for %s", schedule.id, schedule.kind.value, due.isoformat())
        if metrics is not None:
            metrics.fired(schedule.kind.value)
    return occurrence


class Scheduler:
    """Runs stored schedules on the real clock with APScheduler's :class:`AsyncIOScheduler`.

    At start, a firing missed within ``grace`` (the bot was down at 09:00) is sent once.
    ``on_fired`` is called after each firing or housekeeping tick (the delivery worker's wake).
    With ``retention``, sent and failed messages older than it are deleted at start and every hour.
    """

    def __init__(
        self,
        *,
        dialogue: Dialogue,
        store: Store,
        clock: Clock,
        grace: timedelta = DEFAULT_GRACE,
        on_fired: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
        retention: timedelta | None = None,
    ) -> None:
        self.dialogue = dialogue
        self.retention = retention
        self.metrics = metrics
        self.store = store
        self.clock = clock
        self.grace = grace
        self.on_fired = on_fired
        self.fired = 0
        self._registered: dict[int, Schedule] = {}
        self._aps = AsyncIOScheduler(timezone=ZoneInfo("UTC"))

    async def start(self) -> None:
        """Register every stored schedule, catch up missed firings, and start ticking."""
        await self.sync()
        now = self.clock.now()
        for schedule in self._registered.values():
            due = missed(schedule, now, self.grace)
            if due is not None:
                await self._fire(schedule, due)
        # In UTC: without a zone APScheduler reads the host's, and a TZ it cannot read (TZ=BST) stopped serve.
        utc = ZoneInfo("UTC")
        self._aps.add_job(
            self._tick, IntervalTrigger(seconds=TICK_SECONDS, timezone=utc), id="tick", coalesce=True
        )
        self._aps.add_job(
            self.sync, IntervalTrigger(seconds=RELOAD_SECONDS, timezone=utc), id="reload", coalesce=True
        )
        if self.retention is not None:
            self._aps.add_job(
                self._prune, IntervalTrigger(seconds=PRUNE_SECONDS, timezone=utc), id="prune", coalesce=True
            )
        self._aps.start()
        await self._tick()
        if self.retention is not None:
            await self._prune()

    def shutdown(self) -> None:
        """Stop firing (a running firing finishes on its own)."""
        if self._aps.running:
            self._aps.shutdown(wait=False)

    @property
    def registered(self) -> list[Schedule]:
        """The schedules APScheduler currently runs."""
        return list(self._registered.values())

    async def sync(self) -> None:
        """Bring the registered jobs in line with the schedules table."""
        wanted = {s.id: s for s in await load_schedules(self.store)}
        for schedule_id, old in list(self._registered.items()):
            if wanted.get(schedule_id) != old:
                self._aps.remove_job(f"schedule:{schedule_id}")
                del self._registered[schedule_id]
        for schedule_id, schedule in wanted.items():
            if schedule_id in self._registered:
                continue
            self._aps.add_job(
                self._run,
                trigger(schedule),
                args=(schedule,),
                id=f"schedule:{schedule_id}",
                # A late run is still the same occurrence: fire it within the grace period, once.
                misfire_grace_time=int(self.grace.total_seconds()),
                coalesce=True,
            )
            self._registered[schedule_id] = schedule

    async def _run(self, schedule: Schedule) -> None:
        # The due time comes from the cron expression, not from when this job happened to run,
        # so every replica computes the same occurrence key.
        due = latest_due(schedule, self.clock.now(), self.grace)
        if due is not None:
            await self._fire(schedule, due)

    async def _fire(self, schedule: Schedule, due: datetime) -> None:
        try:
            if await fire(self.dialogue, schedule, due, self.metrics) is not None:
                self.fired += 1
        except Exception:
            log.exception("schedule %s could not fire for %s; it will be retried", schedule.id, due)
            return
        self.on_fired()

    async def _prune(self) -> None:
        assert self.retention is not None
        try:
            async with self.store.transaction() as tx:
                deleted = await tx.outbox.prune(before=self.clock.now() - self.retention)
        except Exception:
            log.exception("deleting old messages failed; it is tried again in an hour")
            return
        if deleted:
            log.info("deleted %d messages sent more than %d days ago", deleted, self.retention.days)

    async def _tick(self) -> None:
        try:
            await self.dialogue.tick()
        except Exception:
            log.exception("housekeeping tick failed; it runs again shortly")
            return
        self.on_fired()


async def advance(
    *,
    dialogue: Dialogue,
    store: Store,
    clock: MovableClock,
    until: datetime,
    after_step: Step,
) -> None:
    """Move ``clock`` to ``until``, stopping at every moment something is due on the way.

    At each stop: schedules due then fire, housekeeping runs, and ``after_step`` (delivery)
    runs, so messages come out in the order they would in real time.
    """
    schedules = await load_schedules(store)
    while True:
        now = clock.now()
        await _fire_due(dialogue, schedules, now)
        await dialogue.tick()
        await after_step()
        if now >= until:
            return
        clock.set(min([until, *await _next_moments(dialogue, store, schedules, now)]))


async def _fire_due(dialogue: Dialogue, schedules: list[Schedule], now: datetime) -> None:
    for schedule in schedules:
        due = latest_due(schedule, now, timedelta(seconds=1))
        if due is not None:
            await fire(dialogue, schedule, due)


async def _next_moments(
    dialogue: Dialogue, store: Store, schedules: list[Schedule], now: datetime
) -> list[datetime]:
    """Candidate next stops after ``now``: fire times, housekeeping events and waiting deliveries."""
    moments = [next_fire(s, now) for s in schedules]
    moments.append(await dialogue.next_event(now))
    async with store.transaction() as tx:
        moments.append(await tx.outbox.next_due(now))
    return [m for m in moments if m is not None]
