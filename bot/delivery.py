"""The delivery worker: drains the outbox through the platforms' senders.

Each row is marked sent straight after the platform accepted it, and its send slot is held until that
mark is committed (marks that arrive together share a transaction: :mod:`bot.marks`), so a crash can
repeat at most the messages that were in flight at that moment; rows claimed but not yet sent are picked
up again when their lease runs out. A batch's lease is renewed while its rows wait (a long rate-limit
pause), and no send starts that the lease might not cover to its end: the lease is renewed first, and a
row another worker has taken over meanwhile is left to it rather than sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.marks import SentMarks
from bot.metrics import Metrics
from bot.ratelimit import ConversationLimiter, RateLimiter
from dialogue.anonymity import Pseudonymiser
from dialogue.events import Identity
from dialogue.outbox import (
    Address,
    Contact,
    Delivery,
    DeliveryStatus,
    RetryLater,
    Sent,
    Undeliverable,
    contact_key,
)
from dialogue.ports import Clock, Sender, Store

log = logging.getLogger(__name__)

# How long to wait before retrying a failure the platform gave no advice about: 5 s doubling to 30 min;
# with MAX_ATTEMPTS a message is tried for about an hour and three quarters before it fails.
BASE_BACKOFF = 5.0
MAX_BACKOFF = 1800.0
MAX_ATTEMPTS = 12
PROGRESS_SECONDS = 5.0  # how often a long fan-out reports how far it has got
OUTAGE_REPORT_SECONDS = 60.0  # while the database stays out of reach, how often the log says so again
# No send starts in the last quarter of its lease without renewing it: the send could still be under way
# when the lease runs out and another worker takes the row over (Slack's client waits up to 30 s for an
# answer). Leases of rows still waiting are renewed every third of a lease anyway.
ANONYMOUS = "anonymous"  # the platform label of messages to anonymous authors, whichever they use
LEASE_SPARE = 0.25
RENEW_EVERY = 1 / 3


@dataclass
class DeliveryStats:
    """What the worker has done since it started (for logs and metrics)."""

    sent: int = 0
    updated: int = 0
    retried: int = 0
    failed: int = 0
    rate_limited: int = 0
    lapsed: int = 0  # rows not sent because another worker had taken them over (or might have)
    by_platform: dict[str, int] = field(default_factory=dict)


def duration(seconds: float) -> str:
    """``42s``, ``3m03s`` or ``1h02m03s``."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@dataclass(frozen=True)
class Reach:
    """A claimed batch's named recipients: their identities, most recently used first, by person id, and
    the contacts the platforms gave us for those identities, by ``(platform, key)``."""

    identities: Mapping[int, list[Identity]] = field(default_factory=dict)
    contacts: Mapping[tuple[str, str], Contact] = field(default_factory=dict)


class LeaseLapsed(Exception):
    """A claimed row is another worker's now, or could be before its send ends."""


@dataclass
class Lease:
    """A claimed batch's rows, those of them still the worker's, and until when, as far as it knows."""

    ids: list[int]
    until: datetime
    held: set[int]


@dataclass(frozen=True)
class Progress:
    """How far the worker's current busy period has got: from the first row it claimed after the
    outbox was empty, until it is empty again (a fan-out, typically)."""

    sent: int  # delivered in this busy period
    failed: int  # given up on in this busy period
    remaining: int  # due now and not yet sent
    seconds: float  # since the busy period began

    @property
    def total(self) -> int:
        """Everything this busy period has handled or still has to."""
        return self.sent + self.failed + self.remaining

    @property
    def rate(self) -> float:
        """Rows handled a second so far."""
        return (self.sent + self.failed) / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds until the rows due now are handled at the current rate (None while unknown)."""
        if not self.remaining:
            return 0.0
        return self.remaining / self.rate if self.rate > 0 else None

    def __str__(self) -> str:
        done = (self.sent + self.failed) * 100 // self.total if self.total else 100
        failed = f", {self.failed} failed" if self.failed else ""
        eta = duration(self.eta) if self.eta is not None else "?"
        return (
            f"delivery progress: sent {self.sent} / {self.total} ({done}%){failed}, "
            f"{self.rate:.1f}/s, ETA {eta}"
        )


class DeliveryWorker:
    """Claims due outbox rows, sends them, and records the outcome.

    Rows for the same recipient are sent in order; different recipients are sent
    concurrently (up to ``concurrency``) under each platform's :class:`RateLimiter`.
    A person is reached on the platform they used most recently, except that platforms in ``last_resort``
    (the local console) are used only for someone with no account on another connected platform.
    """

    def __init__(
        self,
        *,
        store: Store,
        senders: Mapping[str, Sender],
        pseudonymiser: Pseudonymiser,
        clock: Clock,
        worker_id: str,
        limiters: Mapping[str, RateLimiter] | None = None,
        conversation_limiters: Mapping[str, ConversationLimiter] | None = None,
        batch: int | None = None,
        concurrency: int = 16,
        lease_seconds: float = 120.0,
        max_attempts: int = MAX_ATTEMPTS,
        poll_seconds: float = 1.0,
        metrics: Metrics | None = None,
        progress_seconds: float = PROGRESS_SECONDS,
        on_progress: Callable[[Progress], None] | None = None,
        last_resort: Collection[str] = (),
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.last_resort = frozenset(last_resort)
        self.pseudonymiser = pseudonymiser
        self.clock = clock
        self.worker_id = worker_id
        self.limiters = {p: (limiters or {}).get(p) or RateLimiter() for p in self.senders}
        self.conversation_limiters = {
            p: (conversation_limiters or {}).get(p) or ConversationLimiter() for p in self.senders
        }
        # Claim four rounds of sends at a time. Fewer would leave sends idle while each batch's last ones
        # finish and the next is claimed (on PostgreSQL, 10,000 messages: 938/s with two rounds, 1,208/s
        # with four); many more would keep rows claimed in memory, away from other replicas, for longer
        # (at Slack's 10 a second, 64 rows take 6.4 s).
        self.batch = batch or 4 * concurrency
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.stats = DeliveryStats()
        self.metrics = metrics
        if metrics is not None:
            metrics.platforms(sorted(self.senders))
        # While sending, progress is reported at most this often: logged at INFO, or to ``on_progress``.
        self.progress_seconds = progress_seconds
        self.on_progress = on_progress or _log_progress
        self.marks = SentMarks(store)
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._unstarted = 0  # claimed rows waiting for a send slot
        # Set when no more than one round of sends waits for a slot: time to claim the next batch, so that
        # it is claimed and looked up by the time the slots are free.
        self._lookahead = concurrency
        self._hungry = asyncio.Event()
        self._last_sends: dict[str, asyncio.Future[bool]] = {}  # by recipient: done when its sends are
        self._busy_since: float | None = None  # time.monotonic() when the busy period began
        self._busy_sent = 0
        self._busy_failed = 0
        self._last_report = 0.0
        self._reported = False

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (call after enqueueing)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch of due rows and deliver it; returns how many rows were handled."""
        handled, batch = await self._start_batch()
        if batch is None:
            self._end_busy_period()
            return 0
        await batch
        return handled

    async def _start_batch(self) -> tuple[int, asyncio.Future[None] | None]:
        """Claim a batch of due rows and start sending it; how many were claimed, and the sending."""
        now = self.clock.now()
        async with self.store.transaction() as tx:
            claimed = await tx.outbox.claim(
                worker=self.worker_id, now=now, limit=self.batch, lease_seconds=self.lease_seconds
            )
        if not claimed:
            return 0, None
        ids = [d.id for d in claimed]
        lease = Lease(ids, now + timedelta(seconds=self.lease_seconds), set(ids))
        if self._busy_since is None:
            self._busy_since = self._last_report = time.monotonic()
        reach = await self._reach(claimed)
        queues: dict[str, list[Delivery]] = {}
        for delivery in claimed:
            queues.setdefault(_recipient(delivery), []).append(delivery)
        self._unstarted += len(claimed)
        if self._unstarted > self._lookahead:
            self._hungry.clear()
        chains = []
        for recipient, queue in queues.items():
            # A recipient's rows in this batch go after those still being sent from an earlier one.
            before = self._last_sends.get(recipient)
            done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._last_sends[recipient] = done
            chains.append(self._deliver_in_order(recipient, queue, reach, lease, before, done))
        return len(claimed), asyncio.ensure_future(self._send_batch(chains, lease))

    async def _send_batch(self, chains: list[Coroutine[Any, Any, None]], lease: Lease) -> None:
        """Send a claimed batch, renewing its lease for as long as any of it waits."""
        renewal = asyncio.ensure_future(self._keep(lease))
        try:
            await asyncio.gather(*chains)
        finally:
            renewal.cancel()

    async def _keep(self, lease: Lease) -> None:
        """Renew ``lease`` every third of a lease until cancelled; a failed renewal is tried again later."""
        while True:
            await asyncio.sleep(self.lease_seconds * RENEW_EVERY)
            try:
                await self._renew(lease)
            except Exception as exc:
                log.warning("delivery: could not renew the lease of %d rows: %s", len(lease.ids), exc)

    async def _renew(self, lease: Lease) -> None:
        until = self.clock.now() + timedelta(seconds=self.lease_seconds)
        async with self.store.transaction() as tx:
            lease.held = await tx.outbox.renew(lease.ids, worker=self.worker_id, until=until)
        lease.until = until

    async def _hold(self, delivery: Delivery, lease: Lease) -> None:
        """Make sure ``lease`` covers a send of ``delivery`` starting now, renewing it if it might not;
        :class:`LeaseLapsed` if it is not the worker's to send, or that cannot be known."""
        spare = timedelta(seconds=self.lease_seconds * LEASE_SPARE)
        if self.clock.now() > lease.until - spare:
            try:
                await self._renew(lease)
            except Exception as exc:
                raise LeaseLapsed from exc
        if delivery.id not in lease.held:
            raise LeaseLapsed

    async def _reach(self, claimed: list[Delivery]) -> Reach:
        """Who the batch's named recipients are and how to reach them, in two queries rather than a
        transaction a row."""
        named = {d.person_id for d in claimed if d.person_id is not None and _named(d)}
        if not named:
            return Reach()
        async with self.store.transaction(read_only=True) as tx:
            identities = await tx.directory.reachable(named)
            wanted = {
                (identity.platform, contact_key(identity))
                for found in identities.values()
                for identity in found
                if identity.platform in self.senders
            }
            return Reach(identities, await tx.contacts.contacts_for(wanted))

    def _progress(self, remaining: int) -> Progress:
        since = self._busy_since if self._busy_since is not None else time.monotonic()
        return Progress(self._busy_sent, self._busy_failed, remaining, time.monotonic() - since)

    def _end_busy_period(self) -> None:
        """Nothing is due: a busy period that reported progress reports its end; the next starts afresh."""
        if self._busy_since is not None and self._reported:
            self.on_progress(self._progress(0))
        self._busy_since = None
        self._busy_sent = self._busy_failed = 0
        self._reported = False

    async def _report_progress(self) -> None:
        """Report progress if ``progress_seconds`` have passed since the last report."""
        if self._busy_since is None or time.monotonic() - self._last_report < self.progress_seconds:
            return
        self._last_report = time.monotonic()  # before the query: concurrent deliveries report once
        try:
            async with self.store.transaction(read_only=True) as tx:
                remaining, _ = await tx.outbox.backlog(self.clock.now())
        except Exception as exc:  # progress is a nicety: never let it disturb delivery
            log.debug("delivery progress: cannot read the outbox: %s", exc)
            return
        self._reported = True
        self.on_progress(self._progress(remaining))

    async def drain(self) -> int:
        """Deliver everything due now (rows retried for later stay); returns how many rows were handled."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, polling when idle; a database outage is logged and waited out.

        The next batch is claimed while the last round of the one before waits for its slots, so the
        slots do not stand idle while the next batch is claimed and looked up (on PostgreSQL that took a
        fifth of a fan-out's time). Rows in flight stay at most ``concurrency``, as a crash can repeat
        those; claimed rows not yet sent are only taken over by another worker when their lease runs out.
        """
        sending: set[asyncio.Future[None]] = set()
        outage = _Outage()
        try:
            while not stop.is_set():
                try:
                    claimed, batch = await self._start_batch()
                except Exception as exc:
                    outage.failed(exc)
                else:
                    outage.over()
                    if batch is not None:
                        sending.add(batch)
                        batch.add_done_callback(self._batch_done(sending))
                        if claimed < self.batch:  # that was all that is due: no claim that finds nothing
                            await asyncio.wait(sending)
                        else:
                            await _first(self._hungry.wait(), stop.wait())
                        continue
                    if sending:  # nothing more is due yet: the busy period ends when the last batch does
                        await asyncio.wait(sending)
                        continue
                    self._end_busy_period()
                self._wake.clear()
                await _first(self._wake.wait(), stop.wait(), within=self.poll_seconds)
        except asyncio.CancelledError:
            for batch in sending:
                batch.cancel()
            raise
        finally:
            if sending:
                await asyncio.wait(sending)

    def _batch_done(self, sending: set[asyncio.Future[None]]) -> Callable[[asyncio.Future[None]], None]:
        def done(batch: asyncio.Future[None]) -> None:
            sending.discard(batch)
            if not batch.cancelled() and (error := batch.exception()) is not None:
                log.error("delivery: could not record a batch's outcome; its rows go again", exc_info=error)

        return done

    async def _deliver_in_order(
        self,
        recipient: str,
        deliveries: list[Delivery],
        reach: Reach,
        lease: Lease,
        before: asyncio.Future[bool] | None,
        done: asyncio.Future[bool],
    ) -> None:
        """Send one recipient's rows in order. From a row whose lease lapsed on, none of the recipient's
        rows is sent (``done`` tells the next batch's chain so): the worker that took that row over sends
        it, and the others are claimed again when their leases run out, after it."""
        unstarted = len(deliveries)
        lapsed = False
        try:
            lapsed = await before if before is not None else False
            for delivery in deliveries:
                if lapsed:
                    break
                async with self._slots:
                    unstarted -= 1
                    self._started(1)
                    lapsed = not await self._deliver(delivery, reach, lease)
        finally:
            self._started(unstarted)
            done.set_result(lapsed)
            if self._last_sends.get(recipient) is done:
                del self._last_sends[recipient]

    def _started(self, count: int) -> None:
        """``count`` claimed rows have a send slot now (or will never need one)."""
        self._unstarted -= count
        if self._unstarted <= self._lookahead:
            self._hungry.set()

    async def _deliver(self, delivery: Delivery, reach: Reach, lease: Lease) -> bool:
        """Send, or update, one row and record the outcome; False if its lease had lapsed (left as it is)."""
        platform = "?"
        try:
            if delivery.replaces:
                platform, ref = await self._update(delivery, lease)
                self.stats.updated += 1
            else:
                platform, address = await self._address(delivery, reach)
                await self.conversation_limiters[platform].acquire(_conversation(delivery))
                await self.limiters[platform].acquire()
                await self._hold(delivery, lease)
                ref = await self.senders[platform].send(to=address, message=delivery.message)
            if delivery.route is not None:
                await self._routed_done(delivery)
            else:
                if not delivery.replaces:
                    self.stats.sent += 1
                self.stats.by_platform[platform] = self.stats.by_platform.get(platform, 0) + 1
                self._busy_sent += 1
                if self.metrics is not None:
                    self.metrics.sent(platform)
                await self.marks.record(Sent(delivery.id, platform, ref, self.clock.now()))
                # The key without its person (in_log), never the recipient.
                log.debug("delivery %s (%s) sent on %s", delivery.id, in_log(delivery.key), platform)
        except LeaseLapsed:
            self.stats.lapsed += 1
            if self.metrics is not None:
                self.metrics.lapsed()
            log.warning(
                "delivery %s (%s): not sent: another worker has taken it over, or may have",
                delivery.id,
                in_log(delivery.key),
            )
            return False
        except RetryLater as later:
            limited = later.rate_limited and platform in self.limiters
            if limited:
                self.limiters[platform].pause(later.retry_after)
                self.stats.rate_limited += 1
            if delivery.route is not None:  # tried once: see _routed_done
                await self._routed_done(delivery)
            else:
                await self._retry(delivery, str(later), later.retry_after, platform, rate_limited=limited)
        except Undeliverable as gone:
            await self._fail(delivery, str(gone) or "undeliverable", platform)
        except Exception as exc:  # a sender's unexpected error must not stop the other deliveries
            if delivery.route is not None:
                await self._routed_done(delivery)
            else:
                log.warning("delivery %s: %s: %s", delivery.id, type(exc).__name__, exc)
                await self._retry(delivery, f"{type(exc).__name__}: {exc}", None, platform)
        await self._report_progress()
        return True

    async def _address(self, delivery: Delivery, reach: Reach) -> tuple[str, Address]:
        """The platform and address of a new message; ``reach`` holds named recipients' identities.

        The person behind a pseudonymous route is found only here, in memory, and never stored.
        """
        if delivery.channel is not None:
            platform = delivery.platform or ""
            if platform not in self.senders:
                raise Undeliverable(f"no {platform or 'platform'} connection for channel #{delivery.channel}")
            thread_ref = None
            if delivery.message.thread:
                async with self.store.transaction(read_only=True) as tx:
                    thread_ref = await tx.outbox.anchor_ref(delivery.message.thread, platform)
                if thread_ref is None:
                    # The thread's first message is not out yet; replies wait for it.
                    raise RetryLater(BASE_BACKOFF, f"waiting for thread {delivery.message.thread}")
            return platform, Address(channel=delivery.channel, thread_ref=thread_ref)
        identities: list[Identity] | None = None
        if _named(delivery):
            identities = reach.identities.get(delivery.person_id or 0)
        elif delivery.route is not None:
            async with self.store.transaction(read_only=True) as tx:
                person = self.pseudonymiser.resolve(delivery.route, await tx.directory.people())
                if person is not None and person.active:
                    identities = await tx.directory.identities(person.id)
        if identities is None:
            raise Undeliverable("the recipient is no longer in the directory")
        wanted = [delivery.platform] if delivery.platform else list(self.senders)
        # Most recently used first; sorted() keeps that order within each group.
        for identity in sorted(identities, key=lambda i: i.platform in self.last_resort):
            if identity.platform in wanted and identity.platform in self.senders:
                contact = reach.contacts.get((identity.platform, contact_key(identity)))
                routed = delivery.route is not None
                return identity.platform, Address(identity=identity, contact=contact, anonymous=routed)
        raise Undeliverable("the recipient has no account on a connected platform")

    async def _update(self, delivery: Delivery, lease: Lease) -> tuple[str, str]:
        """Edit the earlier message in place; returns its platform and ref."""
        replaces = delivery.replaces or ""
        async with self.store.transaction(read_only=True) as tx:
            sent = await tx.outbox.sent_ref(replaces)
            status = await tx.outbox.status_of(replaces) if sent is None else None
        if sent is None:
            # Only a message still on its way is worth waiting for: one that failed for good (or was sent
            # with no reference to update) never will be, and retrying would fill the retry metrics (a pulse
            # closed after its sends failed updates every one of them).
            waiting = status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
            if not waiting or delivery.attempts + 1 >= self.max_attempts:
                raise Undeliverable(f"the message it updates ({replaces}) was never sent")
            raise RetryLater(BASE_BACKOFF, f"waiting for {replaces} to be sent")
        platform, ref = sent
        sender = self.senders.get(platform)
        if sender is None:
            raise Undeliverable(f"no {platform} connection to update the message")
        await self.conversation_limiters[platform].acquire(_conversation(delivery))
        await self.limiters[platform].acquire()
        await self._hold(delivery, lease)
        await sender.update(ref=ref, message=delivery.message)
        return platform, ref

    async def _routed_done(self, delivery: Delivery) -> None:
        """A routed (anonymous) delivery is over, sent or not, and leaves the same trace either way.

        Whether a message reached an anonymous author says who they are: one switched off (a leaver, or
        half the directory switched off by someone testing who wrote an idea) cannot be reached, nor one on
        a platform no longer connected. The chat it went to (a Slack DM, a Teams conversation) and its
        platform are theirs too. So none of that is kept, counted by platform or logged. It is tried once:
        a retry would leave a trace (attempts, an error, a later send) that an author who cannot be reached
        never leaves, so a platform's refusal or outage loses it (the author still sees the idea or
        question itself with `ideas mine` or `questions N`). Such a message is never updated in place, and
        never sent again by ``outbox retry``.
        """
        self.stats.sent += 1
        self._busy_sent += 1
        if self.metrics is not None:
            self.metrics.sent(ANONYMOUS)
        await self.marks.record(Sent(delivery.id, None, None, self.clock.now()))
        log.debug(
            "delivery %s (%s) done; whether it reached its author is not kept",
            delivery.id,
            in_log(delivery.key),
        )

    async def _retry(
        self,
        delivery: Delivery,
        error: str,
        retry_after: float | None,
        platform: str,
        *,
        rate_limited: bool = False,
    ) -> None:
        attempts = delivery.attempts + 1
        if attempts >= self.max_attempts:
            await self._fail(delivery, f"gave up after {attempts} attempts: {error}", platform)
            return
        backoff = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (attempts - 1))
        # A platform's Retry-After is kept to the second; any other wait is a floor: the network or a
        # server failing for minutes would otherwise use up every attempt in under a minute.
        wait = retry_after if rate_limited and retry_after is not None else max(retry_after or 0.0, backoff)
        self.stats.retried += 1
        if self.metrics is not None:
            self.metrics.retried(_label(delivery, platform), rate_limited=rate_limited)
        log.debug(
            "delivery %s (%s) retried in %.0fs: %s", delivery.id, in_log(delivery.key), wait, in_log(error)
        )
        async with self.store.transaction() as tx:
            await tx.outbox.mark_retry(
                delivery.id, error=error[:500], not_before=self.clock.now() + timedelta(seconds=wait)
            )

    async def _fail(self, delivery: Delivery, error: str, platform: str) -> None:
        if delivery.route is not None:
            await self._routed_done(delivery)
            return
        # The key, not the recipient.
        log.warning("delivery %s (%s) failed: %s", delivery.id, in_log(delivery.key), in_log(error))
        self.stats.failed += 1
        self._busy_failed += 1
        if self.metrics is not None:
            self.metrics.failed(_label(delivery, platform))
        async with self.store.transaction() as tx:
            await tx.outbox.mark_failed(delivery.id, error=error[:500])


def _log_progress(progress: Progress) -> None:
    log.info(
        "%s",
        progress,
        extra={"sent": progress.sent, "failed": progress.failed, "remaining": progress.remaining},
    )


_PERSON_IN_KEY = re.compile(r"(?<=:p:)\d+")


def in_log(key: str) -> str:
    """A delivery's key (or an error naming one) as logged: without its person ("occ:1:item:3:p:…"). A
    pulse's later questions are sent as someone answers, so their keys tell who got how far, which the
    database forgets a day after the pulse closes; logs are kept longer and elsewhere."""
    return _PERSON_IN_KEY.sub("…", key)


def _label(delivery: Delivery, platform: str) -> str:
    """The platform a metric is counted under: the one tried, else the row's own, else ``unknown``."""
    return platform if platform != "?" else delivery.platform or "unknown"


def _named(delivery: Delivery) -> bool:
    """A new message to a person named by id (not a channel, an update or an anonymous route)."""
    return (
        delivery.person_id is not None
        and delivery.route is None
        and delivery.channel is None
        and not delivery.replaces
    )


def _recipient(delivery: Delivery) -> str:
    """Who a row goes to, so one recipient's messages keep their order."""
    if delivery.person_id is not None:
        return f"p:{delivery.person_id}"
    if delivery.route is not None:
        return f"r:{delivery.route}"
    if delivery.channel is not None:
        return f"c:{delivery.platform}:{delivery.channel}"
    return f"u:{delivery.replaces}"


def _conversation(delivery: Delivery) -> str:
    """The platform conversation a row lands in, for per-conversation limits: a person's chat, or a
    channel (each thread apart, as platforms count a thread as its own conversation)."""
    if delivery.channel is not None and delivery.message.thread:
        return f"c:{delivery.channel}:{delivery.message.thread}"
    return _recipient(delivery)


async def _first(*waits: Coroutine[Any, Any, Any], within: float | None = None) -> None:
    """Wait until the first of ``waits`` finishes (or ``within`` seconds pass), and drop the others."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED, timeout=within)
    finally:
        for task in tasks:
            task.cancel()


@dataclass
class _Outage:
    """Logs a database outage the worker waits out: in full once, then a line a minute, then its end (a line
    with a traceback every poll, for as long as the database is down, would bury everything else)."""

    began: float | None = None
    said: float = 0.0

    def failed(self, error: Exception) -> None:
        now = time.monotonic()
        if self.began is None:
            self.began = self.said = now
            log.error("delivery: could not reach the outbox; trying again shortly", exc_info=error)
        elif now - self.said >= OUTAGE_REPORT_SECONDS:
            self.said = now
            waited, kind = now - self.began, type(error).__name__
            log.error("delivery: still cannot reach the outbox after %.0fs (%s)", waited, kind)

    def over(self) -> None:
        if self.began is not None:
            log.warning("delivery: the outbox answers again after %.0fs", time.monotonic() - self.began)
            self.began = None
